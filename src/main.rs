//! `dangan`: the command line of the archive. Thin: parse flags, call the crates, print.

mod cli;
mod cmd;
mod steps;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    // The scheduler, the server and the cluster's nodes log what they do (structured, to
    // stderr); other commands print their results and log only warnings. `DANGAN_LOG`
    // overrides (e.g. `info`, `debug`).
    let serving = matches!(
        args.command,
        cli::Command::Pipeline {
            command: cli::PipelineCommand::Serve { .. }
        } | cli::Command::Serve { .. }
            | cli::Command::Cluster { .. }
    );
    // `dangan … | head`: end quietly when the reader goes away, as Unix tools do, instead of
    // panicking in `println!` (Rust ignores SIGPIPE by default). Never for a server: a peer
    // that hangs up on one of its sockets would end the whole process.
    #[cfg(unix)]
    if !serving {
        // SAFETY: restoring the default disposition of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let default = if serving {
        "warn,dangan_pipelines=info,dangan_server=info,ballista_scheduler=info,ballista_executor=info,buoyant_kernel=off,deltalake_core=error"
    } else {
        "warn,buoyant_kernel=off,deltalake_core=error"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DANGAN_LOG")
                .unwrap_or_else(|_| default.into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match cmd::run(args) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`dangan sql … | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("错误 error: {e:#}");
            ExitCode::from(1)
        }
    }
}
