//! Crash-test hooks. With `TRENDLAKE_PAUSE_AT=point` a run stops at that point, says so on stderr
//! (`trendlake: paused at point`) and waits, so a test can kill it there with SIGKILL, or stop a
//! server underneath it and let it go on (`TRENDLAKE_PAUSE_RELEASE=file`: the wait ends when the
//! file exists). Points: `fetched` (every region fetched, nothing written), `raw` (after the first
//! raw page), `raw_written` (raw pages of every region written, no Parquet yet), `committed` (the
//! snapshot committed, no report yet), `merge` (in the warehouse's merge, before it is
//! published). Unset, each point costs one environment lookup.

use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);

/// Whether the run should stop at `point`, and the file whose existence releases it.
fn wanted(point: &str) -> Option<Option<std::path::PathBuf>> {
    let at = std::env::var("TRENDLAKE_PAUSE_AT").ok()?;
    if !at.split(',').any(|p| p.trim() == point) {
        return None;
    }
    eprintln!("trendlake: paused at {point}");
    Some(std::env::var_os("TRENDLAKE_PAUSE_RELEASE").map(Into::into))
}

/// Pause at `point` when asked to, without blocking the async workers.
pub async fn at(point: &str) {
    if let Some(release) = wanted(point) {
        while !release.as_deref().is_some_and(std::path::Path::exists) {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// [`at`] for code on a blocking thread (the warehouse).
pub fn at_blocking(point: &str) {
    if let Some(release) = wanted(point) {
        while !release.as_deref().is_some_and(std::path::Path::exists) {
            std::thread::sleep(POLL);
        }
    }
}
