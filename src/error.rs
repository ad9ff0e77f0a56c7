//! The library's one public error type; each variant names what failed, and `main` maps it to
//! an exit code (2 for usage and configuration, 1 for everything else).

use crate::lake::LakeError;
use crate::warehouse::WarehouseError;
use crate::youtube::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, variables or arguments: nothing was touched.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// The API client's configuration (base URL, key) is unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The fake API's fault plan (`fake-api --faults`) is unreadable or invalid.
    #[cfg(feature = "fake-api")]
    #[error(transparent)]
    FaultPlan(#[from] crate::fake_api::faults::FaultPlanError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// `rebuild` found no complete raw pages for the dates asked: nothing was changed.
    #[error(
        "the lake {lake} has no complete raw pages for {dates}: nothing to rebuild from, nothing changed; raw pages are kept from the first run of a date that archives them"
    )]
    NoRawPages { lake: String, dates: String },
    #[error(transparent)]
    Raw(#[from] Box<crate::raw::RawError>),
    /// A query's result could not be rendered or written.
    /// A named query or its `--param` values are unusable (exit 2).
    #[error(transparent)]
    Query(Box<crate::queries::QueryError>),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// `trendlake report` (or `run --report`) could not make or write the page.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

impl Error {
    /// Usage and configuration errors (exit 2): nothing was touched.
    pub fn is_usage(&self) -> bool {
        #[cfg(feature = "fake-api")]
        if matches!(self, Error::FaultPlan(_)) {
            return true;
        }
        if let Error::Report(e) = self {
            return e.is_usage();
        }
        matches!(
            self,
            Error::Usage(_)
                | Error::Query(_)
                | Error::Client(_)
                | Error::Lake(LakeError::Config { .. })
                | Error::Lake(LakeError::Missing { .. })
                | Error::Warehouse(
                    WarehouseError::BadQuery { .. }
                        | WarehouseError::Refused(_)
                        | WarehouseError::Outdated { .. }
                )
        )
    }
}

/// Boxed: a query error carries the query's parameter list, and `Error` stays small.
impl From<crate::queries::QueryError> for Error {
    fn from(e: crate::queries::QueryError) -> Self {
        Error::Query(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
