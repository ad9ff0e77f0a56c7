//! The file-system steps every local write shares: files replaced whole, and exclusive locks.
//!
//! **Replaced whole** (`query --output`, the report's pages, metrics files): the content goes
//! into a temporary file beside the destination, which is fsynced, renamed over the destination,
//! and then the directory fsynced. A reader never sees a partial file, and a power cut leaves
//! either the old file or the new one under the name, never an empty or torn one. The temporary
//! file is created exclusively (`O_EXCL`) under a random name: two processes writing one path
//! (two containers, both PID 1) never share a temporary file, and a symbolic link planted where
//! the temporary file will be is never followed. Until it is renamed, the temporary file is
//! removed when dropped, so an error anywhere leaves nothing behind.
//!
//! **Locks** ([`FileLock`]): a lake's per-date commit lock and a warehouse's writer lock are the
//! operating system's advisory lock (`flock` on Unix) on a file, removed as it is released.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Why a file could not be replaced whole; each names the file, and none leaves a temporary
/// file behind. All but [`ReplaceError::SyncDir`] leave the destination as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error(
        "cannot create a temporary file in {dir} to write {path}: {source}; check the directory exists and is writable"
    )]
    Create {
        path: String,
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}; check the disk has room")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot move the finished file into place as {path}: {source}; {path} was not changed")]
    Rename {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is written, but its directory {dir} could not be synced to disk: {source}; a power cut before the system writes it back could lose the new file"
    )]
    SyncDir {
        path: String,
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

/// A file being replaced: the temporary file beside it, until [`Replacement::commit`].
pub struct Replacement {
    temp: NamedTempFile,
    target: PathBuf,
}

impl Replacement {
    /// Create the temporary file that will replace `target`. It gets the permissions an
    /// existing `target` has (its content is replaced, not its mode), else those `File::create`
    /// gives (0666 less the umask; tempfile's own default would be 0600).
    pub fn begin(target: &Path) -> Result<Self, ReplaceError> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", shortened(&name)))
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|source| ReplaceError::Create {
                path: target.display().to_string(),
                dir: dir.display().to_string(),
                source,
            })?;
        if let Ok(existing) = std::fs::metadata(target)
            && existing.is_file()
        {
            // Best effort: a filesystem without Unix modes (vfat) refuses chmod, and the file
            // is still worth writing with the umask's permissions.
            let _ = temp.as_file().set_permissions(existing.permissions());
        }
        Ok(Self {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// The temporary file, to write the content to (`try_clone` it for a writer that must own
    /// its file).
    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Put the written content in place: fsync it, rename it over the destination, fsync the
    /// directory (the rename reaches the disk with the directory).
    pub fn commit(self) -> Result<(), ReplaceError> {
        let path = || self.target.display().to_string();
        self.temp
            .as_file()
            .sync_all()
            .map_err(|source| ReplaceError::Write {
                path: path(),
                source,
            })?;
        // On failure the error holds the temporary file, and dropping it removes it.
        self.temp
            .persist(&self.target)
            .map_err(|e| ReplaceError::Rename {
                path: path(),
                source: e.error,
            })?;
        let dir = parent_dir(&self.target);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| ReplaceError::SyncDir {
                path: path(),
                dir: dir.display().to_string(),
                source,
            })
    }
}

/// Replace `target` by `bytes`, whole (see the module doc).
pub fn write_whole(target: &Path, bytes: &[u8]) -> Result<(), ReplaceError> {
    write_whole_as(target, bytes, None)
}

/// [`write_whole`], the new file with Unix permissions `mode` (e.g. 0o644 for a file another
/// user's process reads) instead of those [`Replacement::begin`] gives.
pub fn write_whole_as(target: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), ReplaceError> {
    let replacement = Replacement::begin(target)?;
    let failed = |source| ReplaceError::Write {
        path: target.display().to_string(),
        source,
    };
    if let Some(mode) = mode {
        replacement
            .file()
            .set_permissions(Permissions::from_mode(mode))
            .map_err(failed)?;
    }
    replacement.file().write_all(bytes).map_err(failed)?;
    replacement.commit()
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Bytes of the destination's name kept in the temporary file's: with the dots, the random part
/// and `.tmp`, the temporary name stays within the 255 bytes a file name may have, however long
/// the destination's is.
const NAME_IN_TEMP: usize = 200;

fn shortened(name: &str) -> &str {
    let mut end = name.len().min(NAME_IN_TEMP);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// A held exclusive lock on the file at a path, released on drop.
///
/// On Unix the file is removed as the lock is released (while still locked), so a lake does not
/// collect one lock file per date; that is safe because every locker checks, once it holds the
/// lock, that the file it locked is still the one at the path, and retries otherwise: a process
/// that waited on the removed file cannot share the lock with one that created the next.
/// Elsewhere the file stays; an unlocked lock file is harmless.
#[derive(Debug)]
pub struct FileLock {
    /// Held for its lock: closing it releases the lock.
    _file: File,
    path: PathBuf,
    own_dir: bool,
}

impl FileLock {
    /// Lock the file at `path`, creating it, and waiting while another process holds it
    /// (`waiting` is called once, before the wait). With `own_dir` the file lives in a directory
    /// of locks (a lake's `_locks/`), made when missing and removed once empty. Blocking: call it
    /// off the async workers.
    pub fn acquire(path: &Path, own_dir: bool, waiting: impl FnOnce()) -> std::io::Result<Self> {
        let mut waiting = Some(waiting);
        let mut vanished = 0;
        loop {
            if own_dir && let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = match std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
            {
                Ok(file) => file,
                // The directory was removed by a process releasing its lock just now: again.
                Err(e) if own_dir && e.kind() == std::io::ErrorKind::NotFound && vanished < 100 => {
                    vanished += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Some(waiting) = waiting.take() {
                        waiting();
                    }
                    file.lock()?;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            // The holder we waited for removed the file as it released it, and a third may have
            // made a new one since: only a lock on the file at `path` now counts.
            if is_current(&file, path)? {
                return Ok(Self {
                    _file: file,
                    path: path.to_path_buf(),
                    own_dir,
                });
            }
        }
    }

    /// The locked file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
            if self.own_dir
                && let Some(dir) = self.path.parent()
            {
                // Fails, harmlessly, while other locks are held in it.
                let _ = std::fs::remove_dir(dir);
            }
        }
        // The lock itself goes when `_file` is closed, right after this.
    }
}

/// Whether `file` is (still) the file at `path`.
#[cfg(unix)]
fn is_current(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lock files are never removed off Unix, so the file locked is the one at the path.
#[cfg(not(unix))]
fn is_current(_file: &File, _path: &Path) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    /// The process's umask, read without changing it (other tests create files meanwhile).
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    #[test]
    fn a_new_file_is_whole_with_the_permissions_a_plain_create_gives_and_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_whole(&path, b"a,b\n1,2\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n1,2\n");
        assert_eq!(mode(&path), 0o666 & !umask(), "{:o}", mode(&path));
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain), "as File::create makes it");
        assert_eq!(names(dir.path()), ["out.csv", "plain"]);
    }

    #[test]
    fn an_existing_file_keeps_its_permissions_and_gets_the_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        std::fs::write(&path, "old, and longer than the new content").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o604)).unwrap();
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o604, "{:o}", mode(&path));
        assert_eq!(names(dir.path()), ["report.html"]);
    }

    #[test]
    fn a_replacement_dropped_unfinished_leaves_nothing_and_the_old_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let r = Replacement::begin(&path).unwrap();
        r.file().write_all(b"[{\"partial\":").unwrap();
        assert_eq!(names(dir.path()).len(), 1, "the temporary file");
        drop(r);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        std::fs::write(&path, "old").unwrap();
        drop(Replacement::begin(&path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn two_writers_of_one_path_get_temporary_files_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let (a, b) = (
            Replacement::begin(&path).unwrap(),
            Replacement::begin(&path).unwrap(),
        );
        assert_ne!(a.temp.path(), b.temp.path());
        a.file().write_all(b"first").unwrap();
        b.file().write_all(b"second").unwrap();
        a.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        b.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn the_temporary_file_is_hidden_beside_the_destination_and_named_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let r = Replacement::begin(&dir.path().join("x.parquet")).unwrap();
        let temp = r.temp.path();
        assert_eq!(temp.parent(), Some(dir.path()));
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".x.parquet.") && name.ends_with(".tmp"),
            "{name}"
        );
    }

    #[test]
    fn a_name_of_255_bytes_is_written_too() {
        let dir = tempfile::tempdir().unwrap();
        // Two-byte characters from an odd offset: the cut must step back to a boundary.
        let name = format!("x{}.csv", "é".repeat(125));
        assert_eq!(name.len(), 255);
        assert_eq!(shortened(&name).len(), NAME_IN_TEMP - 1);
        let path = dir.path().join(&name);
        write_whole(&path, b"x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        assert_eq!(names(dir.path()), [name]);
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("out.csv")), Path::new("."));
        assert_eq!(parent_dir(Path::new("d/out.csv")), Path::new("d"));
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_file_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.csv");
        let err = write_whole(&path, b"x").unwrap_err();
        assert!(matches!(err, ReplaceError::Create { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("check the directory exists"), "{msg}");
    }

    #[test]
    fn a_rename_that_fails_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the file should go: rename cannot replace it.
        let path = dir.path().join("out.csv");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "x").unwrap();
        let err = write_whole(&path, b"x").unwrap_err();
        assert!(matches!(err, ReplaceError::Rename { .. }), "{err:?}");
        assert!(err.to_string().contains("was not changed"), "{err}");
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert_eq!(names(&path), ["inside"]);
    }
}
