//! `dangan serve` on loopback: the JSON API under a department's token (scope, masks,
//! refusals, errors as JSON, limits, revocation), and the web page in headless Chromium.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    /// Arrow Flight SQL's port, when started with one.
    pub(crate) flight: Option<u16>,
}

impl Server {
    /// SIGTERM, and wait for it to finish (it writes the audit rows it still holds).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .output();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(lake: &Path) -> Server {
    start_with(lake, &[])
}

/// The port after `prefix` in the line `dangan serve` prints first.
fn port_after(line: &str, prefix: &str) -> Option<u16> {
    line.split(prefix)
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
}

pub(crate) fn start_with(lake: &Path, extra: &[&str]) -> Server {
    start_env(lake, extra, &[])
}

/// [`start_with`], the server's environment holding `env` besides.
pub(crate) fn start_env(lake: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(bin())
        .arg("--lake")
        .arg(lake)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env_remove("DANGAN_LAKE")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dangan serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port =
        port_after(&line, "http://127.0.0.1:").unwrap_or_else(|| panic!("no port in {line:?}"));
    let flight = port_after(&line, "grpc://127.0.0.1:");
    Server {
        child,
        port,
        flight,
    }
}

/// Percent-encode a query value.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request; (status, body).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // Chunked bodies (axum streams some): join the chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n.min(after.len())]);
            rest = after.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        rest.to_string()
    };
    (status, body)
}

/// A POST of a JSON body accepting an Arrow IPC stream; (status, body bytes).
fn post_for_arrow(port: u16, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\
         Content-Type: application/json\r\nAccept: application/vnd.apache.arrow.stream\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, raw[end..].to_vec())
}

pub(crate) fn get(port: u16, path: &str, token: Option<&str>) -> (u16, Value) {
    let (status, body) = http(port, "GET", path, token, b"");
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, v)
}

/// 卫健委's own rows only (R04, R05), their phone and ID number masked.
fn assert_department_rows_masked(rows: &Value) {
    let rows = rows.as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["R04", "R05"]);
    assert_eq!(rows[0]["phone"], "138****5678");
    assert_eq!(rows[0]["id_number"], "32**************2X");
}

pub(crate) fn setup(lake: &Path) -> String {
    ok(lake, &["init"]);
    for (ds, f) in [
        ("organizations", "reports/organizations.csv"),
        ("members", "serve/members.csv"),
        ("growth_records", "serve/growth_records.csv"),
    ] {
        let file = fixture(f);
        ok(lake, &["import", ds, file.to_str().unwrap()]);
    }
    ok(lake, &["access", "department", "add", "卫健委"]);
    ok(lake, &["access", "grant", "卫健委", "members"]);
    ok(lake, &["access", "grant", "卫健委", "growth_records"]);
    ok(
        lake,
        &[
            "access",
            "grant",
            "卫健委",
            "organizations",
            "--scope",
            "all",
        ],
    );
    let out = ok(
        lake,
        &["access", "token", "create", "--department", "卫健委"],
    );
    let token = out.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("dgn_"), "{out}");
    let list = ok(lake, &["access", "token", "list"]);
    assert!(list.contains("卫健委") && !list.contains(&token), "{list}");
    token
}

