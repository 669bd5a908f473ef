//! API tokens: each belongs to one department and carries exactly its grants. Only a token's
//! SHA-256 is stored (`system_tokens`, one row per creation or revocation, one commit each);
//! the token itself is shown once, when it is created.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::system::{SystemTable, TokenRow};

const TABLE: SystemTable = SystemTable::Tokens;

/// A token as the lake knows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Short public id (`tk_…`), to revoke it by.
    pub id: String,
    pub department: String,
    pub created_at: String,
    pub revoked: bool,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// Every token ever made, with its hash, oldest first.
async fn load(lake: &Lake) -> Result<Vec<(TokenInfo, String)>> {
    let name = TABLE.table_name();
    if !lake.table_exists(&name).await? {
        return Ok(Vec::new());
    }
    let mut made: Vec<(TokenInfo, String)> = Vec::new();
    let mut revoked = Vec::new();
    let batches = lake
        .scan(&name, &["id", "department", "sha256", "action", "at"])
        .await?;
    for row in TABLE.rows::<TokenRow>(&batches)? {
        let id = row.id.unwrap_or_default();
        match row.action.as_deref() {
            Some("create") => made.push((
                TokenInfo {
                    id,
                    department: row.department.unwrap_or_default(),
                    // ISO 8601, as the table's timestamps have always been shown.
                    created_at: row.at.map(|at| format!("{at:?}")).unwrap_or_default(),
                    revoked: false,
                },
                row.sha256.unwrap_or_default(),
            )),
            Some("revoke") => revoked.push(id),
            _ => {}
        }
    }
    for (t, _) in &mut made {
        t.revoked = revoked.contains(&t.id);
    }
    made.sort_by(|a, b| a.0.created_at.cmp(&b.0.created_at));
    Ok(made)
}

async fn append(lake: &Lake, id: &str, department: &str, sha: &str, action: &str) -> Result<()> {
    let name = TABLE.table_name();
    lake.ensure_table(&name, &TABLE.schema()).await?;
    let batch = TABLE.batch(&[TokenRow {
        id: Some(id.into()),
        department: Some(department.into()),
        sha256: Some(sha.into()),
        action: Some(action.into()),
        at: Some(chrono::Local::now().naive_local()),
    }])?;
    lake.write(&name, vec![batch], Default::default()).await?;
    Ok(())
}

/// Make a token for `department` (which must exist): returns its id and the token itself,
/// which is not kept anywhere.
pub async fn create(lake: &Lake, department: &str) -> Result<(TokenInfo, String)> {
    let access = crate::access::Access::load(lake).await?;
    if !access.departments.iter().any(|d| d.name == department) {
        return Err(Error::Invalid(format!(
            "没有部门 `{department}` (no department `{department}`; add it with `dangan access department add`)"
        )));
    }
    let mut rng = rand::rng();
    let secret: String = format!("dgn_{}", hex::encode(rng.random::<[u8; 24]>()));
    let id = format!("tk_{}", &hex::encode(rng.random::<[u8; 4]>()));
    append(lake, &id, department, &hash(&secret), "create").await?;
    let info = load(lake)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| t.id == id)
        .ok_or_else(|| Error::Invalid("the new token was not found after writing".into()))?;
    Ok((info, secret))
}

/// Revoke a token by id.
pub async fn revoke(lake: &Lake, id: &str) -> Result<TokenInfo> {
    let Some((t, sha)) = load(lake).await?.into_iter().find(|(t, _)| t.id == id) else {
        return Err(Error::Invalid(format!("没有令牌 `{id}` (no token `{id}`)")));
    };
    if !t.revoked {
        append(lake, id, &t.department, &sha, "revoke").await?;
    }
    Ok(TokenInfo { revoked: true, ..t })
}

/// Every token (never the secrets).
pub async fn list(lake: &Lake) -> Result<Vec<TokenInfo>> {
    Ok(load(lake).await?.into_iter().map(|(t, _)| t).collect())
}

/// The department a token belongs to, if it is a live token.
pub async fn department_of(lake: &Lake, secret: &str) -> Result<Option<String>> {
    let h = hash(secret);
    Ok(load(lake)
        .await?
        .into_iter()
        .find(|(t, sha)| *sha == h && !t.revoked)
        .map(|(t, _)| t.department))
}

/// Every live token's hash and department (for a server's cache).
pub async fn live_hashes(lake: &Lake) -> Result<Vec<(String, String)>> {
    Ok(load(lake)
        .await?
        .into_iter()
        .filter(|(t, _)| !t.revoked)
        .map(|(t, sha)| (sha, t.department))
        .collect())
}

/// The version of the token table (`None`: no token made yet): a server re-reads the tokens
/// only when it moved.
pub async fn version(lake: &Lake) -> Result<Option<i64>> {
    lake.table_version(&TABLE.table_name()).await
}

/// The hash a secret is stored under.
pub fn token_hash(secret: &str) -> String {
    hash(secret)
}
