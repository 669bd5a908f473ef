//! Killing `dangan import` at any moment leaves the table at its previous version; the next
//! run imports everything exactly once.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::support::*;

#[test]
fn killed_import_leaves_previous_version_and_rerun_lands_once() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let o = Command::new(bin())
        .args(["generate", "--members", "1500", "--seed", "11", "--out"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let files = inbox.join("engagement_events");

    // How long an undisturbed import takes here, and how many rows it writes.
    let probe = dir.path().join("probe");
    ok(&probe, &["init"]);
    let t0 = Instant::now();
    ok(
        &probe,
        &["import", "engagement_events", files.to_str().unwrap()],
    );
    let full = t0.elapsed();
    let rows = count(&probe, "select count(*) from engagement_events");
    assert!(rows > 10_000, "{rows}");

    let lake = dir.path().join("lake");
    ok(&lake, &["init"]);
    let v0 = table_version(&lake, "engagement_events");
    let mut landed = false;
    for frac in [0.05, 0.2, 0.4, 0.6, 0.75, 0.85, 0.92, 0.97, 1.0] {
        let mut child = Command::new(bin())
            .arg("--lake")
            .arg(&lake)
            .args(["import", "engagement_events"])
            .arg(&files)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(frac));
        child.kill().ok(); // SIGKILL: no cleanup of any kind runs.
        child.wait().unwrap();
        let n = count(&lake, "select count(*) from engagement_events");
        let v = table_version(&lake, "engagement_events");
        if landed {
            assert_eq!(n, rows, "after the commit, later runs only skip");
        } else if n == 0 {
            assert_eq!(
                v, v0,
                "killed at {frac}: table still at its previous version"
            );
        } else {
            assert_eq!(
                n, rows,
                "killed at {frac}: all or nothing, got {n} of {rows}"
            );
            assert_eq!(v, v0.map(|v| v + 1));
            landed = true;
        }
    }
    // Whatever happened above, one more run makes it complete, exactly once.
    let o = dangan(
        &lake,
        &["import", "engagement_events", files.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&lake, "select count(*) from engagement_events"), rows);
    let o = dangan(
        &lake,
        &["import", "engagement_events", files.to_str().unwrap()],
    );
    assert!(stdout(&o).contains("0 files read"), "{}", stdout(&o));
    assert_eq!(count(&lake, "select count(*) from engagement_events"), rows);
}

/// Killed anywhere — before, during or after its commit, or in its index step — a roster
/// import's re-run leaves the table complete, the index in step with it, and search finding
/// the members (an import killed after its commit used to leave the index behind for good:
/// its re-run found the file already imported and skipped the index).
#[test]
fn killed_roster_import_leaves_table_index_and_search_in_step_after_the_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let o = Command::new(bin())
        .args(["generate", "--members", "3000", "--seed", "12", "--out"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let orgs = inbox.join("organizations");
    let roster = inbox.join("members");

    let probe = dir.path().join("probe");
    ok(&probe, &["init"]);
    ok(&probe, &["import", "organizations", orgs.to_str().unwrap()]);
    // The generated roster has a few bad rows on purpose: exit 3 is a finished import.
    let import = |lake: &std::path::Path| {
        let o = dangan(lake, &["import", "members", roster.to_str().unwrap()]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    };
    let t0 = Instant::now();
    import(&probe);
    let full = t0.elapsed();
    let rows = count(&probe, "select count(*) from members");
    let name = sql(
        &probe,
        "select name from members order by member_id limit 1",
    )[0]["name"]
        .as_str()
        .unwrap()
        .to_string();

    for frac in [0.3, 0.6, 0.8, 0.9, 0.95, 0.99] {
        let lake = dir.path().join(format!("lake-{frac}"));
        ok(&lake, &["init"]);
        ok(&lake, &["import", "organizations", orgs.to_str().unwrap()]);
        let mut child = Command::new(bin())
            .arg("--lake")
            .arg(&lake)
            .args(["import", "members"])
            .arg(&roster)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(frac));
        child.kill().ok();
        child.wait().unwrap();
        let n = count(&lake, "select count(*) from members");
        assert!(
            n == 0 || n == rows,
            "killed at {frac}: all or nothing, got {n}"
        );
        // The re-run: the table complete, the index in step, the search finding.
        import(&lake);
        assert_eq!(count(&lake, "select count(*) from members"), rows, "{frac}");
        assert!(index_in_step(&lake), "killed at {frac}");
        let found: serde_json::Value = serde_json::from_str(&ok(
            &lake,
            &["search", &name, "--dataset", "members", "--format", "json"],
        ))
        .unwrap();
        assert!(
            found["total"].as_u64().unwrap() > 0,
            "killed at {frac}: {found}"
        );
    }
}