#[test]
fn api_answers_under_the_tokens_department() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let t = Some(token.as_str());
    let server = start(&lake);
    let port = server.port;

    // The description needs no token; data does.
    let (s, doc) = get(port, "/api/v1/openapi.json", None);
    assert_eq!(s, 200);
    assert!(doc["paths"]["/search"].is_object(), "{doc}");
    openapi_is_valid(&doc, dir.path());
    let (s, e) = get(port, "/api/v1/whoami", None);
    assert_eq!((s, e["code"].as_str()), (401, Some("unauthorized")));
    let (s, _) = get(port, "/api/v1/whoami", Some("dgn_not_a_token"));
    assert_eq!(s, 401);
    let (s, me) = get(port, "/api/v1/whoami", t);
    assert_eq!(s, 200);
    assert_eq!(me["department"], "卫健委");

    // SQL: its own organization's rows only, phones masked.
    let q = enc("select member_id, phone, id_number from members order by member_id");
    let (s, r) = get(port, &format!("/api/v1/sql?q={q}"), t);
    assert_eq!(s, 200, "{r}");
    assert_department_rows_masked(&r["rows"]);
    assert_eq!(r["columns"][1]["label"], "联系电话");
    // The same through POST.
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        br#"{"sql": "select count(*) as n from members"}"#,
    );
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(r#""n":2"#), "{body}");
    // A limit: the first rows, the whole count and `truncated`; keys in column order, a null
    // left out of its row; no rows is an empty array.
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        r#"{"sql": "select member_id, cast(null as int) as gone, 1.5 as x from members order by member_id", "limit": 1}"#
            .as_bytes(),
    );
    assert_eq!(s, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["rows"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        (r["row_count"].as_u64(), r["truncated"].as_bool()),
        (Some(2), Some(true))
    );
    assert!(
        body.contains(r#"{"member_id":"#) && body.contains(r#","x":1.5}"#),
        "{body}"
    );
    assert_eq!(r["columns"][1]["name"], "gone");
    // The same rows as arrays in column order (`rows`: the shape Trino's clients read), the
    // null kept in its place; through GET too; a shape it does not know is a clear 400.
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        r#"{"sql": "select member_id, cast(null as int) as gone, 1.5 as x from members order by member_id", "rows": "arrays"}"#
            .as_bytes(),
    );
    assert_eq!(s, 200, "{body}");
    let arrays: Value = serde_json::from_str(&body).unwrap();
    let first = &arrays["rows"][0];
    assert_eq!(
        (first.as_array().map(Vec::len), &first[1], &first[2]),
        (Some(3), &Value::Null, &serde_json::json!(1.5)),
        "{body}"
    );
    assert_eq!(arrays["rows"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(first[0], r["rows"][0]["member_id"], "{body}");
    let (s, g) = get(
        port,
        &format!(
            "/api/v1/sql?rows=arrays&limit=1&q={}",
            enc("select 1 as one")
        ),
        t,
    );
    assert_eq!((s, &g["rows"]), (200, &serde_json::json!([[1]])), "{g}");
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        br#"{"sql": "select 1", "rows": "tuples"}"#,
    );
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("objects") && body.contains("arrays"),
        "{body}"
    );
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        br#"{"sql": "select member_id from members where false", "rows": "arrays"}"#,
    );
    assert_eq!(s, 200, "{body}");
    let none: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(none["rows"], serde_json::json!([]), "{body}");
    let (s, body) = http(
        port,
        "POST",
        "/api/v1/sql",
        t,
        br#"{"sql": "select member_id from members where false"}"#,
    );
    assert_eq!(s, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["rows"], serde_json::json!([]), "{body}");
    assert_eq!(
        (r["row_count"].as_u64(), r["truncated"].as_bool()),
        (Some(0), Some(false))
    );
    // The same rows as an Arrow IPC stream (Accept): masked alike, the labels in the fields'
    // metadata.
    let (s, bytes) = post_for_arrow(
        port,
        "/api/v1/sql",
        t,
        br#"{"sql": "select member_id, phone, id_number from members order by member_id"}"#,
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&bytes));
    {
        use arrow::array::AsArray;
        use dangan_datasets::arrow;
        let reader =
            arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let schema = reader.schema();
        assert_eq!(
            schema
                .field(1)
                .metadata()
                .get("dangan.label")
                .map(String::as_str),
            Some("联系电话")
        );
        let mut rows = Vec::new();
        for b in reader {
            let b = b.unwrap();
            let cols: Vec<_> = b
                .columns()
                .iter()
                .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap())
                .collect();
            for i in 0..b.num_rows() {
                let mut row = serde_json::Map::new();
                for (f, c) in schema.fields().iter().zip(&cols) {
                    let c = c.as_string::<i32>();
                    row.insert(f.name().clone(), Value::from(c.value(i)));
                }
                rows.push(Value::Object(row));
            }
        }
        assert_department_rows_masked(&Value::Array(rows));
    }
    // Refusals and mistakes are JSON with a code, never a 500.
    let (s, e) = get(
        port,
        &format!("/api/v1/sql?q={}", enc("select * from feedback")),
        t,
    );
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")), "{e}");
    let (s, e) = get(port, &format!("/api/v1/sql?q={}", enc("selec 1")), t);
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_sql")), "{e}");
    let (s, e) = get(
        port,
        &format!("/api/v1/sql?q={}", enc("drop table members")),
        t,
    );
    assert_eq!(s, 403, "{e}");
    let (s, _) = http(port, "POST", "/api/v1/sql", t, b"{not json");
    assert_eq!(s, 400);
    let big = vec![b' '; 2 << 20];
    let (s, _) = http(port, "POST", "/api/v1/sql", t, &big);
    assert_eq!(s, 413, "a request larger than the limit is refused");
    let (s, e) = get(port, "/api/v1/nowhere", t);
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));

    // Search: only the department's rows.
    let (s, r) = get(port, &format!("/api/v1/search?q={}", enc("志愿服务")), t);
    assert_eq!(s, 200, "{r}");
    let who: Vec<&str> = r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["R04"], "R01 is in another department's branch: {r}");
    let (s, _) = get(
        port,
        &format!("/api/v1/search?q={}&dataset=feedback", enc("意见")),
        t,
    );
    assert_eq!(s, 403);

    // A member's archive: masked, and a member outside the scope does not exist.
    let (s, a) = get(port, "/api/v1/members/R04", t);
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["member"]["phone"], "138****5678");
    let growth = a["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dataset"] == "growth_records")
        .expect("growth records");
    assert_eq!(growth["total"], 2);
    let (s, e) = get(port, "/api/v1/members/R01", t);
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")), "{e}");

    // Reports under the department's grants.
    let (s, r) = get(port, "/api/v1/reports/membership?as_of=2026-11-30", t);
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["highlights"][0][1], "2",
        "its two members: {}",
        r["highlights"]
    );
    let (s, e) = get(port, "/api/v1/reports/feedback", t);
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")), "{e}");
    // Each kind of error has its status, decided by its variant, not its words.
    // Dates in the importer's forms (one parser for files, commands and requests).
    let (s, r2) = get(port, "/api/v1/reports/membership?as_of=2026/11/30", t);
    assert_eq!((s, &r2["highlights"]), (200, &r["highlights"]), "{r2}");
    let (s, e) = get(port, "/api/v1/reports/membership?as_of=2026-11", t);
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_request")), "{e}");
    // The query string typed: a misspelt parameter or a bad value is a JSON 400 naming it.
    for (path, said) in [
        ("/api/v1/search?q=%E5%BF%97%E6%84%BF&limt=3", "limt"),
        ("/api/v1/search?q=%E5%BF%97%E6%84%BF&limit=many", "limit"),
        ("/api/v1/reports/membership?format=pdf", "pdf"),
    ] {
        let (s, e) = get(port, path, t);
        assert_eq!(
            (s, e["code"].as_str()),
            (400, Some("bad_request")),
            "{path}: {e}"
        );
        assert!(e["message"].as_str().unwrap().contains(said), "{path}: {e}");
    }
    let (s, e) = get(port, "/api/v1/reports/nosuch", t);
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")), "{e}");
    let (s, e) = get(port, "/api/v1/reports/membership?org=NOWHERE", t);
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_request")), "{e}");
    let (s, html) = http(
        port,
        "GET",
        "/api/v1/reports/membership?format=html",
        t,
        b"",
    );
    assert_eq!(s, 200);
    assert!(
        html.contains("<svg") || html.contains("<table"),
        "an html report"
    );
    let (s, runs) = get(port, "/api/v1/runs", t);
    assert_eq!(s, 200);
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["dataset"] != "feedback"),
        "{runs}"
    );

    // A revoked token stops working (within the few seconds tokens are cached).
    let id = ok(&lake, &["access", "token", "list"])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(&lake, &["access", "token", "revoke", &id]);
    std::thread::sleep(Duration::from_millis(3500));
    let (s, _) = get(port, "/api/v1/whoami", t);
    assert_eq!(s, 401);
    // Every request was audited under the department.
    server.stop();
    let n = count(
        &lake,
        "select count(*) from system_audit where department = '卫健委'",
    );
    assert!(n >= 5, "{n} audit rows");
}

