//! Other departments' databases as live tables: a source of `lake.toml`
//! ([`dangan_datasets::external`]) connected, its tables listed with their Arrow schemas, and
//! each table a DataFusion [`TableProvider`] whose filters, projection and LIMIT become the
//! remote SQL (datafusion-contrib's table providers), every wait bounded by the source's
//! timeout and every error naming the source ([`timed`]).
//!
//! Connections are made for reading: a SQLite file is opened read-only (and never created),
//! and [`Connection::can_write`] tells `dangan external check` whether a PostgreSQL or MySQL
//! role could change anything, so that an administrator can give dangan a read-only role.

mod error;
pub mod timed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dangan_datasets::external::{ExternalKind, ExternalSource};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion_table_providers_common::sql::db_connection_pool::dbconnection::{
    get_schemas, get_tables, query_arrow,
};
use datafusion_table_providers_common::sql::db_connection_pool::{
    DbConnectionPool, JoinPushDown, Mode,
};
use datafusion_table_providers_mysql::MySQLTableFactory;
use datafusion_table_providers_mysql::pool::MySQLConnectionPool;
use datafusion_table_providers_postgres::PostgresTableFactory;
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use datafusion_table_providers_sqlite::SqliteTableFactory;
use datafusion_table_providers_sqlite::pool::SqliteConnectionPool;
use futures::StreamExt;
use secrecy::SecretString;

pub use error::{Error, Result};

/// A connected source.
pub struct Connection {
    name: String,
    timeout: Duration,
    db: Db,
}

enum Db {
    Postgres(Arc<PostgresConnectionPool>),
    /// The pool and the database the url names (its tables are listed without a schema).
    Mysql(Arc<MySQLConnectionPool>, String),
    Sqlite(Arc<SqliteConnectionPool>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A table of a source: its name in the database and its columns, or why they cannot be
/// read (a column of a type the reader does not map, named).
#[derive(Debug)]
pub struct TableInfo {
    pub name: String,
    pub schema: Result<SchemaRef>,
}

/// Connect to the source `name` (at most its timeout).
pub async fn connect(name: &str, source: &ExternalSource) -> Result<Connection> {
    let timeout = Duration::from_secs(source.timeout_seconds.max(1));
    let password = source
        .password(name)
        .map_err(|e| Error::config(name, e.to_string()))?;
    let db = within(name, timeout, "connecting", async {
        match source.kind {
            ExternalKind::Postgres => postgres(name, &source.url, password).await,
            ExternalKind::Sqlite => sqlite(name, &source.url, timeout).await,
            ExternalKind::Mysql => mysql(name, &source.url, password).await,
        }
    })
    .await?;
    Ok(Connection {
        name: name.to_string(),
        timeout,
        db,
    })
}

/// `fut`, or a timeout error naming the source and what it was doing.
async fn within<T>(
    name: &str,
    timeout: Duration,
    doing: &str,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                source_name: name.to_string(),
                doing: doing.to_string(),
                seconds: timeout.as_secs(),
            })
        })
}

async fn postgres(name: &str, url: &str, password: Option<String>) -> Result<Db> {
    let u = url::Url::parse(url).map_err(|e| Error::config(name, format!("url: {e}")))?;
    let mut params: HashMap<String, String> = HashMap::new();
    params.insert("host".into(), u.host_str().unwrap_or("localhost").into());
    params.insert("port".into(), u.port().unwrap_or(5432).to_string());
    let user = match u.username() {
        "" => "postgres".to_string(),
        user => user.to_string(),
    };
    params.insert("user".into(), user);
    let db = u.path().trim_start_matches('/');
    if !db.is_empty() {
        params.insert("db".into(), db.into());
    }
    // A department's database on the office network often has no TLS; `?sslmode=require`
    // (or verify-full with `sslrootcert`) asks for it.
    params.insert("sslmode".into(), "prefer".into());
    params.insert("application_name".into(), "dangan".into());
    params.insert("connection_pool_size".into(), "4".into());
    for (k, v) in u.query_pairs() {
        params.insert(k.into_owned(), v.into_owned());
    }
    if let Some(p) = password {
        params.insert("pass".into(), p);
    }
    let params = params
        .into_iter()
        .map(|(k, v)| (k, SecretString::from(v)))
        .collect();
    let pool = PostgresConnectionPool::new(params)
        .await
        .map_err(|e| Error::connect(name, e))?;
    Ok(Db::Postgres(Arc::new(pool)))
}

