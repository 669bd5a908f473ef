//! Departments and what each was granted, kept in the lake (`system_access`, one Delta
//! commit per change): which datasets a department may read, which rows (its own
//! organizations, an org sub-tree, or all), whether personal columns are visible or masked,
//! and — never implied by reading — whether it may import into the dataset. The query layer
//! and the server enforce it; this module only keeps it.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::system::{AccessRow, SystemTable};
use crate::write::WriteOptions;

/// Which rows of a granted dataset a department sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every row.
    All,
    /// Rows of the department's own organizations (and their sub-trees).
    Own,
    /// Rows of one organization's sub-tree.
    Org(String),
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Scope> {
        match s.trim() {
            "all" => Ok(Scope::All),
            "own" => Ok(Scope::Own),
            s => match s.strip_prefix("org:") {
                Some(id) if !id.trim().is_empty() => Ok(Scope::Org(id.trim().to_string())),
                _ => Err(Error::Invalid(format!(
                    "scope `{s}`: expected all, own or org:<ORG_ID> (范围应为 all、own 或 org:<组织编号>)"
                ))),
            },
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => write!(f, "all"),
            Scope::Own => write!(f, "own"),
            Scope::Org(id) => write!(f, "org:{id}"),
        }
    }
}

/// Whether personal columns (ID number, phone) come back as they are or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    Masked,
    Visible,
}

impl FromStr for Personal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Personal> {
        match s.trim() {
            "masked" => Ok(Personal::Masked),
            "visible" => Ok(Personal::Visible),
            s => Err(Error::Invalid(format!(
                "personal `{s}`: expected masked or visible (个人信息应为 masked 或 visible)"
            ))),
        }
    }
}

impl fmt::Display for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Personal::Masked => "masked",
            Personal::Visible => "visible",
        })
    }
}

/// A department. Its own organizations are those whose `department` column names it, plus
/// any given here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub name: String,
    pub orgs: Vec<String>,
}

/// What a department may read of one dataset, and whether it may import into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub department: String,
    pub dataset: String,
    pub scope: Scope,
    pub personal: Personal,
    /// May import (`dangan access grant … --import`; scope `all` only, never the
    /// organizations: the org tree, and so every department's scope, is the
    /// administrator's).
    pub import: bool,
}

/// The dataset whose rows decide every department's scope.
pub const ORG_TREE: &str = "organizations";

/// Every department and grant of a lake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub departments: Vec<Department>,
    pub grants: Vec<Grant>,
}

const TABLE: SystemTable = SystemTable::Access;

impl Access {
    /// Read the lake's departments and grants (none when nothing was ever granted).
    pub async fn load(lake: &Lake) -> Result<Access> {
        let name = TABLE.table_name();
        let mut access = Access::default();
        if !lake.table_exists(&name).await? {
            return Ok(access);
        }
        let cols = ["kind", "department", "dataset", "scope", "personal", "orgs"];
        let mut imports: Vec<(String, String)> = Vec::new();
        let batches = lake.scan(&name, &cols).await?;
        for row in TABLE.rows::<AccessRow>(&batches)? {
            let department = row.department.unwrap_or_default();
            let dataset = row.dataset.unwrap_or_default();
            match row.kind.as_deref().unwrap_or_default() {
                "department" => access.departments.push(Department {
                    name: department,
                    orgs: row
                        .orgs
                        .unwrap_or_default()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                }),
                "grant" => access.grants.push(Grant {
                    department,
                    dataset,
                    scope: row.scope.unwrap_or_default().parse()?,
                    personal: row.personal.unwrap_or_default().parse()?,
                    import: false,
                }),
                "import" => imports.push((department, dataset)),
                other => {
                    return Err(Error::Invalid(format!(
                        "{name}: unknown row kind `{other}`"
                    )));
                }
            }
        }
        // An import row stands beside its grant (kept as rows of their own, so the table's
        // layout did not change).
        for g in &mut access.grants {
            g.import = imports
                .iter()
                .any(|(d, ds)| d == &g.department && ds == &g.dataset);
        }
        access.departments.sort_by(|a, b| a.name.cmp(&b.name));
        access
            .grants
            .sort_by(|a, b| (&a.department, &a.dataset).cmp(&(&b.department, &b.dataset)));
        Ok(access)
    }

    /// Replace what the lake holds with this, in one commit. Returns the table version.
    pub async fn save(&self, lake: &Lake, what: &str) -> Result<i64> {
        let name = TABLE.table_name();
        lake.ensure_table(&name, &TABLE.schema()).await?;
        let at = Some(chrono::Utc::now().naive_utc());
        let mut rows: Vec<AccessRow> = Vec::new();
        for d in &self.departments {
            rows.push(AccessRow {
                kind: Some("department".into()),
                department: Some(d.name.clone()),
                orgs: Some(d.orgs.join(",")),
                at,
                ..Default::default()
            });
        }
        for g in &self.grants {
            rows.push(AccessRow {
                kind: Some("grant".into()),
                department: Some(g.department.clone()),
                dataset: Some(g.dataset.clone()),
                scope: Some(g.scope.to_string()),
                personal: Some(g.personal.to_string()),
                at,
                ..Default::default()
            });
            if g.import {
                rows.push(AccessRow {
                    kind: Some("import".into()),
                    department: Some(g.department.clone()),
                    dataset: Some(g.dataset.clone()),
                    at,
                    ..Default::default()
                });
            }
        }
        let batch = TABLE.batch(&rows)?;
        lake.write(
            &name,
            vec![batch],
            WriteOptions {
                overwrite: true,
                commit_info: vec![("dangan.operation".into(), what.into())],
                ..Default::default()
            },
        )
        .await
    }

