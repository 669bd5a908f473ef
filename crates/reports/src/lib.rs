//! Analysts' reports: each asks the query layer for the rows it needs (so the asking
//! department's grants, scope and masks apply), computes with SQL over those rows (a DataFusion
//! session of the report's own, without the lake) and Rust, and returns a [`Report`]
//! of titled tables and charts that `render` writes as JSON, Markdown, xlsx or one HTML file.
//!
//! A report is a module with a type implementing [`ReportDef`] plus one line in [`REPORTS`].

mod error;
pub mod render;
pub mod table;

mod appraisal;
mod development;
mod engagement;
mod feedback;
pub mod keywords;
mod meetings;
mod membership;
mod operators;
mod reconcile;
mod sentiment;
mod survey;
mod util;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use dangan_datasets::Lake;
use dangan_query::QueryEngine;
use dangan_query::policy::OrgTree;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;

pub use table::Table;

pub use error::{Error, Result};

/// Every report, in the order `dangan report --list` shows them.
pub static REPORTS: &[&dyn ReportDef] = &[
    &membership::Membership,
    &appraisal::Appraisal,
    &development::Development,
    &meetings::Meetings,
    &engagement::Engagement,
    &sentiment::Sentiment,
    &survey::Survey,
    &operators::Operators,
    &feedback::Feedback,
];

