//! The library's one public error type; each variant names what failed, and `main` maps it to
//! an exit code ([`Error::exit_code`]: 2 for usage and configuration, 4 for a failed merge, 1 for
//! everything else).

use crate::commit::CommitError;
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
    Commit(#[from] CommitError),
    /// The merge into the warehouse failed after whatever the command committed to the lake:
    /// the lake is safe, `trendlake merge` finishes (exit 4, like `run`'s).
    #[error("merge failed: {0}; the lake is safe, finish with `trendlake merge`")]
    Merge(#[source] Box<Error>),
    /// `check` could not read what it had to (the store, the warehouse): no verdict (exit 6).
    #[error("could not finish checking, so nothing was judged: {0}")]
    Unchecked(#[source] Box<Error>),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// The API client's configuration (base URL, key) is unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
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
    /// A named query or its `--param` values are unusable (exit 2).
    #[error(transparent)]
    Query(Box<crate::queries::QueryError>),
    /// `trendlake report` (or `run --report`) could not make or write the page.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// A chart catalogue (`_charts/`) cannot be read.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::CatalogueError),
    /// `ddl` cannot write what was asked (a bad table name or location: exit 2).
    #[error(transparent)]
    Ddl(Box<crate::ddl::DdlError>),
}

impl Error {
    /// Usage and configuration errors (exit 2): nothing was touched.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Report(e) => return e.is_usage(),
            Error::Ddl(e) => return e.is_usage(),
            Error::Lake(e) => return e.is_usage(),
            Error::Commit(e) => return e.is_usage(),
            Error::Raw(e) => return e.is_usage(),
            Error::Merge(e) | Error::Unchecked(e) => return e.is_usage(),
            _ => {}
        }
        matches!(
            self,
            Error::Usage(_)
                | Error::Query(_)
                | Error::Client(_)
                | Error::Warehouse(
                    WarehouseError::Missing { .. }
                        | WarehouseError::TimeZone { .. }
                        | WarehouseError::BadQuery { .. }
                        | WarehouseError::Refused(_)
                        | WarehouseError::Outdated { .. }
                )
        )
    }
}

impl Error {
    /// A failure of the merge step (see [`Error::Merge`]).
    pub fn merge_failed(self) -> Self {
        match self {
            e @ Error::Merge(_) => e,
            e => Error::Merge(Box::new(e)),
        }
    }

    /// `check` could not finish (see [`Error::Unchecked`]).
    pub fn unchecked(self) -> Self {
        match self {
            e @ Error::Unchecked(_) => e,
            e => Error::Unchecked(Box::new(e)),
        }
    }

    /// The process's exit code for this error: 2 for bad usage or configuration (nothing
    /// touched), 4 when the merge failed after a commit, 6 when `check` could not finish, 1
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.is_usage() {
            2
        } else if matches!(self, Error::Merge(_)) {
            4
        } else if matches!(self, Error::Unchecked(_)) {
            6
        } else {
            1
        }
    }
}

/// Boxed: a query error carries the query's parameter list, and `Error` stays small.
impl From<crate::queries::QueryError> for Error {
    fn from(e: crate::queries::QueryError) -> Self {
        Error::Query(Box::new(e))
    }
}

/// Boxed, as a query error is: `Error` stays small.
impl From<crate::ddl::DdlError> for Error {
    fn from(e: crate::ddl::DdlError) -> Self {
        Error::Ddl(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
