//! `dangan`: the command line of the archive. Thin: parse flags, call the crates, print.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DANGAN_LOG")
                .unwrap_or_else(|_| "warn,buoyant_kernel=off,deltalake_core=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Args::parse();
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
