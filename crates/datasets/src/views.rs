//! Views saved in the lake (`dangan view save <name> "SELECT …"`), kept in
//! `system_views` and defined again in every SQL session — in a department's session over
//! its own (scoped, masked) tables.

use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::system::{SystemTable, ViewRow};
use crate::write::WriteOptions;

/// One saved view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub name: String,
    pub sql: String,
    pub saved_by: String,
}

const TABLE: SystemTable = SystemTable::Views;

/// Every saved view, by name.
pub async fn load(lake: &Lake) -> Result<Vec<SavedView>> {
    let name = TABLE.table_name();
    let mut out = Vec::new();
    if !lake.table_exists(&name).await? {
        return Ok(out);
    }
    let batches = lake.scan(&name, &["name", "sql", "saved_by"]).await?;
    for row in TABLE.rows::<ViewRow>(&batches)? {
        let (Some(name), Some(sql)) = (row.name, row.sql) else {
            continue;
        };
        out.push(SavedView {
            name,
            sql,
            saved_by: row.saved_by.unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Save (or replace) a view, in one commit. The name must be a plain identifier that is not
/// a table of the lake.
pub async fn save(lake: &Lake, view: SavedView) -> Result<i64> {
    let ok_name = view.name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !view.name.is_empty()
        && !view.name.starts_with(|c: char| c.is_ascii_digit());
    if !ok_name {
        return Err(Error::Invalid(format!(
            "view name `{}`: letters, digits and _ only, not starting with a digit 视图名称只能含字母、数字和下划线",
            view.name
        )));
    }
    if lake.tables().iter().any(|(t, _)| *t == view.name) {
        return Err(Error::Invalid(format!(
            "`{}` is a table of the lake; a view needs a name of its own 视图不能与表同名",
            view.name
        )));
    }
    let mut all = load(lake).await?;
    all.retain(|v| v.name != view.name);
    all.push(view);
    write(lake, &all).await
}

/// Drop a view. Returns whether there was one.
pub async fn drop(lake: &Lake, name: &str) -> Result<bool> {
    let mut all = load(lake).await?;
    let before = all.len();
    all.retain(|v| v.name != name);
    if all.len() == before {
        return Ok(false);
    }
    write(lake, &all).await?;
    Ok(true)
}

async fn write(lake: &Lake, all: &[SavedView]) -> Result<i64> {
    let name = TABLE.table_name();
    lake.ensure_table(&name, &TABLE.schema()).await?;
    let now = chrono::Utc::now().naive_utc();
    let rows: Vec<ViewRow> = all
        .iter()
        .map(|v| ViewRow {
            name: Some(v.name.clone()),
            sql: Some(v.sql.clone()),
            saved_by: Some(v.saved_by.clone()),
            saved_at: Some(now),
        })
        .collect();
    let batch = TABLE.batch(&rows)?;
    lake.write(
        &name,
        vec![batch],
        WriteOptions {
            overwrite: true,
            commit_info: vec![("dangan.operation".into(), "save view".into())],
            ..Default::default()
        },
    )
    .await
}
