//! trendlake: nightly snapshots of YouTube's trending chart into a Parquet lake and a DuckDB warehouse.
//!
//! The modules follow the data: `youtube` (API model and client) → `fetch` (all regions, bounded)
//! → `record` (normalised rows as Arrow) → `raw` (the pages as received) and `commit` (the date's
//! snapshot, bound to those pages) on `lake` (storage on object_store) → `warehouse` (DuckDB) →
//! `cli`. `check` verifies the chain. `fake_api` stands beside `youtube` and shares its model.

pub mod check;
pub mod cli;
pub mod clock;
pub mod commit;
#[cfg(feature = "fake-api")]
pub mod demo;
pub mod error;
#[cfg(feature = "fake-api")]
pub mod fake_api;
pub mod fetch;
pub mod lake;
pub mod logging;
pub mod output;
pub mod pause;
pub mod pipeline;
pub mod queries;
pub mod raw;
pub mod record;
pub mod regions;
pub mod report;
pub mod warehouse;
pub mod youtube;

pub use error::{Error, Result};
