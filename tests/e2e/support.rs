//! Running the binary and reading its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dangan")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Run `dangan --lake <lake> args…`.
pub fn dangan(lake: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--lake")
        .arg(lake)
        .args(args)
        .env_remove("DANGAN_LAKE")
        .output()
        .expect("the dangan binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run and require success (or the given exit code), returning stdout.
pub fn ok(lake: &Path, args: &[&str]) -> String {
    succeeded(dangan(lake, args), args)
}

/// The stdout of a run of `dangan args…` that must have succeeded.
pub fn succeeded(o: Output, args: &[&str]) -> String {
    assert!(
        o.status.success(),
        "dangan {args:?} failed: {}\n{}",
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

/// `dangan sql … --format json` parsed.
pub fn sql(lake: &Path, q: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let out = ok(lake, &["sql", q, "--format", "json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("json from {q}: {e}\n{out}"));
    v.as_array()
        .expect("a json array")
        .iter()
        .map(|r| r.as_object().expect("row object").clone())
        .collect()
}

/// A single integer from a one-row, one-column query.
pub fn count(lake: &Path, q: &str) -> i64 {
    let rows = sql(lake, q);
    rows[0]
        .values()
        .next()
        .and_then(|v| v.as_i64())
        .expect("an integer")
}

pub fn table_version(lake: &Path, table: &str) -> Option<i64> {
    let out = ok(lake, &["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("status json");
    v.as_array()?.iter().find(|t| t["name"] == table)?["version"].as_i64()
}

/// (rows_read, rows_written, rows_quarantined) of an import's `--format json` report.
pub fn row_counts(report: &serde_json::Value) -> (Option<i64>, Option<i64>, Option<i64>) {
    (
        report["rows_read"].as_i64(),
        report["rows_written"].as_i64(),
        report["rows_quarantined"].as_i64(),
    )
}

/// The rows of a query as text, column by column in `columns` order (NULL as "").
pub fn texts(lake: &Path, q: &str, columns: &[&str]) -> Vec<Vec<String>> {
    sql(lake, q)
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| match r.get(*c) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Whether `dangan index status` says every indexed dataset is in step with its table.
pub fn index_in_step(lake: &Path) -> bool {
    let out = ok(lake, &["index", "status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("index status json");
    v.as_array()
        .expect("a list")
        .iter()
        .all(|d| d["in_step"] == true)
}

/// `dangan import … --format json`: exit code and report.
pub fn import(lake: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = dangan(lake, &all);
    let out = stdout(&o);
    let report = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (o.status.code(), report, stderr(&o))
}

/// A peer a test needs (Python's deltalake, openpyxl, the ADBC driver, Chromium) is missing.
/// Where `.ci/run` installed the peers it sets `DANGAN_REQUIRE_PEERS`, and a missing one fails
/// the test; elsewhere the check is skipped with a SKIPPED line saying what to install. Tests
/// that are about a peer and nothing else are `#[ignore = "needs …"]` instead, so a bare
/// `cargo test` lists them as ignored with the reason.
pub fn peer_missing(what: &str) {
    assert!(
        std::env::var_os("DANGAN_REQUIRE_PEERS").is_none() && std::env::var_os("CI").is_none(),
        "{what}: .ci/run installs it, so here it must be there"
    );
    eprintln!("SKIPPED {what} (.ci/run installs it)");
}

/// Run `tests/e2e/<script>` (a Python peer reading the lake with the `deltalake` package) and
/// return its stdout. `None` (with a SKIPPED line, [`peer_missing`]) when python3 or the package
/// cannot be had outside CI.
pub fn python_deltalake(script: &str, args: &[&str]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(script);
    let o = match std::process::Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            peer_missing(&format!(
                "python deltalake check: python3 not runnable here ({e})"
            ));
            return None;
        }
    };
    if o.status.code() == Some(77) {
        peer_missing("python deltalake check: `pip install deltalake pyarrow` to run it");
        return None;
    }
    assert!(
        o.status.success(),
        "python deltalake failed: {}",
        stderr(&o)
    );
    Some(stdout(&o))
}

/// Rows as JSON objects whose values are all compared as text (a cluster may return a
/// string column as another string type).
pub fn json_rows(out: &str) -> Vec<Vec<(String, String)>> {
    let v: serde_json::Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("json: {e}\n{out}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .collect()
}
