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
