//! Publishing a merge session: the copy put in place atomically, the file it replaced kept as
//! the standby for the next merge, and generations that say which standby may serve.

use super::*;

impl MergeSession {
    /// Put the merged copy in place of the warehouse: checkpoint and close it, fsync it, rename it
    /// over `<warehouse>`, fsync the directory. Readers that opened the old file keep it.
    pub fn publish(mut self) -> Result<(), WarehouseError> {
        let path = self.path.clone();
        let conn = self.conn.take().expect("open until published");
        conn.execute_batch(CHART_SNAPSHOTS)
            .map_err(db_err(&path, "sql/merge/chart_snapshots.sql"))?;
        conn.execute_batch("CHECKPOINT")
            .map_err(db_err(&path, "checkpoint the merged copy"))?;
        conn.close()
            .map_err(|(_, e)| db_err(&path, "close the merged copy")(e))?;
        // Everything is in the file after the checkpoint; a log left over would hold changes the
        // renamed file lacks.
        let wal = sibling(&self.work, ".wal");
        match std::fs::metadata(&wal) {
            Ok(m) if m.len() > 0 => {
                return Err(WarehouseError::Other {
                    path: path.display().to_string(),
                    problem: format!(
                        "DuckDB left a write-ahead log {} after checkpointing the merged copy; nothing was published, merge again",
                        wal.display()
                    ),
                });
            }
            Ok(_) => std::fs::remove_file(&wal).map_err(io_err(&path, "remove an empty log"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path, "look for the copy's log")(e)),
        }
        File::open(&self.work)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&path, &format!("fsync {}", self.work.display())))?;
        // The file being replaced becomes the next merge's standby (a hard link: readers that
        // hold it keep reading it). Should a crash come between the link and the rename, the two
        // names are one file, which `take_standby` notices and refuses.
        let standby = sibling(&path, ".standby");
        match std::fs::remove_file(&standby) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err(&path, "remove the previous standby copy")(e));
            }
            _ => {}
        }
        if path.exists() {
            // Without a standby the next merge copies the file, as the first one did.
            if let Err(e) = std::fs::hard_link(&path, &standby) {
                tracing::debug!(error = %e, "no standby copy kept");
            }
        }
        std::fs::rename(&self.work, &path).map_err(io_err(
            &path,
            &format!("rename {} over it", self.work.display()),
        ))?;
        // A log of the old file (a foreign writer crashed; the copy replayed it) must not be
        // replayed onto the new one.
        match std::fs::remove_file(sibling(&path, ".wal")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err(&path, "remove the old file's write-ahead log")(e));
            }
            _ => {}
        }
        // The rename itself reaches the disk with the directory.
        File::open(parent_dir(&path).unwrap_or(Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(io_err(&path, "fsync its directory"))?;
        Ok(())
    }
}

impl Drop for MergeSession {
    fn drop(&mut self) {
        // Close the copy before removing it (a published copy is gone already). Still under the
        // writer lock, so only this session's files match.
        drop(self.conn.take());
        let _ = remove_leftovers(&self.path);
    }
}

/// Turn the standby (`<warehouse>.standby`: the file the last merge replaced, one publish behind)
/// into this session's work file, instead of copying the whole warehouse; the session then merges
/// what the standby lacks (the last merge's snapshots) along with what is new.
///
/// Only the published file's parent can serve: the standby's generation must be `parent`, the
/// generation the published file records as the one it was merged from. A warehouse swapped in by
/// hand, restored from a backup or built elsewhere names another parent (or none), and its
/// standby is of another lineage: merging on top of it would bring back whatever it held.
/// Refused too, so that the caller copies instead, when it is the published file itself (a crash
/// between the link and the rename of `publish`), when the published file has a write-ahead log
/// (changes the standby never saw), or when any process still holds it open: an analyst who
/// opened the warehouse before the last merge is reading it, and it must not change under them
/// (DuckDB's lock tells: opening it for writing fails). A refused standby is deleted (a holder
/// keeps its open file).
pub(super) fn take_standby(path: &Path, work: &Path, parent: Option<&str>) -> bool {
    let standby = sibling(path, ".standby");
    let usable = (|| {
        let parent = parent?;
        let held = std::fs::metadata(&standby).ok()?;
        let published = std::fs::metadata(path).ok()?;
        if same_file(&held, &published) || sibling(path, ".wal").exists() {
            return None;
        }
        let conn = Connection::open_with_flags(&standby, offline_config(path).ok()?).ok()?;
        let (generation, _) = read_generation(&conn);
        conn.close().ok()?;
        if generation.as_deref() != Some(parent) || sibling(&standby, ".wal").exists() {
            return None;
        }
        std::fs::rename(&standby, work).ok()
    })();
    if usable.is_none() {
        let _ = std::fs::remove_file(&standby);
        let _ = std::fs::remove_file(sibling(&standby, ".wal"));
    }
    usable.is_some()
}

/// A fresh generation id: a UUIDv7 (time-ordered, random beyond the millisecond).
pub(super) fn new_generation() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The (generation, parent generation) a warehouse records; (`None`, `None`) for one published
/// before version 5, or unreadable.
pub(super) fn read_generation(conn: &Connection) -> (Option<String>, Option<String>) {
    conn.query_row(
        "SELECT generation, parent_generation FROM trendlake_warehouse",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap_or((None, None))
}

#[cfg(unix)]
pub(super) fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Without inode numbers, a standby is never trusted.
#[cfg(not(unix))]
pub(super) fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Remove `<warehouse>.merging` and whatever DuckDB made beside it (`.merging.wal`,
/// `.merging.tmp/`, …).
pub(super) fn remove_leftovers(path: &Path) -> std::io::Result<()> {
    let Some(name) = path.file_name() else {
        return Ok(());
    };
    let mut prefix = name.to_os_string();
    prefix.push(".merging");
    let prefix = prefix.as_encoded_bytes();
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(prefix) {
            // DuckDB's spill directory (`.merging.tmp`) is a directory.
            let removed = match entry.file_type()?.is_dir() {
                true => std::fs::remove_dir_all(entry.path()),
                false => std::fs::remove_file(entry.path()),
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Copy the database file and its write-ahead log (if any) byte for byte, keeping the file's
/// permissions (the copy reaches the disk with the checkpoint's and `publish`'s fsyncs). Both
/// sources are opened before either is copied, and closed after both are: closing a descriptor of
/// a file drops the process's POSIX locks on it, DuckDB's read lock included.
pub(super) fn copy_database(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut src = File::open(from)?;
    let mut src_wal = match File::open(sibling(from, ".wal")) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let create = |p: &Path| OpenOptions::new().write(true).create_new(true).open(p);
    let mut dst = create(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.set_permissions(src.metadata()?.permissions())?;
    if let Some(src_wal) = src_wal.as_mut() {
        let mut dst_wal = create(&sibling(to, ".wal"))?;
        std::io::copy(src_wal, &mut dst_wal)?;
    }
    Ok(())
}
