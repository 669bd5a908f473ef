//! The access policy tried as an attacker would: a department holding a token (卫健委:
//! members and growth records of its own branches, personal columns masked; the org chart
//! readable) probes through the JSON API, the CLI (`--as`) and Arrow Flight SQL. Nothing
//! outside its grant — another branch's rows, any full ID number, phone or birth date, the
//! server's paths — may appear in any answer or error; the server must answer after every
//! probe; every probe is audited under the department.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::{enc, get, http, setup, start_with};
use crate::support::*;

/// What must never reach 卫健委: the full ID numbers, phones and birth dates of every
/// member (its grant is masked), and the growth record of a member of another branch (G3,
/// R01's, in D111).
const SECRETS: &[&str] = &[
    "320102199001150013",
    "32010219850505002X",
    "320102194002020031",
    "13800001111",
    "13812345678",
    "13987654321",
    "1985-05-05",
    "1940-02-02",
    "1990-01-15",
    "植树",
];

/// `select 1 + 1 + …` with `n` operators (`op` between `term`s).
fn chain(term: &str, op: &str, n: usize) -> String {
    let mut s = format!("select {term}");
    for _ in 0..n {
        s.push_str(&format!(" {op} {term}"));
    }
    s
}

/// A random expression of about `size` operators: chains, nestings and function calls mixed.
fn random_expression(next: &mut impl FnMut(u64) -> u64, size: usize) -> String {
    let mut out = String::from("1");
    let mut open = 0;
    for _ in 0..size {
        match next(6) {
            0 if open < 80 => {
                out.push_str(" + (1");
                open += 1;
            }
            1 if open > 0 => {
                out.push(')');
                open -= 1;
                out.push_str(" * 1");
            }
            2 => out.push_str(" - abs(1)"),
            3 => out.push_str(" + length('x' || 'y')"),
            4 => out.push_str(" % 7"),
            _ => out.push_str(" + 1"),
        }
    }
    out.push_str(&")".repeat(open));
    format!("select {out}")
}

/// A department granted nothing (宣传部), and its token.
fn department_without_grants(lake: &Path) -> String {
    ok(lake, &["access", "department", "add", "宣传部"]);
    ok(
        lake,
        &["access", "token", "create", "--department", "宣传部"],
    )
    .lines()
    .last()
    .unwrap()
    .trim()
    .to_string()
}

fn post_sql(port: u16, token: &str, sql: &str) -> (u16, String) {
    let body = serde_json::json!({ "sql": sql }).to_string();
    http(port, "POST", "/api/v1/sql", Some(token), body.as_bytes())
}

fn assert_no_secret(what: &str, text: &str, lake: &Path) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows `{s}`: {text}");
    }
    let path = lake.to_string_lossy();
    assert!(!text.contains(path.as_ref()), "{what} shows a path: {text}");
    assert!(!text.contains(".parquet"), "{what} shows a file: {text}");
}

