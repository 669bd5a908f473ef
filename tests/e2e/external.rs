//! Other departments' databases as live tables: a real PostgreSQL 15 (Debian's, started here
//! in a temporary folder, every statement logged) and a SQLite file, declared with
//! `dangan external add`, joined with the archive in SQL through the CLI, the API and Flight
//! SQL; a department's grant, scope and masks hold on them; filters and projections reach
//! the remote SQL; a slow or stopped database is a clear error naming the source.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const SUPER_PASSWORD: &str = "pg-super-secret";
const READER_PASSWORD: &str = "reader-secret-7f3a";

/// A PostgreSQL server of its own on a free port of loopback.
pub(crate) struct Postgres {
    pub(crate) port: u16,
    log: PathBuf,
    data: PathBuf,
    /// `runuser` (as root) or the postmaster itself.
    child: Option<Child>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.crash();
    }
}

/// `cmd` as the `postgres` user when this runs as root (initdb and postgres refuse root).
fn as_postgres(program: &str) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// initdb (password auth over TCP, every statement logged) and start; `None` (with a
    /// SKIPPED line) where PostgreSQL 15 is not installed outside CI.
    pub(crate) fn start(dir: &Path) -> Option<Postgres> {
        if !Path::new(PG_BIN).join("initdb").exists() {
            peer_missing("PostgreSQL 15 (apt install postgresql-15)");
            return None;
        }
        use std::os::unix::fs::PermissionsExt;
        // The server runs as `postgres`: it must reach its folder.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pg = dir.join("pg");
        std::fs::create_dir_all(&pg).unwrap();
        std::fs::set_permissions(&pg, std::fs::Permissions::from_mode(0o777)).unwrap();
        let pwfile = pg.join("pw");
        std::fs::write(&pwfile, SUPER_PASSWORD).unwrap();
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        let data = pg.join("data");
        let o = as_postgres(&format!("{PG_BIN}/initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("initdb runs");
        assert!(o.status.success(), "initdb: {}{}", stdout(&o), stderr(&o));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = pg.join("postgres.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = as_postgres(&format!("{PG_BIN}/postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", pg.display()))
            .args(["-c", "log_statement=all", "-c", "logging_collector=off"])
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("postgres starts");
        let server = Postgres {
            port,
            log,
            data,
            child: Some(child),
        };
        let started = Instant::now();
        while !server.psql("postgres", "select 1").status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "postgres did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// `psql` as the superuser over TCP.
    pub(crate) fn psql(&self, db: &str, sql: &str) -> Output {
        Command::new(format!("{PG_BIN}/psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", SUPER_PASSWORD)
            .output()
            .expect("psql runs")
    }

    pub(crate) fn run(&self, db: &str, sql: &str) {
        let o = self.psql(db, sql);
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
    }

    /// What the server logged (every statement).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stop at once, as a crash would (SIGQUIT to the postmaster, whose pid is the first line
    /// of `postmaster.pid`: backends killed, no checkpoint).
    fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().map(str::to_string));
            match pid {
                Some(pid) => {
                    let _ = Command::new("kill").args(["-QUIT", &pid]).status();
                }
                None => {
                    let _ = c.kill();
                }
            }
            let _ = c.wait();
        }
    }
}

pub(crate) fn with_env(lake: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.arg("--lake")
        .arg(lake)
        .args(args)
        .env_remove("DANGAN_LAKE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the dangan binary runs")
}

/// The values of a `--format json` run that must have succeeded, row by row.
pub(crate) fn values(o: &Output, args: &[&str]) -> Vec<Vec<String>> {
    assert!(o.status.success(), "{args:?}: {}", stderr(o));
    json_rows(&stdout(o))
        .into_iter()
        .map(|r| r.into_iter().map(|(_, v)| v).collect())
        .collect()
}

pub(crate) fn strings(rows: &[[&str; 2]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn another_departments_postgres_and_a_branchs_sqlite_are_tables_of_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut pg) = Postgres::start(dir.path()) else {
        return;
    };
    pg.run("postgres", "CREATE DATABASE cadres");
    pg.run(
        "cadres",
        "CREATE TABLE postings (member_id text, org_code text, post text, id_card text, \
           mobile text, since date, score integer);
         INSERT INTO postings VALUES
           ('R01', 'D111', '支部书记', '110101199001150011', '13800000001', '2020-01-01', 90),
           ('R02', 'D111', '组织委员', '110101195003010021', '13800000002', '2021-03-01', 80),
           ('R04', 'D121', '宣传委员', '110101198505050041', '13800000004', '2019-06-01', 70),
           ('R05', 'D121', '纪检委员', '110101194002020051', '13800000005', '2018-09-01', 60);
         CREATE TABLE salaries (member_id text, amount integer);
         INSERT INTO salaries VALUES ('R01', 9000);
         CREATE VIEW slow AS SELECT 1 AS x FROM pg_sleep(30);
         CREATE ROLE reader LOGIN PASSWORD 'reader-secret-7f3a';
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;",
    );
    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    for ds in ["organizations", "members"] {
        ok(
            &lake,
            &[
                "import",
                ds,
                fixture(&format!("reports/{ds}.csv")).to_str().unwrap(),
            ],
        );
    }
    let url = format!("postgres://reader@127.0.0.1:{}/cadres", pg.port);
    let add = |name: &str, url: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["external", "add", name, "--kind", "postgres", "--url", url];
        args.extend(extra);
        with_env(&lake, &args, env)
    };

    // The password comes from the environment, never from the URL, never into the lake.
    let o = add("cadre", &url, &["--password-env", "CADRE_PW"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("CADRE_PW"), "{}", stderr(&o));
    let with_password = format!(
        "postgres://reader:{READER_PASSWORD}@127.0.0.1:{}/cadres",
        pg.port
    );
    let o = add("leaky", &with_password, &[], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
    let o = add(
        "cadre",
        &url,
        &[
            "--password-env",
            "CADRE_PW",
            "--tables",
            "postings,slow",
            "--timeout",
            "3",
        ],
        &[("CADRE_PW", READER_PASSWORD)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("warning"),
        "a read-only role: {}",
        stdout(&o)
    );
    let config = std::fs::read_to_string(lake.join("lake.toml")).unwrap();
    assert!(config.contains("[external.cadre]"), "{config}");
    assert!(!config.contains(READER_PASSWORD), "{config}");
    // A role that can write is named as such.
    let pwfile = dir.path().join("super.pw");
    std::fs::write(&pwfile, format!("{SUPER_PASSWORD}\n")).unwrap();
    let o = add(
        "pgadmin",
        &format!("postgres://postgres@127.0.0.1:{}/cadres", pg.port),
        &["--password-file", pwfile.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("read-only role"), "{}", stdout(&o));
    ok(&lake, &["external", "remove", "pgadmin"]);

    let pw = [("CADRE_PW", READER_PASSWORD)];
    let run = |args: &[&str]| with_env(&lake, args, &pw);
    let sql_rows = |args: &[&str]| values(&run(args), args);

    // `check` lists the tables with their Arrow types.
    let o = run(&["external", "check", "cadre"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let check = stdout(&o);
    assert!(check.contains("cadre.postings"), "{check}");
    assert!(check.contains("score Int32"), "{check}");
    assert!(check.contains("since Date32"), "{check}");

    // Joined with the archive; the filter and the projection are in the remote SQL.
    let joined = sql_rows(&[
        "sql",
        "select m.name, p.post from members m join cadre.postings p on m.member_id = p.member_id \
         where p.score >= 70 order by p.member_id",
        "--format",
        "json",
    ]);
    assert_eq!(
        joined,
        strings(&[
            ["赵一", "支部书记"],
            ["钱二", "组织委员"],
            ["李四", "宣传委员"]
        ])
    );
    pushed_down(&pg.log(), "postings", ">= 70", "id_card");

    // A literal that would end its string early in the remote SQL (the unparser keeps `\'`
    // as it is; PostgreSQL reads a backslash as itself) stays here.
    let injected = "select count(*) from cadre.postings where post = \
                    '\\'') OR (select count(*) from salaries) > 0 --'";
    assert_eq!(
        sql_rows(&["sql", injected, "--format", "json"]),
        vec![vec!["0".to_string()]]
    );
    assert!(!pg.log().contains("from salaries"), "{}", pg.log());

    // A department: its grant, its scope (教育局: D11 and below) and its masks hold.
    ok(&lake, &["access", "department", "add", "教育局"]);
    ok(&lake, &["access", "grant", "教育局", "members"]);
    let o = run(&[
        "external",
        "map",
        "cadre.postings",
        "--org-column",
        "org_code",
        "--personal",
        "id_card=id_number,mobile=phone",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["access", "grant", "教育局", "cadre.nothing"]);
    assert!(!o.status.success(), "a table the source does not expose");
    ok(&lake, &["access", "grant", "教育局", "cadre.postings"]);
    let q = "select p.member_id, m.name, p.id_card, p.mobile from cadre.postings p \
             join members m on m.member_id = p.member_id order by p.member_id";
    let seen = sql_rows(&["sql", q, "--format", "json", "--as", "教育局"]);
    assert_eq!(seen.len(), 2, "D111's two rows only: {seen:?}");
    assert_eq!(seen[0][0], "R01");
    assert_eq!(seen[1][0], "R02");
    for r in &seen {
        assert!(r[2].contains('*') && r[3].contains('*'), "masked: {r:?}");
        assert!(!r[2].contains("1990"), "{r:?}");
    }
    // A condition that names another branch's row finds nothing.
    let other = sql_rows(&[
        "sql",
        "select count(*) as n from cadre.postings where member_id = 'R04'",
        "--format",
        "json",
        "--as",
        "教育局",
    ]);
    assert_eq!(other, vec![vec!["0".to_string()]]);
    // EXPLAIN as the department: the logical plan, with its scope and masks, and nothing of
    // the connection (no URL, no password); the detailed forms refused, as for datasets.
    let plan = stdout(&run(&[
        "sql",
        "explain select id_card from cadre.postings where mobile like '139%'",
        "--as",
        "教育局",
    ]));
    assert!(plan.contains("postings"), "{plan}");
    assert!(
        !plan.contains(READER_PASSWORD) && !plan.contains("127.0.0.1"),
        "{plan}"
    );
    let o = run(&[
        "sql",
        "explain analyze select * from cadre.postings",
        "--as",
        "教育局",
    ]);
    assert!(
        !o.status.success(),
        "EXPLAIN ANALYZE is the administrator's"
    );
    for refused in ["select * from cadre.slow", "select * from cadre.salaries"] {
        let o = run(&["sql", refused, "--as", "教育局"]);
        assert!(!o.status.success(), "{refused}");
        assert!(
            stderr(&o).contains("not granted"),
            "{refused}: {}",
            stderr(&o)
        );
    }

    // The same through the API and Flight SQL, the server holding the password.
    let token = ok(
        &lake,
        &["access", "token", "create", "--department", "教育局"],
    )
    .lines()
    .last()
    .unwrap()
    .trim()
    .to_string();
    let server = serve_with_env(&lake, &pw);
    let body = serde_json::json!({ "sql": q }).to_string();
    let (status, text) = crate::serve::http(
        server.port,
        "POST",
        "/api/v1/sql",
        Some(&token),
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let api_rows = v["rows"].as_array().unwrap();
    assert_eq!(api_rows.len(), 2, "{text}");
    assert!(!text.contains("110101199001150011"), "{text}");
    let flight = server.flight.unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/flight_query.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(format!("grpc://127.0.0.1:{flight}"))
        .arg(&token)
        .arg(q)
        .output()
        .expect("python3 runs");
    if o.status.code() == Some(2) {
        peer_missing("python3 with the ADBC Flight SQL driver");
    } else {
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let rows = v["rows"].as_array().unwrap_or_else(|| panic!("{v}"));
        assert_eq!(rows.len(), 2, "{v}");
        assert!(rows[0]["id_card"].as_str().unwrap().contains('*'), "{v}");
    }
    drop(server);

    // A branch's SQLite file, opened read-only: joined, and left as it was.
    let db = dir.path().join("branch.db");
    let o = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             c.execute('create table notes (member_id text, org_id text, note text)')\n\
             c.executemany('insert into notes values (?, ?, ?)', [('R01', 'D111', '按时交纳党费'), ('R04', 'D121', '参加志愿服务')])\n\
             c.commit()",
        )
        .arg(&db)
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&db).unwrap();
    ok(
        &lake,
        &[
            "external",
            "add",
            "branch",
            "--kind",
            "sqlite",
            "--url",
            db.to_str().unwrap(),
        ],
    );
    let notes = sql_rows(&[
        "sql",
        "select m.name, n.note from branch.notes n join members m using (member_id) order by n.member_id",
        "--format",
        "json",
    ]);
    assert_eq!(
        notes,
        strings(&[["赵一", "按时交纳党费"], ["李四", "参加志愿服务"]])
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is unchanged");
    assert!(!dir.path().join("branch.db-wal").exists());
    let o = run(&[
        "external",
        "add",
        "missing",
        "--kind",
        "sqlite",
        "--url",
        dir.path().join("no.db").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(!dir.path().join("no.db").exists(), "never created");

    slow_then_stopped(&lake, &pw, "cadre", "cadre.postings", "cadre.slow", || {
        pg.crash()
    });
}

/// The server's statement `log` holds the query of `table` with `condition` in it, reading
/// only the columns used (not `unread`, not `*`).
pub(crate) fn pushed_down(log: &str, table: &str, condition: &str, unread: &str) {
    let remote = log
        .lines()
        .find(|l| l.contains(table) && l.contains(condition))
        .unwrap_or_else(|| panic!("`{condition}` did not reach the database:\n{log}"));
    assert!(
        !remote.contains(unread) && !remote.contains('*'),
        "only the columns used are read: {remote}"
    );
}

/// The remote slow (`slow`, a view that sleeps 30 s): an error naming `source` within its
/// timeout (3 s), no rows; stopped (`stop`) while a query joining `table` with the archive
/// waits on it: a clear error, no rows; then down: the same from the first connection.
pub(crate) fn slow_then_stopped(
    lake: &Path,
    env: &[(&str, &str)],
    source: &str,
    table: &str,
    slow: &str,
    stop: impl FnOnce(),
) {
    let named = format!("external source `{source}`");
    let started = Instant::now();
    let o = with_env(lake, &["sql", &format!("select * from {slow}")], env);
    assert!(!o.status.success());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(stderr(&o).contains(&named), "{}", stderr(&o));
    assert!(stderr(&o).contains("3 s"), "{}", stderr(&o));
    assert!(stdout(&o).trim().is_empty());

    let mut running = Command::new(bin());
    running
        .arg("--lake")
        .arg(lake)
        .args([
            "sql",
            &format!(
                "select m.name from members m join {table} t using (member_id) \
                 cross join (select 1 from {slow}) s"
            ),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        running.env(k, v);
    }
    let running = running.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    stop();
    let out = running.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(stdout(&out).trim().is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains(&named), "{}", stderr(&out));
    let o = with_env(lake, &["sql", &format!("select * from {table}")], env);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&named), "{}", stderr(&o));
}

/// `dangan serve` with Flight SQL, its environment holding `env`.
fn serve_with_env(lake: &Path, env: &[(&str, &str)]) -> crate::serve::Server {
    crate::serve::start_env(lake, &["--flight-addr", "127.0.0.1:0"], env)
}