/// Find a report by name.
pub fn find(name: &str) -> Result<&'static dyn ReportDef> {
    REPORTS
        .iter()
        .copied()
        .find(|r| r.name() == name)
        .ok_or_else(|| Error::NoSuchReport {
            name: name.to_string(),
            known: REPORTS
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// What a report is asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// First day of the period (inclusive); each report has its own default.
    pub from: Option<NaiveDate>,
    /// Last day of the period (inclusive); default: `as_of`.
    pub to: Option<NaiveDate>,
    /// Only this organization and its sub-tree.
    pub org: Option<String>,
    /// The day the report is "as of" (ages, inactivity): default today.
    pub as_of: NaiveDate,
    /// Days without activity after which a member counts as inactive (engagement).
    pub inactive_days: u32,
    /// The organizations of the `--org` sub-tree (filled in by [`run`]).
    pub orgs: Option<Vec<String>>,
}

impl Params {
    pub fn new(as_of: NaiveDate) -> Self {
        Params {
            from: None,
            to: None,
            org: None,
            as_of,
            inactive_days: 90,
            orgs: None,
        }
    }

    /// ` AND <column> IN (...)` when the report is limited to an organization's sub-tree, else
    /// nothing: to append to a query's `WHERE`.
    pub fn org_filter(&self, column: &str) -> String {
        match &self.orgs {
            None => String::new(),
            Some(orgs) => format!(
                " AND {column} IN ({})",
                orgs.iter()
                    .map(|o| util::sql_str(o))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The period: `from` (or `default_from`) to `to` (or `as_of`), both inclusive.
    pub fn period(&self, default_from: NaiveDate) -> (NaiveDate, NaiveDate) {
        (
            self.from.unwrap_or(default_from),
            self.to.unwrap_or(self.as_of),
        )
    }
}

/// One report's definition: the rows it reads (SQL through the department's session) and
/// how it turns them into tables.
#[async_trait::async_trait]
pub trait ReportDef: Sync {
    /// The name on the command line (`membership`, `engagement`, ...).
    fn name(&self) -> &'static str;
    /// The Chinese title.
    fn title(&self) -> &'static str;
    /// Named SQL queries whose results [`ReportDef::compute`] receives as tables.
    fn queries(&self, p: &Params) -> Vec<(&'static str, String)>;
    /// Queries the report can do without when the department was not granted their data
    /// (the report says what it left out); any other refusal is an error.
    fn optional(&self) -> &'static [&'static str] {
        &[]
    }
    /// Compute the report from its inputs.
    async fn compute(&self, input: &Inputs, p: &Params) -> Result<Report>;
}

/// The results of a report's queries, by name, and a session of the report's own in which
/// each is a table of that name (for [`Inputs::sql`]).
pub struct Inputs {
    tables: BTreeMap<&'static str, Table>,
    ctx: SessionContext,
    /// The name of the sentiment analyzer the queries scored with (the session's lake's).
    sentiment_model: String,
}

impl Inputs {
    fn new(tables: BTreeMap<&'static str, Table>, sentiment_model: String) -> Result<Self> {
        let inputs = Inputs {
            tables,
            ctx: SessionContext::new(),
            sentiment_model,
        };
        for (name, t) in &inputs.tables {
            inputs.register(name, t)?;
        }
        Ok(inputs)
    }

    /// Which sentiment analyzer the queries' `sentiment()` scored with.
    pub fn sentiment_model(&self) -> &str {
        &self.sentiment_model
    }

    pub fn table(&self, name: &str) -> Result<&Table> {
        self.tables
            .get(name)
            .ok_or_else(|| Error::MissingInput(name.to_string()))
    }

    /// An optional input: `None` when the department may not read it.
    pub fn optional(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Make `t` a table of the report's session under `name` (replacing one of that name).
    pub fn register(&self, name: &str, t: &Table) -> Result<()> {
        let batch = t.batch().clone();
        let mem = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, std::sync::Arc::new(mem))?;
        Ok(())
    }

    /// Run SQL over the report's inputs (and what was registered) in the report's session.
    pub async fn sql(&self, sql: &str) -> Result<Table> {
        let df = self.ctx.sql(sql).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Table::from_batches(&schema, &batches)
    }
}

/// A computed report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub name: String,
    pub title: String,
    /// What the report covers, in words (period, organization, as of).
    pub subtitle: String,
    pub sections: Vec<Section>,
    /// Figures worth a glance (label, value), shown first.
    pub highlights: Vec<(String, String)>,
    pub metrics: Metrics,
}

impl Report {
    /// A report of `def` (its name and title) with these contents; the metrics are filled in
    /// by [`run`].
    pub fn new(
        def: &dyn ReportDef,
        subtitle: String,
        sections: Vec<Section>,
        highlights: Vec<(String, String)>,
    ) -> Self {
        Report {
            name: def.name().into(),
            title: def.title().into(),
            subtitle,
            sections,
            highlights,
            metrics: Metrics::default(),
        }
    }
}

/// What computing the report cost.
#[derive(Debug, Default, Serialize)]
pub struct Metrics {
    /// Rows read per input.
    pub rows_read: BTreeMap<String, usize>,
    /// Milliseconds per input (the query and its conversion to a table).
    pub input_ms: BTreeMap<String, u128>,
    pub query_ms: u128,
    pub compute_ms: u128,
    /// Optional inputs left out because the department was not granted them.
    pub skipped: Vec<String>,
    /// Who asked (`None`: the administrator).
    pub department: Option<String>,
}

/// One table of a report, with an optional chart drawn from it.
#[derive(Debug, Serialize)]
pub struct Section {
    pub title: String,
    /// A sentence on how to read it (rules applied, thresholds).
    pub note: Option<String>,
    #[serde(serialize_with = "render::json::serialize_table")]
    pub table: Table,
    /// Chinese header per column name (columns not listed keep their name).
    pub labels: Vec<(String, String)>,
    pub chart: Option<Chart>,
}

impl Section {
    pub fn new(title: impl Into<String>, table: Table, labels: &[(&str, &str)]) -> Self {
        Section {
            title: title.into(),
            note: None,
            table,
            labels: labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            chart: None,
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn chart(mut self, chart: Chart) -> Self {
        self.chart = Some(chart);
        self
    }

    /// The header of a column: its Chinese label if it has one.
    pub fn label<'a>(&'a self, column: &'a str) -> &'a str {
        self.labels
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, l)| l.as_str())
            .unwrap_or(column)
    }
}

/// A chart of a section's table, by column names.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Chart {
    /// One line per `y` column over the `x` column (months, years).
    Line { x: String, ys: Vec<String> },
    /// Horizontal bars of `value` per `label` (rankings, a funnel).
    Bars { label: String, value: String },
    /// One stacked bar per `x`, stacked from the `stacks` columns (grade distributions).
    Stacked { x: String, stacks: Vec<String> },
    /// A grid of `value` by `row` and `col` (compliance per branch and month).
    Heatmap {
        row: String,
        col: String,
        value: String,
    },
}

/// Run a report: its queries through `engine` (the department's session when it has one),
/// then its computation.
pub async fn run(
    lake: &Lake,
    engine: &QueryEngine,
    def: &dyn ReportDef,
    params: &Params,
) -> Result<Report> {
    let started = Instant::now();
    let mut metrics = Metrics {
        department: engine.department().map(str::to_string),
        ..Metrics::default()
    };
    let mut p = params.clone();
    if let Some(root) = &p.org {
        let orgs = OrgTree::load(lake).await?.sub_tree(root);
        p.orgs = Some(orgs.ok_or_else(|| Error::NoSuchOrg { id: root.clone() })?);
    }
    let p = &p;
    let mut tables = BTreeMap::new();
    for (name, sql) in def.queries(p) {
        let asked = Instant::now();
        let result = match engine.sql(&sql).await {
            Err(dangan_query::Error::Refused(_)) if def.optional().contains(&name) => {
                metrics.skipped.push(name.to_string());
                continue;
            }
            r => r,
        };
        let result = result.map_err(|e| match e {
            dangan_query::Error::Refused(refusal) => Error::Refused {
                report: def.name(),
                title: def.title(),
                refusal,
            },
            e => Error::Query(e),
        })?;
        metrics.rows_read.insert(name.to_string(), result.rows);
        tables.insert(name, Table::from_batches(&result.schema, &result.batches)?);
        metrics
            .input_ms
            .insert(name.to_string(), asked.elapsed().as_millis());
    }
    metrics.query_ms = started.elapsed().as_millis();
    let input = Inputs::new(tables, engine.analyzer().version())?;
    let computing = Instant::now();
    let mut report = def.compute(&input, p).await?;
    metrics.compute_ms = computing.elapsed().as_millis();
    report.metrics = metrics;
    Ok(report)
}

/// Run a report in a session of its own as `department` (`None`: the administrator), its
/// queries run by `runner` (a cluster; `None`: this process), writing the session's audit
/// rows before returning.
pub async fn run_as(
    lake: &Lake,
    department: Option<&str>,
    runner: Option<&dyn dangan_query::Runner>,
    def: &dyn ReportDef,
    params: &Params,
) -> Result<Report> {
    let engine = QueryEngine::open_on(lake, department, runner).await?;
    let report = run(lake, &engine, def, params).await;
    engine.flush_audit().await?;
    report
}

/// The line under a report's title: period, organization, as-of day.
pub(crate) fn subtitle(p: &Params, from: NaiveDate, to: NaiveDate) -> String {
    let mut s = format!(
        "统计期间 {} 至 {}",
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d")
    );
    s.push_str(&util::org_note(p));
    s.push_str(&format!("；截至 {}", p.as_of.format("%Y-%m-%d")));
    s
}
