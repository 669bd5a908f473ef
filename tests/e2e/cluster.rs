//! SQL on an Apache Ballista cluster of real processes over a lake in S3 (a real S3 server in
//! the test process, `storage.rs`): `dangan cluster scheduler` and two `dangan cluster
//! executor`s, each with a lake folder of its own on the same bucket (as on other machines),
//! and a client sending its plans with `sql --cluster`. Every answer equals the local
//! engine's, a department's policy holds on the executors, both executors ran tasks, and an
//! executor killed mid-query costs no rows.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::storage::S3Server;
use crate::support::*;

use crate::support::json_rows as rows;

/// Processes stopped when the test ends, however it ends.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node process signing its S3 requests with access key `key`.
fn node(s3: &S3Server, key: &str, lake: &Path, args: &[&str], log: &Path) -> Child {
    s3.command_as(key, lake, args)
        .stdout(Stdio::from(std::fs::File::create(log).unwrap()))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(log).unwrap(),
        ))
        .spawn()
        .expect("the dangan binary starts")
}

/// The access key executor `i` signs its S3 requests with.
fn executor_key(i: usize) -> String {
    format!("dangan-executor-{i}")
}

/// Where the lake's tables are.
const BUCKET: &str = "s3://archive/cluster";

/// Each fixture imported in four commits (four Parquet files per table at least).
fn setup(s3: &S3Server, lake: &Path, dir: &Path) {
    s3.ok(lake, &["init", "--storage", BUCKET]);
    for ds in [
        "organizations",
        "members",
        "engagement_events",
        "feedback",
        "meetings",
        "appraisals",
        "publications",
    ] {
        let text = std::fs::read_to_string(fixture(&format!("reports/{ds}.csv"))).unwrap();
        let mut lines = text.lines().map(str::to_string);
        let mut header = lines.next().unwrap();
        let mut rows: Vec<String> = lines.collect();
        if ds == "members" {
            // Personal columns, for the masks: an ID number from the birth date.
            header.push_str(",id_number,phone");
            for (i, row) in rows.iter_mut().enumerate() {
                let cells: Vec<&str> = row.split(',').collect();
                let birth = cells[3].replace('-', "");
                // The sequence's last digit is odd for a man, even for a woman.
                let seq = 2 * i + usize::from(cells[2] == "男");
                row.push_str(&format!(",{},1380000{i:04}", id_number(&birth, seq)));
            }
        }
        let per = rows.len().div_ceil(4).max(1);
        for (i, part) in rows.chunks(per).enumerate() {
            let file = dir.join(format!("{ds}-{i}.csv"));
            std::fs::write(&file, format!("{header}\n{}\n", part.join("\n"))).unwrap();
            s3.ok(lake, &["import", ds, file.to_str().unwrap(), "--no-index"]);
        }
    }
}

