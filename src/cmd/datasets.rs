//! `dangan datasets list|show`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::{Lake, Registry};
use serde_json::json;

use crate::cli::{DatasetsCommand, TextFormat};

fn registry(lake_dir: &Path) -> Result<std::sync::Arc<Registry>> {
    // Outside a lake, the built-in specs are shown.
    Ok(match Lake::open(lake_dir) {
        Ok(lake) => lake.registry().clone(),
        Err(dangan_datasets::Error::NotALake { .. }) => std::sync::Arc::new(Registry::builtin()?),
        Err(e) => return Err(e.into()),
    })
}

/// `dangan datasets template NAME --out FILE`: inside a lake, the reference columns get the
/// lake's rows (branch names) as drop-down lists; outside one, the built-in spec alone.
pub async fn template(lake_dir: &Path, name: &str, out: &Path) -> Result<ExitCode> {
    let (spec, choices) = match Lake::open(lake_dir) {
        Ok(lake) => {
            let spec = lake.registry().get(name)?.clone();
            let choices = dangan_ingest::template_choices(&lake, &spec).await?;
            (spec, choices)
        }
        Err(dangan_datasets::Error::NotALake { .. }) => {
            (Registry::builtin()?.get(name)?.clone(), Default::default())
        }
        Err(e) => return Err(e.into()),
    };
    let bytes = dangan_ingest::template::template(&spec, &choices)
        .with_context(|| format!("writing the template of {name}"))?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "template 导入模板 of {} ({}): {} columns, {} with drop-down lists → {}",
        spec.name,
        spec.label,
        spec.columns.len(),
        spec.columns
            .iter()
            .filter(|c| c.is_enum() || choices.get(&c.name).is_some_and(|x| !x.rows.is_empty()))
            .count(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(lake_dir: &Path, command: DatasetsCommand) -> Result<ExitCode> {
    let reg = registry(lake_dir)?;
    match command {
        DatasetsCommand::List { format } => {
            if format == TextFormat::Json {
                let v: Vec<_> = reg
                    .iter()
                    .map(|s| json!({"name": s.name, "label": s.label, "key": s.key, "columns": s.columns.len(), "mode": s.mode.name(), "description": s.description}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for s in reg.iter() {
                    println!(
                        "{:<18} {:<8} key({}) {} columns — {}",
                        s.name,
                        s.label,
                        s.key.join(", "),
                        s.columns.len(),
                        s.description
                    );
                }
            }
        }
        DatasetsCommand::Template { .. } => unreachable!("run by `template`"),
        DatasetsCommand::Show { name, format } => {
            let s = reg.get(&name)?;
            if format == TextFormat::Json {
                let cols: Vec<_> = s
                    .columns
                    .iter()
                    .map(|c| {
                        json!({"name": c.name, "type": c.ty.name(), "label": c.label, "aliases": c.aliases, "required": c.required,
                               "text": c.text, "personal": c.personal, "check": c.check.map(|k| k.name()), "values": c.values,
                               "references": c.references.as_ref().map(|r| format!("{}.{}", r.dataset, r.column))})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"name": s.name, "label": s.label, "key": s.key, "mode": s.mode.name(), "sources": s.sources, "columns": cols})
                    )?
                );
            } else {
                println!(
                    "{} {} — {}\nkey 主键: {}   default mode: {}   from: {}\n",
                    s.name,
                    s.label,
                    s.description,
                    s.key.join(", "),
                    s.mode.name(),
                    s.sources.join(", ")
                );
                for c in &s.columns {
                    let mut flags = Vec::new();
                    if c.required {
                        flags.push("required 必填".to_string());
                    }
                    if c.text {
                        flags.push("text 全文".to_string());
                    }
                    if c.personal {
                        flags.push("personal 个人信息".to_string());
                    }
                    if let Some(k) = c.check {
                        flags.push(format!("check {}", k.name()));
                    }
                    if let Some(r) = &c.references {
                        flags.push(format!("→ {}.{}", r.dataset, r.column));
                    }
                    println!(
                        "  {:<18} {:<9} {:<10} {}",
                        c.name,
                        c.ty.name(),
                        c.label,
                        flags.join(", ")
                    );
                    println!("  {:<18} aliases: {}", "", c.aliases[1..].join(" / "));
                    if c.is_enum() {
                        println!("  {:<18} values: {}", "", c.values.join(" / "));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
