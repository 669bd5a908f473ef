//! `dangan demo`: generate an archive into `<lake>/inbox`, import it through the real import
//! path (organizations first, so that branch names resolve), print a tour.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use dangan_datasets::Lake;
use dangan_generate::{Config, generate};
use dangan_ingest::ImportOptions;
use dangan_query::{OutputFormat, QueryEngine, write_batches};

pub async fn run(lake_dir: &Path, members: usize, seed: u64) -> Result<ExitCode> {
    let started = Instant::now();
    let (lake, _) = Lake::init(lake_dir).await?;
    let inbox = lake.dir().join("inbox");
    println!(
        "① 生成模拟档案 generating {members} members (seed {seed}) into {} …",
        inbox.display()
    );
    let generated = generate(&Config::new(members, seed, inbox.clone()))?;
    println!(
        "   {} files, {} organizations ({:.1} s)",
        generated.files.len(),
        generated.organizations,
        started.elapsed().as_secs_f64()
    );
    println!("② 导入 importing through `dangan import` …");
    let order = lake.registry().import_order();
    let mut total_rows = 0;
    let mut quarantined = 0;
    for ds in &order {
        let dir = inbox.join(ds);
        if !dir.exists() {
            continue;
        }
        let opts = ImportOptions {
            dataset: ds.to_string(),
            paths: vec![dir],
            ..Default::default()
        };
        let r = crate::steps::import(&lake, &opts, false).await?.import;
        total_rows += r.rows_written;
        quarantined += r.rows_quarantined;
        println!(
            "   {:<18} {:>3} files ({} skipped)  {:>8} rows written  {:>4} quarantined  version {}",
            ds,
            r.files_read,
            r.files_skipped,
            r.rows_written,
            r.rows_quarantined,
            r.table_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unchanged".into())
        );
    }
    println!("③ 数据湖 lake at {}", lake.dir().display());
    let engine = QueryEngine::open(&lake).await?;
    let mut union = Vec::new();
    for ds in &order {
        union.push(format!(
            "SELECT '{ds}' AS dataset, count(*) AS rows FROM {ds}"
        ));
    }
    let counts = engine.sql(&union.join(" UNION ALL ")).await?;
    let status = lake.status().await?;
    println!(
        "   {:<18} {:>9} {:>8}",
        "dataset 数据集", "rows 行数", "version"
    );
    let mut rows_by: Vec<(String, i64)> = Vec::new();
    for b in &counts.batches {
        let names = b
            .column(0)
            .as_any()
            .downcast_ref::<dangan_datasets::arrow::array::StringArray>();
        let n = b
            .column(1)
            .as_any()
            .downcast_ref::<dangan_datasets::arrow::array::Int64Array>();
        if let (Some(names), Some(n)) = (names, n) {
            for i in 0..b.num_rows() {
                rows_by.push((names.value(i).to_string(), n.value(i)));
            }
        }
    }
    for ds in &order {
        let rows = rows_by
            .iter()
            .find(|(n, _)| n == ds)
            .map(|(_, r)| *r)
            .unwrap_or(0);
        let v = status
            .iter()
            .find(|s| s.name == *ds)
            .and_then(|s| s.version)
            .map(|v| v.to_string())
            .unwrap_or("-".into());
        println!("   {ds:<18} {rows:>9} {v:>8}");
    }
    println!(
        "   {total_rows} rows imported this run, {quarantined} quarantined with reasons; total {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("④ 全文检索 search index (jieba + bigrams + pinyin) …");
    let sync = crate::steps::sync_after_change(&lake).await?;
    println!(
        "   {} documents indexed in {:.1} s",
        sync.documents,
        sync.millis as f64 / 1000.0
    );
    // The member the tour shows: the first with growth records, found by the pinyin of the name.
    let first = engine
        .sql(
            "SELECT member_id, name FROM members \
             WHERE member_id = (SELECT min(member_id) FROM growth_records)",
        )
        .await?;
    let cell = |i: usize| {
        first
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| {
                use dangan_datasets::arrow::array::{Array, AsArray};
                let a = dangan_datasets::arrow::compute::cast(
                    b.column(i),
                    &dangan_datasets::arrow::datatypes::DataType::Utf8,
                )
                .ok()?;
                let s = a.as_string::<i32>();
                (!s.is_null(0)).then(|| s.value(0).to_string())
            })
    };
    let (who, name) = (cell(0), cell(1));
    let pinyin = name
        .as_deref()
        .and_then(|n| {
            dangan_text::name_keys(n)
                .into_iter()
                .max_by_key(String::len)
        })
        .unwrap_or_else(|| "zhangwei".into());
    let index = dangan_index::SearchIndex::open(&lake)?;
    for q in ["志愿服务", "\"三会一课\" -请假", pinyin.as_str()] {
        let r = index.search(&dangan_index::SearchRequest {
            query: q.to_string(),
            limit: 2,
            facets: true,
            ..Default::default()
        })?;
        println!("   dangan search '{q}': {} hits", r.total);
        for h in &r.hits {
            println!(
                "     [{}] {} {}  {}",
                h.dataset,
                h.key,
                h.date.as_deref().unwrap_or(""),
                dangan_index::snippet::snippet_for_terminal(&h.snippet)
            );
        }
    }
    // One member's archive: the first member with growth records.
    if let Some(who) = who {
        println!("   dangan member {who}:");
        let text = super::member::archive_text(&lake, &who).await?;
        for line in text.lines().take(14) {
            println!("     {line}");
        }
        println!("     …");
    }
    engine.flush_audit().await?;
    departments(&lake).await?;
    reports(&lake).await?;
    let lake_arg = lake_dir.display();
    println!("⑦ 试一试 next:");
    println!(
        "   dangan --lake {lake_arg} report meetings --out 三会一课.html   (reports: dangan report --list)"
    );
    println!(
        "   dangan --lake {lake_arg} member <党员编号|姓名|拼音> --format html --out 档案.html"
    );
    println!("   dangan --lake {lake_arg} search \"志愿服务\" --dataset growth_records");
    println!(
        "   dangan --lake {lake_arg} sql \"select org_id, count(*) from members group by org_id order by 2 desc limit 5\""
    );
    println!(
        "   dangan --lake {lake_arg} sql \"select grade, count(*) from appraisals where year = 2025 group by grade\""
    );
    println!(
        "   dangan --lake {lake_arg} sql \"select reason, count(*) from system_quarantine group by reason\""
    );
    println!("   dangan --lake {lake_arg} datasets show members");
    println!("   dangan --lake {lake_arg} import members <你的花名册.xlsx>");
    println!(
        "   dangan --lake {lake_arg} pipeline run pipelines/nightly.toml   (every night: copy it to {lake_arg}/pipelines/, then `pipeline serve`)"
    );
    Ok(ExitCode::SUCCESS)
}

