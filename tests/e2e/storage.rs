//! A lake whose tables are on S3: a real S3 server (`s3s-fs`, files under a temporary folder)
//! in the test process, the binary pointed at it by the usual `AWS_*` variables.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{bin, stderr, stdout, succeeded};

/// An S3 server on a port of loopback, serving `root` (one folder per bucket), with one key.
struct S3Server {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

const KEY: &str = "dangan-test";
const SECRET: &str = "dangan-test-secret";

impl S3Server {
    fn start(root: &Path) -> S3Server {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder;
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(KEY, SECRET));
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
            port,
            _runtime: runtime,
        }
    }

    /// `dangan --lake <lake> args…` with the server's endpoint and key in the environment.
    fn dangan(&self, lake: &Path, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("--lake")
            .arg(lake)
            .args(args)
            .env_remove("DANGAN_LAKE")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true")
            .output()
            .expect("the dangan binary runs")
    }

    fn ok(&self, lake: &Path, args: &[&str]) -> String {
        succeeded(self.dangan(lake, args), args)
    }

    fn count(&self, lake: &Path, q: &str) -> i64 {
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
