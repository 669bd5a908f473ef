//! SQL behaviour in sqllogictest files (`tests/slt/*.slt`), run in-process against a lake set
//! up through the binary from `tests/slt/data/`. `SET ROLE '<department>'` and `RESET ROLE`
//! switch between a department's session and the administrator's. Saved views: `excellent`
//! (members × appraisals) and `growth_by_name` (growth_records × members). `EXPLAIN SHAPE q`
//! answers with the physical plan of `q` as its shape (`plan_shape`): operator names and modes,
//! one per row.

use std::path::{Path, PathBuf};

use dangan_datasets::Lake;
use dangan_datasets::arrow::util::display::array_value_to_string;
use dangan_query::QueryEngine;
use sqllogictest::{DBOutput, DefaultColumnType};

use crate::support::*;

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

struct Session {
    rt: tokio::runtime::Runtime,
    lake: Lake,
    engine: QueryEngine,
}

impl Session {
    fn open(&mut self, department: Option<&str>) -> Result<(), SltError> {
        self.engine = self
            .rt
            .block_on(QueryEngine::open_as(&self.lake, department))
            .map_err(|e| SltError(e.to_string()))?;
        Ok(())
    }
}

impl sqllogictest::DB for Session {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let trimmed = sql.trim().trim_end_matches(';');
        if let Some(role) = trimmed.strip_prefix("SET ROLE ") {
            self.open(Some(role.trim().trim_matches('\'')))?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if trimmed == "RESET ROLE" {
            self.open(None)?;
            return Ok(DBOutput::StatementComplete(0));
        }
        // `EXPLAIN SHAPE …` (the harness's): the plan's shape, see `plan_shape`.
        let (sql, shape) = match trimmed.strip_prefix("EXPLAIN SHAPE ") {
            Some(q) => (format!("EXPLAIN {q}"), true),
            None => (sql.to_string(), false),
        };
        let result = self.rt.block_on(async {
            let r = self.engine.sql(&sql).await;
            self.engine.flush_audit().await.map(|_| r)
        });
        let result = result
            .map_err(|e| SltError(e.to_string()))?
            .map_err(|e| SltError(e.to_string()))?;
        if shape {
            return Ok(plan_shape(&result));
        }
        let mut rows = Vec::new();
        for batch in &result.batches {
            for i in 0..batch.num_rows() {
                let row = batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            Ok("NULL".to_string())
                        } else {
                            array_value_to_string(c, i).map_err(|e| SltError(e.to_string()))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(row);
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; result.schema.fields().len()],
            rows,
        })
    }
}

/// An `EXPLAIN SHAPE`'s physical plan as its shape: one row per operator, indented as DataFusion
/// indents it, with only the operator's name and its `mode=` (the file paths, partition
/// counts and statistics of the rest differ from run to run).
fn plan_shape(result: &dangan_query::QueryResult) -> DBOutput<DefaultColumnType> {
    let mut rows = Vec::new();
    for batch in &result.batches {
        let (kinds, plans) = (batch.column(0), batch.column(1));
        for i in 0..batch.num_rows() {
            let kind = array_value_to_string(kinds, i).unwrap_or_default();
            if kind != "physical_plan" {
                continue;
            }
            let plan = array_value_to_string(plans, i).unwrap_or_default();
            for line in plan.lines() {
                let indent = line.len() - line.trim_start().len();
                let line = line.trim_start();
                let name = line.split(':').next().unwrap_or_default();
                let mode = line
                    .split([' ', ','])
                    .find_map(|p| p.strip_prefix("mode="))
                    .map(|m| format!(" mode={m}"))
                    .unwrap_or_default();
                rows.push(vec![format!("{}{name}{mode}", ".".repeat(indent))]);
            }
        }
    }
    DBOutput::Rows {
        types: vec![DefaultColumnType::Any],
        rows,
    }
}

fn setup(lake: &Path) {
    ok(lake, &["init"]);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt/data");
    for ds in ["organizations", "members", "appraisals", "growth_records"] {
        let file = data.join(format!("{ds}.csv"));
        ok(lake, &["import", ds, file.to_str().unwrap(), "--no-index"]);
    }
    ok(lake, &["index", "sync"]);
    for args in [
        &["access", "department", "add", "教育局"][..],
        &["access", "grant", "教育局", "members"],
        &["access", "grant", "教育局", "appraisals", "--scope", "all"],
        &["access", "department", "add", "卫健委"],
        &[
            "access",
            "grant",
            "卫健委",
            "members",
            "--scope",
            "org:D121",
            "--personal",
            "visible",
        ],
        &["access", "grant", "卫健委", "growth_records"],
        &[
            "view",
            "save",
            "excellent",
            "SELECT m.member_id, m.name, m.phone, a.score FROM members m \
             JOIN appraisals a USING (member_id) WHERE a.grade = '优秀'",
        ],
        &[
            "view",
            "save",
            "growth_by_name",
            "SELECT g.record_id, m.name FROM growth_records g JOIN members m USING (member_id)",
        ],
    ] {
        ok(lake, args);
    }
}

#[test]
fn sql_logic_tests() {
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = dir.path().join("lake");
    setup(&lake_dir);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "slt"))
            .collect();
    assert!(!files.is_empty(), "tests/slt holds .slt files");
    // In name order: a file may count what the ones before it left in system_audit.
    files.sort();
    for file in files {
        let lake = Lake::open(&lake_dir).unwrap();
        let mut runner = sqllogictest::Runner::new(|| {
            let lake = lake.clone();
            async move {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| SltError(e.to_string()))?;
                let engine = rt
                    .block_on(QueryEngine::open_as(&lake, None))
                    .map_err(|e| SltError(e.to_string()))?;
                Ok(Session { rt, lake, engine })
            }
        });
        if let Err(e) = runner.run_file(&file) {
            panic!("{}: {}", file.display(), e.display(true));
        }
    }
}
