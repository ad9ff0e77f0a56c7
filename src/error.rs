//! The binary's error: the library's ([`trendlake::Error`]) and what only the command line
//! meets (rendering a query's result, the fake API's fault plan, its own usage and I/O).
//! `main` prints it as one line and exits with [`Error::exit_code`]; the codes are listed in
//! docs/operations.md.

use trendlake::commit::CommitError;
use trendlake::lake::LakeError;
use trendlake::queries::QueryError;
use trendlake::raw::RawError;
use trendlake::report::ReportError;
use trendlake::warehouse::WarehouseError;
use trendlake::youtube::ClientError;

use crate::output::OutputError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, variables or arguments: nothing was touched.
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// What a step of the data path reported (boxed: the library's error is large, and this
    /// one travels through every `Result` of the binary).
    #[error(transparent)]
    Run(Box<trendlake::Error>),
    /// A query's result could not be rendered or written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The fake API's fault plan (`fake-api --faults`) is unreadable or invalid.
    #[cfg(feature = "fake-api")]
    #[error(transparent)]
    FaultPlan(#[from] trendlake_fake_api::FaultPlanError),
}

/// The library's stage errors convert through [`trendlake::Error`].
macro_rules! through_library {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Run(Box::new(e.into()))
            }
        }
    )*};
}
impl From<trendlake::Error> for Error {
    fn from(e: trendlake::Error) -> Self {
        Error::Run(Box::new(e))
    }
}

through_library!(
    LakeError,
    CommitError,
    WarehouseError,
    ClientError,
    QueryError,
    ReportError,
    Box<RawError>
);

impl Error {
    /// Usage and configuration errors (exit 2): nothing was touched.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Usage(_) => true,
            Error::Run(e) => e.is_usage(),
            #[cfg(feature = "fake-api")]
            Error::FaultPlan(_) => true,
            Error::Io { .. } | Error::Output(_) => false,
        }
    }

    /// The process's exit code: the library's for its errors (2, 4, 6 or 1), 2 for usage, 1
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Run(e) => e.exit_code(),
            e if e.is_usage() => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
