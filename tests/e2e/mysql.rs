//! A department's MySQL as live tables: Debian's MariaDB (the server MySQL clients meet most in
//! Chinese government offices' Linux) started here in a temporary folder with its general query
//! log on, declared with `dangan external add --kind mysql`, checked, joined with the archive;
//! a role that can write is named, a wrong password is a clear error, the filter and the
//! projection reach the remote SQL, a department's grant, scope and masks hold, and a slow or
//! stopped server is an error naming the source.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::external::{strings, with_env};
use crate::support::*;

const READER_PASSWORD: &str = "app-reader-91c2";
const WRITER_PASSWORD: &str = "app-writer-55d0";

/// A MariaDB server of its own on a free port of loopback, every statement in its general log.
struct Mariadb {
    port: u16,
    socket: PathBuf,
    general_log: PathBuf,
    error_log: PathBuf,
    child: Option<Child>,
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Mariadb {
    /// `mariadb-install-db` and `mariadbd`; `None` (with a SKIPPED line) where MariaDB is not
    /// installed outside CI.
    fn start(dir: &Path) -> Option<Mariadb> {
        let Some(server) = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
        else {
            peer_missing("MariaDB (apt install mariadb-server)");
            return None;
        };
        let root = dir.join("mariadb");
        let data = root.join("data");
        std::fs::create_dir_all(&root).unwrap();
        let user = Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|_| "root".into());
        let o = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("mariadb-install-db runs");
        assert!(o.status.success(), "mariadb-install-db: {}", stderr(&o));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let socket = root.join("sock");
        let general_log = root.join("general.log");
        let error_log = root.join("error.log");
        let child = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", root.join("pid").display()))
            .arg(format!("--log-error={}", error_log.display()))
            .arg("--general-log=1")
            .arg(format!("--general-log-file={}", general_log.display()))
            .args(["--innodb-buffer-pool-size=16M", "--skip-log-bin"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let server = Mariadb {
            port,
            socket,
            general_log,
            error_log,
            child: Some(child),
        };
        let started = Instant::now();
        while !server.client("select 1").status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "mariadbd did not start: {}",
                std::fs::read_to_string(&server.error_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// The `mariadb` client as root over the server's socket.
    fn client(&self, sql: &str) -> Output {
        Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "--batch", "-e", sql])
            .output()
            .expect("the mariadb client runs")
    }

    fn run(&self, sql: &str) {
        let o = self.client(sql);
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
    }

    /// Every statement the server received.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.general_log).unwrap_or_default()
    }

    /// Gone at once, as a crash would.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_party_apps_mysql_is_a_table_of_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut db) = Mariadb::start(dir.path()) else {
        return;
    };
    db.run(&format!(
        "CREATE DATABASE app CHARACTER SET utf8mb4;
         CREATE TABLE app.activity (member_id varchar(16), org_code varchar(16), phone varchar(20),
           title varchar(100), minutes int, day date, score decimal(5,1));
         INSERT INTO app.activity VALUES
           ('R01', 'D111', '13800000001', '学习党的二十大精神', 45, '2026-03-01', 9.5),
           ('R02', 'D111', '13800000002', '志愿服务', 30, '2026-03-02', 8.0),
           ('R02', 'D111', '13800000002', '签到', 2, '2026-03-03', NULL),
           ('R04', 'D121', '13800000004', '主题党日', 60, '2026-03-04', 7.5);
         CREATE VIEW app.slow AS SELECT SLEEP(30) AS x;
         CREATE TABLE app.yearly (y year, note varchar(10));
         SET SESSION sql_mode = '';
         CREATE TABLE app.legacy (id int, d date, name varchar(20) CHARACTER SET gbk);
         INSERT INTO app.legacy VALUES (1, '0000-00-00', '张三'), (2, '2024-01-01', '李四');
         CREATE USER 'reader'@'%' IDENTIFIED BY '{READER_PASSWORD}';
         GRANT SELECT ON app.* TO 'reader'@'%';
         CREATE USER 'writer'@'%' IDENTIFIED BY '{WRITER_PASSWORD}';
         GRANT SELECT, INSERT ON app.* TO 'writer'@'%';"
    ));
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
    let url = |user: &str| format!("mysql://{user}@127.0.0.1:{}/app", db.port);
    let add = |name: &str, user: &str, password: &str| {
        with_env(
            &lake,
            &[
                "external",
                "add",
                name,
                "--kind",
                "mysql",
                "--url",
                &url(user),
                "--password-env",
                "APP_PW",
                "--timeout",
                "3",
            ],
            &[("APP_PW", password)],
        )
    };