#[test]
#[ignore = "needs python3 with the ADBC Flight SQL driver (pip install adbc-driver-flightsql adbc-driver-manager; .ci/run installs it)"]
fn flight_sql_through_the_adbc_driver_returns_masked_arrow_for_the_department() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let server = start_with(&lake, &["--flight-addr", "127.0.0.1:0"]);
    let flight = server.flight.expect("the Flight SQL address is printed");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/flight_sql.py");
    let o = match Command::new("python3")
        .arg(&script)
        .arg(format!("grpc://127.0.0.1:{flight}"))
        .arg(&token)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("python3 cannot run here ({e}); the ADBC driver needs it"),
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_ne!(o.status.code(), Some(2), "{stdout}");
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    // Arrow back, the department's own rows only, personal columns masked.
    assert_eq!(
        r["columns"],
        serde_json::json!(["member_id", "name", "phone", "id_number"])
    );
    assert_department_rows_masked(&r["rows"]);
    assert!(!stdout.contains("13812345678"));
    assert_eq!(r["join"].as_array().unwrap().len(), 2, "{}", r["join"]);
    // Refusals with the reason, never a result.
    let denied = r["denied"].as_str().unwrap();
    assert!(
        denied.contains("未授权") && denied.contains("PermissionDenied"),
        "{denied}"
    );
    assert!(
        r["bad_sql"].as_str().unwrap().contains("InvalidArgument"),
        "{}",
        r["bad_sql"]
    );
    assert!(
        r["write"].as_str().unwrap().contains("PermissionDenied"),
        "{}",
        r["write"]
    );
    // The catalog shows what was granted, nothing else.
    assert_eq!(
        r["tables"],
        serde_json::json!(["growth_records", "members", "organizations"])
    );
    // A BI tool's user/password form: the token as the password.
    assert_eq!(r["basic_count"], 2);
    assert!(
        r["wrong_password"]
            .as_str()
            .unwrap()
            .contains("Unauthenticated")
    );
    assert!(r["no_token"].as_str().unwrap().contains("Unauthenticated"));
    // Audited under the department, refusals too.
    server.stop();
    let n = count(
        &lake,
        "select count(*) from system_audit where department = '卫健委' and status like 'denied%'",
    );
    assert!(n >= 2, "{n} refusals audited");
}

