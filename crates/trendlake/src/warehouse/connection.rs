//! How DuckDB is opened: never downloading an extension, read-only, sealed for analysts' SQL,
//! and always in a known session time zone.

use super::*;

/// DuckDB as trendlake uses it: never downloading an extension (a query such as `'1'::JSON`
/// would otherwise make DuckDB fetch one from the internet, unasked, from a nightly job).
pub(super) fn offline_config(path: &Path) -> Result<Config, WarehouseError> {
    Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .map_err(db_err(path, "configure"))
}

/// A read-only connection to `path`; a file some other process holds open for writing is
/// [`WarehouseError::OpenForWriting`].
pub(super) fn open_read_only(path: &Path) -> Result<Connection, WarehouseError> {
    let conn = connect(path, read_only_config(path)?)?;
    set_time_zone(&conn, path, DEFAULT_TIME_ZONE)?;
    Ok(conn)
}

/// [`offline_config`], read-only.
pub(super) fn read_only_config(path: &Path) -> Result<Config, WarehouseError> {
    offline_config(path)?
        .access_mode(AccessMode::ReadOnly)
        .map_err(db_err(path, "configure"))
}

/// [`open_read_only`] for any SQL an analyst types: besides being read-only, DuckDB reaches no
/// file or network beyond the warehouse itself (`enable_external_access = false`: no
/// `COPY … TO`, `ATTACH`, `read_csv('/etc/…')`, `INSTALL`) and its settings are locked
/// (`lock_configuration`: no `SET`), so a statement that [`statement`]'s check misjudged still
/// could not write anything.
pub(super) fn open_sealed(path: &Path, zone: &str) -> Result<Connection, WarehouseError> {
    let config = read_only_config(path)?
        .with("enable_external_access", "false")
        .map_err(db_err(path, "configure"))?;
    let conn = connect(path, config)?;
    // The time zone is the ICU extension's setting, which exists only once the database is
    // open: set, then locked with the rest.
    set_time_zone(&conn, path, zone)?;
    conn.execute_batch("SET lock_configuration = true")
        .map_err(db_err(path, "lock the configuration"))?;
    Ok(conn)
}

/// The session time zone every connection starts in, whatever the machine's: UTC, so that a
/// `TIMESTAMPTZ` casts, truncates and prints alike on every machine, and as the lake's columns
/// (Arrow's `UTC`) do in a notebook.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// `SET GLOBAL TimeZone`: for the database, so that the connections cloned from this one (one per
/// query) have it too.
pub(super) fn set_time_zone(
    conn: &Connection,
    path: &Path,
    zone: &str,
) -> Result<(), WarehouseError> {
    // A setting takes no bound parameter; the name is quoted as a string literal.
    let sql = format!("SET GLOBAL TimeZone = '{}'", zone.replace('\'', "''"));
    conn.execute_batch(&sql)
        .map_err(|e| WarehouseError::TimeZone {
            path: path.display().to_string(),
            zone: zone.to_string(),
            message: e.to_string(),
        })
}

pub(super) fn connect(path: &Path, config: Config) -> Result<Connection, WarehouseError> {
    Connection::open_with_flags(path, config).map_err(|source| {
        let text = source.to_string();
        if text.contains("Could not set lock") || text.contains("Conflicting lock") {
            WarehouseError::OpenForWriting {
                path: path.display().to_string(),
                source: Box::new(source),
            }
        } else {
            db_err(path, "open read-only")(source)
        }
    })
}
