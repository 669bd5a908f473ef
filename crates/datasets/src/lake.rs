//! The lake: a directory (or object-store prefix) of Delta tables, one per dataset, plus the
//! internal tables, with `lake.toml` saying where the tables live.
//!
//! Layout: `lake.toml`, `datasets/` (user specs), `tables/<dataset>/` and `system/<table>/`
//! (Delta tables). Table data goes through deltalake's object stores; only the small config
//! files are read with `std::fs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use deltalake::kernel::Action;
use deltalake::kernel::DataType as DeltaType;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::protocol::DeltaOperation;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableBuilder};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::system::SystemTable;
use crate::write::{WriteOptions, commit_properties};

/// `lake.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// Layout version of the lake.
    pub format: u32,
    /// Where the Delta tables live; default: next to `lake.toml`. An `s3://…` (or other
    /// object-store) URL moves the tables there without touching anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_url: Option<String>,
    /// Options handed to the object store (credentials, endpoint, region, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_options: BTreeMap<String, String>,
    /// Other databases read live as schemas of the lake's SQL (`crate::external`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external: BTreeMap<String, crate::external::ExternalSource>,
    /// Personal values sealed at rest with a key kept outside the lake (`crate::seal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<crate::seal::EncryptionConfig>,
}

/// The lake's keys once read (or why they could not be).
type LoadedKeys = Arc<std::sync::OnceLock<std::result::Result<Arc<crate::seal::Keyring>, String>>>;

/// An open lake.
#[derive(Debug, Clone)]
pub struct Lake {
    dir: PathBuf,
    tables_root: Url,
    config: LakeConfig,
    registry: Arc<Registry>,
    keys: LoadedKeys,
}

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub path: PathBuf,
    pub created_tables: Vec<String>,
    pub existing_tables: Vec<String>,
}

/// What [`Lake::reseal`] did to a table.
#[derive(Debug, Clone, Serialize)]
pub struct ResealReport {
    pub table: String,
    pub rows: usize,
    pub version: i64,
}

/// What a table looks like right now.
#[derive(Debug, Clone, Serialize)]
pub struct TableStatus {
    pub name: String,
    pub url: String,
    pub version: Option<i64>,
    pub files: usize,
}

pub const LAKE_FILE: &str = "lake.toml";
const FORMAT: u32 = 1;

impl Lake {
    /// Create the lake at `dir` (or complete a partly created one): `lake.toml`, `datasets/`,
    /// and an empty Delta table for every dataset and internal table that is missing.
    pub async fn init(dir: &Path) -> Result<(Lake, InitReport)> {
        Self::init_with(dir, None).await
    }

    /// [`Lake::init`] with the tables at `storage_url` (`s3://bucket/prefix`: see
    /// [`crate::storage`]) instead of under `dir`; `dir` keeps `lake.toml`, the dataset specs,
    /// the journal and the search index. A lake already made elsewhere is not moved.
    pub async fn init_with(dir: &Path, storage_url: Option<&str>) -> Result<(Lake, InitReport)> {
        std::fs::create_dir_all(dir.join("datasets")).map_err(|e| Error::io(dir, e))?;
        let cfg_path = dir.join(LAKE_FILE);
        if cfg_path.exists()
            && let Some(wanted) = storage_url
        {
            let lake = Lake::open(dir)?;
            let have = lake
                .config
                .storage_url
                .as_deref()
                .unwrap_or("(local tables)");
            if have.trim_end_matches('/') != wanted.trim_end_matches('/') {
                return Err(Error::LakeConfig {
                    path: cfg_path,
                    message: format!(
                        "this lake keeps its tables at {have}, not {wanted}: a lake is not moved by init"
                    ),
                });
            }
        }
        if !cfg_path.exists() {
            let cfg = LakeConfig {
                format: FORMAT,
                storage_url: storage_url.map(str::to_string),
                storage_options: BTreeMap::new(),
                external: BTreeMap::new(),
                encryption: None,
            };
            write_config(&cfg_path, &cfg)?;
        }
        let lake = Lake::open(dir)?;
        let mut report = InitReport {
            path: lake.dir.clone(),
            created_tables: Vec::new(),
            existing_tables: Vec::new(),
        };
        for (name, schema) in lake.tables() {
            if lake.ensure_table(&name, &schema).await? {
                report.created_tables.push(name);
            } else {
                report.existing_tables.push(name);
            }
        }
        Ok((lake, report))
    }

    /// Every table of the lake with its schema: the datasets, then the internal tables.
    pub fn tables(&self) -> Vec<(String, SchemaRef)> {
        let datasets = self
            .registry
            .iter()
            .map(|s| (s.name.clone(), s.arrow_schema()));
        let system = SystemTable::ALL
            .iter()
            .map(|t| (t.table_name(), t.schema()));
        datasets.chain(system).collect()
    }

