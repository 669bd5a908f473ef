//! The clap structs: they mirror the flags; `cmd` turns them into typed options.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "dangan", version, about = "dangan (档案): the members' digital archive — import, lake, SQL", long_about = None)]
pub struct Args {
    /// The lake directory (default: $DANGAN_LAKE, else ./dangan-lake).
    #[arg(
        long,
        global = true,
        env = "DANGAN_LAKE",
        default_value = "dangan-lake"
    )]
    pub lake: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the lake (or complete it): lake.toml, datasets/, one Delta table per dataset.
    Init {
        /// Keep the tables on S3-compatible storage (`s3://bucket/prefix`; endpoint and keys
        /// from `AWS_*` variables or the lake's `[storage_options]`) instead of in the lake
        /// folder, which keeps lake.toml, the specs, the journal and the search index.
        #[arg(long, value_name = "URL")]
        storage: Option<String>,
    },
    /// The dataset specs in force.
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
    /// Write a realistic synthetic archive (the files branches send) into a folder.
    Generate {
        #[arg(long, default_value_t = 20_000)]
        members: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import files (xlsx, xls, csv in UTF-8/GBK) into a dataset: one atomic commit.
    Import(ImportArgs),
    /// Run SQL over the lake (every dataset is a table).
    Sql {
        /// The SQL statement.
        sql: String,
        /// Output format (default: from the --out file's extension, else table). parquet
        /// and xlsx need --out; xlsx headers are the Chinese labels of dataset columns.
        #[arg(long, value_enum)]
        format: Option<Output>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run as this department: only its granted datasets, rows in its scope, personal
        /// columns masked unless granted (without it: the administrator).
        #[arg(long = "as", value_name = "DEPARTMENT")]
        as_department: Option<String>,
        /// Run on an Apache Ballista cluster (`df://host:50050`, its scheduler) instead of
        /// this process: same answers, same department policy.
        #[arg(long, value_name = "URL", env = "DANGAN_CLUSTER")]
        cluster: Option<String>,
        /// Stop the query if it runs longer than this many seconds (it is audited as stopped).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// An Apache Ballista cluster with dangan's functions on every node: run a scheduler, or
    /// an executor of one (each node with its own lake folder for the storage settings).
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Saved views: queries kept in the lake under a name, defined again by every session (a
    /// department's over its own tables).
    View {
        #[command(subcommand)]
        command: ViewCommand,
    },
    /// Reports for analysts (membership, engagement, sentiment, ...), computed over the rows
    /// the asking department may read: json, md, xlsx or a self-contained html.
    Report(ReportArgs),
    /// Departments and what they may read: datasets, row scope, personal columns.
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// Other departments' databases (PostgreSQL, SQLite) read live in SQL as `NAME.table`.
    External {
        #[command(subcommand)]
        command: ExternalCommand,
    },
    /// Table versions and files of the lake.
    Status {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Rows that failed their checks: list runs, show a run, export a fixes workbook.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Full-text search: words, "phrases", -exclusions, OR; names and pinyin.
    Search(SearchArgs),
    /// The text tools on their own: sentiment of a sentence, keywords of a dataset's texts.
    Text {
        #[command(subcommand)]
        command: TextCommand,
    },
    /// One member's whole archive: profile, appraisals, development, cadre changes, growth
    /// records, engagement — by id, name or pinyin.
    Member {
        /// A member_id, a name (张伟) or its pinyin (zhangwei, zw).
        who: String,
        #[arg(long, value_enum, default_value_t = MemberFormat::Text)]
        format: MemberFormat,
        /// Write to this file (an HTML page to print, say).
        #[arg(long)]
        out: Option<PathBuf>,
        /// As this department: only what it was granted.
        #[arg(long = "as", value_name = "DEPARTMENT")]
        as_department: Option<String>,
    },
    /// The search index: bring it in step with the tables, rebuild it, or see where it stands.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
    /// Pipelines that run unattended: imports of new files, index sync, reports, upkeep.
    Pipeline {
        #[command(subcommand)]
        command: PipelineCommand,
    },
    /// Lake upkeep: compact small files, delete unneeded ones, check everything reads.
    #[command(name = "lake")]
    LakeCmd {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// The web page for organizers (Chinese) and the JSON API (`/api/v1/`, OpenAPI at
    /// `/api/v1/openapi.json`), each request under its token's department. Stops on SIGTERM.
    Serve {
        /// Address to listen on (port 0: any free port; the first line printed says which).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Also serve Arrow Flight SQL here (ADBC, DBeaver, BI tools; the department's token
        /// as `authorization: Bearer`, or as the password).
        #[arg(long)]
        flight_addr: Option<String>,
        /// A request's query (SQL, search, report) is stopped after this many seconds.
        #[arg(long, default_value_t = 30)]
        query_timeout: u64,
        /// Rows an SQL request returns at most.
        #[arg(long, default_value_t = 10_000)]
        max_rows: usize,
        /// Distinct searches whose results are kept while the index does not change
        /// (0: search every time).
        #[arg(long, default_value_t = 1024)]
        search_cache: usize,
        /// Searches that run at once; more wait their turn, first come first served
        /// (default: two per core; 0: no limit).
        #[arg(long)]
        search_slots: Option<usize>,
        /// Queries (SQL, reports, archives, Flight SQL) that run at once; more wait their
        /// turn up to --queue-wait seconds, then get a 429 (default: two per core).
        #[arg(long)]
        query_slots: Option<usize>,
        /// Queries of one department running or waiting at once; one more gets a 429.
        #[arg(long, default_value_t = 4)]
        department_queries: usize,
        /// Seconds a query waits for its turn before it is refused.
        #[arg(long, default_value_t = 10)]
        queue_wait: u64,
        /// Run every session's queries on an Apache Ballista cluster (`df://host:50050`);
        /// this server stays the front-end (page, API, Flight SQL, search).
        #[arg(long, value_name = "URL", env = "DANGAN_CLUSTER")]
        cluster: Option<String>,
    },
    /// Generate a demo archive, import it through the real import path, print a tour.
    Demo {
        #[arg(long, default_value_t = 20_000)]
        members: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Run a pipeline once now (a spec file, or the name of one in LAKE/pipelines/).
    /// Exit code as the importer's: 0 clean (files still being written wait for the next
    /// run), 3 rows quarantined, 1 a step failed, 4 stopped.
    Run {
        spec: String,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Check a spec without running it.
    Validate { spec: String },
    /// The pipelines of a folder (default LAKE/pipelines/), their schedules and last runs.
    List { dir: Option<PathBuf> },
    /// Past runs, step by step, from the runs table.
    History {
        #[arg(long)]
        pipeline: Option<String>,
        /// Only the last N runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Run every pipeline of a folder (default LAKE/pipelines/) on its schedule until
    /// SIGTERM or Ctrl-C (which stop it between steps).
    Serve { dir: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Compact the small files imports leave (every table, or these): one commit per table.
    Optimize { tables: Vec<String> },
    /// Delete files that no version of the last N days needs (time travel — `members_asof`,
    /// the membership reconciliation — reaches back N days after this).
    Vacuum {
        #[arg(long)]
        retain: u32,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every table reads, its files are there, no orphan files, the index is in step.
    Check {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Write a new random key (32 bytes as hex) to FILE, readable by its owner only. Keep it
    /// outside the lake (and its backups): whoever has both reads the personal values.
    NewKey { file: PathBuf },
    /// Seal personal values at rest (ID numbers, phones, birth dates; quarantined rows and
    /// audited queries): AES-256-GCM per value with the key given, plus a keyed hash for
    /// look-ups. Existing tables are rewritten, one commit each; run again to finish one that
    /// stopped.
    Encrypt {
        #[command(flatten)]
        key: KeyArgs,
        /// Delete the files from before at once (they hold the values in plaintext until
        /// vacuumed; time travel to earlier versions ends here).
        #[arg(long)]
        vacuum: bool,
    },
    /// Seal everything again with a new key (the current one must still be readable).
    RotateKey {
        #[command(flatten)]
        key: KeyArgs,
        /// Delete the files sealed with the old key at once.
        #[arg(long)]
        vacuum: bool,
    },
}

/// Where a lake's key is: a file, an environment variable, or a command that prints it (a KMS).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// A file holding the key (64 hex digits or base64 of 32 bytes).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the key.
    #[arg(long)]
    pub key_env: Option<String>,
    /// A command (run by `sh -c`) that prints the key.
    #[arg(long)]
    pub key_command: Option<String>,
}

impl KeyArgs {
    pub fn source(self) -> dangan_datasets::seal::KeySource {
        dangan_datasets::seal::KeySource {
            key_id: String::new(),
            // An absolute path: the lake is opened from other folders too.
            key_file: self.key_file.map(|f| std::path::absolute(&f).unwrap_or(f)),
            key_env: self.key_env,
            key_command: self.key_command,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ViewCommand {
    /// Check that the query plans, then keep it under NAME (`SELECT … FROM NAME`).
    Save { name: String, sql: String },
    /// Drop a saved view.
    Drop { name: String },
    /// Every saved view: its name, who saved it and its SQL.
    List {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Departments: add one.
    Department {
        #[command(subcommand)]
        command: DepartmentCommand,
    },
    /// Let a department read a dataset (again: change the grant).
    Grant {
        department: String,
        dataset: String,
        /// Which rows: all, own (the department's organizations and those under them), or
        /// org:<ORG_ID> (that organization and those under it).
        #[arg(long, default_value = "own", value_parser = parse_scope)]
        scope: dangan_datasets::access::Scope,
        /// Personal columns (ID number, phone, birth date): masked or visible.
        #[arg(long, default_value = "masked", value_parser = parse_personal)]
        personal: dangan_datasets::access::Personal,
        /// May also import into the dataset (web upload, API); never implied by reading.
        /// Needs --scope all; never for organizations (the org tree is the administrator's).
        #[arg(long)]
        import: bool,
    },
    /// Take a grant back.
    Revoke { department: String, dataset: String },
    /// Every department, its organizations and its grants.
    List {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// API tokens: each acts as one department (`Authorization: Bearer <token>`).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExternalCommand {
    /// Declare a database in lake.toml (checked by connecting first). Its tables are then
    /// `NAME.table` in SQL and in grants (`dangan access grant DEPT NAME.table`).
    Add {
        /// The schema it is in SQL: lower-case letters, digits and _.
        name: String,
        /// postgres, mysql (MySQL or MariaDB) or sqlite.
        #[arg(long, value_parser = parse_external_kind)]
        kind: dangan_datasets::external::ExternalKind,
        /// postgres://user@host:port/db[?sslmode=require], mysql://user@host:port/db
        /// [?sslmode=required|disabled], or a SQLite file's path. Never a password.
        #[arg(long)]
        url: String,
        /// The environment variable holding the password (read when connecting, never stored).
        #[arg(long, conflicts_with = "password_file")]
        password_env: Option<String>,
        /// A file whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The tables to expose (`t` or `schema.t`, comma-separated); default: every table.
        #[arg(long, value_delimiter = ',')]
        tables: Vec<String>,
        /// Longest wait for the database to connect or to send the next rows.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Tell the access policy which columns of an external table hold the organization (row
    /// scope), the member, and personal values.
    Map {
        /// `NAME.table`.
        table: String,
        /// The column holding the organization id (org_id of the archive).
        #[arg(long)]
        org_column: Option<String>,
        /// The column holding the member id (scope through the register of people).
        #[arg(long)]
        member_column: Option<String>,
        /// Personal columns as column=mask (mask: id_number, phone or year), comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = parse_personal_column)]
        personal: Vec<(String, dangan_datasets::Mask)>,
    },
    /// The declared databases.
    List {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Connect and list each table with its columns (Arrow types); warn when the role could
    /// write. Exit code 1 when a source cannot be read.
    Check {
        /// One source (default: all).
        name: Option<String>,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Remove a database from lake.toml (grants of its tables stay until revoked).
    Remove { name: String },
}

fn parse_external_kind(s: &str) -> Result<dangan_datasets::external::ExternalKind, String> {
    s.parse().map_err(|e: dangan_datasets::Error| e.to_string())
}

fn parse_personal_column(s: &str) -> Result<(String, dangan_datasets::Mask), String> {
    let (column, mask) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected column=mask (id_number, phone or year)"))?;
    let mask = match mask.trim() {
        "id_number" | "id" => dangan_datasets::Mask::IdNumber,
        "phone" => dangan_datasets::Mask::Phone,
        "year" | "date" => dangan_datasets::Mask::Year,
        other => return Err(format!("mask `{other}`: expected id_number, phone or year")),
    };
    Ok((column.trim().to_string(), mask))
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token for a department; the token is printed on the last line, once (only its
    /// hash is kept).
    Create {
        #[arg(long)]
        department: String,
    },
    /// Every token: id, department, when made, revoked or not (never the token itself).
    List,
    /// Revoke a token by its id (`tk_…`).
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum DepartmentCommand {
    /// Add a department. Its own organizations are those whose `department` column names
    /// it, plus any given with --org.
    Add {
        name: String,
        /// An organization of the department's own (repeat for several).
        #[arg(long = "org")]
        orgs: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// One line per dataset.
    List {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// A dataset's columns: type, Chinese label, aliases, checks.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// An import template (导入模板) for branches to fill: Chinese headers, drop-down lists
    /// (the allowed values, the lake's branches), date/number/ID-length validation, a hint per
    /// column, personal columns marked, and a 填写说明 sheet.
    Template {
        name: String,
        /// The workbook to write (.xlsx).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to look for: 志愿服务, "主题党日", -请假, 学习 OR 培训, 张伟, zhangwei, zw.
    pub query: String,
    /// Only this dataset (repeat for several).
    #[arg(long = "dataset")]
    pub datasets: Vec<String>,
    /// Only this organization and the organizations under it.
    #[arg(long)]
    pub org: Option<String>,
    /// From this date (YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_day)]
    pub from: Option<chrono::NaiveDate>,
    /// To this date (YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_day)]
    pub to: Option<chrono::NaiveDate>,
    /// Only this category (growth records: 思想汇报, 学习心得, …).
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Skip this many hits (pagination).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// table, csv, json or ndjson.
    #[arg(long, default_value = "table", value_parser = text_output())]
    pub format: dangan_query::OutputFormat,
    /// As this department: only the datasets and rows it was granted.
    #[arg(long = "as", value_name = "DEPARTMENT")]
    pub as_department: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Re-index the datasets whose tables changed since the last sync.
    Sync,
    /// Re-index everything from the tables.
    Rebuild,
    /// Indexed version against table version, and documents, per dataset.
    Status {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Runs that quarantined rows.
    List {
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// The rejected rows of a run, with every problem.
    Show {
        run: String,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// A workbook of the run's rejected rows, as the branch sent them, with what to fix.
    Export {
        run: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The dataset (see `dangan datasets list`).
    pub dataset: String,
    /// Files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// append, replace or upsert (default: the dataset spec's mode).
    #[arg(long, value_parser = import_mode())]
    pub mode: Option<dangan_datasets::ImportMode>,
    /// Force the text encoding of CSV files (utf-8, gbk, gb18030, …); default: detected.
    #[arg(long)]
    pub encoding: Option<String>,
    /// The sheet to read (name or number); default: the first with data.
    #[arg(long)]
    pub sheet: Option<String>,
    /// A TOML file with `[aliases]` "header" = "column".
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Check everything, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import files again even if the same content was imported before.
    #[arg(long)]
    pub force: bool,
    /// With `--mode replace`: replace the table even when more than half of the rows were
    /// rejected (by default such a replace is refused and the table kept).
    #[arg(long)]
    pub replace_anyway: bool,
    /// A value for every row of a column the files lack: `--set year=2024` (the 评议结果
    /// template has no 年度). Repeat for several columns.
    #[arg(long = "set", value_name = "COLUMN=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// Survey id for 问卷星-style wide exports (default: derived from the file name).
    #[arg(long)]
    pub survey_id: Option<String>,
    /// Survey title (default: the file name).
    #[arg(long)]
    pub survey_title: Option<String>,
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    /// Do not bring the search index in step after the import (a pipeline syncs it later).
    #[arg(long)]
    pub no_index: bool,
    /// Seconds to wait for another writer of the lake (an import, a pipeline, a host sharing
    /// the bucket) before giving up.
    #[arg(long, default_value_t = 600)]
    pub lock_wait: u64,
}

/// `dangan cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Plan queries into stages and hand their tasks to executors; clients connect here.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: std::net::SocketAddr,
        /// The name executors and clients reach it by (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// Run tasks for a scheduler; shuffle files and spills go to --work-dir.
    Executor {
        /// The scheduler, `host:port`.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// The address to listen on (0.0.0.0 for every interface of a machine of a cluster).
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// The name the scheduler and other executors reach it by (default: --bind-host).
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port (other executors fetch shuffle data here).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port (the scheduler hands tasks out here).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Where shuffle files and spills go (a local disk; a folder per job).
        #[arg(long)]
        work_dir: PathBuf,
        /// Tasks at once (default: the cores).
        #[arg(long)]
        concurrency: Option<usize>,
    },
}

/// How rows are written: the query crate's text formats, and two that write a file.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
    Xlsx,
}

impl Output {
    /// The format a file name asks for by its extension.
    pub fn from_extension(path: &std::path::Path) -> Option<Output> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" => Some(Output::Ndjson),
            "txt" => Some(Output::Table),
            e => Output::from_str(e, true).ok(),
        }
    }

    /// The text format it is (`None`: a file format).
    pub fn text(self) -> Option<dangan_query::OutputFormat> {
        use dangan_query::OutputFormat as T;
        match self {
            Output::Table => Some(T::Table),
            Output::Csv => Some(T::Csv),
            Output::Json => Some(T::Json),
            Output::Ndjson => Some(T::Ndjson),
            Output::Parquet | Output::Xlsx => None,
        }
    }
}

/// The text formats, for commands that write text only.
fn text_output() -> impl TypedValueParser<Value = dangan_query::OutputFormat> {
    clap::builder::PossibleValuesParser::new(["table", "csv", "json", "ndjson"])
        .try_map(|s: String| s.parse::<dangan_query::OutputFormat>())
}

/// The import modes, by the names the specs use.
fn import_mode() -> impl TypedValueParser<Value = dangan_datasets::ImportMode> {
    clap::builder::PossibleValuesParser::new(["append", "replace", "upsert"])
        .try_map(|s: String| s.parse::<dangan_datasets::ImportMode>())
}

fn parse_scope(s: &str) -> Result<dangan_datasets::access::Scope, String> {
    s.parse().map_err(|e: dangan_datasets::Error| e.to_string())
}

fn parse_personal(s: &str) -> Result<dangan_datasets::access::Personal, String> {
    s.parse().map_err(|e: dangan_datasets::Error| e.to_string())
}

fn parse_report_format(s: &str) -> Result<dangan_reports::render::Format, String> {
    dangan_reports::render::Format::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MemberFormat {
    Text,
    Json,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TextFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The report: membership, engagement, sentiment (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the reports.
    #[arg(long)]
    pub list: bool,
    /// First day of the period (YYYY-MM-DD; default depends on the report).
    #[arg(long, value_parser = parse_day)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of the period (default: --as-of).
    #[arg(long, value_parser = parse_day)]
    pub to: Option<chrono::NaiveDate>,
    /// Only this organization and its sub-tree.
    #[arg(long)]
    pub org: Option<String>,
    /// The day the report is as of (ages, inactivity; default today).
    #[arg(long, value_parser = parse_day)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Days without any activity after which a member counts as inactive (engagement).
    #[arg(long, default_value_t = 90)]
    pub inactive_days: u32,
    /// json, md, xlsx or html (default: from the --out extension, else md).
    #[arg(long, value_parser = parse_report_format)]
    pub format: Option<dangan_reports::render::Format>,
    /// Write to this file (xlsx needs it) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run as this department: its grants, scope and masks apply to every row the report reads.
    #[arg(long = "as", value_name = "DEPARTMENT")]
    pub as_department: Option<String>,
    /// Run the report's queries on an Apache Ballista cluster (`df://host:50050`).
    #[arg(long, value_name = "URL", env = "DANGAN_CLUSTER")]
    pub cluster: Option<String>,
}

/// A day in any form the importer reads (YYYY-MM-DD, YYYY/M/D, YYYY年M月D日, YYYYMMDD, …):
/// one date parser for files, commands and the API.
pub fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    dangan_ingest::value::parse_day(s)
        .ok_or_else(|| format!("`{s}` is not a date: expected YYYY-MM-DD 日期格式应为 YYYY-MM-DD"))
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// Sentiment (-1 … 1) of each text given, or of each line of standard input.
    Sentiment {
        texts: Vec<String>,
        /// Show the lexicon words found and the two parts of the score.
        #[arg(long)]
        explain: bool,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Check the analyzer on your own labelled texts: balanced accuracy, precision, recall
    /// and F1 per class, the confusion table, the share scored neutral, the worst-scored
    /// examples. FILE: a UTF-8 TSV with the header `label<TAB>text`, or a CSV/xlsx with a
    /// label column and a text column; labels positive/negative/neutral or 正面/负面/中性.
    Eval {
        file: PathBuf,
        #[command(flatten)]
        columns: LabelledColumns,
        /// How many of the worst-scored texts to show.
        #[arg(long, default_value_t = 10)]
        examples: usize,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Adapt the analyzer to the lake's own texts from a labelled file (the shapes `text eval`
    /// reads; a few hundred items): five-fold cross-validation scores every item by a model
    /// fitted without it, compares that with the analyzer in use on the same items, and keeps
    /// the model fitted on all of them in the lake only if it does better.
    Train {
        /// The labelled file (not with --reset, --refit or --history).
        #[arg(required_unless_present_any = ["reset", "history", "refit"])]
        file: Option<PathBuf>,
        /// Go back to the shipped analyzer (trained models stay in the lake's history).
        #[arg(long, conflicts_with_all = ["file", "history"])]
        reset: bool,
        /// Fit the lake's model in use again on the labelled texts it was fitted on (kept in
        /// the lake): after an upgrade to a dangan whose analyzer is another revision.
        #[arg(long, conflicts_with_all = ["file", "reset", "history"])]
        refit: bool,
        /// List the lake's trainings and resets, and the analyzer in use.
        #[arg(long, conflicts_with = "file")]
        history: bool,
        #[command(flatten)]
        columns: LabelledColumns,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
    /// Top keywords (TF-IDF over jieba words) of a dataset's text column.
    Keywords {
        #[arg(long)]
        dataset: String,
        /// The text column (default: the dataset's first full-text column).
        #[arg(long)]
        column: Option<String>,
        /// Only this organization and its sub-tree.
        #[arg(long)]
        org: Option<String>,
        /// Only negative (or positive) texts, by sentiment.
        #[arg(long, value_parser = ["negative", "positive"])]
        only: Option<String>,
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long = "as", value_name = "DEPARTMENT")]
        as_department: Option<String>,
        #[arg(long, value_enum, default_value_t = TextFormat::Text)]
        format: TextFormat,
    },
}

/// Where a labelled file's labels and texts are (`text eval`, `text train`).
#[derive(Debug, clap::Args)]
pub struct LabelledColumns {
    /// The label column of a CSV/xlsx (default: label, 标签, 情感, 极性, sentiment …).
    #[arg(long)]
    pub label_column: Option<String>,
    /// The text column of a CSV/xlsx (default: text, 文本, 内容, 评论, content …).
    #[arg(long)]
    pub text_column: Option<String>,
    /// The sheet of a workbook (name or 1-based number; default: the first with data).
    #[arg(long)]
    pub sheet: Option<String>,
}

/// `column=value` of `--set`.
fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, v)) if !c.trim().is_empty() => Ok((c.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("`{s}`: expected COLUMN=VALUE, e.g. year=2024")),
    }
}
