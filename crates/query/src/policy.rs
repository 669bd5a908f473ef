//! The access policy of a department's session. A granted dataset is registered not as its
//! table but as a view over it: rows outside the grant's scope filtered out inside the scan,
//! before any condition of the statement (`scope.rs`), personal columns masked unless the
//! grant makes them visible. The table itself is never registered
//! under any name in that session, so views, joins, functions and `EXPLAIN` can only ever
//! reach the view. A dataset that was not granted, and every internal table, is refused by
//! name before the statement is planned, and statements other than queries are refused.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use dangan_datasets::Lake;
use dangan_datasets::access::{Access, Scope};
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::scope::view;

/// What a department's session may read.
#[derive(Debug, Clone)]
pub struct Policy {
    pub department: String,
    /// Datasets of the lake the department was not granted.
    pub denied: BTreeSet<String>,
    /// The granted datasets, each with the organizations whose rows it may read (`None`:
    /// every row) — what search results are limited to.
    pub scopes: dangan_index::Scopes,
    /// The lake's external sources (`lake.toml`), whose tables are `source.table`.
    pub external_sources: BTreeSet<String>,
    /// The external tables (`source.table`) the department was granted.
    pub external_granted: BTreeSet<String>,
}

/// Every organization and its children, from the raw `organizations` table.
pub struct OrgTree {
    children: HashMap<String, Vec<String>>,
    department: HashMap<String, String>,
    known: BTreeSet<String>,
}

impl OrgTree {
    pub async fn load(lake: &Lake) -> Result<OrgTree> {
        let mut tree = OrgTree {
            children: HashMap::new(),
            department: HashMap::new(),
            known: BTreeSet::new(),
        };
        if !lake.table_exists("organizations").await? {
            return Ok(tree);
        }
        for batch in lake
            .scan("organizations", &["org_id", "parent_id", "department"])
            .await?
        {
            let c = |i: usize| cast(batch.column(i), &DataType::Utf8);
            let (id, parent, dept) = (c(0)?, c(1)?, c(2)?);
            let (id, parent, dept) = (
                id.as_string::<i32>(),
                parent.as_string::<i32>(),
                dept.as_string::<i32>(),
            );
            for i in 0..batch.num_rows() {
                if id.is_null(i) {
                    continue;
                }
                let org = id.value(i).to_string();
                if !parent.is_null(i) {
                    tree.children
                        .entry(parent.value(i).to_string())
                        .or_default()
                        .push(org.clone());
                }
                if !dept.is_null(i) {
                    tree.department
                        .insert(org.clone(), dept.value(i).to_string());
                }
                tree.known.insert(org);
            }
        }
        Ok(tree)
    }

    /// Whether the organization exists.
    pub fn knows(&self, org: &str) -> bool {
        self.known.contains(org)
    }

    /// `root` and every organization under it (an `--org` / `org=` filter), or `None` when the
    /// lake has no such organization.
    pub fn sub_tree(&self, root: &str) -> Option<Vec<String>> {
        self.knows(root)
            .then(|| self.sub_trees([&root.to_string()]).into_iter().collect())
    }

    /// The organizations under `roots`, the roots included.
    pub fn sub_trees<'a>(&self, roots: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = roots.into_iter().cloned().collect();
        while let Some(o) = todo.pop() {
            if out.insert(o.clone())
                && let Some(kids) = self.children.get(&o)
            {
                todo.extend(kids.iter().cloned());
            }
        }
        out
    }
}