    /// Open an existing lake (reads `lake.toml` and the user's dataset specs).
    pub fn open(dir: &Path) -> Result<Lake> {
        let cfg_path = dir.join(LAKE_FILE);
        if !cfg_path.exists() {
            return Err(Error::NotALake {
                path: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let config: LakeConfig = toml::from_str(&text).map_err(|e| Error::LakeConfig {
            path: cfg_path.clone(),
            message: e.to_string(),
        })?;
        if config.format != FORMAT {
            return Err(Error::LakeConfig {
                path: cfg_path,
                message: format!(
                    "format {} is not supported (this build reads {FORMAT})",
                    config.format
                ),
            });
        }
        for (name, source) in &config.external {
            source.validate(name).map_err(|e| Error::LakeConfig {
                path: cfg_path.clone(),
                message: e.to_string(),
            })?;
        }
        let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
        let tables_root = match &config.storage_url {
            Some(u) => {
                let u = if u.ends_with('/') {
                    u.clone()
                } else {
                    format!("{u}/")
                };
                let url = Url::parse(&u).map_err(|e| Error::LakeConfig {
                    path: cfg_path.clone(),
                    message: format!("storage_url `{u}`: {e}"),
                })?;
                if !crate::storage::SCHEMES.contains(&url.scheme()) && url.scheme() != "file" {
                    return Err(Error::LakeConfig {
                        path: cfg_path.clone(),
                        message: format!(
                            "storage_url `{u}`: `{}://` is not supported (s3:// for S3-compatible stores, or file://)",
                            url.scheme()
                        ),
                    });
                }
                crate::storage::register();
                url
            }
            None => Url::from_directory_path(&dir).map_err(|_| {
                Error::Invalid(format!("{} is not an absolute path", dir.display()))
            })?,
        };
        let registry = Arc::new(Registry::load(Some(&dir.join("datasets")))?);
        Ok(Lake {
            dir,
            tables_root,
            config,
            registry,
            keys: Default::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn config(&self) -> &LakeConfig {
        &self.config
    }

    /// Replace `lake.toml` with `config` (a new file renamed over the old one); what a
    /// command that changes the configuration (`dangan external add`) calls.
    pub fn save_config(&mut self, config: LakeConfig) -> Result<()> {
        for (name, source) in &config.external {
            source.validate(name)?;
        }
        write_config(&self.dir.join(LAKE_FILE), &config)?;
        self.config = config;
        self.keys = Default::default();
        Ok(())
    }

    /// The keys personal values are sealed with: `None` when the lake is not encrypted, an
    /// error naming the key's source when it cannot be read (read once per `Lake`).
    pub fn keyring(&self) -> Result<Option<Arc<crate::seal::Keyring>>> {
        let Some(config) = &self.config.encryption else {
            return Ok(None);
        };
        self.keys
            .get_or_init(|| {
                crate::seal::Keyring::load(config)
                    .map(Arc::new)
                    .map_err(|e| match e {
                        Error::Key(m) => m,
                        other => other.to_string(),
                    })
            })
            .clone()
            .map(Some)
            .map_err(Error::Key)
    }

    /// The columns of table `name` whose values are sealed (none when the lake is not
    /// encrypted): a dataset's personal columns, with a look-up column each, and the internal
    /// tables' copies of values — a quarantined row's value, message and raw row, the text of
    /// an audited query or a saved view, a run's message.
    pub fn sealed_columns(&self, name: &str) -> Vec<crate::seal::SealedColumn> {
        use crate::seal::SealedColumn;
        if self.config.encryption.is_none() {
            return Vec::new();
        }
        let text = |names: &[&str]| {
            names
                .iter()
                .map(|n| SealedColumn {
                    name: n.to_string(),
                    plain: arrow::datatypes::DataType::Utf8,
                    lookup: false,
                })
                .collect()
        };
        match SystemTable::from_table_name(name) {
            Some(SystemTable::Quarantine) => text(&["value", "message", "raw"]),
            // (An error's text in the status may quote a value too.)
            Some(SystemTable::Audit) => text(&["sql", "status"]),
            Some(SystemTable::Views) => text(&["sql"]),
            // (Messages may quote a value: an error about a cell.)
            Some(SystemTable::ImportRuns | SystemTable::PipelineRuns) => text(&["message"]),
            Some(_) => Vec::new(),
            None => match self.registry.get(name) {
                Ok(spec) => spec
                    .personal_columns()
                    .map(|c| SealedColumn {
                        name: c.name.clone(),
                        plain: c.ty.arrow_type(),
                        lookup: true,
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    /// A value sealed with the lake's key (as it is when the lake is not encrypted): for
    /// copies of values kept outside the tables (the audit's journal).
    pub fn seal_text(&self, plain: &str) -> Result<String> {
        match self.keyring()? {
            Some(k) => k.seal(plain),
            None => Ok(plain.to_string()),
        }
    }

    /// A value [`Lake::seal_text`] wrote, opened.
    pub fn open_text(&self, stored: &str) -> Result<String> {
        match self.keyring()? {
            Some(k) => k.open(stored),
            None => Ok(stored.to_string()),
        }
    }

    /// `batches` of table `name` (opened as `table`) as they are stored — sealed in an
    /// encrypted lake, after checking that the table itself is stored sealed (a table that
    /// `dangan lake encrypt` has not rewritten yet is refused, never written in plaintext).
    fn seal_for(
        &self,
        name: &str,
        table: &DeltaTable,
        batches: Vec<RecordBatch>,
    ) -> Result<Vec<RecordBatch>> {
        let sealed = self.sealed_columns(name);
        if sealed.is_empty() {
            return Ok(batches);
        }
        let keys = match self.keyring() {
            Ok(k) => k.ok_or_else(|| Error::Key("no key".into()))?,
            // An internal table's copy of a value (a query's text, a message) is kept
            // redacted rather than lost: a lake without its key still answers, and audits.
            Err(_) if !sealed.iter().any(|s| s.lookup) => {
                return batches
                    .iter()
                    .map(|b| crate::seal::redact_batch(b, &sealed))
                    .collect();
            }
            Err(e) => return Err(e),
        };
        check_stored_sealed(name, table, &sealed)?;
        batches
            .iter()
            .map(|b| crate::seal::seal_batch(b, &sealed, &keys))
            .collect()
    }

    /// Rewrite table `name` so that every sealed value is sealed with the current key (plain
    /// values of a lake being encrypted, values of an older key after a rotation), in **one**
    /// commit (an overwrite; the files before it stay until vacuumed). `None` when there was
    /// nothing to do. The whole table is read into memory.
    pub async fn reseal(&self, name: &str) -> Result<Option<ResealReport>> {
        use deltalake::datafusion::prelude::SessionContext;
        let sealed = self.sealed_columns(name);
        if sealed.is_empty() || !self.table_exists(name).await? {
            return Ok(None);
        }
        let keys = self.keyring()?.ok_or_else(|| Error::Key("no key".into()))?;
        let table = self.open_table(name).await?;
        let provider = table.table_provider().await?;
        let stored = provider.schema();
        let lookups_there = sealed.iter().filter(|s| s.lookup).all(|s| {
            stored
                .field_with_name(&crate::seal::lookup_column(&s.name))
                .is_ok()
        });
        let ctx = SessionContext::new();
        table
            .update_datafusion_session(&ctx.state())
            .map_err(|e| Error::delta(name, e))?;
        let mut batches = ctx.read_table(provider)?.collect().await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        // Every value of the sealed columns already sealed with the current key?
        let current = |b: &RecordBatch| {
            sealed.iter().all(|s| match b.column_by_name(&s.name) {
                None => true,
                Some(c) => arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)
                    .ok()
                    .is_some_and(|c| {
                        use arrow::array::AsArray;
                        c.as_string::<i32>()
                            .iter()
                            .flatten()
                            .all(|v| keys.sealed_with_current(v))
                    }),
            })
        };
        if lookups_there && batches.iter().all(current) {
            return Ok(None);
        }
        // (An empty table still gets the sealed schema.)
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(stored));
        }
        // Opened in the table's own column order, the look-up columns left out, then sealed
        // again with the current key.
        let out: Vec<RecordBatch> = batches
            .iter()
            .map(|b| {
                let plain = crate::seal::open_batch(b, &sealed, Some(&keys))?;
                crate::seal::seal_batch(&plain, &sealed, &keys)
            })
            .collect::<Result<_>>()?;
        let props = CommitProperties::default().with_metadata([(
            "dangan.operation".to_string(),
            serde_json::Value::from(format!("seal with key {}", keys.id())),
        )]);
        let t = table
            .write(out)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
            .with_writer_properties(self.writer_properties(name))
            .with_commit_properties(props)
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok(Some(ResealReport {
            table: name.to_string(),
            rows,
            version: t.version().unwrap_or(0) as i64,
        }))
    }

    /// Checkpoint table `name` at its latest version and delete the log entries before it: what
    /// they held — their files' min/max statistics — goes with them (after `lake encrypt
    /// --vacuum` those were the only copies of the old plaintext values). Time travel before
    /// the checkpoint ends; the `txn` markers stay (a checkpoint carries them). Returns the log
    /// entries deleted.
    pub async fn forget_history(&self, name: &str) -> Result<usize> {
        use deltalake::protocol::checkpoints::{cleanup_expired_logs_for, create_checkpoint};
        let table = self.open_table(name).await?;
        let Some(version) = table.version() else {
            return Ok(0);
        };
        create_checkpoint(&table, None)
            .await
            .map_err(|e| Error::delta(name, e))?;
        // A cut-off in the future: every entry before the checkpoint, however new.
        let cutoff = chrono::Utc::now().timestamp_millis() + 60_000;
        cleanup_expired_logs_for(version, table.log_store().as_ref(), cutoff, None)
            .await
            .map_err(|e| Error::delta(name, e))
    }

    /// The external source `name` of `lake.toml`.
    pub fn external(&self, name: &str) -> Option<&crate::external::ExternalSource> {
        self.config.external.get(name)
    }

    /// The URL of a table: `tables/<dataset>/` or, for internal tables, `system/<name>/`.
    pub fn table_url(&self, name: &str) -> Url {
        let sub = match SystemTable::from_table_name(name) {
            Some(t) => format!("system/{}/", t.short_name()),
            None => format!("tables/{name}/"),
        };
        self.tables_root
            .join(&sub)
            .expect("table path joins a directory URL")
    }

    fn builder(&self, name: &str) -> Result<DeltaTableBuilder> {
        let url = self.table_url(name);
        let mut b = DeltaTableBuilder::from_url(url).map_err(|e| Error::delta(name, e))?;
        if !self.config.storage_options.is_empty() {
            b = b.with_storage_options(self.config.storage_options.clone().into_iter().collect());
        }
        Ok(b)
    }

    /// Open a table at its latest version. A table that was never created is an error.
    pub async fn open_table(&self, name: &str) -> Result<DeltaTable> {
        let mut t = self
            .builder(name)?
            .build()
            .map_err(|e| Error::delta(name, e))?;
        t.load().await.map_err(|e| Error::delta(name, e))?;
        Ok(t)
    }

    /// A table as it stood at `at`: its last version committed at or before then. `None`
    /// when the table did not exist yet.
    pub async fn open_table_at(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<DeltaTable>> {
        if !self.table_exists(name).await? {
            return Ok(None);
        }
        let mut t = self
            .builder(name)?
            .build()
            .map_err(|e| Error::delta(name, e))?;
        // (Before the first commit it stays at the first version: `init` made every table
        // empty, so an earlier time reads no rows.)
        t.load_with_datetime(at)
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok(Some(t))
    }

    /// Whether the table has been created.
    pub async fn table_exists(&self, name: &str) -> Result<bool> {
        if let Some(path) = self.local_path(name) {
            return Ok(path.join("_delta_log").is_dir());
        }
        Ok(self.open_or_new(name).await?.version().is_some())
    }

    /// Open a table, or an uncreated handle (version `None`) when it does not exist yet.
    async fn open_or_new(&self, name: &str) -> Result<DeltaTable> {
        if let Some(path) = self.local_path(name) {
            std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
        let mut t = self
            .builder(name)?
            .build()
            .map_err(|e| Error::delta(name, e))?;
        match t.load().await {
            Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(t),
            Err(e) => Err(Error::delta(name, e)),
        }
    }

    /// The tables' root URL when the lake is on object storage that other hosts may share.
    pub fn shared_storage(&self) -> Option<&Url> {
        crate::storage::SCHEMES
            .contains(&self.tables_root.scheme())
            .then_some(&self.tables_root)
    }

    /// The directory of a table on a local lake (`None` on object storage).
    pub fn local_path(&self, name: &str) -> Option<PathBuf> {
        self.table_url(name).to_file_path().ok()
    }

    /// Create the table with `schema` if it does not exist. Returns whether it was created.
    pub async fn ensure_table(&self, name: &str, schema: &SchemaRef) -> Result<bool> {
        let schema = &crate::seal::storage_schema(schema, &self.sealed_columns(name));
        let table = self.open_or_new(name).await?;
        if table.version().is_some() {
            return Ok(false);
        }
        let mut create = table
            .create()
            .with_table_name(name)
            .with_save_mode(SaveMode::Ignore)
            // The change data feed keeps every replaced row version: "as of" questions, audits.
            .with_configuration_property(
                deltalake::TableProperty::EnableChangeDataFeed,
                Some("true"),
            )
            // ... and the log of every commit stays, however old: `members_asof` and the
            // membership reconciliation read rosters years back (Delta would drop log entries
            // past 30 days at a checkpoint otherwise).
            .with_configuration_property(
                deltalake::TableProperty::EnableExpiredLogCleanup,
                Some("false"),
            )
            // A checkpoint every 10 commits (Spark's default; delta-rs' is 100): a table is
            // opened from its last checkpoint and at most nine commit files after it — each a
            // request on object storage. The audit table takes a commit per query; at 100 a
            // session could read 99 commit files of it alone.
            .with_configuration_property(
                deltalake::TableProperty::CheckpointInterval,
                Some(CHECKPOINT_INTERVAL),
            );
        for f in schema.fields() {
            create =
                create.with_column(f.name(), delta_type(f.data_type())?, f.is_nullable(), None);
        }
        let props = CommitProperties::default().with_metadata([(
            "dangan.operation".to_string(),
            serde_json::Value::from("init"),
        )]);
        create
            .with_commit_properties(props)
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok(true)
    }

    /// Add to the table the columns of `schema` it lacks (a spec that gained a column since the
    /// table was made): one metadata commit; older rows read them as empty. Returns the names
    /// added.
    pub async fn add_missing_columns(&self, name: &str, schema: &SchemaRef) -> Result<Vec<String>> {
        let schema = &crate::seal::storage_schema(schema, &self.sealed_columns(name));
        let table = self.open_table(name).await?;
        let have: std::collections::HashSet<String> = table
            .snapshot()
            .map_err(|e| Error::delta(name, e))?
            .schema()
            .fields()
            .map(|f| f.name().to_string())
            .collect();
        let mut added = Vec::new();
        let mut fields = Vec::new();
        for f in schema.fields() {
            if !have.contains(f.name()) {
                added.push(f.name().clone());
                fields.push(deltalake::kernel::StructField::new(
                    f.name(),
                    delta_type(f.data_type())?,
                    true,
                ));
            }
        }
        if fields.is_empty() {
            return Ok(added);
        }
        let props = CommitProperties::default().with_metadata([(
            "dangan.operation".to_string(),
            serde_json::Value::from(format!("add columns {}", added.join(", "))),
        )]);
        table
            .add_columns()
            .with_fields(fields)
            .with_commit_properties(props)
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok(added)
    }

    /// Write `batches` to the table as **one** Delta commit carrying `opts.transactions` as
    /// `txn` actions. Either everything (data + markers) is visible afterwards, or nothing.
    /// Returns the new table version.
    pub async fn write(
        &self,
        name: &str,
        batches: Vec<RecordBatch>,
        opts: WriteOptions,
    ) -> Result<i64> {
        let table = self.open_or_new(name).await?;
        let batches = self.seal_for(name, &table, batches)?;
        let props = commit_properties(opts.transactions, opts.commit_info);
        let mode = if opts.overwrite {
            SaveMode::Overwrite
        } else {
            SaveMode::Append
        };
        let t = table
            .write(batches)
            .with_save_mode(mode)
            .with_writer_properties(self.writer_properties(name))
            .with_commit_properties(props)
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok(t.version().unwrap_or(0) as i64)
    }

    /// Insert rows whose key is new and replace rows whose key exists (only where a value
    /// changed), as **one** Delta commit with `opts.transactions`. Within `batches` the last
    /// row of a key wins. Tables keep the change data feed, so every replaced row version
    /// stays in the log for "as of" questions. Returns the new table version and what changed
    /// (`None` when deltalake's MERGE did the work: it does not say).
    pub async fn upsert(
        &self,
        name: &str,
        key: &[String],
        batches: Vec<RecordBatch>,
        opts: WriteOptions,
    ) -> Result<(i64, Option<crate::UpsertCounts>)> {
        use deltalake::datafusion::common::Column;
        use deltalake::datafusion::logical_expr::{Operator, binary_expr};
        use deltalake::datafusion::prelude::{Expr, SessionContext};
        let table = self.open_table(name).await?;
        let batches = self.seal_for(name, &table, batches)?;
        let empty_target = table
            .snapshot()
            .map(|s| s.log_data().num_files() == 0)
            .unwrap_or(true);
        let source = dedupe_by_key(key, batches)?;
        if empty_target || source.num_rows() == 0 {
            let counts = crate::UpsertCounts {
                inserted: source.num_rows(),
                ..Default::default()
            };
            // (The rows are sealed already.)
            let mut appender = self.appender_with(name, false).await?;
            for b in source.batches {
                appender.write(b).await?;
            }
            return Ok((appender.commit(opts).await?, Some(counts)));
        }
        if let Some((version, counts)) = crate::merge::keyed_upsert(
            name,
            &table,
            key,
            &source,
            self.writer_properties(name),
            TARGET_FILE_SIZE,
            opts.clone(),
        )
        .await?
        {
            return Ok((version, Some(counts)));
        }
        let schema = source.schema.clone();
        let ctx = SessionContext::new();
        let df = ctx.read_batches(source.batches)?;
        // Expressions, not SQL text: column names such as `year` or `position` need no quoting.
        let q = |side: &str, c: &str| Expr::Column(Column::new(Some(side), c));
        let on = key
            .iter()
            .map(|k| q("target", k).eq(q("source", k)))
            .reduce(Expr::and)
            .ok_or_else(|| Error::Invalid(format!("table `{name}` has no key to upsert by")))?;
        let others: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|c| !key.contains(c))
            .collect();
        let changed = others
            .iter()
            .filter(|c| crate::seal::compared(&schema, c))
            .map(|c| binary_expr(q("target", c), Operator::IsDistinctFrom, q("source", c)))
            .reduce(Expr::or);
        let props = commit_properties(opts.transactions, opts.commit_info);
        let mut merge = table
            .merge(df, on)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_writer_properties(self.writer_properties(name))
            .with_commit_properties(props);
        if !others.is_empty() {
            merge = merge
                .when_matched_update(|u| {
                    let u = match changed.clone() {
                        Some(p) => u.predicate(p),
                        None => u,
                    };
                    others
                        .iter()
                        .fold(u, |u, c| u.update(c.as_str(), q("source", c)))
                })
                .map_err(|e| Error::delta(name, e))?;
        }
        let (t, _) = merge
            .when_not_matched_insert(|i| {
                schema
                    .fields()
                    .iter()
                    .fold(i, |i, f| i.set(f.name().as_str(), q("source", f.name())))
            })
            .map_err(|e| Error::delta(name, e))?
            .await
            .map_err(|e| Error::delta(name, e))?;
        Ok((t.version().unwrap_or(0) as i64, None))
    }

    /// A streaming writer for an append: batches go to Parquet files as they come (bounded
    /// memory); nothing is visible until [`TableAppender::commit`] writes the one commit.
    pub async fn appender(&self, name: &str) -> Result<TableAppender> {
        self.appender_with(name, true).await
    }

    /// [`Lake::appender`]; `seal`: the batches it is given are plain and sealed on the way.
    async fn appender_with(&self, name: &str, seal: bool) -> Result<TableAppender> {
        let table = self.open_table(name).await?;
        let sealed = if seal {
            self.sealed_columns(name)
        } else {
            Vec::new()
        };
        // (A table without sealed columns needs no key.)
        let sealing = if sealed.is_empty() {
            None
        } else {
            check_stored_sealed(name, &table, &sealed)?;
            let keys = self.keyring()?.ok_or_else(|| Error::Key("no key".into()))?;
            Some((sealed, keys))
        };
        let writer = RecordBatchWriter::for_table(&table)
            .map_err(|e| Error::delta(name, e))?
            .with_writer_properties(self.writer_properties(name))
            .with_target_file_size(TARGET_FILE_SIZE);
        Ok(TableAppender {
            name: name.to_string(),
            table,
            writer,
            kept: Vec::new(),
            sealing,
        })
    }

    /// Parquet settings for a dataset: Snappy; row groups of at most `ROW_GROUP_ROWS`; and
    /// dictionary encoding except for columns whose values are (nearly) all distinct — the
    /// key, ID numbers and phones — where a dictionary only costs time before the writer
    /// gives it up.
    pub fn writer_properties(
        &self,
        name: &str,
    ) -> deltalake::parquet::file::properties::WriterProperties {
        use deltalake::parquet::schema::types::ColumnPath;
        let mut b = deltalake::parquet::file::properties::WriterProperties::builder()
            .set_compression(deltalake::parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
        if let Ok(spec) = self.registry.get(name) {
            for col in &spec.columns {
                let distinct = (spec.key.len() == 1 && spec.key[0] == col.name)
                    || matches!(
                        col.check,
                        Some(crate::Check::CnIdCard | crate::Check::Phone)
                    );
                if distinct {
                    b = b.set_column_dictionary_enabled(ColumnPath::from(col.name.as_str()), false);
                }
            }
        }
        // A sealed text column's look-up hashes: all distinct, so no dictionary, and a bloom
        // filter per row group, so that a look-up by ID number or phone skips the row groups
        // that do not hold it.
        for s in self.sealed_columns(name) {
            if s.lookup {
                let path = ColumnPath::from(crate::seal::lookup_column(&s.name));
                b = b.set_column_dictionary_enabled(path.clone(), false);
                if s.plain == arrow::datatypes::DataType::Utf8 {
                    b = b
                        .set_column_bloom_filter_enabled(path.clone(), true)
                        .set_column_bloom_filter_max_ndv(path.clone(), ROW_GROUP_ROWS as u64)
                        .set_column_bloom_filter_fpp(path, 0.01);
                }
            }
        }
        b.build()
    }

    /// The version of `app_id`'s last `txn` action in the table, if any.
    pub async fn transaction_version(
        &self,
        table: &DeltaTable,
        app_id: &str,
    ) -> Result<Option<i64>> {
        let name = table.table_url().to_string();
        let snapshot = table.snapshot().map_err(|e| Error::delta(&name, e))?;
        snapshot
            .transaction_version(table.log_store().as_ref(), app_id)
            .await
            .map_err(|e| Error::delta(&name, e))
    }

    /// A DataFusion frame of some columns of a table at its latest version, and that version.
    async fn frame(
        &self,
        name: &str,
        columns: &[&str],
    ) -> Result<(i64, deltalake::datafusion::prelude::DataFrame)> {
        use deltalake::datafusion::prelude::SessionContext;
        let table = self.open_table(name).await?;
        let version = table.version().unwrap_or(0) as i64;
        let ctx = SessionContext::new();
        table
            .update_datafusion_session(&ctx.state())
            .map_err(|e| Error::delta(name, e))?;
        let provider = table.table_provider().await?;
        Ok((version, ctx.read_table(provider)?.select_columns(columns)?))
    }

    /// Read some columns of a table at its latest version (for lookups such as org names).
    /// Sealed columns come back opened (empty when the key is missing).
    pub async fn scan(&self, name: &str, columns: &[&str]) -> Result<Vec<RecordBatch>> {
        let batches = self.frame(name, columns).await?.1.collect().await?;
        let sealed = self.sealed_columns(name);
        if !sealed.iter().any(|s| columns.contains(&s.name.as_str())) {
            return Ok(batches);
        }
        let keys = self.keyring().ok().flatten();
        batches
            .iter()
            .map(|b| crate::seal::open_batch(b, &sealed, keys.as_deref()))
            .collect()
    }

    /// Stream some columns of a table at its latest version, with that version (so that a
    /// reader can record exactly what it read). `None` when the table was never created.
    pub async fn scan_stream(
        &self,
        name: &str,
        columns: &[&str],
    ) -> Result<
        Option<(
            i64,
            deltalake::datafusion::physical_plan::SendableRecordBatchStream,
        )>,
    > {
        if !self.table_exists(name).await? {
            return Ok(None);
        }
        let (version, df) = self.frame(name, columns).await?;
        Ok(Some((version, df.execute_stream().await?)))
    }

    /// The row changes of a table after version `after` up to its latest version (the change
    /// data feed): the `columns` plus `_change_type` (`insert`, `update_preimage`,
    /// `update_postimage`, `delete`) and `_commit_version`, with the latest version.
    /// `None` when the feed cannot answer (the table is gone, or a commit in the range kept
    /// no change data): the caller reads the whole table instead.
    pub async fn changes_since(
        &self,
        name: &str,
        after: i64,
        columns: &[&str],
    ) -> Result<Option<(i64, Vec<RecordBatch>)>> {
        use deltalake::datafusion::prelude::SessionContext;
        use deltalake::delta_datafusion::DeltaCdfTableProvider;
        if !self.table_exists(name).await? {
            return Ok(None);
        }
        let table = self.open_table(name).await?;
        let Some(version) = table.version().map(|v| v as i64) else {
            return Ok(None);
        };
        if version <= after {
            return Ok(Some((version, Vec::new())));
        }
        let builder = table
            .scan_cdf()
            .with_starting_version((after + 1) as _)
            .with_ending_version(version as _);
        let Ok(provider) = DeltaCdfTableProvider::try_new(builder) else {
            return Ok(None);
        };
        let mut cols = columns.to_vec();
        cols.extend(["_change_type", "_commit_version"]);
        let ctx = SessionContext::new();
        let frame = ctx.read_table(Arc::new(provider))?.select_columns(&cols)?;
        Ok(frame.collect().await.ok().map(|b| (version, b)))
    }

    /// The latest version of a table, `None` when it was never created.
    pub async fn table_version(&self, name: &str) -> Result<Option<i64>> {
        if let Some(path) = self.local_path(name)
            && !path.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        // The log listed, not read (a server asks every few seconds whether a table moved;
        // loading the snapshot read every file action): the newest commit file's number. Log
        // clean-up only removes commits older than a checkpoint, never the newest.
        let table = self
            .builder(name)?
            .build()
            .map_err(|e| Error::delta(name, e))?;
        let store = table.log_store().object_store(None);
        let listed = store
            .list_with_delimiter(Some(&object_store::path::Path::from("_delta_log")))
            .await;
        let listed = match listed {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Error::delta(name, e.into())),
        };
        Ok(listed
            .objects
            .iter()
            .filter_map(|o| commit_version(o.location.filename()?))
            .max())
    }

    /// Version and file count of every table in the lake.
    pub async fn status(&self) -> Result<Vec<TableStatus>> {
        let mut out = Vec::new();
        for (name, _) in self.tables() {
            let table = self.open_or_new(&name).await?;
            let files = match table.snapshot() {
                Ok(s) => s.log_data().num_files(),
                Err(_) => 0,
            };
            out.push(TableStatus {
                url: self.table_url(&name).to_string(),
                version: table.version().map(|v| v as i64),
                files,
                name,
            });
        }
        Ok(out)
    }
}

/// Refuse to write plain rows into `table` (named `name`) when its sealed columns are not
/// stored as such yet: each a text column with its look-up column beside it. A table not
/// created yet is made with the sealed schema.
fn check_stored_sealed(
    name: &str,
    table: &DeltaTable,
    sealed: &[crate::seal::SealedColumn],
) -> Result<()> {
    if table.version().is_none() || !sealed.iter().any(|s| s.lookup) {
        return Ok(());
    }
    let snapshot = table.snapshot().map_err(|e| Error::delta(name, e))?;
    let schema = snapshot.schema();
    let text = |name: &str| {
        schema
            .field(name)
            .is_some_and(|f| f.data_type() == &DeltaType::STRING)
    };
    let missing = sealed
        .iter()
        .filter(|s| s.lookup)
        .any(|s| !text(&s.name) || !text(&crate::seal::lookup_column(&s.name)));
    if missing {
        return Err(Error::Key(format!(
            "table `{name}` is not encrypted yet: run `dangan lake encrypt` to finish \
             (nothing was written) 该表尚未加密"
        )));
    }
    Ok(())
}

/// Parquet files an append rolls over at.
const TARGET_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// Rows per Parquet row group. The unit a scan splits among threads and skips by min/max:
/// with the writer's default (1,048,576) the 1M-member roster was one row group, read by one
/// thread of two, and a filter on time could skip little of an event file. 131,072 (DuckDB
/// writes 122,880) ran the roster's group-bys 1.44 → 1.23 × DuckDB (BENCHMARKS.md).
const ROW_GROUP_ROWS: usize = 131_072;

/// See [`Lake::appender`].
pub struct TableAppender {
    name: String,
    table: DeltaTable,
    writer: RecordBatchWriter,
    /// Files finished before the commit (by [`TableAppender::take_back`]) that it keeps.
    kept: Vec<deltalake::kernel::Add>,
    /// The columns sealed on the way, with the keys (an encrypted lake).
    sealing: Option<(Vec<crate::seal::SealedColumn>, Arc<crate::seal::Keyring>)>,
}

impl TableAppender {
    /// Write a batch to the table's files (not yet committed).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = match &self.sealing {
            Some((sealed, keys)) => crate::seal::seal_batch(&batch, sealed, keys)?,
            None => batch,
        };
        self.writer
            .write(batch)
            .await
            .map_err(|e| Error::delta(&self.name, e))
    }

    /// Whether the table held no data file when the appender was made.
    pub fn table_was_empty(&self) -> bool {
        self.table
            .snapshot()
            .map(|s| s.log_data().num_files() == 0)
            .unwrap_or(true)
    }

    /// Take rows back out of what was written so far (nothing is committed yet): every file
    /// with a row `pick` marks is read back, its other rows are written again, and the file is
    /// deleted. Returns the rows picked. (For the rare key that a streamed upsert meets twice:
    /// its earlier row was already on its way to the table.)
    pub async fn take_back(
        &mut self,
        pick: &mut (dyn FnMut(&RecordBatch) -> Result<Vec<bool>> + Send),
    ) -> Result<Vec<RecordBatch>> {
        use arrow::array::BooleanArray;
        use arrow::compute::filter_record_batch;
        use object_store::ObjectStoreExt;
        let name = self.name.clone();
        let delta = |e: deltalake::DeltaTableError| Error::delta(&name, e);
        let store = self.table.object_store();
        let written = self.writer.flush().await.map_err(delta)?;
        let mut taken = Vec::new();
        for add in written {
            let path = object_store::path::Path::from_url_path(&add.path).map_err(|e| {
                Error::Invalid(format!("table `{name}`: written file {}: {e}", add.path))
            })?;
            let batches = crate::merge::read_parquet(&name, store.as_ref(), &path).await?;
            let masks: Vec<Vec<bool>> = batches.iter().map(&mut *pick).collect::<Result<_>>()?;
            if !masks.iter().flatten().any(|m| *m) {
                self.kept.push(add);
                continue;
            }
            for (batch, mask) in batches.iter().zip(masks) {
                let rest: Vec<bool> = mask.iter().map(|m| !m).collect();
                taken.push(filter_record_batch(batch, &BooleanArray::from(mask))?);
                let rest = filter_record_batch(batch, &BooleanArray::from(rest))?;
                if rest.num_rows() > 0 {
                    self.writer.write(rest).await.map_err(delta)?;
                }
            }
            store.delete(&path).await.map_err(|e| delta(e.into()))?;
        }
        taken.retain(|b| b.num_rows() > 0);
        Ok(taken)
    }

    /// One commit: every file written plus `opts.transactions`. Returns the new version.
    pub async fn commit(mut self, opts: WriteOptions) -> Result<i64> {
        let name = self.name.clone();
        let adds = self
            .writer
            .flush()
            .await
            .map_err(|e| Error::delta(&name, e))?;
        let actions: Vec<Action> = std::mem::take(&mut self.kept)
            .into_iter()
            .chain(adds)
            .map(Action::Add)
            .collect();
        let snapshot = self.table.snapshot().map_err(|e| Error::delta(&name, e))?;
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        let done = CommitBuilder::from(commit_properties(opts.transactions, opts.commit_info))
            .with_actions(actions)
            .build(Some(snapshot), self.table.log_store(), operation)
            .await
            .map_err(|e| Error::delta(&name, e))?;
        Ok(done.version() as i64)
    }
}

/// The last row of every key, in the batches they came in when no key repeats (the importer
/// already kept one row per key), else in one batch.
fn dedupe_by_key(key: &[String], batches: Vec<RecordBatch>) -> Result<crate::merge::Source> {
    use crate::merge::{Source, key_converter, key_rows};
    use arrow::array::UInt32Array;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => return Err(Error::Invalid("upsert without a schema".into())),
    };
    let key_cols: Vec<usize> = key.iter().filter_map(|k| schema.index_of(k).ok()).collect();
    let converter = key_converter(&schema, &key_cols)?;
    let keys: Vec<arrow::row::Rows> = batches
        .iter()
        .map(|b| key_rows(&converter, b, &key_cols))
        .collect::<Result<_>>()?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut last: std::collections::HashMap<&[u8], u32> =
        std::collections::HashMap::with_capacity(total);
    let mut n = 0u32;
    for rows in &keys {
        for row in 0..rows.num_rows() {
            last.insert(rows.row(row).data(), n);
            n += 1;
        }
    }
    if last.len() == total {
        drop(last);
        drop(keys);
        return Ok(Source::new(schema, batches));
    }
    let mut keep: Vec<u32> = last.into_values().collect();
    keep.sort_unstable();
    let all = arrow::compute::concat_batches(&schema, &batches)?;
    let one = arrow::compute::take_record_batch(&all, &UInt32Array::from(keep))?;
    Ok(Source::new(schema, vec![one]))
}

fn delta_type(dt: &arrow::datatypes::DataType) -> Result<DeltaType> {
    use arrow::datatypes::{DataType as A, TimeUnit};
    Ok(match dt {
        A::Utf8 => DeltaType::STRING,
        A::Int64 => DeltaType::LONG,
        A::Int32 => DeltaType::INTEGER,
        A::Float64 => DeltaType::DOUBLE,
        A::Boolean => DeltaType::BOOLEAN,
        A::Date32 => DeltaType::DATE,
        A::Timestamp(TimeUnit::Microsecond, None) => DeltaType::TIMESTAMP_NTZ,
        A::Timestamp(TimeUnit::Microsecond, Some(_)) => DeltaType::TIMESTAMP,
        other => return Err(Error::Invalid(format!("no Delta type for Arrow {other}"))),
    })
}

/// Commits between two checkpoints of a table (its `delta.checkpointInterval`).
pub const CHECKPOINT_INTERVAL: &str = "10";

/// The version of a Delta commit file's name (`00000000000000000042.json`).
fn commit_version(file: &str) -> Option<i64> {
    let digits = file.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Write `lake.toml` whole: a temporary file beside it, then renamed over it.
fn write_config(path: &Path, config: &LakeConfig) -> Result<()> {
    let text = format!(
        "# dangan lake. `storage_url = \"s3://bucket/prefix\"` (+ [storage_options]) puts the tables on object storage;\n# [external.<name>] reads another database live (`dangan external add`).\n{}",
        toml::to_string(config).map_err(|e| Error::Invalid(e.to_string()))?
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod version_tests {
    #[test]
    fn only_commit_files_name_a_version() {
        use super::commit_version as v;
        assert_eq!(v("00000000000000000042.json"), Some(42));
        assert_eq!(v("00000000000000000010.checkpoint.parquet"), None);
        assert_eq!(v("_last_checkpoint"), None);
        assert_eq!(v("_commit_4f1e.json.tmp"), None);
        assert_eq!(v("0000000000000000042.json"), None);
    }
}