    pub fn department(&self, name: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.name == name)
    }

    /// The department, or an error naming the ones there are.
    pub fn require_department(&self, name: &str) -> Result<&Department> {
        self.department(name).ok_or_else(|| {
            let known: Vec<&str> = self.departments.iter().map(|d| d.name.as_str()).collect();
            Error::Invalid(format!(
                "no department `{name}` 没有这个部门 (known: {}); add it with `dangan access department add {name}`",
                if known.is_empty() {
                    "none yet".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }

    pub fn add_department(&mut self, name: &str, orgs: Vec<String>) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Invalid(
                "a department needs a name 部门名称不能为空".into(),
            ));
        }
        if self.department(name).is_some() {
            return Err(Error::Invalid(format!(
                "department `{name}` exists already 部门已存在"
            )));
        }
        self.departments.push(Department {
            name: name.to_string(),
            orgs,
        });
        Ok(())
    }

    /// Grant (or change the grant of) a dataset to a department.
    pub fn grant(&mut self, grant: Grant) -> Result<()> {
        self.require_department(&grant.department)?;
        if grant.import && grant.dataset == ORG_TREE {
            return Err(Error::Invalid(format!(
                "组织架构只能由管理员导入 (a department never imports `{ORG_TREE}`: the org tree decides every department's scope)"
            )));
        }
        if grant.import && grant.scope != Scope::All {
            return Err(Error::Invalid(format!(
                "导入授权需要 --scope all (importing `{}` needs --scope all: a file's rows may belong to any organization, and rows outside the scope are not the department's to write)",
                grant.dataset
            )));
        }
        self.grants
            .retain(|g| !(g.department == grant.department && g.dataset == grant.dataset));
        self.grants.push(grant);
        Ok(())
    }

    /// Take a grant back. Returns whether there was one.
    pub fn revoke(&mut self, department: &str, dataset: &str) -> Result<bool> {
        self.require_department(department)?;
        let before = self.grants.len();
        self.grants
            .retain(|g| !(g.department == department && g.dataset == dataset));
        Ok(self.grants.len() < before)
    }

    pub fn grant_for(&self, department: &str, dataset: &str) -> Option<&Grant> {
        self.grants
            .iter()
            .find(|g| g.department == department && g.dataset == dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_personal_parse_and_print() {
        assert_eq!("all".parse::<Scope>().unwrap(), Scope::All);
        assert_eq!("own".parse::<Scope>().unwrap(), Scope::Own);
        assert_eq!(
            "org:D01".parse::<Scope>().unwrap(),
            Scope::Org("D01".into())
        );
        assert_eq!(Scope::Org("D01".into()).to_string(), "org:D01");
        assert!("org:".parse::<Scope>().is_err());
        assert!("some".parse::<Scope>().is_err());
        assert_eq!("visible".parse::<Personal>().unwrap(), Personal::Visible);
        assert!("open".parse::<Personal>().is_err());
    }

    #[tokio::test]
    async fn grants_are_kept_in_the_lake() {
        let dir = tempfile::tempdir().unwrap();
        let (lake, _) = Lake::init(dir.path()).await.unwrap();
        assert_eq!(Access::load(&lake).await.unwrap(), Access::default());
        let mut a = Access::default();
        a.add_department("组织部", vec!["D01".into()]).unwrap();
        assert!(a.add_department("组织部", vec![]).is_err());
        a.grant(Grant {
            department: "组织部".into(),
            dataset: "members".into(),
            scope: Scope::Own,
            personal: Personal::Masked,
            import: false,
        })
        .unwrap();
        a.grant(Grant {
            department: "组织部".into(),
            dataset: "appraisals".into(),
            scope: Scope::All,
            personal: Personal::Masked,
            import: true,
        })
        .unwrap();
        for (dataset, scope) in [("organizations", Scope::All), ("members", Scope::Own)] {
            let refused = a.grant(Grant {
                department: "组织部".into(),
                dataset: dataset.into(),
                scope,
                personal: Personal::Masked,
                import: true,
            });
            assert!(refused.is_err(), "{dataset}");
        }
        assert!(
            a.grant(Grant {
                department: "宣传部".into(),
                dataset: "members".into(),
                scope: Scope::All,
                personal: Personal::Masked,
                import: false,
            })
            .is_err()
        );
        a.save(&lake, "test").await.unwrap();
        let back = Access::load(&lake).await.unwrap();
        a.grants
            .sort_by(|x, y| (&x.department, &x.dataset).cmp(&(&y.department, &y.dataset)));
        assert_eq!(back, a);
        assert!(back.grant_for("组织部", "appraisals").unwrap().import);
        assert!(!back.grant_for("组织部", "members").unwrap().import);
        assert!(a.revoke("组织部", "members").unwrap());
        assert!(a.revoke("组织部", "appraisals").unwrap());
        a.save(&lake, "test").await.unwrap();
        assert!(Access::load(&lake).await.unwrap().grants.is_empty());
    }
}