/// Headless Chromium (the browser tests are ignored unless asked for: then it must be there).
fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("no chromium on PATH (.ci/run installs Debian's `chromium`; elsewhere: apt-get install chromium)")
}

/// A department that may import the roster (scope all, personal masked) and its token.
fn roster_keeper(lake: &Path) -> String {
    ok(lake, &["access", "department", "add", "组织部"]);
    ok(
        lake,
        &[
            "access",
            "grant",
            "组织部",
            "members",
            "--scope",
            "all",
            "--import",
        ],
    );
    let out = ok(
        lake,
        &["access", "token", "create", "--department", "组织部"],
    );
    out.lines().last().unwrap().trim().to_string()
}

#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run installs it)"]
fn upload_page_in_headless_chromium_previews_confirms_and_shows_the_quarantine() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    setup(&lake);
    let token = roster_keeper(&lake);
    let server = start(&lake);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/browser_upload.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(chromium)
        .arg(format!("http://127.0.0.1:{}", server.port))
        .arg(&token)
        .arg(dir.path().join("profile"))
        .output()
        .expect("python3 runs (.ci/run needs it for the other peers too)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    // The preview: one row in, one rejected with its reason, nothing written yet.
    assert_eq!(r["preview_written"], "1");
    assert_eq!(r["preview_quarantined"], "1");
    assert!(
        r["preview_rejects"].as_str().unwrap().contains("校验位"),
        "{r}"
    );
    // Confirmed: written once.
    assert_eq!(r["written"], "1");
    assert_eq!(
        count(
            &lake,
            "select count(*) from members where member_id in ('R30', 'R31')"
        ),
        1
    );
    // The run's quarantine page: the row, why, the ID number masked; the fixes download.
    let q = r["quarantine"].as_str().unwrap();
    assert!(q.contains("新党员.csv") && q.contains("校验位"), "{q}");
    assert!(q.contains("32**************01"), "masked: {q}");
    assert!(
        !stdout.contains("320102198102020001"),
        "never the ID number"
    );
    assert_eq!(r["fixes_button"], true);
}

