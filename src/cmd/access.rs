//! `dangan access`: departments and their grants, kept in the lake (`system_access`).

use std::process::ExitCode;

use anyhow::{Result, bail};
use dangan_datasets::Lake;
use dangan_datasets::access::{Access, Grant};

use crate::cli::{AccessCommand, DepartmentCommand, TextFormat, TokenCommand};

pub async fn run(lake: &Lake, command: AccessCommand) -> Result<ExitCode> {
    if let AccessCommand::Token { command } = command {
        return token(lake, command).await;
    }
    let mut access = Access::load(lake).await?;
    match command {
        AccessCommand::Department {
            command: DepartmentCommand::Add { name, orgs },
        } => {
            access.add_department(&name, orgs)?;
            let v = access.save(lake, "access: department add").await?;
            println!("department 部门 {name} added (system_access version {v})");
        }
        AccessCommand::Grant {
            department,
            dataset,
            scope,
            personal,
            import,
        } => {
            match dataset
                .split_once('.')
                .and_then(|(s, t)| lake.external(s).map(|src| (s, t, src)))
            {
                Some((s, t, source)) => {
                    if !source.exposes(t) {
                        bail!(
                            "external source `{s}` exposes no table `{t}` (its tables: {})",
                            source.tables.keys().cloned().collect::<Vec<_>>().join(", ")
                        );
                    }
                    if import {
                        bail!(
                            "{dataset} is another database's table: it is read, never imported into"
                        );
                    }
                }
                None => {
                    lake.registry().get(&dataset)?;
                }
            }
            let grant = Grant {
                department: department.clone(),
                dataset: dataset.clone(),
                scope,
                personal,
                import,
            };
            let line = format!(
                "granted 授权 {department} → {dataset}: rows {}, personal columns {}{}",
                grant.scope,
                grant.personal,
                if import {
                    ", may import 可导入"
                } else {
                    ", read only 只读"
                }
            );
            access.grant(grant)?;
            let v = access.save(lake, "access: grant").await?;
            println!("{line} (system_access version {v})");
        }
        AccessCommand::Revoke {
            department,
            dataset,
        } => {
            if !access.revoke(&department, &dataset)? {
                bail!("{department} has no grant of {dataset} 没有这项授权");
            }
            let v = access.save(lake, "access: revoke").await?;
            println!("revoked 撤销 {department} → {dataset} (system_access version {v})");
        }
        AccessCommand::List { format } => {
            if format == TextFormat::Json {
                let json: Vec<serde_json::Value> = access
                    .departments
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "department": d.name,
                            "orgs": d.orgs,
                            "grants": access.grants.iter().filter(|g| g.department == d.name).map(|g| serde_json::json!({
                                "dataset": g.dataset,
                                "scope": g.scope.to_string(),
                                "personal": g.personal.to_string(),
                                "import": g.import,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else if access.departments.is_empty() {
                println!(
                    "no departments yet 尚无部门: `dangan access department add <NAME>`; without --as the local operator is the administrator"
                );
            } else {
                for d in &access.departments {
                    let orgs = if d.orgs.is_empty() {
                        String::new()
                    } else {
                        format!(" (also orgs {})", d.orgs.join(", "))
                    };
                    println!("{}{orgs}", d.name);
                    let grants: Vec<&Grant> = access
                        .grants
                        .iter()
                        .filter(|g| g.department == d.name)
                        .collect();
                    if grants.is_empty() {
                        println!("  (no grants 无授权)");
                    }
                    for g in grants {
                        println!(
                            "  {:<20} rows {:<14} personal {:<8}{}",
                            g.dataset,
                            g.scope,
                            g.personal,
                            if g.import { " import 可导入" } else { "" }
                        );
                    }
                }
            }
        }
        AccessCommand::Token { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(lake: &Lake, command: TokenCommand) -> Result<ExitCode> {
    use dangan_datasets::tokens;
    match command {
        TokenCommand::Create { department } => {
            let (info, secret) = tokens::create(lake, &department).await?;
            println!(
                "token 令牌 {} for 部门 {} — shown once, keep it safe 仅显示一次，请妥善保存:",
                info.id, info.department
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            let all = tokens::list(lake).await?;
            if all.is_empty() {
                println!(
                    "no tokens yet 尚无令牌: `dangan access token create --department <NAME>`"
                );
            }
            for t in all {
                println!(
                    "{:<12} {:<16} created {}{}",
                    t.id,
                    t.department,
                    t.created_at,
                    if t.revoked { "  revoked 已撤销" } else { "" }
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let t = tokens::revoke(lake, &id).await?;
            println!("revoked 已撤销 token {} of {}", t.id, t.department);
        }
    }
    Ok(ExitCode::SUCCESS)
}
