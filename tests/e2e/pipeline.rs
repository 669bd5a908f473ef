//! Pipelines through the binary: a run by hand (nothing twice, files still settling wait,
//! history), the scheduler picking up files dropped while it runs and stopping on SIGTERM, and
//! the scheduler killed with SIGKILL in the middle of an import: the lock is taken over, the
//! step reruns, every row is there exactly once; SIGTERM in the middle of a step finishes the
//! step and skips the rest.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

fn write_spec(lake: &Path, name: &str, body: &str) {
    let dir = lake.join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), body).unwrap();
}

fn drop_file(lake: &Path, dataset: &str, fixture_name: &str, as_name: &str) {
    let dir = lake.join("inbox").join(dataset);
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed in, as a copy tool that finishes its file would.
    let tmp = dir.join(format!(".{as_name}.part"));
    std::fs::copy(fixture(fixture_name), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(as_name)).unwrap();
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn serve(lake: &Path, log: &Path) -> Child {
    Command::new(bin())
        .arg("--lake")
        .arg(lake)
        .args(["pipeline", "serve"])
        .env_remove("DANGAN_LAKE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("dangan pipeline serve starts")
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let o = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the scheduler did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const DAILY: &str = r#"
name = "daily"
schedule = { cron = "0 2 * * *" }
settle_seconds = 0

[[step]]
kind = "import"
dataset = "organizations"
source = "inbox/organizations/*"

[[step]]
kind = "import"
dataset = "members"
source = "inbox/members/*"

[[step]]
kind = "index"

[[step]]
kind = "report"
name = "membership"
out = "reports/{date}/membership.html"
"#;

#[test]
fn pipeline_run_imports_new_files_once_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    write_spec(lake, "daily", DAILY);
    drop_file(
        lake,
        "organizations",
        "reports/organizations.csv",
        "组织.csv",
    );
    drop_file(lake, "members", "reports/members.csv", "花名册.csv");

    let v = ok(lake, &["pipeline", "validate", "daily"]);
    assert!(v.contains("valid") && v.contains("import members"), "{v}");

    let out = ok(lake, &["pipeline", "run", "daily", "--format", "json"]);
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "ok", "{out}");
    assert_eq!(run["steps"].as_array().unwrap().len(), 4);
    assert_eq!(count(lake, "select count(*) from members"), 7);
    assert!(lake.join("inbox/members/processed/花名册.csv").is_file());
    assert!(!lake.join("inbox/members/花名册.csv").exists());
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let report = lake.join(format!("reports/{today}/membership.html"));
    assert!(report.is_file(), "{}", report.display());

    // The same content again under another name: recognised, not imported twice.
    drop_file(lake, "members", "reports/members.csv", "花名册（重发）.csv");
    let out = ok(lake, &["pipeline", "run", "daily", "--format", "json"]);
    let run: Value = serde_json::from_str(&out).unwrap();
    let members_step = &run["steps"][1];
    assert!(
        members_step["message"]
            .as_str()
            .unwrap()
            .contains("1 already in"),
        "{members_step}"
    );
    assert_eq!(count(lake, "select count(*) from members"), 7);
    assert!(
        lake.join("inbox/members/processed/花名册（重发）.csv")
            .is_file()
    );

    // A file that may still be being written waits for the next run (no fault: exit 0).
    write_spec(
        lake,
        "patient",
        &DAILY
            .replace("name = \"daily\"", "name = \"patient\"")
            .replace("settle_seconds = 0", "settle_seconds = 3600"),
    );
    drop_file(lake, "members", "reports/members_2025.csv", "新花名册.csv");
    let o = dangan(lake, &["pipeline", "run", "patient"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("still settling"), "{}", stdout(&o));
    assert!(lake.join("inbox/members/新花名册.csv").is_file());
    assert_eq!(count(lake, "select count(*) from members"), 7);

    // History: every run, step by step.
    let h = ok(
        lake,
        &[
            "pipeline",
            "history",
            "--pipeline",
            "daily",
            "--format",
            "json",
        ],
    );
    let rows: Vec<Value> = serde_json::from_str(&h).unwrap();
    let mut runs: Vec<&str> = rows.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    runs.dedup();
    assert_eq!(runs.len(), 2, "{h}");
    assert_eq!(rows.len(), 8);
    let list = ok(lake, &["pipeline", "list"]);
    assert!(list.contains("daily") && list.contains("patient"), "{list}");
    let check = dangan(lake, &["lake", "check"]);
    assert!(check.status.success(), "{}", stdout(&check));

    // A spec with a mistake is refused with the reason.
    write_spec(
        lake,
        "bad",
        &DAILY.replace("kind = \"index\"", "kind = \"index\"\nsauce = 1"),
    );
    let o = dangan(lake, &["pipeline", "validate", "bad"]);
    assert!(
        !o.status.success() && stderr(&o).contains("sauce"),
        "{}",
        stderr(&o)
    );
    // Typed at reading: a mode, a format or a field that does not exist is named there.
    for (bad, said) in [
        (
            DAILY.replace(
                "source = \"inbox/members/*\"",
                "source = \"inbox/members/*\"\nmode = \"merge\"",
            ),
            "merge",
        ),
        (
            DAILY.replace(
                "name = \"membership\"",
                "name = \"membership\"\nformat = \"pdf\"",
            ),
            "pdf",
        ),
        (
            DAILY.replace(
                "source = \"inbox/members/*\"",
                "source = \"inbox/members/*\"\nsheets = \"x\"",
            ),
            "sheets",
        ),
    ] {
        write_spec(lake, "bad", &bad);
        let o = dangan(lake, &["pipeline", "validate", "bad"]);
        let e = stderr(&o);
        assert!(!o.status.success() && e.contains(said), "{said}: {e}");
    }
    write_spec(lake, "bad", &DAILY.replace("0 2 * * *", "every night"));
    let o = dangan(lake, &["pipeline", "run", "bad"]);
    assert!(
        !o.status.success() && stderr(&o).contains("cron"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scheduler_imports_files_dropped_while_it_runs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    let orgs = fixture("reports/organizations.csv");
    ok(lake, &["import", "organizations", orgs.to_str().unwrap()]);
    write_spec(
        lake,
        "often",
        r#"
name = "often"
schedule = { cron = "*/2 * * * * *" }
settle_seconds = 1

[[step]]
kind = "import"
dataset = "members"
source = "inbox/members/*.csv"

[[step]]
kind = "index"

[[step]]
kind = "report"
name = "membership"
out = "reports/membership.json"
"#,
    );
    let log = dir.path().join("serve.log");
    let mut child = serve(lake, &log);
    std::thread::sleep(Duration::from_secs(1));
    drop_file(lake, "members", "reports/members.csv", "花名册.csv");
    wait_until("the roster imported", Duration::from_secs(90), || {
        lake.join("inbox/members/processed/花名册.csv").is_file()
            && lake.join("reports/membership.json").is_file()
    });
    assert_eq!(count(lake, "select count(*) from members"), 7);
    // The same content dropped again is recognised and filed away, not imported.
    drop_file(lake, "members", "reports/members.csv", "again.csv");
    wait_until("the copy filed away", Duration::from_secs(90), || {
        lake.join("inbox/members/processed/again.csv").is_file()
    });
    let status = sigterm(&mut child);
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("scheduler stopped"), "{log}");
    assert_eq!(count(lake, "select count(*) from members"), 7);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(lake.join("reports/membership.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["name"], "membership");
    // Nothing half-done: every table reads, no orphan files, the index in step.
    let check = dangan(lake, &["lake", "check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    let h = ok(lake, &["pipeline", "history", "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&h).unwrap();
    assert!(rows.iter().all(|r| r["trigger"] == "schedule"), "{h}");
    let imported: i64 = rows
        .iter()
        .filter(|r| r["kind"] == "import")
        .map(|r| r["rows_written"].as_i64().unwrap())
        .sum();
    assert_eq!(imported, 7, "{h}");
}

#[test]
fn scheduler_killed_mid_import_recovers_the_lock_and_lands_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let o = Command::new(bin())
        .args(["generate", "--members", "4000", "--seed", "5", "--out"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let events = archive.join("engagement_events");
    // The rows a complete import writes.
    let probe = dir.path().join("probe");
    ok(&probe, &["init"]);
    ok(
        &probe,
        &[
            "import",
            "engagement_events",
            events.to_str().unwrap(),
            "--no-index",
        ],
    );
    let rows = count(&probe, "select count(*) from engagement_events");
    assert!(rows > 100_000, "{rows}");

    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    let inbox = lake.join("inbox/engagement_events");
    std::fs::create_dir_all(&inbox).unwrap();
    for f in std::fs::read_dir(&events).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, inbox.join(f.file_name().unwrap())).unwrap();
    }
    write_spec(
        lake,
        "events",
        r#"
name = "events"
schedule = { cron = "*/2 * * * * *" }
settle_seconds = 0

[[step]]
kind = "import"
dataset = "engagement_events"
source = "inbox/engagement_events/*"

[[step]]
kind = "index"
"#,
    );
    let lock = lake.join("system/lake.lock");
    // The note in the lock file: which process holds it (a killed holder's note stays).
    let holder = || -> Option<u32> {
        let text = std::fs::read_to_string(&lock).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        (v["what"] == "pipeline events").then(|| v["pid"].as_u64().unwrap_or(0) as u32)
    };
    let log1 = dir.path().join("serve1.log");
    let mut child = serve(lake, &log1);
    let first = child.id();
    wait_until("the run to take the lock", Duration::from_secs(60), || {
        holder() == Some(first)
    });
    std::thread::sleep(Duration::from_millis(400));
    let killed_while_holding = holder() == Some(first);
    child.kill().unwrap(); // SIGKILL: nothing of the scheduler's own runs.
    child.wait().unwrap();
    let after_kill = count(lake, "select count(*) from engagement_events");
    eprintln!(
        "killed while holding the lock: {killed_while_holding}; rows after the kill: {after_kill} of {rows}"
    );
    assert!(
        after_kill == 0 || after_kill == rows,
        "all or nothing: {after_kill} of {rows}"
    );

    // Restarted, it takes the lock over and reruns the import; SIGTERM in the middle of that
    // step lets the step finish its commit and skips the rest.
    let log2 = dir.path().join("serve2.log");
    let mut child = serve(lake, &log2);
    let second = child.id();
    wait_until(
        "the rerun to take the lock",
        Duration::from_secs(60),
        || holder() == Some(second),
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(sigterm(&mut child).success());
    let log2 = std::fs::read_to_string(&log2).unwrap();
    if killed_while_holding {
        assert!(log2.contains("took over a lock"), "{log2}");
    }
    assert_eq!(
        count(lake, "select count(*) from engagement_events"),
        rows,
        "every row exactly once"
    );
    let h = ok(lake, &["pipeline", "history", "--format", "json"]);
    let steps: Vec<Value> = serde_json::from_str(&h).unwrap();
    let last = steps.last().unwrap();
    // (The import takes seconds here; the signal came 200 ms into it.)
    assert_eq!(last["run_status"], "stopped", "{h}");
    assert_eq!(last["kind"], "index", "{h}");
    assert_eq!(last["status"], "stopped", "{h}");
    let import = &steps[steps.len() - 2];
    assert_eq!(import["status"], "ok", "the step under way finished: {h}");
    // By hand, once more: the files are in, the index catches up.
    let out = ok(lake, &["pipeline", "run", "events", "--format", "json"]);
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "ok", "{out}");
    assert_eq!(
        count(lake, "select count(*) from engagement_events"),
        rows,
        "still exactly once"
    );
    let check = dangan(lake, &["lake", "check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&check)).unwrap();
    assert_eq!(report["index_in_step"], true, "{report}");
}

#[test]
fn a_failed_step_keeps_earlier_steps_runs_the_hook_and_is_retried_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    let marker = dir.path().join("hook.txt");
    write_spec(
        lake,
        "fragile",
        &format!(
            r#"
name = "fragile"
settle_seconds = 0
on_failure = {{ command = ["sh", "-c", "echo \"$0 $1\" > {}", "{{pipeline}}", "step {{step}}"] }}

[[step]]
kind = "import"
dataset = "organizations"
source = "inbox/organizations/*"

[[step]]
kind = "import"
dataset = "members"
source = "inbox/members/*"

[[step]]
kind = "index"
"#,
            marker.display()
        ),
    );
    drop_file(
        lake,
        "organizations",
        "reports/organizations.csv",
        "组织.csv",
    );
    // Not a workbook at all, whatever its name says.
    let members = lake.join("inbox/members");
    std::fs::create_dir_all(&members).unwrap();
    std::fs::write(members.join("花名册.xlsx"), "this is not a workbook").unwrap();

    let o = dangan(lake, &["pipeline", "run", "fragile", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let run: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let status: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["ok", "failed", "stopped"], "{run}");
    assert!(
        run["steps"][1]["message"]
            .as_str()
            .unwrap()
            .contains("花名册.xlsx"),
        "the failure names the file: {run}"
    );
    // The first step stays committed; the bad file stays where it was for a person to see.
    assert_eq!(count(lake, "select count(*) from organizations"), 5);
    assert!(members.join("花名册.xlsx").is_file());
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "fragile step 2"
    );
    // Someone replaces the file; the next run does what failed, and only that.
    std::fs::remove_file(members.join("花名册.xlsx")).unwrap();
    drop_file(lake, "members", "reports/members.csv", "花名册.csv");
    let out = ok(lake, &["pipeline", "run", "fragile", "--format", "json"]);
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "ok", "{out}");
    assert_eq!(count(lake, "select count(*) from members"), 7);
    assert_eq!(count(lake, "select count(*) from organizations"), 5);
    let h = ok(lake, &["pipeline", "history", "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&h).unwrap();
    let statuses: Vec<&str> = rows
        .iter()
        .map(|r| r["run_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["failed", "failed", "failed", "ok", "ok", "ok"],
        "{h}"
    );
    // Upkeep: compaction and a dry-run clean-up leave every row in place.
    ok(lake, &["lake", "optimize"]);
    let v = ok(lake, &["lake", "vacuum", "--retain", "0", "--dry-run"]);
    assert!(v.contains("dry run"), "{v}");
    assert_eq!(count(lake, "select count(*) from members"), 7);
    let check = dangan(lake, &["lake", "check"]);
    assert!(check.status.success(), "{}", stdout(&check));
}

/// A run finds the index behind its tables (an import killed in its index step, or one with
/// `--no-index`) and brings it in step at its end, as one more step of its history.
#[test]
fn a_run_catches_up_an_index_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.as_path();
    ok(lake, &["init"]);
    for (ds, f) in [
        ("organizations", "reports/organizations.csv"),
        ("members", "reports/members.csv"),
    ] {
        ok(
            lake,
            &["import", ds, fixture(f).to_str().unwrap(), "--no-index"],
        );
    }
    write_spec(
        lake,
        "reports_only",
        "name = \"reports_only\"\nschedule = { cron = \"0 2 * * *\" }\n\n[[step]]\nkind = \"report\"\nname = \"membership\"\nout = \"reports/m.html\"\n",
    );
    let out = ok(
        lake,
        &["pipeline", "run", "reports_only", "--format", "json"],
    );
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "ok", "{out}");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{out}");
    assert_eq!(
        (&steps[1]["index"], &steps[1]["kind"]),
        (&2.into(), &"index".into()),
        "{out}"
    );
    assert!(index_in_step(lake));
    // In step now: the next run has no catch-up step.
    let out = ok(
        lake,
        &["pipeline", "run", "reports_only", "--format", "json"],
    );
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["steps"].as_array().unwrap().len(), 1, "{out}");
}
