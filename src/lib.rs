//! The `trendlake` command line over the `trendlake` library: flags and settings (`cli`), query
//! output (`output`), logs and run summaries (`logging`), the prompt, and `demo` on the fake API.
//! `main.rs` adds the allocator and maps outcomes to exit codes; the data path itself is the
//! library's (crates/trendlake).

pub mod cli;
#[cfg(feature = "fake-api")]
pub mod demo;
pub mod error;
pub mod logging;
pub mod output;
