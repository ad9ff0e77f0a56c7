//! The `trendlake` binary: parse, run, and turn the outcome into an exit code
//! (0 complete, 3 partial, 1 failed, 2 usage or configuration).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use trendlake::cli::{Cli, Finished, execute};
use trendlake::youtube::ApiKey;

// The transform allocates and frees millions of short strings a second; mimalloc does that
// faster than glibc's malloc (see the README's benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("TRENDLAKE_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            e.print().ok();
            return ExitCode::from(code);
        }
    };
    redact_panics(cli.api_key());
    match execute(cli).await {
        Ok(Finished::Ok) => ExitCode::SUCCESS,
        Ok(Finished::Partial) => ExitCode::from(3),
        Ok(Finished::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("trendlake: error: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}

/// A panic's message can quote any value, so the panic hook strips the API key from it before
/// printing (the default hook would print it verbatim).
fn redact_panics(key: Option<ApiKey>) {
    let Some(key) = key else { return };
    std::panic::set_hook(Box::new(move |info| {
        eprintln!(
            "trendlake: internal error (a bug; please report it): {}",
            key.redact(&info.to_string())
        );
    }));
}