#[test]
fn a_department_cannot_crash_the_server_or_read_past_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let t = token.as_str();
    let nothing = department_without_grants(&lake);
    let server = start_with(
        &lake,
        &["--flight-addr", "127.0.0.1:0", "--query-timeout", "5"],
    );
    let port = server.port;
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut probe = |what: &str, sql: &str, want: u16| -> String {
        let (status, body) = post_sql(port, t, sql);
        assert_eq!(status, want, "{what}: {body}");
        // The server is still there after every probe.
        let (alive, _) = get(port, "/api/v1/whoami", Some(t));
        assert_eq!(alive, 200, "the server answers after {what}");
        seen.push((what.to_string(), body.clone()));
        body
    };

    // 1. Statements past the budget are a 400 before planning, never a crash: flat chains
    //    of 2,000 (4 KB, which once aborted the server) to 50,000 operators.
    for (term, op) in [("1", "+"), ("true", "AND"), ("true", "OR"), ("'a'", "||")] {
        for n in [2_000, 50_000] {
            let body = probe(&format!("{op} ×{n}"), &chain(term, op, n), 400);
            assert!(
                body.contains("too_complex") && body.contains("语句过于复杂"),
                "{body}"
            );
        }
    }
    let body = probe("at the budget", &chain("1", "+", 1_000), 200);
    assert!(body.contains("1001"), "{body}");
    probe(
        "unions",
        &format!("select 1{}", " union all select 1".repeat(3_000)),
        400,
    );
    probe(
        "nesting",
        &format!("select {}1{}", "(".repeat(500), ")".repeat(500)),
        400,
    );
    let ids: Vec<String> = (0..5_000).map(|i| format!("'M{i:07}'")).collect();
    probe(
        "a long IN list is real use",
        &format!(
            "select count(*) from members where member_id in ({})",
            ids.join(",")
        ),
        200,
    );
    // Random expressions of every size up to the budget and past it: each is answered.
    let mut seed: u64 = 23;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for i in 0..30 {
        let size = [10, 200, 600, 900, 1_500, 5_000][i % 6] + next(50) as usize;
        let sql = random_expression(&mut next, size);
        let (status, body) = post_sql(port, t, &sql);
        assert!(
            status == 200 || status == 400,
            "random expression {i} ({size}): {status} {body}"
        );
        let (alive, _) = get(port, "/api/v1/whoami", Some(t));
        assert_eq!(alive, 200, "after random expression {i}");
    }

    // 2. EXPLAIN: the logical plan only; statistics, analysis and paths are refused.
    for sql in [
        "EXPLAIN VERBOSE select * from members",
        "EXPLAIN ANALYZE select * from members",
        "EXPLAIN (costs true) select * from members",
        "EXPLAIN FORMAT tree select * from members",
    ] {
        let body = probe(sql, sql, 403);
        assert!(body.contains("只显示逻辑计划"), "{body}");
    }
    let body = probe(
        "plain explain",
        "EXPLAIN select id_number, phone from members where id_number like '32%'",
        200,
    );
    assert!(
        body.contains("logical_plan") && !body.contains("physical_plan"),
        "{body}"
    );

    // 3. The statement's conditions never meet a row outside the scope: a condition that
    //    fails on G3 (another branch's record) or on R01 neither fails nor quotes it, and
    //    error/no-error says nothing about them.
    let body = probe(
        "cast error on another branch's record",
        "select count(*) as n from growth_records where case when record_id = 'G3' \
         then arrow_cast(concat(member_id, '|', content), 'Int64') else 0 end = 0",
        200,
    );
    assert!(body.contains(r#""n":2"#), "{body}");
    let body = probe(
        "division by zero as an oracle",
        "select count(*) as n from growth_records where case when content like '%植树%' \
         then 1 / 0 else 0 end = 0",
        200,
    );
    assert!(body.contains(r#""n":2"#), "{body}");
    let body = probe(
        "cast error on another branch's member",
        "select count(*) as n from members where case when member_id = 'R01' \
         then arrow_cast(concat(id_number, phone), 'Int64') else 0 end = 0",
        200,
    );
    assert!(body.contains(r#""n":2"#), "{body}");
    // The plan says so: a condition that can fail stays above the scoped scan, a leakproof
    // one goes into it.
    let body = probe(
        "where conditions go",
        "EXPLAIN select record_id from growth_records \
         where arrow_cast(content, 'Int64') = 1 and record_id > 'G'",
        200,
    );
    let pushed = body.split("partial_filters=").nth(1).unwrap_or_default();
    assert!(
        body.contains("Filter: CAST(?table?.content AS Int64) = Int64(1)")
            && pushed.contains("record_id > Utf8")
            && !pushed.contains("CAST"),
        "{body}"
    );
    // In the scope the same condition fails, quoting nothing.
    let body = probe(
        "cast error in scope",
        "select count(*) from growth_records where case when record_id = 'G1' \
         then arrow_cast(concat(member_id, '|', content), 'Int64') else 0 end = 0",
        400,
    );
    assert!(!body.contains("义诊"), "{body}");

    // 4. Masks that hold together: 2 + 2 characters of the ID number, the year of birth.
    let body = probe(
        "masks",
        "select member_id, id_number, phone, birth_date, age(birth_date, date '2026-12-01') as age, \
         min(id_number) over () as lo, max(phone) over () as hi from members order by member_id",
        200,
    );
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["rows"][0]["id_number"], "32**************2X", "{body}");
    assert_eq!(r["rows"][0]["birth_date"], "1985-01-01", "{body}");
    assert_eq!(r["rows"][1]["birth_date"], "1940-01-01", "{body}");
    assert_eq!(r["rows"][0]["age"], 41, "{body}");

    // 5. Other channels: search by an org outside the scope answers as an unknown org; the
    //    run list holds no district-wide roster counts; a read grant is not a write grant.
    //    卫健委 reads the whole org chart, so D111 is known to it: no hits there.
    let (s, r) = get(
        port,
        &format!("/api/v1/search?q={}&org=D111", enc("志愿")),
        Some(t),
    );
    assert_eq!(
        (s, r["hits"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{r}"
    );
    //    宣传部 was granted nothing: D111 is as unknown to it as D999, and nothing is read.
    let n = Some(nothing.as_str());
    let (s, outside) = get(
        port,
        &format!("/api/v1/search?q={}&org=D111", enc("志愿")),
        n,
    );
    let (s2, unknown) = get(
        port,
        &format!("/api/v1/search?q={}&org=D999", enc("志愿")),
        n,
    );
    assert_eq!((s, s2), (400, 400));
    for sql in [
        "select * from members",
        "select * from asof('members', '2030-01-01')",
    ] {
        let (s, body) = post_sql(port, &nothing, sql);
        assert_eq!(s, 403, "{sql}: {body}");
        seen.push((sql.to_string(), body));
    }
    let (s, r) = get(port, "/api/v1/members/R04", n);
    assert!(s == 403 || s == 404, "{s} {r}");
    assert_eq!(
        outside["message"].as_str().unwrap().replace("D111", "?"),
        unknown["message"].as_str().unwrap().replace("D999", "?")
    );
    let (s, runs) = get(port, "/api/v1/runs", Some(t));
    assert_eq!(s, 200);
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["dataset"] == "organizations"),
        "members is granted with its own scope: {runs}"
    );
    let org_file =
        "org_id,name,parent_id,org_type,department\nD111,中共教育局第一党支部,D11,党支部,卫健委\n";
    for dataset in ["organizations", "members"] {
        let (s, body) = http(
            port,
            "POST",
            &format!("/api/v1/imports?dataset={dataset}&filename=x.csv"),
            Some(t),
            org_file.as_bytes(),
        );
        assert_eq!(s, 403, "{dataset}: {body}");
    }
    // A 40 MB upload without a token is refused before its body is read.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    s.write_all(
        b"POST /api/v1/imports?dataset=members&filename=x.csv HTTP/1.1\r\nHost: x\r\n\
          Content-Length: 41943040\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head[9..12], b"401", "{}", String::from_utf8_lossy(&head));
    assert!(started.elapsed() < Duration::from_secs(5));

    // 6. A query past the time limit is stopped and audited as stopped.
    let (status, body) = post_sql(
        port,
        t,
        "select count(*) from members m, range(1, 100000000000) r where r.value % 7 = 8",
    );
    assert_eq!(status, 504, "{body}");

    for (what, body) in &seen {
        assert_no_secret(what, body, &lake);
    }

    // 7. Arrow Flight SQL: the same probes through the ADBC driver.
    let flight = server.flight.expect("the Flight SQL address is printed");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/flight_probe.py");
    match Command::new("python3")
        .arg(&script)
        .arg(format!("grpc://127.0.0.1:{flight}"))
        .arg(t)
        .output()
    {
        Ok(o) if o.status.code() == Some(2) => {
            crate::support::peer_missing(&format!(
                "Flight SQL probes: {}",
                String::from_utf8_lossy(&o.stdout).trim()
            ));
        }
        Ok(o) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let r: Value = serde_json::from_str(stdout.trim()).unwrap();
            let chain = r["chain"].as_str().unwrap();
            assert!(
                chain.contains("InvalidArgument") && chain.contains("语句过于复杂"),
                "{chain}"
            );
            assert!(
                r["verbose"].as_str().unwrap().contains("PermissionDenied"),
                "{r}"
            );
            assert_eq!(r["outside"], 2, "{r}");
            assert!(r["inside"].as_str().is_some(), "{r}");
            assert_eq!(r["alive"], 2, "{r}");
            assert_no_secret("flight", &stdout, &lake);
        }
        Err(e) => crate::support::peer_missing(&format!(
            "Flight SQL probes: python3 cannot run here ({e})"
        )),
    }
    server.stop();

    // 8. Every probe is in the audit under the department, with what happened.
    let n = |q: &str| count(&lake, q);
    assert!(
        n(
            "select count(*) from system_audit where department = '卫健委' and status like 'refused%'"
        ) >= 11,
        "over-budget statements audited as refused"
    );
    assert!(
        n(
            "select count(*) from system_audit where department = '卫健委' and status like 'denied%' and sql like 'EXPLAIN VERBOSE%'"
        ) >= 1
    );
    assert_eq!(
        n("select count(*) from system_audit where department = '卫健委' and sql like 'api runs%'"),
        1
    );
    assert!(
        n(
            "select count(*) from system_audit where department = '卫健委' and sql like 'web import%' and status like 'denied%'"
        ) >= 2
    );
    assert!(
        n(
            "select count(*) from system_audit where department = '卫健委' and status like 'stopped%'"
        ) >= 1,
        "the timed-out query"
    );
    assert_eq!(
        n(
            "select count(*) from system_audit where department <> '卫健委' and sql like 'SELECT run_id%'"
        ),
        0,
        "runs are not the administrator's queries"
    );
    for secret in SECRETS {
        assert_eq!(
            n(&format!(
                "select count(*) from system_audit where department = '卫健委' and status like '%{secret}%'"
            )),
            0,
            "{secret} in an audit row"
        );
    }

    // 9. The CLI: the same budget for a department and for the administrator (a clear
    //    error, never a crash), and EXPLAIN VERBOSE only for the administrator.
    let long = chain("1", "+", 20_000);
    for who in [vec!["--as", "卫健委"], vec![]] {
        let mut args = vec!["sql"];
        args.extend(who.iter().copied());
        args.push(long.as_str());
        let o = dangan(&lake, &args);
        assert_eq!(o.status.code(), Some(1), "{who:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("语句过于复杂"), "{}", stderr(&o));
    }
    let o = dangan(
        &lake,
        &[
            "sql",
            "--as",
            "卫健委",
            "explain verbose select * from members",
        ],
    );
    assert!(!o.status.success() && stderr(&o).contains("只显示逻辑计划"));
    let admin = ok(
        &lake,
        &["sql", "explain verbose select count(*) from members"],
    );
    assert!(admin.contains("physical_plan"), "{admin}");
    let out = ok(
        &lake,
        &[
            "sql",
            "--as",
            "卫健委",
            "--format",
            "json",
            "select count(*) as n from growth_records where case when record_id = 'G3' then arrow_cast(content, 'Int64') else 0 end = 0",
        ],
    );
    assert!(out.contains(r#""n":2"#), "{out}");
    assert_no_secret("cli", &out, &lake);
}

/// The server's resident memory, from /proc.
fn rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[test]
fn heavy_queries_are_bounded_and_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let other = department_without_grants(&lake);
    let server = start_with(
        &lake,
        &[
            "--query-slots",
            "1",
            "--department-queries",
            "1",
            "--queue-wait",
            "1",
            "--query-timeout",
            "4",
        ],
    );
    let port = server.port;

    // Values built far past their arguments: refused, the server's memory stays small.
    for sql in [
        "select length(repeat('x', 1000000000))",
        "select length(lpad('x', 1000000000))",
        "select cardinality(range(1, 1000000000))",
        "select length(repeat(name, 10000000)) from members",
    ] {
        let (s, body) = post_sql(port, &token, sql);
        assert_eq!(s, 400, "{sql}: {body}");
        assert!(body.contains("结果过大"), "{sql}: {body}");
    }
    let (s, body) = post_sql(
        port,
        &token,
        &format!("select {}", vec!["repeat('x', 2)"; 17].join(" || ")),
    );
    assert_eq!(s, 400, "{body}");
    let rss = rss_mb(server.pid());
    assert!(rss < 1024, "the server holds {rss} MB");

    // One slot: a slow query holds it; the same department's next query is refused at once
    // (its limit is one), another department's waits its second and is refused.
    let slow = {
        let token = token.clone();
        std::thread::spawn(move || {
            post_sql(
                port,
                &token,
                "select count(*) from members m, range(1, 100000000000) r where r.value % 7 = 8",
            )
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (s, body) = post_sql(port, &token, "select 1");
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("查询过多") && started.elapsed() < Duration::from_millis(900));
    let (s, body) = post_sql(port, &other, "select 1");
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("服务器繁忙"), "{body}");
    let (s, body) = slow.join().unwrap();
    assert_eq!(s, 504, "{body}");
    // Its turn given back: the next query runs.
    let (s, body) = post_sql(port, &token, "select 1 as one");
    assert_eq!(s, 200, "{body}");
    server.stop();
    assert!(
        count(
            &lake,
            "select count(*) from system_audit where status like 'refused: 查询过多%'"
        ) >= 1
    );
}

#[test]
fn a_query_the_server_dies_on_is_still_audited() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let server = start_with(&lake, &["--query-timeout", "60"]);
    let port = server.port;
    let slow = std::thread::spawn(move || {
        post_sql(
            port,
            &token,
            "select count(*) from members m, range(1, 100000000000) r where r.value % 7 = 8",
        )
    });
    std::thread::sleep(Duration::from_millis(1500));
    // Killed as the kernel's OOM killer would: no shutdown, no flush.
    let _ = Command::new("kill")
        .args(["-9", &server.pid().to_string()])
        .output();
    let (status, _) = slow.join().unwrap();
    assert_ne!(status, 200);
    drop(server);
    // The next process to open the lake writes the query the dead one was running.
    let rows = sql(
        &lake,
        "select department, sql, status from system_audit where status like 'interrupted%'",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["department"], "卫健委");
    assert!(
        rows[0]["sql"]
            .as_str()
            .unwrap()
            .contains("range(1, 100000000000)")
    );
    // Written once: the journal was taken by the process that wrote it.
    let again = sql(
        &lake,
        "select count(*) as n from system_audit where status like 'interrupted%'",
    );
    assert_eq!(again[0]["n"], 1);
}
