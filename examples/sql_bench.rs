//! The SQL benchmark's Rust side (run by `bench/sql_vs_duckdb.py`): runs each query of
//! `bench/sql_queries.json` on a lake, as the administrator and as a department granted
//! everything (scope all, personal visible: the policy layer's cost alone), and with
//! `--scoped DEPT` as a department whose scope is an org sub-tree holding every row (the
//! scope applied inside the scan, `scope.rs`, at its full cost), `--runs` times each, and
//! prints one JSON line per query: median milliseconds, the rows of the administrator's run
//! (for the comparison with DuckDB) and whether the scoped run returned the same rows.
//!
//!     cargo run --release --example sql_bench -- --lake /tmp/lake --queries bench/sql_queries.json --runs 5

use std::time::Instant;

use dangan_datasets::Lake;
use dangan_datasets::arrow::util::display::array_value_to_string;
use dangan_query::QueryEngine;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let lake = Lake::open(std::path::Path::new(&arg("--lake").unwrap_or_default()))?;
    let queries: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(
        arg("--queries").unwrap_or_else(|| "bench/sql_queries.json".into()),
    )?)?;
    let runs: usize = arg("--runs").map_or(Ok(5), |s| s.parse())?;
    let department = arg("--as");
    let admin = QueryEngine::open(&lake).await?;
    // `--set key=value` (repeatable): a DataFusion setting, to try one out.
    for (i, a) in args.iter().enumerate() {
        if a == "--set"
            && let Some((k, v)) = args.get(i + 1).and_then(|kv| kv.split_once('='))
        {
            admin.sql(&format!("SET {k} = {v}")).await?;
        }
    }
    let dept = match &department {
        Some(d) => Some(QueryEngine::open_as(&lake, Some(d)).await?),
        None => None,
    };
    let scoped = match arg("--scoped") {
        Some(d) => Some(QueryEngine::open_as(&lake, Some(&d)).await?),
        None => None,
    };
    let rows_of = |r: &dangan_query::QueryResult| {
        let mut rows = Vec::new();
        for b in &r.batches {
            for i in 0..b.num_rows() {
                let row: Vec<String> = b
                    .columns()
                    .iter()
                    .map(|c| array_value_to_string(c, i).unwrap_or_default())
                    .collect();
                rows.push(row);
            }
        }
        rows
    };
    for q in &queries {
        let sql = q["ours"].as_str().unwrap_or_default();
        let mut rows = Vec::new();
        let mut times = Vec::new();
        let mut policy_times = Vec::new();
        let mut scoped_times = Vec::new();
        let mut scoped_same = None;
        for run in 0..runs {
            let t = Instant::now();
            let r = admin.sql(sql).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if let Some(d) = &dept {
                let t = Instant::now();
                d.sql(sql).await?;
                policy_times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            if let Some(s) = &scoped {
                let t = Instant::now();
                let sr = s.sql(sql).await?;
                scoped_times.push(t.elapsed().as_secs_f64() * 1000.0);
                if run == 0 {
                    scoped_same = Some(rows_of(&sr) == rows_of(&r));
                }
            }
            if run == 0 {
                rows = rows_of(&r);
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "name": q["name"],
                "ms": median(times),
                "policy_ms": if policy_times.is_empty() { None } else { Some(median(policy_times)) },
                "scoped_ms": if scoped_times.is_empty() { None } else { Some(median(scoped_times)) },
                "scoped_same": scoped_same,
                "rows": rows,
            })
        );
    }
    // (The audit rows of the benchmark's queries are not kept.)
    Ok(())
}
