//! `dangan external`: other departments' databases, declared in `lake.toml` and read live.

use std::process::ExitCode;

use anyhow::{Result, bail};
use dangan_datasets::Lake;
use dangan_datasets::external::{ExternalSource, ExternalTable};

use crate::cli::{ExternalCommand, TextFormat};

pub async fn run(mut lake: Lake, command: ExternalCommand) -> Result<ExitCode> {
    match command {
        ExternalCommand::Add {
            name,
            kind,
            url,
            password_env,
            password_file,
            tables,
            timeout,
        } => {
            if lake.external(&name).is_some() {
                bail!(
                    "external source `{name}` is already declared (dangan external remove {name} first to change it)"
                );
            }
            let source = ExternalSource {
                kind,
                url,
                password_env,
                password_file,
                timeout_seconds: timeout,
                every_table: tables.is_empty(),
                tables: tables
                    .into_iter()
                    .map(|t| (t, ExternalTable::default()))
                    .collect(),
            };
            source.validate(&name)?;
            // Connect first: a source that cannot be read is not declared.
            let conn = dangan_external::connect(&name, &source).await?;
            let mut found = Vec::new();
            for table in source.tables.keys() {
                found.push((table.clone(), conn.table(table).await?.schema()));
            }
            let mut config = lake.config().clone();
            config.external.insert(name.clone(), source);
            lake.save_config(config)?;
            println!("external source 外部数据源 {name} added ({kind}); in SQL: {name}.<table>");
            for (t, schema) in found {
                println!("  {name}.{t}: {} columns", schema.fields().len());
            }
            warn_if_writable(&conn).await;
        }
        ExternalCommand::Map {
            table,
            org_column,
            member_column,
            personal,
        } => {
            let Some((source_name, t)) = table.split_once('.') else {
                bail!("`{table}`: expected NAME.table (the source, a dot, the table)");
            };
            let mut config = lake.config().clone();
            let Some(source) = config.external.get_mut(source_name) else {
                bail!("no external source `{source_name}` (dangan external list)");
            };
            let conn = dangan_external::connect(source_name, source).await?;
            let schema = conn.table(t).await?.schema();
            for c in org_column
                .iter()
                .chain(member_column.iter())
                .chain(personal.iter().map(|(c, _)| c))
            {
                if schema.field_with_name(c).is_err() {
                    let have: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    bail!(
                        "`{table}` has no column `{c}` (its columns: {})",
                        have.join(", ")
                    );
                }
            }
            // Mapping one table of a source that exposes every table keeps the others exposed.
            source.every_table = source.exposes_every_table();
            let entry = source.tables.entry(t.to_string()).or_default();
            if org_column.is_some() {
                entry.org_column = org_column;
                entry.member_column = None;
            }
            if member_column.is_some() {
                entry.member_column = member_column;
                entry.org_column = None;
            }
            entry.personal.extend(personal);
            let line = format!(
                "{table}: organization column {}, member column {}, personal {}",
                entry.org_column.as_deref().unwrap_or("-"),
                entry.member_column.as_deref().unwrap_or("-"),
                if entry.personal.is_empty() {
                    "-".to_string()
                } else {
                    entry
                        .personal
                        .iter()
                        .map(|(c, m)| format!("{c} ({m:?})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            lake.save_config(config)?;
            println!("{line}");
        }
        ExternalCommand::List { format } => {
            let sources = &lake.config().external;
            if format == TextFormat::Json {
                let json: Vec<serde_json::Value> = sources
                    .iter()
                    .map(|(name, s)| {
                        serde_json::json!({
                            "name": name,
                            "kind": s.kind.to_string(),
                            "url": s.url,
                            "password_env": s.password_env,
                            "password_file": s.password_file,
                            "timeout_seconds": s.timeout_seconds,
                            "tables": s.tables.iter().map(|(t, m)| serde_json::json!({
                                "table": t,
                                "org_column": m.org_column,
                                "member_column": m.member_column,
                                "personal": m.personal.keys().collect::<Vec<_>>(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else if sources.is_empty() {
                println!("no external sources 没有外部数据源 (dangan external add)");
            } else {
                for (name, s) in sources {
                    let tables = if s.exposes_every_table() {
                        "every table".to_string()
                    } else {
                        s.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                    };
                    println!("{name}\t{}\t{}\t{tables}", s.kind, s.url);
                }
            }
        }
        ExternalCommand::Check { name, format } => {
            let sources: Vec<(String, ExternalSource)> = lake
                .config()
                .external
                .iter()
                .filter(|(n, _)| name.as_ref().is_none_or(|w| w == *n))
                .map(|(n, s)| (n.clone(), s.clone()))
                .collect();
            if let Some(w) = &name
                && sources.is_empty()
            {
                bail!("no external source `{w}` (dangan external list)");
            }
            let mut failed = false;
            let mut json = Vec::new();
            for (name, source) in sources {
                match check(&name, &source).await {
                    Ok((tables, can_write)) => {
                        if format == TextFormat::Json {
                            json.push(serde_json::json!({
                                "name": name,
                                "ok": true,
                                "can_write": can_write,
                                "tables": tables.iter().map(|t| match &t.schema {
                                    Ok(schema) => serde_json::json!({
                                        "table": t.name,
                                        "columns": schema.fields().iter().map(|f| serde_json::json!({
                                            "name": f.name(),
                                            "type": f.data_type().to_string(),
                                        })).collect::<Vec<_>>(),
                                    }),
                                    Err(e) => serde_json::json!({"table": t.name, "error": e.to_string()}),
                                }).collect::<Vec<_>>(),
                            }));
                            continue;
                        }
                        let unreadable = tables.iter().filter(|t| t.schema.is_err()).count();
                        println!(
                            "{name} ({}): ok 可连接, {} tables{}",
                            source.kind,
                            tables.len(),
                            if unreadable > 0 {
                                format!(", {unreadable} unreadable 无法读取")
                            } else {
                                String::new()
                            }
                        );
                        for t in &tables {
                            match &t.schema {
                                Ok(schema) => {
                                    let cols: Vec<String> = schema
                                        .fields()
                                        .iter()
                                        .map(|f| format!("{} {}", f.name(), f.data_type()))
                                        .collect();
                                    println!("  {name}.{}: {}", t.name, cols.join(", "));
                                }
                                Err(e) => println!("  {name}.{}: unreadable 无法读取: {e}", t.name),
                            }
                        }
                        if can_write == Some(true) {
                            println!("  {}", WRITABLE);
                        }
                    }
                    Err(e) => {
                        failed = true;
                        if format == TextFormat::Json {
                            json.push(serde_json::json!({"name": name, "ok": false, "error": e.to_string()}));
                        } else {
                            println!("{name} ({}): FAILED 无法读取: {e}", source.kind);
                        }
                    }
                }
            }
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&json)?);
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        ExternalCommand::Remove { name } => {
            let mut config = lake.config().clone();
            if config.external.remove(&name).is_none() {
                bail!("no external source `{name}` (dangan external list)");
            }
            lake.save_config(config)?;
            println!("external source 外部数据源 {name} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

const WRITABLE: &str = "warning 警告: the role dangan connects with can change this database; give it a read-only role (dangan only reads)";

/// The tables of a source (its declared ones, or every one) and whether its role can write.
async fn check(
    name: &str,
    source: &ExternalSource,
) -> dangan_external::Result<(Vec<dangan_external::TableInfo>, Option<bool>)> {
    let conn = dangan_external::connect(name, source).await?;
    let tables = if source.exposes_every_table() {
        let mut tables = conn.tables().await?;
        // A mapped table that cannot be read fails the check; another is listed as such.
        if let Some(i) = tables
            .iter()
            .position(|t| t.schema.is_err() && source.tables.contains_key(&t.name))
        {
            return Err(tables.swap_remove(i).schema.unwrap_err());
        }
        tables
    } else {
        // A declared table that cannot be read fails the check.
        let mut out = Vec::new();
        for t in source.tables.keys() {
            out.push(dangan_external::TableInfo {
                name: t.clone(),
                schema: Ok(conn.table(t).await?.schema()),
            });
        }
        out
    };
    Ok((tables, conn.can_write().await?))
}

async fn warn_if_writable(conn: &dangan_external::Connection) {
    if let Ok(Some(true)) = conn.can_write().await {
        println!("{WRITABLE}");
    }
}
