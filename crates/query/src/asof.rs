//! "As of" questions from the history the lake keeps: `members_asof('2023-12-31')` is the
//! members table as it stood at the end of that day (or at a time, `'2023-12-31 18:00:00'`,
//! local time) — its last version committed by then: upserts replace rows, and every version
//! stays readable. `asof('<dataset>', '<date>')` reads any dataset the same way. In a department's session the old rows get the same scope and
//! masks as the current ones.

use std::collections::HashMap;
use std::sync::Arc;

use dangan_datasets::access::Grant;
use dangan_datasets::{DatasetSpec, Lake};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

/// What a department may see of each dataset it was granted.
#[derive(Debug, Clone)]
pub struct Granted {
    pub spec: Arc<DatasetSpec>,
    pub grant: Grant,
    pub orgs: Option<std::collections::BTreeSet<String>>,
}

#[derive(Debug)]
pub struct AsOf {
    pub lake: Lake,
    /// `members_asof`: the dataset is fixed; `asof`: the first argument.
    pub fixed: Option<String>,
    /// A department's grants (`None`: the administrator).
    pub policy: Option<DepartmentGrants>,
}

/// A department's grants, and the current members table for scopes that go through the
/// member.
#[derive(Debug, Clone)]
pub struct DepartmentGrants {
    pub department: String,
    pub granted: HashMap<String, Granted>,
    pub members: Option<Arc<dyn TableProvider>>,
}

fn text(e: Option<&Expr>) -> Option<String> {
    match e {
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        )) => Some(s.clone()),
        Some(Expr::Literal(ScalarValue::Date32(Some(d)), _)) => {
            chrono::NaiveDate::from_epoch_days(*d).map(|d| d.to_string())
        }
        _ => None,
    }
}

/// The instant a date or time (local) means: a date is the end of that day.
fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let s = s.trim();
    let local = match s.parse::<chrono::NaiveDate>() {
        Ok(day) => day.and_hms_opt(23, 59, 59)?,
        Err(_) => {
            chrono::NaiveDateTime::parse_from_str(&s.replace('T', " "), "%Y-%m-%d %H:%M:%S%.f")
                .ok()?
        }
    };
    chrono::Local
        .from_local_datetime(&local)
        .latest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl TableFunctionImpl for AsOf {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let usage = match &self.fixed {
            Some(_) => "members_asof('YYYY-MM-DD')",
            None => "asof('<dataset>', 'YYYY-MM-DD')",
        };
        let (dataset, date) = match &self.fixed {
            Some(d) => (Some(d.clone()), text(exprs.first())),
            None => (text(exprs.first()), text(exprs.get(1))),
        };
        let (Some(dataset), Some(date)) = (dataset, date) else {
            return plan_err!("{usage}: give the date as text, e.g. '2023-12-31'");
        };
        let spec = self
            .lake
            .registry()
            .get(&dataset)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?
            .clone();
        let Some(at) = instant(&date) else {
            return plan_err!(
                "{usage}: `{date}` is not a date (YYYY-MM-DD) or a time (YYYY-MM-DD HH:MM:SS) 日期格式有误"
            );
        };
        let granted = match &self.policy {
            None => None,
            Some(p) => match p.granted.get(&dataset) {
                Some(g) => Some((g.clone(), p.members.clone())),
                None => {
                    // A refusal of the policy, told apart from a bad statement upstream.
                    return Err(DataFusionError::External(Box::new(
                        crate::Refusal::NotGranted {
                            dataset,
                            department: p.department.clone(),
                        },
                    )));
                }
            },
        };
        // Reading the log is async and this call is not: a thread of its own with its own
        // runtime, whatever runtime (if any) the caller is on.
        let lake = self.lake.clone();
        let name = dataset.clone();
        let provider = std::thread::scope(|s| {
            s.spawn(move || -> Result<Option<Arc<dyn TableProvider>>> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                rt.block_on(async {
                    let ext = |e: dangan_datasets::Error| DataFusionError::External(Box::new(e));
                    match lake.open_table_at(&name, at).await.map_err(ext)? {
                        None => Ok(None),
                        Some(t) => {
                            let delta = t
                                .table_provider()
                                .await
                                .map_err(|e| DataFusionError::External(Box::new(e)))?;
                            let files =
                                crate::provider::files_or(&t, delta, Default::default(), None)?;
                            Ok(Some(crate::sealed::unsealed(&lake, &name, files)))
                        }
                    }
                })
            })
            .join()
            .map_err(|_| DataFusionError::Execution("reading the table's history failed".into()))?
        })?;
        let provider = match provider {
            Some(p) => p,
            None => Arc::new(MemTable::try_new(spec.arrow_schema(), vec![vec![]])?),
        };
        let Some((g, members)) = granted else {
            return Ok(provider);
        };
        let ctx = SessionContext::new();
        crate::udf::register(&ctx, dangan_text::sentiment::Analyzer::shipped());
        let view = crate::scope::view(
            &ctx,
            &crate::scope::PolicyColumns::of(&spec),
            provider,
            &g.grant,
            g.orgs.as_ref(),
            members.as_ref(),
        )
        .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        Ok(view.into_view())
    }
}
