//! trendlake's data path: nightly snapshots of YouTube's trending chart into a Parquet lake and
//! a DuckDB warehouse. No terminal, flag or allocator here: the `trendlake` binary
//! (`trendlake-cli`) is one user of this library.
//!
//! The modules follow the data: `youtube` (API model and client) → `fetch` (all regions, bounded)
//! → `record` (normalised rows as Arrow) → `commit` (what a night writes: raw pages via `raw`, the
//! date's snapshot bound to them, quarantine) on `lake` (storage on object_store) → `warehouse`
//! (DuckDB) → `queries` and `report`. `pipeline` runs the commands' steps in order; `check`
//! verifies the chain; `ddl` writes the DDL that registers the lake in other engines. `fsutil`
//! holds the local file steps (locks, files replaced whole).

pub mod catalogue;
pub mod chart;
pub mod check;
pub mod clock;
pub mod commit;
pub mod ddl;
pub mod error;
pub mod fetch;
pub mod fsutil;
pub mod lake;
pub mod pause;
pub mod pipeline;
pub mod queries;
pub mod raw;
pub mod record;
pub mod regions;
pub mod report;
pub mod track;
pub mod warehouse;
pub mod youtube;

pub use error::{Error, Result};
