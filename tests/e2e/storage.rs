//! A lake whose tables are on S3: a real S3 server (`s3s-fs`, files under a temporary folder)
//! in the test process, the binary pointed at it by the usual `AWS_*` variables.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::support::{bin, stderr, stdout, succeeded};

/// An S3 server on a port of loopback, serving `root` (one folder per bucket), with one key
/// for the lake's own commands and one more per [`S3Server::key`] asked for.
pub(crate) struct S3Server {
    endpoint: String,
    /// Parquet objects read, per access key (`s3s-fs` only).
    reads: ParquetReads,
    _runtime: Option<tokio::runtime::Runtime>,
    /// A `moto[server]` process, for [`S3Server::moto`].
    moto: Option<std::process::Child>,
}

const KEY: &str = "dangan-test";
const SECRET: &str = "dangan-test-secret";

/// `GetObject` requests for `.parquet` objects, counted by the server per access key: which
/// client read the lake's data files (each executor of the cluster test signs with its own key).
#[derive(Clone, Default)]
pub(crate) struct ParquetReads(Arc<Mutex<HashMap<String, usize>>>);

#[async_trait::async_trait]
impl s3s::access::S3Access for ParquetReads {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> s3s::S3Result<()> {
        let Some(who) = cx.credentials().map(|c| c.access_key.clone()) else {
            return Err(s3s::s3_error!(
                AccessDenied,
                "anonymous requests are refused"
            ));
        };
        if cx.s3_op().name() == "GetObject"
            && matches!(cx.s3_path(), s3s::path::S3Path::Object { key, .. } if key.ends_with(".parquet"))
        {
            *self.0.lock().unwrap().entry(who).or_default() += 1;
        }
        Ok(())
    }
}

/// Access keys of the form `dangan-…`, all with [`SECRET`].
struct AnyDanganKey;

#[async_trait::async_trait]
impl s3s::auth::S3Auth for AnyDanganKey {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<s3s::auth::SecretKey> {
        if access_key.starts_with("dangan-") {
            Ok(SECRET.into())
        } else {
            Err(s3s::s3_error!(InvalidAccessKeyId))
        }
    }
}