/// The tour's cross-department step: the department of the biggest branch (not the root's)
/// reads members of its own organizations with personal columns masked, joined with every
/// branch's appraisals, and is refused what it was not granted.
async fn departments(lake: &Lake) -> Result<()> {
    use dangan_datasets::access::{Access, Grant, Personal, Scope};
    let engine = QueryEngine::open(lake).await?;
    let r = engine
        .sql(
            "SELECT o.department, count(*) AS n FROM members m JOIN organizations o USING (org_id) \
             WHERE o.parent_id IS NOT NULL AND o.department IS NOT NULL \
             GROUP BY o.department ORDER BY n DESC, o.department LIMIT 1",
        )
        .await;
    engine.flush_audit().await?;
    let Some(dept) = r?.batches.iter().find(|b| b.num_rows() > 0).and_then(|b| {
        use dangan_datasets::arrow::array::{Array, AsArray};
        let c = dangan_datasets::arrow::compute::cast(
            b.column(0),
            &dangan_datasets::arrow::datatypes::DataType::Utf8,
        )
        .ok()?;
        let c = c.as_string::<i32>();
        (!c.is_null(0)).then(|| c.value(0).to_string())
    }) else {
        return Ok(());
    };
    let mut access = Access::load(lake).await?;
    if access.department(&dept).is_none() {
        access.add_department(&dept, vec![])?;
    }
    for (dataset, scope) in [("members", Scope::Own), ("appraisals", Scope::All)] {
        access.grant(Grant {
            department: dept.clone(),
            dataset: dataset.into(),
            scope,
            personal: Personal::Masked,
            import: false,
        })?;
    }
    access.save(lake, "demo: grants").await?;
    println!(
        "⑤ 跨部门查询 a department's view: {dept} reads members (own organizations, ID/phone masked) and appraisals (all)"
    );
    let sql = "SELECT m.org_id, count(DISTINCT m.member_id) AS members, min(m.id_number) AS id_number, \
               min(m.phone) AS phone, round(avg(a.score), 1) AS avg_score_2025 \
               FROM members m JOIN appraisals a USING (member_id) WHERE a.year = 2025 \
               GROUP BY m.org_id ORDER BY m.org_id";
    println!("   dangan sql --as {dept} \"{sql}\"");
    let engine = QueryEngine::open_as(lake, Some(&dept)).await?;
    let r = engine.sql(sql).await?;
    let mut out = Vec::new();
    write_batches(&mut out, &r.schema, &r.batches, OutputFormat::Table)?;
    for line in String::from_utf8_lossy(&out).lines() {
        println!("   {line}");
    }
    if let Err(e) = engine.sql("SELECT count(*) FROM growth_records").await {
        println!("   dangan sql --as {dept} \"SELECT count(*) FROM growth_records\" → {e}");
    }
    engine.flush_audit().await?;
    Ok(())
}

/// The tour's reports step: the engagement and sentiment reports, as of the archive's day,
/// written as html and xlsx under `<lake>/reports/`.
async fn reports(lake: &Lake) -> Result<()> {
    use dangan_reports::render::{Format, write};
    let as_of = Config::new(1, 0, lake.dir().into()).as_of;
    let engine = QueryEngine::open(lake).await?;
    let dir = lake.dir().join("reports");
    println!("⑥ 报表 reports (as of {as_of}) → {}", dir.display());
    for name in ["engagement", "sentiment"] {
        let def = dangan_reports::find(name)?;
        let report =
            dangan_reports::run(lake, &engine, def, &dangan_reports::Params::new(as_of)).await?;
        for format in [Format::Html, Format::Xlsx] {
            let path = dir.join(format!("{name}.{}", format.extension()));
            write(&report, format, &path)?;
        }
        let glance: Vec<String> = report
            .highlights
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "   {}: {}.html, {}.xlsx — {}",
            report.title,
            name,
            name,
            glance.join("；")
        );
    }
    engine.flush_audit().await?;
    Ok(())
}