    // A wrong password: refused, naming the source; nothing added.
    let o = add("app", "reader", "wrong");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("external source `app`") && stderr(&o).contains("Authentication"),
        "{}",
        stderr(&o)
    );
    // A role that can write is named as such.
    let o = add("appw", "writer", WRITER_PASSWORD);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("read-only role"), "{}", stdout(&o));
    ok(&lake, &["external", "remove", "appw"]);
    // The read-only role: no warning, no password in the lake.
    let o = add("app", "reader", READER_PASSWORD);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("warning"), "{}", stdout(&o));
    let config = std::fs::read_to_string(lake.join("lake.toml")).unwrap();
    assert!(config.contains("kind = \"mysql\""), "{config}");
    assert!(!config.contains(READER_PASSWORD), "{config}");

    let pw = [("APP_PW", READER_PASSWORD)];
    let run = |args: &[&str]| with_env(&lake, args, &pw);
    let sql_rows = |args: &[&str]| crate::external::values(&run(args), args);

    // `check` lists the tables (the view too) with their Arrow types.
    let o = run(&["external", "check", "app"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let check = stdout(&o);
    assert!(check.contains("app.activity"), "{check}");
    assert!(check.contains("minutes Int32"), "{check}");
    assert!(check.contains("day Date32"), "{check}");
    assert!(check.contains("score Decimal128(5, 1)"), "{check}");
    // A table with a column the reader cannot map is named with the column; the others list.
    assert!(
        check.contains("1 unreadable")
            && check.contains("app.yearly: unreadable")
            && check.contains("'y'"),
        "{check}"
    );

    // Joined with the archive, Chinese text intact; the filter and the projection are in the
    // remote SQL.
    let joined = sql_rows(&[
        "sql",
        "select m.name, a.title from members m join app.activity a on m.member_id = a.member_id \
         where a.minutes >= 30 order by a.day",
        "--format",
        "json",
    ]);
    assert_eq!(
        joined,
        strings(&[
            ["赵一", "学习党的二十大精神"],
            ["钱二", "志愿服务"],
            ["李四", "主题党日"]
        ])
    );
    crate::external::pushed_down(&db.log(), "activity", ">= 30", "phone");
    // A case-insensitive collation (MySQL's default) must not change an answer: the remote is
    // asked only what keeps every row dangan would keep (`<>` and `<` on text stay here).
    for (q, n) in [
        (
            "select count(*) from app.activity where member_id = 'r01'",
            "0",
        ),
        (
            "select count(*) from app.activity where member_id <> 'r01'",
            "4",
        ),
        (
            "select count(*) from app.activity where member_id < 'a'",
            "4",
        ),
        (
            "select count(*) from app.activity where title like '志愿%'",
            "1",
        ),
        // A legacy app's zero date is read as NULL, and found as NULL; a GBK column reads.
        ("select count(*) from app.legacy where d is null", "1"),
        ("select count(*) from app.legacy where d is not null", "1"),
        ("select count(*) from app.legacy where name = '张三'", "1"),
    ] {
        assert_eq!(
            sql_rows(&["sql", q, "--format", "json"]),
            vec![vec![n.to_string()]],
            "{q}"
        );
    }
    // A literal that would leave its string in the remote SQL (the unparser keeps `\'` as it
    // is) stays here: no SQL of the caller's reaches the database.
    let injected = "select count(*) from app.activity where title = \
                    '\\\\'') OR extractvalue(1, concat(0x7e, (select count(*) from mysql.user))) #'";
    assert_eq!(
        sql_rows(&["sql", injected, "--format", "json"]),
        vec![vec!["0".to_string()]]
    );
    assert!(!db.log().contains("extractvalue"), "{}", db.log());
    let sums = sql_rows(&[
        "sql",
        "select member_id, sum(minutes) as m, sum(score) as s from app.activity \
         group by member_id order by member_id",
        "--format",
        "json",
    ]);
    assert_eq!(sums[1], vec!["R02", "32", "8.0"], "{sums:?}");

    // A department: its grant, its scope (教育局: D11 and below) and its masks hold.
    ok(&lake, &["access", "department", "add", "教育局"]);
    ok(&lake, &["access", "grant", "教育局", "members"]);
    let o = run(&[
        "external",
        "map",
        "app.activity",
        "--org-column",
        "org_code",
        "--personal",
        "phone=phone",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = "select a.member_id, m.name, a.phone, a.title from app.activity a \
             join members m on m.member_id = a.member_id order by a.day";
    let o = run(&["sql", q, "--as", "教育局"]);
    assert!(!o.status.success(), "not granted yet");
    assert!(stderr(&o).contains("not granted"), "{}", stderr(&o));
    ok(&lake, &["access", "grant", "教育局", "app.activity"]);
    let seen = sql_rows(&["sql", q, "--format", "json", "--as", "教育局"]);
    assert_eq!(seen.len(), 3, "D111's three rows only: {seen:?}");
    assert!(seen.iter().all(|r| r[0] != "R04"), "{seen:?}");
    for r in &seen {
        assert!(r[2].contains('*'), "masked: {r:?}");
        assert!(
            !r[2].contains("00000001") && !r[2].contains("00000002"),
            "{r:?}"
        );
    }
    // A masked column compared with a full value finds nothing, even in the department's own
    // rows: the condition is on the mask, never on the value (no oracle to guess phones by).
    let own = sql_rows(&[
        "sql",
        "select count(*) as n from app.activity where phone = '13800000001'",
        "--format",
        "json",
        "--as",
        "教育局",
    ]);
    assert_eq!(own, vec![vec!["0".to_string()]]);
    let other = sql_rows(&[
        "sql",
        "select count(*) as n from app.activity where phone = '13800000004'",
        "--format",
        "json",
        "--as",
        "教育局",
    ]);
    assert_eq!(other, vec![vec!["0".to_string()]]);

    crate::external::slow_then_stopped(&lake, &pw, "app", "app.activity", "app.slow", || db.kill());
}