impl S3Server {
    pub(crate) fn start(root: &Path) -> S3Server {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder;
        use s3s::service::S3ServiceBuilder;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(AnyDanganKey);
        let reads = ParquetReads::default();
        b.set_access(reads.clone());
        let service = b.build();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(async move {
            let http = Builder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(conn);
            }
        });
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            reads,
            _runtime: Some(runtime),
            moto: None,
        }
    }

    /// PyPI's `moto[server]` (whose conditional puts are atomic, unlike `s3s-fs`'s) on a free
    /// port, with `bucket` made; `None` when it cannot be had outside CI.
    fn moto(bucket: &str) -> Option<S3Server> {
        use std::io::{Read, Write};
        let have = Command::new("python3")
            .args(["-c", "import moto.server, flask, flask_cors"])
            .status()
            .is_ok_and(|s| s.success());
        if !have {
            crate::support::peer_missing("python3 with moto[server] (pip install 'moto[server]')");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 starts moto.server");
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            reads: ParquetReads::default(),
            _runtime: None,
            moto: Some(child),
        };
        // Up when it answers; then the bucket (moto checks no signature).
        let started = std::time::Instant::now();
        loop {
            if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                write!(
                    c,
                    "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut reply = String::new();
                let _ = c.read_to_string(&mut reply);
                assert!(
                    reply.starts_with("HTTP/1.1 200"),
                    "moto made no bucket: {reply}"
                );
                return Some(server);
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "moto.server did not start within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// `dangan --lake <lake> args…` with the server's endpoint and key in the environment.
    pub(crate) fn dangan(&self, lake: &Path, args: &[&str]) -> Output {
        self.command(lake, args)
            .output()
            .expect("the dangan binary runs")
    }

    /// The command of [`S3Server::dangan`], to start rather than run.
    pub(crate) fn command(&self, lake: &Path, args: &[&str]) -> Command {
        self.command_as(KEY, lake, args)
    }

    /// [`S3Server::command`] signing with access key `key` (`dangan-…`), whose Parquet reads
    /// [`S3Server::parquet_reads`] counts apart.
    pub(crate) fn command_as(&self, key: &str, lake: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--lake")
            .arg(lake)
            .args(args)
            .env_remove("DANGAN_LAKE")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true");
        c
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.moto {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl S3Server {
    /// Parquet objects the client signing with `key` has read so far.
    pub(crate) fn parquet_reads(&self, key: &str) -> usize {
        self.reads.0.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    pub(crate) fn ok(&self, lake: &Path, args: &[&str]) -> String {
        succeeded(self.dangan(lake, args), args)
    }

    pub(crate) fn count(&self, lake: &Path, q: &str) -> i64 {
        let out = self.ok(lake, &["sql", q, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0].as_object()
            .and_then(|r| r.values().next())
            .and_then(|v| v.as_i64())
            .unwrap_or_else(|| panic!("an integer from {q}: {out}"))
    }
}

fn roster(path: &Path, rows: &[(&str, &str, &str)]) {
    let mut text = String::from("member_id,name,gender,org_id,category\n");
    for (id, name, category) in rows {
        text.push_str(&format!("{id},{name},男,D101,{category}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// `dangan init --storage s3://…` puts every table in the bucket (nothing under the lake
/// folder but its config); imports commit there, a file already imported is skipped, an
/// upsert rewrites a row, SQL reads the bucket's Parquet files, and `lake check` checks them.
#[test]
fn a_lake_on_s3_imports_upserts_and_answers_sql() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("archive")).unwrap();
    let s3 = S3Server::start(&root);
    let lake = dir.path().join("lake");

    let out = s3.ok(&lake, &["init", "--storage", "s3://archive/district"]);
    assert!(out.contains("s3://archive/district"), "{out}");
    let log = root.join("archive/district/tables/members/_delta_log");
    assert!(log.join("00000000000000000000.json").is_file(), "{out}");
    assert!(
        !lake.join("tables").exists(),
        "no table under the lake folder"
    );

    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    roster(
        &a,
        &[("S1", "张伟", "正式党员"), ("S2", "王芳", "正式党员")],
    );
    roster(&b, &[("S3", "李娜", "预备党员")]);
    s3.ok(&lake, &["import", "members", a.to_str().unwrap()]);
    s3.ok(&lake, &["import", "members", b.to_str().unwrap()]);
    assert!(log.join("00000000000000000002.json").is_file());
    assert_eq!(s3.count(&lake, "select count(*) from members"), 3);

    // The same file again: skipped, no commit.
    let again = s3.ok(&lake, &["import", "members", a.to_str().unwrap()]);
    assert!(again.contains("1 skipped"), "{again}");
    assert!(!log.join("00000000000000000003.json").exists(), "{again}");

    // An upsert through the MERGE path: one member's category changes.
    let c = dir.path().join("c.csv");
    roster(&c, &[("S3", "李娜", "正式党员")]);
    let out = s3.ok(&lake, &["import", "members", c.to_str().unwrap()]);
    assert!(out.contains("1 changed"), "{out}");
    assert_eq!(
        s3.count(
            &lake,
            "select count(*) from members where category = '正式党员'"
        ),
        3
    );
    assert_eq!(s3.count(&lake, "select count(*) from members"), 3);
    // The import runs are recorded in the bucket too.
    assert_eq!(
        s3.count(&lake, "select count(*) from system_import_runs"),
        4
    );
    assert!(root.join("archive/district/system").is_dir());

    // `lake check` looks at the bucket's files through the store: all there, then an orphan.
    let report: serde_json::Value =
        serde_json::from_str(&s3.ok(&lake, &["lake", "check", "--format", "json"])).unwrap();
    assert!(report["files"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(report["orphans"], serde_json::json!([]), "{report}");
    std::fs::write(
        root.join("archive/district/tables/members/part-stray.parquet"),
        b"PAR1 not from any commit PAR1",
    )
    .unwrap();
    let o = s3.dangan(&lake, &["lake", "check", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        report["orphans"],
        serde_json::json!(["members/part-stray.parquet"]),
        "{report}"
    );

    // Upkeep, history and the audit on the bucket: optimize compacts the three files, vacuum
    // removes the orphan, the rows as they stood before anything was imported and now, and
    // every query above is in the audit.
    s3.ok(&lake, &["lake", "optimize"]);
    s3.ok(&lake, &["lake", "vacuum", "--retain", "0"]);
    assert!(
        !root
            .join("archive/district/tables/members/part-stray.parquet")
            .exists()
    );
    // (The index is behind the compaction's commit until the next sync: check says so too.)
    let o = s3.dangan(&lake, &["lake", "check", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["orphans"], serde_json::json!([]), "{report}");
    assert_eq!(s3.count(&lake, "select count(*) from members"), 3);
    assert_eq!(
        s3.count(&lake, "select count(*) from members_asof('2000-01-01')"),
        0
    );
    assert_eq!(
        s3.count(
            &lake,
            "select count(*) from asof('members', '2999-01-01') where category = '正式党员'"
        ),
        3
    );
    assert!(s3.count(&lake, "select count(*) from system_audit") >= 5);
}

/// A store URL of another kind is refused with a clear message, and an existing lake is not
/// moved by `init --storage`.
#[test]
fn an_unknown_store_or_a_move_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let o = Command::new(bin())
        .arg("--lake")
        .arg(&lake)
        .args(["init", "--storage", "gs://bucket/x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("gs://"), "{}", stderr(&o));

    let local = dir.path().join("local");
    crate::support::ok(&local, &["init"]);
    let o = crate::support::dangan(&local, &["init", "--storage", "s3://archive/x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not moved"), "{}", stderr(&o));
}

/// A lock note as another host's writer leaves it in the bucket, its lease running out at
/// `expires`.
fn lock_note(host: &str, expires: &str) -> String {
    serde_json::json!({
        "pid": 4242, "host": host, "since": "2026-01-01T00:00:00+00:00",
        "what": "import members", "expires": expires,
    })
    .to_string()
}

/// Two hosts share one lake in a bucket (each with its own lake folder): a writer on one waits
/// for the other's lease and names it; a lease that ran out (its holder died) is taken over and
/// said so; a store that does not honour conditional puts is refused before anything is written.
#[test]
fn hosts_sharing_a_bucket_take_turns_by_its_lock_object() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("archive")).unwrap();
    let s3 = S3Server::start(&root);
    let (a, b) = (dir.path().join("host-a"), dir.path().join("host-b"));
    s3.ok(&a, &["init", "--storage", "s3://archive/district"]);
    // The second host joins the lake the first created: nothing is made again.
    let joined = s3.ok(&b, &["init", "--storage", "s3://archive/district"]);
    assert!(joined.contains("created 新建 0 tables"), "{joined}");

    let file = dir.path().join("r.csv");
    roster(&file, &[("S1", "张伟", "正式党员")]);
    let lock = root.join("archive/district/_dangan/lake.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();

    // A live lease of another host: the import waits, then gives up naming the holder.
    std::fs::write(&lock, lock_note("host-c", "2999-01-01T00:00:00+00:00")).unwrap();
    let o = s3.dangan(
        &b,
        &[
            "import",
            "members",
            file.to_str().unwrap(),
            "--lock-wait",
            "2",
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("host-c") && err.contains("busy"), "{err}");
    assert!(err.contains("waiting for the lake"), "{err}");
    assert_eq!(s3.count(&a, "select count(*) from members"), 0);

    // Its holder died: the lease ran out, the next writer takes it over and says whose it was.
    std::fs::write(&lock, lock_note("host-c", "2020-01-01T00:00:00+00:00")).unwrap();
    let o = s3.dangan(&b, &["import", "members", file.to_str().unwrap()]);
    let err = stderr(&o);
    succeeded(o, &["import"]);
    assert!(
        err.contains("took over the lock left by") && err.contains("host-c"),
        "{err}"
    );
    assert!(
        !lock.exists(),
        "the lock object is removed when the import ends"
    );
    // Seen from the other host at once.
    assert_eq!(s3.count(&a, "select count(*) from members"), 1);

    // A store without conditional puts (here: switched off) is refused, nothing written.
    let c = dir.path().join("host-d");
    s3.ok(&c, &["init", "--storage", "s3://archive/district"]);
    let config = c.join("lake.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[storage_options]\naws_conditional_put = \"disabled\"\n");
    std::fs::write(&config, text).unwrap();
    let other = dir.path().join("s.csv");
    roster(&other, &[("S2", "王芳", "正式党员")]);
    let o = s3.dangan(&c, &["import", "members", other.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("conditional puts"), "{err}");
    assert_eq!(s3.count(&a, "select count(*) from members"), 1);
}

/// Writers on two hosts race on one table of a lake on a store with real conditional puts
/// (moto): every import lands exactly once, one commit each, nothing lost or doubled.
#[test]
fn racing_writers_on_two_hosts_land_every_import_once() {
    let Some(s3) = S3Server::moto("archive") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hosts = [dir.path().join("host-a"), dir.path().join("host-b")];
    for h in &hosts {
        s3.ok(h, &["init", "--storage", "s3://archive/race"]);
    }
    let files: Vec<_> = (0..4)
        .map(|i| {
            let f = dir.path().join(format!("part{i}.csv"));
            let rows: Vec<(String, String)> = (0..25)
                .map(|j| (format!("R{i}{j:02}"), format!("成员{i}{j:02}")))
                .collect();
            let rows: Vec<(&str, &str, &str)> = rows
                .iter()
                .map(|(id, name)| (id.as_str(), name.as_str(), "正式党员"))
                .collect();
            roster(&f, &rows);
            f
        })
        .collect();
    let running: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            s3.command(&hosts[i % 2], &["import", "members", f.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut waited = 0;
    for child in running {
        let out = child.wait_with_output().unwrap();
        waited += usize::from(stderr(&out).contains("waiting for the lake"));
        succeeded(out, &["import (racing)"]);
    }
    assert!(waited > 0, "the imports ran one after another, not at once");
    for h in &hosts {
        assert_eq!(s3.count(h, "select count(*) from members"), 100);
        assert_eq!(
            s3.count(h, "select count(distinct member_id) from members"),
            100
        );
        assert_eq!(s3.count(h, "select count(*) from system_import_runs"), 4);
    }
    let status: serde_json::Value =
        serde_json::from_str(&s3.ok(&hosts[0], &["status", "--format", "json"])).unwrap();
    let members = status
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "members")
        .unwrap();
    // Created empty at version 0, then one commit per import.
    assert_eq!(members["version"], 4, "{status}");
}