/// A GB 11643 ID number of someone born on `birth` (YYYYMMDD), its check digit computed.
fn id_number(birth: &str, seq: usize) -> String {
    let body = format!("110101{birth}{:03}", seq % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn work_dirs_with_jobs(dirs: &[PathBuf]) -> Vec<usize> {
    dirs.iter()
        .map(|d| {
            std::fs::read_dir(d)
                .map(|e| {
                    // A job's folder is named by its id; `datafusion-*` are a session's spills.
                    e.flatten()
                        .filter(|e| {
                            e.path().is_dir()
                                && !e.file_name().to_string_lossy().starts_with("datafusion-")
                        })
                        .count()
                })
                .unwrap_or(0)
        })
        .collect()
}

#[test]
fn a_cluster_of_two_executors_answers_as_the_local_engine() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("archive")).unwrap();
    let s3 = S3Server::start(&root);
    let lake = dir.path().join("lake");
    setup(&s3, &lake, dir.path());
    let ok = |lake: &Path, args: &[&str]| s3.ok(lake, args);
    ok(&lake, &["access", "department", "add", "教育局"]);
    for ds in [
        "members",
        "engagement_events",
        "organizations",
        "appraisals",
    ] {
        ok(&lake, &["access", "grant", "教育局", ds]);
    }

    let scheduler_port = free_port();
    let scheduler = format!("127.0.0.1:{scheduler_port}");
    let mut nodes = Nodes(vec![node(
        &s3,
        "dangan-scheduler",
        &lake,
        &["cluster", "scheduler", "--bind", &scheduler],
        &dir.path().join("scheduler.log"),
    )]);
    let mut work_dirs = Vec::new();
    for i in 0..2 {
        let work = dir.path().join(format!("executor{i}"));
        let (port, grpc) = (free_port(), free_port());
        // Its own lake folder, joined to the bucket, as on a machine of its own.
        let own = dir.path().join(format!("node{i}"));
        ok(&own, &["init", "--storage", BUCKET]);
        nodes.0.push(node(
            &s3,
            &executor_key(i),
            &own,
            &[
                "cluster",
                "executor",
                "--scheduler",
                &scheduler,
                "--port",
                &port.to_string(),
                "--grpc-port",
                &grpc.to_string(),
                "--work-dir",
                work.to_str().unwrap(),
                "--concurrency",
                "2",
            ],
            &dir.path().join(format!("executor{i}.log")),
        ));
        work_dirs.push(work);
    }
    let url = format!("df://{scheduler}");
    let on_cluster = |q: &str, dept: Option<&str>| {
        let mut args = vec!["sql", q, "--format", "json", "--cluster", &url];
        if let Some(d) = dept {
            args.extend(["--as", d]);
        }
        s3.dangan(&lake, &args)
    };
    // The executors register with the scheduler within a few seconds.
    let started = Instant::now();
    loop {
        let o = on_cluster("select count(*) as n from organizations", None);
        if o.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cluster did not answer within 60 s: {}\n{}",
            stderr(&o),
            std::fs::read_to_string(dir.path().join("scheduler.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let bench: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/sql_queries.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut queries: Vec<(String, Option<&str>)> = bench
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["ours"].as_str().unwrap().to_string(), None))
        .collect();
    queries.extend([
        // dangan's functions by name on the executors.
        (
            "select member_id, age(birth_date, DATE '2025-12-31') as a, mask_id(id_number) as m, pinyin(name) as p from members order by member_id".to_string(),
            None,
        ),
        (
            "select feedback_id, sentiment(content) as s from feedback order by feedback_id".to_string(),
            None,
        ),
        // An empty table.
        ("select count(*) as n from growth_records".to_string(), None),
        // The lake as it stood: before anything was imported, and now.
        ("select count(*) as n from members_asof('2000-01-01')".to_string(), None),
        (
            "select member_id, org_id from asof('members', '2999-01-01') order by member_id".to_string(),
            None,
        ),
        (
            "select member_id, id_number from members_asof('2999-01-01') order by member_id".to_string(),
            Some("教育局"),
        ),
        // Search hits from this process's index, joined on the cluster.
        (
            "select s.dataset, s.key, f.org_id from search('服务') s join feedback f on s.key = f.feedback_id order by s.key".to_string(),
            None,
        ),
        // A department: its scope and masks hold, computed on the executors.
        (
            "select member_id, name, id_number, org_id from members order by member_id".to_string(),
            Some("教育局"),
        ),
        (
            "select o.name, count(*) as n from engagement_events e join members m on e.member_id = m.member_id join organizations o on m.org_id = o.org_id group by o.name order by o.name".to_string(),
            Some("教育局"),
        ),
    ]);
    for (q, dept) in &queries {
        let mut local = vec!["sql", q.as_str(), "--format", "json"];
        if let Some(d) = dept {
            local.extend(["--as", d]);
        }
        let here = rows(&ok(&lake, &local));
        let there = rows(&succeeded(on_cluster(q, *dept), &["sql --cluster", q]));
        assert_eq!(there, here, "{q} (as {dept:?})");
    }
    // The search query above found something to join.
    let hits = rows(&ok(
        &lake,
        &["sql", "select key from search('服务')", "--format", "json"],
    ));
    assert!(!hits.is_empty(), "search found nothing");
    // The department's rows really are its own and masked.
    let masked = rows(&ok(
        &lake,
        &[
            "sql",
            "select id_number from members",
            "--format",
            "json",
            "--as",
            "教育局",
        ],
    ));
    assert!(
        masked.iter().all(|r| r[0].1.contains('*')),
        "masked: {masked:?}"
    );
    // A table the department was not granted is refused on the cluster too.
    let o = on_cluster("select count(*) from feedback", Some("教育局"));
    assert!(!o.status.success(), "{}", stdout(&o));
    // Another database's table is read by the front-end's own connection: on the cluster it
    // fails at planning, by name, and runs without --cluster.
    let db = dir.path().join("branch.db");
    let made = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table notes (member_id text)'); c.execute(\"insert into notes values ('R01')\"); c.commit()")
        .arg(&db)
        .status()
        .expect("python3 runs");
    assert!(made.success());
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
    let q = "select count(*) as n from branch.notes n join members m using (member_id)";
    let o = on_cluster(q, None);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("not distributable") && stderr(&o).contains("branch"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        rows(&ok(&lake, &["sql", q, "--format", "json"]))[0][0].1,
        "1"
    );
    // Both executors ran tasks (each keeps a folder per job it worked on) and read the
    // lake's Parquet files from the bucket themselves (counted by the S3 server per key).
    let jobs = work_dirs_with_jobs(&work_dirs);
    assert!(jobs.iter().all(|&n| n > 0), "jobs per executor: {jobs:?}");
    let reads: Vec<usize> = (0..2).map(|i| s3.parquet_reads(&executor_key(i))).collect();
    assert!(
        reads.iter().all(|&n| n > 0),
        "Parquet objects read per executor: {reads:?}"
    );

    // An executor killed while it runs a query's task: the query is answered in full by the
    // other (Ballista runs the lost task again) or fails with an error — never a partial sum.
    let heavy = "select sum(length(a.content) + length(b.content) + length(c.content)) as s \
                 from feedback a, feedback b, feedback c, appraisals d, appraisals e";
    let expected = rows(&ok(&lake, &["sql", heavy, "--format", "json"]));
    let mut running = s3
        .command(
            &lake,
            &["sql", heavy, "--format", "json", "--cluster", &url],
        )
        // Ballista may fail to recover a job whose finished stage lived on the lost executor
        // and leave it waiting: a bound turns that into an error.
        .args(["--timeout", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let before = work_dirs_with_jobs(&work_dirs);
    let started = Instant::now();
    let busy = loop {
        let now = work_dirs_with_jobs(&work_dirs);
        if let Some(i) = (0..2).find(|&i| now[i] > before[i]) {
            break Some(i);
        }
        // Done before a task showed: nothing to kill, the answer is still checked.
        if running.try_wait().unwrap().is_some() {
            break None;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no executor started the query"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(busy) = busy {
        let victim = &mut nodes.0[1 + busy];
        victim.kill().unwrap();
        victim.wait().unwrap();
    }
    let out = running.wait_with_output().unwrap();
    if out.status.success() {
        assert_eq!(
            rows(&stdout(&out)),
            expected,
            "answered in full after the kill"
        );
    } else {
        assert!(stdout(&out).trim().is_empty(), "no rows with a failure");
        assert!(stderr(&out).contains("error"), "{}", stderr(&out));
    }
}
