//! Other departments' databases in a session: each source of `lake.toml` is a schema of its
//! own (`cadre.cadres`), connected the first time a statement names one of its tables. For a
//! department, only the tables it was granted are there, each behind the same view as a
//! dataset (its scope inside the scan, its personal columns masked), with the columns that
//! the source's `[external.<name>.tables.<t>]` names for the organization, the member and
//! the personal values.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use dangan_datasets::Lake;
use dangan_datasets::access::Grant;
use dangan_datasets::external::{ExternalSource, ExternalTable};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::scope::{PolicyColumns, view};

/// What a department may read of one source: its granted tables, each with the
/// organizations in scope (`None`: every row).
#[derive(Debug, Clone, Default)]
pub(crate) struct Granted {
    pub tables: HashMap<String, (Grant, Option<BTreeSet<String>>)>,
    /// The raw register of people, for tables scoped through the member.
    pub members: Option<Arc<dyn TableProvider>>,
}

/// A source as a schema of the session.
#[derive(Debug)]
struct ExternalSchema {
    name: String,
    source: ExternalSource,
    connection: tokio::sync::OnceCell<Arc<dangan_external::Connection>>,
    /// `None`: the administrator's session (every declared table, or every table when none
    /// is declared).
    granted: Option<Granted>,
}

impl ExternalSchema {
    fn visible(&self, table: &str) -> bool {
        match &self.granted {
            Some(g) => g.tables.contains_key(table),
            None => self.source.exposes(table),
        }
    }

    async fn connection(&self) -> Result<Arc<dangan_external::Connection>, DataFusionError> {
        self.connection
            .get_or_try_init(|| async {
                dangan_external::connect(&self.name, &self.source)
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}

#[async_trait::async_trait]
impl SchemaProvider for ExternalSchema {
    fn table_names(&self) -> Vec<String> {
        match &self.granted {
            Some(g) => g.tables.keys().cloned().collect(),
            None => self.source.tables.keys().cloned().collect(),
        }
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if !self.visible(name) {
            return Ok(None);
        }
        let raw = self
            .connection()
            .await?
            .table(name)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let Some(granted) = &self.granted else {
            return Ok(Some(raw));
        };
        let Some((grant, orgs)) = granted.tables.get(name) else {
            return Ok(None);
        };
        let mapping = self.source.tables.get(name).cloned().unwrap_or_default();
        let ctx = SessionContext::new();
        let v = view(
            &ctx,
            &columns(&mapping),
            raw,
            grant,
            orgs.as_ref(),
            granted.members.as_ref(),
        )
        .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        Ok(Some(v.into_view()))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.visible(name)
    }
}

/// The policy's columns of an external table, from its mapping.
fn columns(mapping: &ExternalTable) -> PolicyColumns {
    PolicyColumns {
        org: mapping.org_column.clone(),
        member: mapping.member_column.clone(),
        masks: mapping
            .personal
            .iter()
            .map(|(c, m)| (c.clone(), *m))
            .collect(),
    }
}

/// Register every source of the lake as a schema of `ctx`: the administrator's
/// (`granted: None`) or a department's (the sources it was granted tables of, only those).
pub(crate) fn register(
    ctx: &SessionContext,
    lake: &Lake,
    mut granted: Option<HashMap<String, Granted>>,
) -> Result<()> {
    let catalog_name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    let Some(catalog) = ctx.catalog(&catalog_name) else {
        return Ok(());
    };
    for (name, source) in &lake.config().external {
        let g = match &mut granted {
            None => None,
            Some(all) => match all.remove(name) {
                Some(g) => Some(g),
                None => continue,
            },
        };
        catalog.register_schema(
            name,
            Arc::new(ExternalSchema {
                name: name.clone(),
                source: source.clone(),
                connection: Default::default(),
                granted: g,
            }),
        )?;
    }
    Ok(())
}
