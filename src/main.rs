//! The `trendlake` binary: parse, run, and turn the outcome into an exit code (what each code
//! means: docs/operations.md, "Exit codes").

use std::process::ExitCode;

use trendlake::youtube::ApiKey;
use trendlake_cli::cli::{self, ParseError};
use trendlake_cli::logging;

// The transform allocates and frees millions of short strings a second; mimalloc does that
// faster than glibc's malloc (docs/benchmarks.md). Cargo.toml also turns on mimalloc's
// `override`, so DuckDB's C++ allocations (malloc and operator new) go to mimalloc too: a named
// query's hash tables and windows take a quarter less time that way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let parsed = match cli::parse(std::env::args_os()) {
        Ok(parsed) => parsed,
        // --help and --version land here too, with exit code 0.
        Err(ParseError::Clap(e)) => {
            e.print().ok();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
        Err(ParseError::Config { error, log_format }) => {
            logging::init(log_format);
            logging::fatal(&error.to_string(), 2);
            return ExitCode::from(2);
        }
    };
    logging::init(parsed.cli.log_format);
    redact_panics(parsed.cli.api_key());
    let code = match cli::execute(parsed).await {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            let code = e.exit_code();
            logging::fatal(&e.to_string(), code);
            code
        }
    };
    ExitCode::from(code)
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
