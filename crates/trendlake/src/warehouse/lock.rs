//! The writer lock: one merge session per warehouse at a time.

use super::*;

/// Take the exclusive writer lock of a warehouse, `<warehouse>.lock` (see [`FileLock`]),
/// waiting for a session that holds it.
pub(super) fn writer_lock(warehouse: &Path) -> Result<FileLock, WarehouseError> {
    let path = sibling(warehouse, ".lock");
    FileLock::acquire(&path, false, || {
        eprintln!(
            "another trendlake is merging into {}; waiting for it ({})",
            warehouse.display(),
            path.display()
        )
    })
    .map_err(|source| WarehouseError::Io {
        path: warehouse.display().to_string(),
        step: format!("take the writer lock {}", path.display()),
        source,
    })
}
