//! One member's whole archive as JSON: the profile, then every dataset that holds rows about
//! members (derived from the specs: a `member_id` column), through a department's session so
//! that its scope and masks apply. Used by `dangan member` and the API.

use dangan_datasets::{ColumnType, DatasetSpec, Lake};
use dangan_index::{SearchIndex, SearchRequest};
use serde_json::{Map, Value, json};

use crate::{Error, OutputFormat, QueryEngine, Result, write_batches};

/// Sections longer than this are summarized, not listed.
const LIST_LIMIT: i64 = 200;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A query's rows as JSON objects, at most `max` (through the query layer's JSON writer).
pub fn json_rows(r: &crate::QueryResult, max: usize) -> Result<Vec<Map<String, Value>>> {
    let mut buf = Vec::new();
    write_batches(&mut buf, &r.schema, &r.batches, OutputFormat::Ndjson)?;
    Ok(buf
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(max)
        .filter_map(|line| match serde_json::from_slice(line) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect())
}

/// Run a query and give its rows as JSON objects.
pub async fn rows(engine: &QueryEngine, sql: &str) -> Result<Vec<Map<String, Value>>> {
    json_rows(&engine.sql(sql).await?, usize::MAX)
}

/// The register of people (`role = "people"` in its spec: the members roster).
fn people(lake: &Lake) -> Result<String> {
    lake.registry()
        .people()
        .map(|p| p.name.clone())
        .ok_or_else(|| {
            Error::NotFound(
                "the lake has no register of people (a dataset with role = \"people\") 没有党员名册"
                    .into(),
            )
        })
}

/// The member the user means: an id, else one member found by name or pinyin.
pub async fn resolve(lake: &Lake, engine: &QueryEngine, who: &str) -> Result<String> {
    let people = people(lake)?;
    let by_id = rows(
        engine,
        &format!(
            "SELECT member_id FROM {people} WHERE member_id = {}",
            quote(who)
        ),
    )
    .await?;
    if !by_id.is_empty() {
        return Ok(who.to_string());
    }
    // A full ID number (in an encrypted lake, found through the keyed hash without opening a
    // value; a department whose grant masks the column finds no one by it).
    let id_column = lake.registry().people().and_then(|p| {
        p.columns
            .iter()
            .find(|c| c.check == Some(dangan_datasets::Check::CnIdCard))
            .map(|c| c.name.clone())
    });
    if let Some(column) = id_column
        && dangan_datasets::idcard::parse(who).is_ok()
    {
        let by_number = rows(
            engine,
            &format!(
                "SELECT member_id FROM {people} WHERE {column} = {}",
                quote(who)
            ),
        )
        .await?;
        if let [one] = by_number.as_slice()
            && let Some(Value::String(id)) = one.get("member_id")
        {
            return Ok(id.clone());
        }
    }
    let index = SearchIndex::open(lake)?;
    if !index.in_step(lake).await? {
        index.sync(lake, false, &|_, _| {}).await?;
    }
    let found = index.search(&SearchRequest {
        query: who.to_string(),
        datasets: vec![people.clone()],
        limit: 20,
        count_to: Some(0),
        ..Default::default()
    })?;
    if found.hits.is_empty() {
        return Err(Error::NotFound(format!(
            "no member `{who}` 没有找到这名党员 (try an id, a name or its pinyin)"
        )));
    }
    // Through SQL, so that a department only ever sees the members in its scope.
    let ids: Vec<String> = found.hits.iter().map(|h| quote(&h.key)).collect();
    let list = rows(
        engine,
        &format!(
            "SELECT member_id, name, birth_date, org_id FROM {people} \
             WHERE member_id IN ({}) ORDER BY member_id",
            ids.join(",")
        ),
    )
    .await?;
    let s = |r: &Map<String, Value>, k: &str| {
        r.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    match list.as_slice() {
        [] => Err(Error::NotFound(format!(
            "no member `{who}` 没有找到这名党员 (try an id, a name or its pinyin)"
        ))),
        [one] => Ok(s(one, "member_id")),
        many => {
            let lines: Vec<String> = many
                .iter()
                .map(|r| {
                    format!(
                        "  {}  {}  {}  {}",
                        s(r, "member_id"),
                        s(r, "name"),
                        s(r, "birth_date"),
                        s(r, "org_id"),
                    )
                })
                .collect();
            Err(Error::NotFound(format!(
                "`{who}` matches {} members 有多名党员符合, give the id 请用编号:\n{}",
                many.len(),
                lines.join("\n")
            )))
        }
    }
}

fn date_column(spec: &DatasetSpec) -> Option<&str> {
    spec.columns
        .iter()
        .find(|c| {
            matches!(c.ty, ColumnType::Date | ColumnType::Timestamp) && c.name != "birth_date"
        })
        .or_else(|| spec.column("year"))
        .map(|c| c.name.as_str())
}

/// The archive as JSON: `{"member": {...}, "org_name", "sections": [{dataset, label, total,
/// columns, rows | summary}]}`.
pub async fn archive(lake: &Lake, engine: &QueryEngine, id: &str) -> Result<Value> {
    let people = people(lake)?;
    let member = rows(
        engine,
        &format!("SELECT * FROM {people} WHERE member_id = {}", quote(id)),
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_default();
    let org_name = match member.get("org_id").and_then(Value::as_str) {
        Some(o) if engine.may_read("organizations") => rows(
            engine,
            &format!("SELECT name FROM organizations WHERE org_id = {}", quote(o)),
        )
        .await?
        .first()
        .and_then(|r| r.get("name").cloned())
        .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let mut sections = Vec::new();
    for ds in lake.registry().import_order() {
        let spec = lake.registry().get(&ds)?;
        if spec.role == dangan_datasets::Role::People
            || spec.column("member_id").is_none()
            || !engine.may_read(&ds)
        {
            continue;
        }
        let filter = format!("FROM {} WHERE member_id = {}", spec.name, quote(id));
        let total = rows(engine, &format!("SELECT count(*) AS n {filter}"))
            .await?
            .first()
            .and_then(|r| r.get("n").and_then(Value::as_i64))
            .unwrap_or(0);
        if total == 0 {
            continue;
        }
        let date = date_column(spec);
        let columns: Vec<Value> = spec
            .columns
            .iter()
            .filter(|c| c.name != "member_id")
            .map(|c| json!({"name": c.name, "label": c.label}))
            .collect();
        let mut section = json!({
            "dataset": spec.name, "label": spec.label, "total": total, "columns": columns,
        });
        if total <= LIST_LIMIT {
            let order = date.map(|d| format!(" ORDER BY {d}")).unwrap_or_default();
            section["rows"] = Value::Array(
                rows(engine, &format!("SELECT * {filter}{order}"))
                    .await?
                    .into_iter()
                    .map(Value::Object)
                    .collect(),
            );
        } else if let Some(d) = date {
            section["summary"] = rows(
                engine,
                &format!("SELECT min({d}) AS first, max({d}) AS last, count(*) AS n {filter}"),
            )
            .await?
            .into_iter()
            .next()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        }
        sections.push(section);
    }
    Ok(json!({"member": member, "org_name": org_name, "sections": sections}))
}