/// A MySQL or MariaDB server. `?sslmode=`: `required` (TLS, the server's certificate verified —
/// `sslrootcert=` for a private CA; PostgreSQL's `require`/`verify-full` and MySQL's
/// `VERIFY_IDENTITY` say the same), `preferred` (TLS, not verified), `disabled`. Without it, as
/// the `mysql` client's default: TLS when the server offers it, plain otherwise (a department's
/// server on the office network often has no certificate).
async fn mysql(name: &str, url: &str, password: Option<String>) -> Result<Db> {
    let u = url::Url::parse(url).map_err(|e| Error::config(name, format!("url: {e}")))?;
    let mut params: HashMap<String, String> = HashMap::new();
    params.insert("host".into(), u.host_str().unwrap_or("localhost").into());
    params.insert("tcp_port".into(), u.port().unwrap_or(3306).to_string());
    if u.username().is_empty() {
        return Err(Error::config(
            name,
            "a MySQL url names its user: mysql://user@host:port/db",
        ));
    }
    params.insert("user".into(), u.username().to_string());
    let db = u.path().trim_start_matches('/');
    if db.is_empty() {
        return Err(Error::config(
            name,
            "a MySQL url names its database: mysql://user@host:port/db",
        ));
    }
    params.insert("db".into(), db.into());
    params.insert("pool_max".into(), "4".into());
    for (k, v) in u.query_pairs() {
        params.insert(k.into_owned(), v.into_owned());
    }
    if let Some(p) = password {
        params.insert("pass".into(), p);
    }
    let chosen = match params
        .remove("sslmode")
        .or_else(|| params.remove("ssl-mode"))
    {
        None => None,
        Some(mode) => Some(match mode.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => "disabled",
            "prefer" | "preferred" => "preferred",
            "require" | "required" | "verify-ca" | "verify-full" | "verify-identity" => "required",
            other => {
                return Err(Error::config(
                    name,
                    format!("sslmode `{other}`: expected required, preferred or disabled"),
                ));
            }
        }),
    };
    let open = |sslmode: &str| {
        let mut params = params.clone();
        params.insert("sslmode".into(), sslmode.into());
        let params = params
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect();
        MySQLConnectionPool::new(params)
    };
    let no_tls = |e: &datafusion_table_providers_mysql::pool::Error| {
        matches!(
            e,
            datafusion_table_providers_mysql::pool::Error::MySQLConnectionError {
                source: mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer
                ),
            }
        )
    };
    let pool = match chosen {
        None => match open("preferred").await {
            Err(e) if no_tls(&e) => open("disabled").await,
            other => other,
        },
        Some(mode) => match open(mode).await {
            Err(e) if no_tls(&e) => {
                return Err(Error::connect(
                    name,
                    format!(
                        "sslmode={mode} asks for TLS and the server offers none (give it a certificate, or leave sslmode out on a trusted network)"
                    ),
                ));
            }
            other => other,
        },
    }
    .map_err(|e| Error::connect(name, e))?;
    Ok(Db::Mysql(Arc::new(pool), db.to_string()))
}

async fn sqlite(name: &str, url: &str, timeout: Duration) -> Result<Db> {
    let path = url.strip_prefix("file://").unwrap_or(url);
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::config(
            name,
            format!("the SQLite file {path} cannot be read: {e} (it is never created)"),
        )
    })?;
    if !meta.is_file() {
        return Err(Error::config(name, format!("{path} is not a file")));
    }
    let absolute =
        std::fs::canonicalize(path).map_err(|e| Error::config(name, format!("{path}: {e}")))?;
    // Read-only, by SQLite's own URI: the file is not changed (not even its journal mode,
    // which the providers' own pool factory would switch to WAL).
    let uri = format!("file:{}?mode=ro", absolute.display());
    let pool = SqliteConnectionPool::new(
        &uri,
        Mode::File,
        JoinPushDown::AllowedFor(absolute.display().to_string()),
        Vec::new(),
        timeout,
    )
    .await
    .map_err(|e| Error::connect(name, e))?;
    Ok(Db::Sqlite(Arc::new(pool)))
}

impl Connection {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The table `table` (`t` or `schema.t`, as the database names it), reading within the
    /// timeout and naming the source in its errors.
    pub async fn table(&self, table: &str) -> Result<Arc<dyn TableProvider>> {
        let reference = TableReference::from(table);
        let provider = within(
            &self.name,
            self.timeout,
            "reading a table's columns",
            async {
                let r = match &self.db {
                    Db::Postgres(pool) => {
                        PostgresTableFactory::new(pool.clone())
                            .table_provider(reference)
                            .await
                    }
                    Db::Mysql(pool, _) => {
                        MySQLTableFactory::new(pool.clone())
                            .table_provider(reference)
                            .await
                    }
                    Db::Sqlite(pool) => {
                        SqliteTableFactory::new(pool.clone())
                            .table_provider(reference)
                            .await
                    }
                };
                r.map_err(|e| Error::Table {
                    source_name: self.name.clone(),
                    table: table.to_string(),
                    message: error::chain(e.as_ref()),
                })
            },
        )
        .await?;
        Ok(Arc::new(timed::TimedTable::new(
            provider,
            &self.name,
            self.timeout,
        )))
    }