#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run installs it)"]
fn web_page_in_headless_chromium_signs_in_and_shows_a_masked_member() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    let server = start(&lake);
    let dom = |route: &str| {
        let url = format!(
            "http://127.0.0.1:{}/#signin={}&to={}",
            server.port,
            token,
            enc(route)
        );
        let o = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=15000",
                "--dump-dom",
            ])
            .arg(&url)
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Signed in, searched: the department's hit, highlighted.
    let page = dom("search/志愿服务");
    assert!(
        page.contains(r#"id="dept">卫健委"#),
        "signed in as the department"
    );
    assert!(
        page.contains("<mark>志愿服务</mark>"),
        "highlighted snippet"
    );
    assert!(page.contains("#member/R04") && !page.contains("#member/R01"));
    // The counts come after the hits, in a request of their own.
    assert!(
        page.contains(r#"data-ds="growth_records">成长记录 (1)"#)
            && page.contains(r#"id="total-n">1<"#),
        "facets and the total filled in: {page}"
    );
    // The member's page: phone masked, the timeline there.
    let page = dom("member/R04");
    assert!(
        page.contains(r#"id="f-phone" class="masked">138****5678"#),
        "masked phone"
    );
    assert!(page.contains(r#"id="timeline""#) && page.contains("第二季度思想汇报"));
    assert!(!page.contains("13812345678"));
}

#[test]
fn upload_previews_then_imports_only_on_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let token = setup(&lake);
    // 卫健委 sees its own rows only: it may not write the roster.
    let admin = roster_keeper(&lake);
    let server = start(&lake);
    let port = server.port;
    let csv = "member_id,name,gender,birth_date,org_id,category,join_date,id_number\n\
               R20,钱二十,男,1980-01-01,D121,正式党员,2005-07-01,\n\
               R21,孙廿一,女,1981-02-02,D121,正式党员,2006-07-01,320102198102020001\n";
    let path = format!(
        "/api/v1/imports?dataset=members&filename={}",
        enc("新党员.csv")
    );
    let (s, body) = http(port, "POST", &path, Some(&token), csv.as_bytes());
    assert_eq!(s, 403, "{body}");

    let (s, body) = http(port, "POST", &path, Some(&admin), csv.as_bytes());
    assert_eq!(s, 200, "{body}");
    let preview: Value = serde_json::from_str(&body).unwrap();
    assert!(
        !body.contains(lake.to_string_lossy().as_ref()),
        "no server path in a preview: {body}"
    );
    let p = &preview["preview"];
    assert_eq!(p["dry_run"], true);
    assert_eq!(
        (p["rows_written"].as_i64(), p["rows_quarantined"].as_i64()),
        (Some(1), Some(1)),
        "{p}"
    );
    assert!(
        p["quarantine_sample"][0]["message"]
            .as_str()
            .unwrap()
            .contains("校验位"),
        "the reason: {p}"
    );
    assert_eq!(
        count(&lake, "select count(*) from members"),
        3,
        "a preview writes nothing"
    );

    let upload = preview["upload"].as_str().unwrap();
    let (s, body) = http(
        port,
        "POST",
        &format!("/api/v1/imports/{upload}/commit"),
        Some(&admin),
        b"",
    );
    assert_eq!(s, 200, "{body}");
    let done: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["report"]["rows_written"], 1);
    assert_eq!(count(&lake, "select count(*) from members"), 4);
    let (s, _) = http(
        port,
        "POST",
        &format!("/api/v1/imports/{upload}/commit"),
        Some(&admin),
        b"",
    );
    assert_eq!(s, 409, "confirmed twice: imported once");
    // The fixes workbook of the rejected row.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /api/v1/imports/{upload}/fixes.xlsx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {admin}\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let head = String::from_utf8_lossy(&raw[..raw.len().min(400)]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("spreadsheetml"), "{head}");
    assert!(raw.windows(2).any(|w| w == b"PK"), "an xlsx (zip) body");
    // The run's quarantine: the row and why, the ID number masked (组织部 has no personal
    // grant); the fixes workbook of the run; not for a department with its own rows only.
    let run = done["report"]["run_id"].as_str().unwrap();
    let (s, q) = get(
        port,
        &format!("/api/v1/runs/{run}/quarantine"),
        Some(&admin),
    );
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["dataset"], "members");
    assert_eq!(
        q["rows"][0]["problems"][0]["value"], "32**************01",
        "{q}"
    );
    assert!(!q.to_string().contains("320102198102020001"), "{q}");
    let (s, _) = get(
        port,
        &format!("/api/v1/runs/{run}/quarantine"),
        Some(&token),
    );
    assert_eq!(s, 403);
    let (s, _) = get(port, "/api/v1/runs/no-such-run/quarantine", Some(&admin));
    assert_eq!(s, 404);
    let (s, body) = http(
        port,
        "GET",
        &format!("/api/v1/runs/{run}/fixes.xlsx"),
        Some(&admin),
        b"",
    );
    assert_eq!(s, 200);
    assert!(body.starts_with("PK"), "an xlsx (zip) body");
    // The import template: for the department that may import (it lists the branches), not
    // for one that may only read.
    let (s, body) = http(
        port,
        "GET",
        "/api/v1/datasets/members/template.xlsx",
        Some(&admin),
        b"",
    );
    assert_eq!(s, 200, "{body}");
    assert!(body.starts_with("PK"), "an xlsx (zip) body");
    let (s, _) = http(
        port,
        "GET",
        "/api/v1/datasets/members/template.xlsx",
        Some(&token),
        b"",
    );
    assert_eq!(s, 403);
    // Another department cannot see the upload.
    let (s, _) = http(
        port,
        "POST",
        &format!("/api/v1/imports/{upload}/commit"),
        Some(&token),
        b"",
    );
    assert_eq!(s, 403);
}

/// An import whose index step never ran (killed after its commit, or `--no-index`) leaves the
/// index behind its table. The server catches it up by itself, and a search meanwhile says
/// which datasets it may be missing rows of.
#[test]
fn the_server_brings_an_index_left_behind_in_step_and_says_so_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    setup(&lake);
    let admin = roster_keeper(&lake);
    let late = dir.path().join("late.csv");
    std::fs::write(
        &late,
        "member_id,name,gender,org_id,category\nR90,欧阳娜娜,女,D121,正式党员\n",
    )
    .unwrap();
    ok(
        &lake,
        &["import", "members", late.to_str().unwrap(), "--no-index"],
    );
    assert!(!index_in_step(&lake));
    let server = start(&lake);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let path = format!("/api/v1/search?q={}", enc("欧阳娜娜"));
    loop {
        let (s, r) = get(server.port, &path, Some(&admin));
        assert_eq!(s, 200, "{r}");
        let found = r["total"].as_u64().unwrap_or(0) > 0;
        let behind = r.get("index_behind").cloned();
        if let Some(b) = &behind {
            assert_eq!(b, &serde_json::json!(["members"]), "{r}");
        }
        if found && behind.is_none() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never caught up: {r}");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(index_in_step(&lake));
}

/// The served OpenAPI document passes the OpenAPI 3.1 schema (`openapi-spec-validator`, as a
/// client generator would read it).
fn openapi_is_valid(doc: &Value, dir: &Path) {
    let file = dir.join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let check = "import json, sys\n\
        try:\n    from openapi_spec_validator import validate\n\
        except ImportError:\n    sys.exit(2)\n\
        validate(json.load(open(sys.argv[1])))\n";
    match std::process::Command::new("python3")
        .args(["-c", check])
        .arg(&file)
        .output()
    {
        Ok(o) if o.status.code() == Some(2) => {
            crate::support::peer_missing("OpenAPI validation: openapi-spec-validator")
        }
        Ok(o) => assert!(
            o.status.success(),
            "the OpenAPI document is not valid: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => crate::support::peer_missing(&format!("OpenAPI validation: python3 ({e})")),
    }
}