/// Register the department's views on `ctx` and return its policy.
pub(crate) async fn register(
    ctx: &SessionContext,
    lake: &Lake,
    department: &str,
) -> Result<Policy> {
    let access = Access::load(lake).await?;
    let dept = access.require_department(department)?;
    let tree = OrgTree::load(lake).await?;
    let own_roots: Vec<String> = tree
        .department
        .iter()
        .filter(|(_, d)| *d == department)
        .map(|(o, _)| o.clone())
        .chain(dept.orgs.iter().cloned())
        .collect();
    let own = tree.sub_trees(&own_roots);
    let raw = |name: &str| {
        let name = name.to_string();
        async move {
            let table = lake.open_table(&name).await?;
            let provider = crate::provider::table_provider(ctx, &name, &table).await?;
            Ok::<_, crate::Error>(crate::sealed::unsealed(lake, &name, provider))
        }
    };
    // Rows keyed by member_id are scoped through the register of people.
    let members_provider: Option<Arc<dyn TableProvider>> = match lake.registry().people() {
        Some(people) if lake.table_exists(&people.name).await? => Some(raw(&people.name).await?),
        _ => None,
    };
    let mut granted: HashMap<String, crate::asof::Granted> = HashMap::new();
    let mut denied = BTreeSet::new();
    let mut scopes = Vec::new();
    // The organizations whose rows a grant lets the department read (`None`: every row).
    let orgs_of = |grant: &dangan_datasets::access::Grant| -> Result<Option<BTreeSet<String>>> {
        Ok(match &grant.scope {
            Scope::All => None,
            Scope::Own => Some(own.clone()),
            Scope::Org(id) => {
                if !tree.knows(id) {
                    return Err(crate::Refusal::NoSuchOrg {
                        dataset: grant.dataset.clone(),
                        department: department.to_string(),
                        org: id.clone(),
                    }
                    .into());
                }
                Some(tree.sub_trees([id]))
            }
        })
    };
    let mut to_open = Vec::new();
    for spec in lake.registry().iter() {
        match access.grant_for(department, &spec.name) {
            Some(grant) => to_open.push((spec, grant)),
            None => {
                denied.insert(spec.name.clone());
            }
        }
    }
    // The granted tables opened side by side (a few round trips each on object storage).
    use futures::{StreamExt, TryStreamExt};
    // (Owned names and schemas: a future that borrows its item is not `Send` for every
    // lifetime, and the server opens sessions on spawned tasks.)
    let wanted: Vec<(String, arrow::datatypes::SchemaRef)> = to_open
        .iter()
        .map(|(spec, _)| (spec.name.clone(), spec.arrow_schema()))
        .collect();
    let raw = &raw;
    let opened: Vec<Arc<dyn TableProvider>> = futures::stream::iter(wanted)
        .map(|(name, schema)| async move {
            Ok::<_, crate::Error>(if lake.table_exists(&name).await? {
                raw(&name).await?
            } else {
                Arc::new(datafusion::datasource::MemTable::try_new(
                    schema,
                    vec![vec![]],
                )?) as Arc<dyn TableProvider>
            })
        })
        .buffered(crate::OPEN_AT_ONCE)
        .try_collect()
        .await?;
    for ((spec, grant), source) in to_open.into_iter().zip(opened) {
        let orgs = orgs_of(grant)?;
        let v = view(
            ctx,
            &crate::scope::PolicyColumns::of(spec),
            source,
            grant,
            orgs.as_ref(),
            members_provider.as_ref(),
        )?;
        granted.insert(
            spec.name.clone(),
            crate::asof::Granted {
                spec: spec.clone(),
                grant: grant.clone(),
                orgs: orgs.clone(),
            },
        );
        let reachable = spec.column("org_id").is_some() || spec.column("member_id").is_some();
        scopes.push(match &orgs {
            None => dangan_index::ResolvedScope::all(&spec.name),
            Some(o) if reachable => {
                dangan_index::ResolvedScope::of_orgs(&spec.name, o.iter().cloned().collect())
            }
            Some(_) => dangan_index::ResolvedScope::of_orgs(&spec.name, Vec::new()),
        });
        ctx.register_table(spec.name.as_str(), v.into_view())?;
    }
    for (name, fixed) in [
        ("asof", None),
        // `members_asof(t)`: the register of people as it stood at `t`.
        (
            "members_asof",
            lake.registry().people().map(|p| p.name.clone()),
        ),
    ] {
        ctx.register_udtf(
            name,
            Arc::new(crate::asof::AsOf {
                lake: lake.clone(),
                fixed,
                policy: Some(crate::asof::DepartmentGrants {
                    department: department.to_string(),
                    granted: granted.clone(),
                    members: members_provider.clone(),
                }),
            }),
        );
    }
    // Tables of other databases, granted by their `source.table` name.
    let mut external: HashMap<String, crate::external::Granted> = HashMap::new();
    let mut external_granted = BTreeSet::new();
    for grant in access.grants.iter().filter(|g| g.department == department) {
        let Some((source, table)) = grant.dataset.split_once('.') else {
            continue;
        };
        if lake.external(source).is_none() {
            continue;
        }
        let orgs = orgs_of(grant)?;
        external
            .entry(source.to_string())
            .or_insert_with(|| crate::external::Granted {
                tables: HashMap::new(),
                members: members_provider.clone(),
            })
            .tables
            .insert(table.to_string(), (grant.clone(), orgs));
        external_granted.insert(grant.dataset.clone());
    }
    crate::external::register(ctx, lake, Some(external))?;
    Ok(Policy {
        department: department.to_string(),
        denied,
        scopes,
        external_sources: lake.config().external.keys().cloned().collect(),
        external_granted,
    })
}

/// Refuse what a department's `EXPLAIN` may not show. Its session prints the logical plan
/// only (`explain.logical_plan_only`): names, the statement's own literals and the scope's
/// organizations. `VERBOSE` and `ANALYZE` print the Parquet statistics of every scanned
/// column before scope and masks (the min and max ID number of the whole table), row counts
/// and server paths: those, statistics and other formats are the administrator's.
pub(crate) fn check_explain(statement: &datafusion::sql::parser::Statement) -> Result<()> {
    use datafusion::common::format::ExplainFormat;
    use datafusion::sql::parser::Statement;
    let Statement::Explain(e) = statement else {
        return Ok(());
    };
    let o = &e.options;
    if o.analyze
        || o.verbose
        || o.analyze_level.is_some()
        || o.analyze_categories.is_some()
        || o.show_statistics == Some(true)
        || o.format
            .as_ref()
            .is_some_and(|f| !matches!(f, ExplainFormat::Indent))
    {
        return Err(crate::Refusal::ExplainDetail.into());
    }
    check_explain(&e.statement)
}

impl Policy {
    /// Refuse a statement that reads (`read`: the tables it names) a table the department
    /// may not read.
    pub(crate) fn check(&self, read: &[String]) -> Result<()> {
        for name in read {
            let external_denied = name.split_once('.').is_some_and(|(source, _)| {
                self.external_sources.contains(source) && !self.external_granted.contains(name)
            });
            if self.denied.contains(name) || external_denied {
                return Err(crate::Refusal::NotGranted {
                    dataset: name.clone(),
                    department: self.department.clone(),
                }
                .into());
            }
            if name.starts_with("system_") {
                return Err(crate::Refusal::InternalTable { name: name.clone() }.into());
            }
        }
        Ok(())
    }
}