    /// Every table of the database, as `t` (the default schema) or `schema.t`, with its
    /// columns or why they cannot be read; system schemas left out.
    pub async fn tables(&self) -> Result<Vec<TableInfo>> {
        let names = within(&self.name, self.timeout, "listing tables", async {
            match &self.db {
                Db::Postgres(pool) => list(&self.name, pool.as_ref(), "public").await,
                Db::Mysql(pool, db) => list(&self.name, pool.as_ref(), db).await,
                Db::Sqlite(pool) => list(&self.name, pool.as_ref(), "main").await,
            }
        })
        .await?;
        let mut out = Vec::new();
        for name in names {
            // One table the reader cannot map does not hide the others; the database
            // unreachable or slow ends the listing.
            let schema = match self.table(&name).await {
                Ok(t) => Ok(t.schema()),
                Err(e @ Error::Table { .. }) => Err(e),
                Err(e) => return Err(e),
            };
            out.push(TableInfo { name, schema });
        }
        Ok(out)
    }

    /// Whether the role dangan connects with could change the database (`None`: not known).
    /// A SQLite file is opened read-only.
    pub async fn can_write(&self) -> Result<Option<bool>> {
        match &self.db {
            Db::Sqlite(_) => Ok(Some(false)),
            Db::Postgres(pool) => {
                let sql = "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
                           OR EXISTS (SELECT 1 FROM information_schema.table_privileges \
                                      WHERE grantee = current_user \
                                      AND privilege_type IN ('INSERT','UPDATE','DELETE','TRUNCATE')) \
                           OR has_database_privilege(current_database(), 'CREATE') AS can_write";
                self.yes_or_no(pool.as_ref(), sql).await
            }
            Db::Mysql(pool, _) => {
                // MySQL and MariaDB list a user's grants, global, per database and per table,
                // under `'user'@'host'` where CURRENT_USER() spells `user@host`.
                let grantee = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                               SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";
                let writes = "('INSERT','UPDATE','DELETE','CREATE','DROP','ALTER','INDEX','SUPER')";
                let sql = format!(
                    "SELECT (EXISTS (SELECT 1 FROM information_schema.user_privileges \
                                     WHERE grantee = {grantee} AND privilege_type IN {writes}) \
                          OR EXISTS (SELECT 1 FROM information_schema.schema_privileges \
                                     WHERE grantee = {grantee} AND privilege_type IN {writes}) \
                          OR EXISTS (SELECT 1 FROM information_schema.table_privileges \
                                     WHERE grantee = {grantee} AND privilege_type IN {writes})) \
                     AS can_write"
                );
                self.yes_or_no(pool.as_ref(), &sql).await
            }
        }
    }

    /// The first value of `sql`'s answer as a yes or no (a boolean, or a number: 0 is no).
    async fn yes_or_no<T: 'static, P: 'static>(
        &self,
        pool: &impl DbConnectionPool<T, P>,
        sql: &str,
    ) -> Result<Option<bool>> {
        within(
            &self.name,
            self.timeout,
            "reading the role's privileges",
            async {
                let conn = pool
                    .connect()
                    .await
                    .map_err(|e| Error::connect(&self.name, e))?;
                let mut stream = query_arrow(conn, sql.to_string(), None)
                    .await
                    .map_err(|e| Error::connect(&self.name, e))?;
                let mut answer = None;
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(|e| Error::connect(&self.name, e))?;
                    if batch.num_rows() == 0 || !batch.column(0).is_valid(0) {
                        continue;
                    }
                    let column = batch.column(0);
                    answer = match column.as_boolean_opt() {
                        Some(b) => Some(b.value(0)),
                        None => cast(column, &DataType::Int64).ok().and_then(|n| {
                            n.as_primitive_opt::<Int64Type>().map(|n| n.value(0) != 0)
                        }),
                    };
                }
                Ok(answer)
            },
        )
        .await
    }
}

/// Table names of every non-system schema, those of `default` without their schema.
async fn list<T: 'static, P: 'static>(
    name: &str,
    pool: &impl DbConnectionPool<T, P>,
    default: &str,
) -> Result<Vec<String>> {
    let conn = pool.connect().await.map_err(|e| Error::connect(name, e))?;
    let schemas = get_schemas(conn)
        .await
        .map_err(|e| Error::connect(name, e))?;
    let mut out = Vec::new();
    for schema in schemas {
        if schema == "information_schema" || schema.starts_with("pg_") {
            continue;
        }
        let conn = pool.connect().await.map_err(|e| Error::connect(name, e))?;
        let mut tables = get_tables(conn, &schema)
            .await
            .map_err(|e| Error::connect(name, e))?;
        tables.sort();
        out.extend(tables.into_iter().map(|t| {
            if schema == default {
                t
            } else {
                format!("{schema}.{t}")
            }
        }));
    }
    Ok(out)
}
