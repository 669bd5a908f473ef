//! Command implementations: each takes validated options, calls the crates, prints metrics.

mod access;
mod datasets;
mod demo;
mod external;
mod import;
mod member;
mod pipeline;
mod quarantine;
mod report;
mod search;
mod sql;
mod text;

use std::process::ExitCode;

use anyhow::{Context, Result};
use dangan_datasets::Lake;

use crate::cli::{Args, Command, TextFormat};

/// Exit code of an import that quarantined rows or could not read a file.
pub const EXIT_REJECTS: u8 = 3;

/// The stack of every thread that plans or runs queries. Statements are held to a budget
/// (`dangan_query::guard`) and DataFusion's recursive walks grow their stack on the heap; a
/// deep stack besides covers the walks that do not (an expression's display and drop), in
/// debug builds too. Only the pages a thread touches are memory.
const STACK_BYTES: usize = 64 << 20;

pub fn run(args: Args) -> Result<ExitCode> {
    // The command's own future runs on a thread of that size, not on the main thread's 8 MB.
    std::thread::Builder::new()
        .name("dangan".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(STACK_BYTES)
                .build()
                .context("starting the async runtime")?;
            rt.block_on(run_async(args))
        })
        .context("starting the main thread")?
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

async fn run_async(args: Args) -> Result<ExitCode> {
    let lake_dir = args.lake.clone();
    match args.command {
        Command::Init { storage } => {
            let (lake, report) = Lake::init_with(&lake_dir, storage.as_deref()).await?;
            println!("lake 数据湖: {}", report.path.display());
            if let Some(url) = &lake.config().storage_url {
                println!("tables 数据表: {url}");
            }
            println!(
                "created 新建 {} tables, {} already there",
                report.created_tables.len(),
                report.existing_tables.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Datasets {
            command: crate::cli::DatasetsCommand::Template { name, out },
        } => datasets::template(&lake_dir, &name, &out).await,
        Command::Datasets { command } => datasets::run(&lake_dir, command),
        Command::Generate { members, seed, out } => {
            let cfg = dangan_generate::Config::new(members, seed, out);
            let report = dangan_generate::generate(&cfg)?;
            println!(
                "generated 生成 {} members in {} organizations: {} files under {}",
                report.members,
                report.organizations,
                report.files.len(),
                report.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(a) => import::run(&open(&lake_dir)?, a).await,
        Command::Search(a) => search::run(&open(&lake_dir)?, a).await,
        Command::Member {
            who,
            format,
            out,
            as_department,
        } => {
            member::run(
                &open(&lake_dir)?,
                &who,
                format,
                out.as_deref(),
                as_department.as_deref(),
            )
            .await
        }
        Command::Index { command } => search::index(&open(&lake_dir)?, command).await,
        Command::View { command } => sql::view(&open(&lake_dir)?, command).await,
        Command::Sql {
            sql,
            format,
            out,
            as_department,
            cluster,
            timeout,
        } => {
            let cluster = cluster
                .as_deref()
                .map(dangan_cluster::Cluster::new)
                .transpose()?;
            sql::run(
                &open(&lake_dir)?,
                &sql,
                format,
                out.as_deref(),
                as_department.as_deref(),
                cluster.as_ref().map(|c| c as &dyn dangan_query::Runner),
                timeout.map(std::time::Duration::from_secs),
            )
            .await
        }
        Command::Cluster { command } => cluster(&open(&lake_dir)?, command).await,
        Command::Report(a) => report::run(&open(&lake_dir)?, a).await,
        Command::Text { command } => text::run(&lake_dir, command).await,
        Command::Access { command } => access::run(&open(&lake_dir)?, command).await,
        Command::External { command } => external::run(open(&lake_dir)?, command).await,
        Command::Status { format } => {
            let lake = open(&lake_dir)?;
            let status = lake.status().await?;
            if format == TextFormat::Json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("{:<28} {:>8} {:>6}", "table 表", "version", "files");
                for t in status {
                    println!(
                        "{:<28} {:>8} {:>6}",
                        t.name,
                        t.version.map(|v| v.to_string()).unwrap_or("-".into()),
                        t.files
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Quarantine { command } => quarantine::run(&open(&lake_dir)?, command).await,
        Command::Pipeline { command } => pipeline::run(&open(&lake_dir)?, command).await,
        // (A key is made before any lake needs it.)
        Command::LakeCmd {
            command: crate::cli::LakeCommand::NewKey { file },
        } => pipeline::new_key(&file),
        Command::LakeCmd { command } => pipeline::lake(&open(&lake_dir)?, command).await,
        Command::Serve {
            addr,
            flight_addr,
            query_timeout,
            max_rows,
            search_cache,
            search_slots,
            query_slots,
            department_queries,
            queue_wait,
            cluster,
        } => {
            let options = dangan_server::ServeOptions {
                addr,
                flight_addr,
                query_timeout: std::time::Duration::from_secs(query_timeout),
                max_rows,
                search_cache,
                search_slots: search_slots.unwrap_or_else(dangan_server::default_search_slots),
                query_slots: query_slots.unwrap_or_else(dangan_server::default_search_slots),
                department_queries,
                queue_wait: std::time::Duration::from_secs(queue_wait),
                runner: match cluster.as_deref() {
                    Some(url) => Some(std::sync::Arc::new(dangan_cluster::Cluster::new(url)?)),
                    None => None,
                },
                ..Default::default()
            };
            dangan_server::serve(open(&lake_dir)?, options, |at| {
                use std::io::Write;
                let a = at.http;
                let flight = at
                    .flight
                    .map(|f| format!("  Flight SQL grpc://{f}"))
                    .unwrap_or_default();
                println!(
                    "listening on http://{a}  网页 http://{a}/  API http://{a}/api/v1/openapi.json{flight}"
                );
                let _ = std::io::stdout().flush();
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { members, seed } => demo::run(&lake_dir, members, seed).await,
    }
}

fn open(dir: &std::path::Path) -> Result<Lake> {
    Ok(Lake::open(dir)?)
}

/// `dangan cluster scheduler|executor`: runs until the process is stopped.
async fn cluster(lake: &Lake, command: crate::cli::ClusterCommand) -> Result<ExitCode> {
    use crate::cli::ClusterCommand;
    match command {
        ClusterCommand::Scheduler {
            bind,
            external_host,
        } => {
            eprintln!("cluster scheduler 集群调度器 listening on {bind}");
            dangan_cluster::scheduler(
                lake,
                &dangan_cluster::SchedulerOptions {
                    bind,
                    external_host,
                },
            )
            .await?;
        }
        ClusterCommand::Executor {
            scheduler,
            bind_host,
            external_host,
            port,
            grpc_port,
            work_dir,
            concurrency,
        } => {
            eprintln!("cluster executor 集群执行器 on {bind_host}:{port} for {scheduler}");
            dangan_cluster::executor(
                lake,
                &dangan_cluster::ExecutorOptions {
                    scheduler,
                    bind_host,
                    external_host,
                    port,
                    grpc_port,
                    work_dir,
                    concurrency,
                },
            )
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
