//! The warehouse's unit tests: migrations, the merge session, the standby, locks, reads.

use super::*;

/// The schema of version 1 as shipped, frozen.
const V1_SCHEMA: &str = include_str!("../../../../sql/migrations/v1_schema.sql");

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let n = row.as_ref().column_count();
        out.push(
            (0..n)
                .map(|i| format!("{:?}", row.get::<_, duckdb::types::Value>(i).unwrap()))
                .collect(),
        );
    }
    out
}

/// Columns, constraints and views: what a migration must get right.
fn shape(path: &Path) -> [Vec<Vec<String>>; 3] {
    let wh = Warehouse::open_read_only(path).unwrap();
    [
        "SELECT table_name, column_index, column_name, data_type, is_nullable, column_default \
         FROM duckdb_columns() WHERE NOT internal ORDER BY ALL",
        "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() \
         ORDER BY ALL",
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
    ]
    .map(|q| rows(&wh.conn, q))
}

fn files_beside(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn wh_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("wh.duckdb")
}

#[test]
fn versions_are_read_and_planned() {
    let p = Path::new("wh.duckdb");
    assert_eq!(version_of(None, false), Ok(None), "an empty file");
    assert_eq!(
        version_of(None, true),
        Ok(Some(1)),
        "tables, no version table"
    );
    assert_eq!(version_of(Some(&[Some(2)]), true), Ok(Some(2)));
    assert_eq!(version_of(Some(&[Some(7)]), true), Ok(Some(7)));
    assert!(version_of(Some(&[]), true).unwrap_err().contains("0 rows"));
    assert!(version_of(Some(&[Some(2), Some(2)]), true).is_err());
    assert!(version_of(Some(&[None]), true).is_err());
    assert!(version_of(Some(&[Some(0)]), true).is_err());
    assert!(version_of(Some(&[Some(-3)]), true).is_err());

    assert_eq!(upgrade_plan(p, None).unwrap(), Upgrade::Create);
    assert_eq!(
        upgrade_plan(p, Some(1)).unwrap(),
        Upgrade::Migrate { from: 1 }
    );
    assert_eq!(
        upgrade_plan(p, Some(SCHEMA_VERSION)).unwrap(),
        Upgrade::Current
    );
    let newer = upgrade_plan(p, Some(SCHEMA_VERSION + 1)).unwrap_err();
    let text = newer.to_string();
    assert!(
        matches!(newer, WarehouseError::NewerSchema { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{newer:?}"
    );
    for needle in [
        "wh.duckdb",
        &format!("schema version {}", SCHEMA_VERSION + 1),
        &format!("newer than {SCHEMA_VERSION}"),
        "upgrade trendlake",
        "trendlake merge --warehouse NEW_PATH",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
}

#[test]
fn migrations_lead_from_version_1_to_the_current_one() {
    let tos: Vec<u32> = MIGRATIONS.iter().map(|m| m.to).collect();
    assert_eq!(tos, (2..=SCHEMA_VERSION).collect::<Vec<_>>());
    for m in MIGRATIONS {
        assert!(m.file.starts_with(&format!("sql/migrations/{:03}_", m.to)));
    }
    assert_eq!(migrations_after(1).count(), MIGRATIONS.len());
    assert_eq!(migrations_after(SCHEMA_VERSION).count(), 0);
}

#[test]
fn a_version_1_warehouse_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.duckdb");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(V1_SCHEMA).unwrap();
        conn.execute_batch(
            "INSERT INTO chart_entries VALUES
                 ('2026-11-20', 'JP', 'v1', 1, 10, 1, 1, '2026-11-20T03:00:00Z'),
                 ('2026-11-21', 'JP', 'v1', 2, 20, 2, 2, '2026-11-21T03:00:00Z');
             INSERT INTO videos VALUES ('v1', 'title', 'd', 'c', 'ct', 10,
                 '2026-11-19T00:00:00Z', 60, 'none', ['a'], NULL, NULL, NULL, 'hd', false, true,
                 '2026-11-20', '2026-11-21');
             INSERT INTO merged_snapshots VALUES ('2026-11-20', 'p', 'e', 1, 1, ['JP'], '2026-11-20T03:00:00Z'),
                 ('2026-11-21', 'p', 'e', 1, 1, ['JP'], '2026-11-21T03:00:00Z');",
        )
        .unwrap();
    }
    let ro = Warehouse::open_read_only(&old).unwrap();
    assert_eq!(ro.schema_version(), Some(1));
    assert!(ro.needs_upgrade());
    assert_eq!(
        ro.merged_snapshots().unwrap().len(),
        2,
        "version 1 is readable"
    );
    // ...but not by the named queries, which read the current schema's views.
    let outdated = ro.require_current_schema().unwrap_err();
    assert!(
        matches!(
            outdated,
            WarehouseError::Outdated {
                found: 1,
                needed: SCHEMA_VERSION,
                ..
            }
        ),
        "{outdated:?}"
    );
    assert!(outdated.to_string().contains("run `trendlake merge` once"));
    drop(ro);

    let session = Warehouse::begin(&old).unwrap();
    assert_eq!(session.found_version(), Some(1));
    session.publish().unwrap();
    let wh = Warehouse::open_read_only(&old).unwrap();
    assert_eq!(wh.schema_version(), Some(SCHEMA_VERSION));
    assert!(!wh.needs_upgrade());
    wh.require_current_schema().unwrap();
    // Version 4's region_snapshots: the held snapshots numbered, with the previous one.
    assert_eq!(
        rows(
            &wh.conn,
            "SELECT region, snapshot_date::VARCHAR, snapshot_no, previous_date::VARCHAR, \
                    first_date::VARCHAR, last_date::VARCHAR \
             FROM region_snapshots ORDER BY snapshot_date"
        ),
        vec![
            vec![
                "Text(\"JP\")".to_string(),
                "Text(\"2026-11-20\")".into(),
                "BigInt(1)".into(),
                "Null".into(),
                "Text(\"2026-11-20\")".into(),
                "Text(\"2026-11-21\")".into(),
            ],
            vec![
                "Text(\"JP\")".to_string(),
                "Text(\"2026-11-21\")".into(),
                "BigInt(2)".into(),
                "Text(\"2026-11-20\")".into(),
                "Text(\"2026-11-20\")".into(),
                "Text(\"2026-11-21\")".into(),
            ],
        ]
    );
    assert_eq!(
        rows(
            &wh.conn,
            "SELECT video_id, title, first_seen_date::VARCHAR, last_seen_date::VARCHAR, metadata_date::VARCHAR FROM videos"
        ),
        vec![vec![
            "Text(\"v1\")".to_string(),
            "Text(\"title\")".into(),
            "Text(\"2026-11-20\")".into(),
            "Text(\"2026-11-21\")".into(),
            "Text(\"2026-11-21\")".into(),
        ]]
    );
    assert_eq!(
        rows(&wh.conn, "SELECT count(*) FROM chart_entries"),
        vec![vec!["BigInt(2)".to_string()]]
    );
    assert_eq!(
        rows(
            &wh.conn,
            "SELECT schema_version, written_by, length(generation), parent_generation \
             FROM trendlake_warehouse"
        ),
        vec![vec![
            format!("Int({SCHEMA_VERSION})"),
            format!("Text({WRITTEN_BY:?})"),
            "BigInt(36)".to_string(),
            // Published before version 5: no generation to name as its parent.
            "Null".to_string(),
        ]]
    );
    // Version 3's regions carry their zone, and SQL can turn UTC into local time with the
    // offsets table: New York is UTC-4 in July and UTC-5 in December.
    assert_eq!(
        rows(
            &wh.conn,
            "SELECT r.time_zone, strftime(t.utc + to_seconds(o.utc_offset_s), '%H:%M')
             FROM regions r
             JOIN (VALUES (TIMESTAMP '2026-07-01 12:00:00'), (TIMESTAMP '2026-12-01 12:00:00')) t(utc) ON true
             JOIN region_utc_offsets o
               ON o.region = r.code AND t.utc >= o.valid_from AND t.utc < o.valid_until
             WHERE r.code = 'US' ORDER BY t.utc"
        ),
        [["Text(\"America/New_York\")", "Text(\"08:00\")"], [
            "Text(\"America/New_York\")",
            "Text(\"07:00\")"
        ]]
    );
    drop(wh);

    // The migrated schema is the one a new warehouse gets, column for column.
    let new = dir.path().join("new.duckdb");
    Warehouse::begin(&new).unwrap().publish().unwrap();
    assert_eq!(shape(&old), shape(&new));
    assert_eq!(
        files_beside(&old),
        ["new.duckdb", "old.duckdb", "old.duckdb.standby"],
        "no copy, log or lock left; the replaced file kept as the standby"
    );
}

#[test]
fn a_newer_warehouse_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = wh_path(&dir);
    Warehouse::begin(&path).unwrap().publish().unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("UPDATE trendlake_warehouse SET schema_version = schema_version + 1")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    for error in [
        Warehouse::open_read_only(&path).err().unwrap(),
        Warehouse::begin(&path).err().unwrap(),
    ] {
        assert!(
            matches!(error, WarehouseError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
            "{error:?}"
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(files_beside(&path), ["wh.duckdb"]);
}

#[test]
fn a_crashed_merges_copy_is_removed_and_an_abandoned_session_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = wh_path(&dir);
    Warehouse::begin(&path).unwrap().publish().unwrap();
    let before = std::fs::read(&path).unwrap();
    // What a merge killed mid-way leaves: a torn copy and its log.
    std::fs::write(sibling(&path, ".merging"), b"torn").unwrap();
    std::fs::write(sibling(&path, ".merging.wal"), b"torn log").unwrap();
    std::fs::create_dir(sibling(&path, ".merging.tmp")).unwrap();
    std::fs::write(sibling(&path, ".merging.tmp/spill"), b"spilled").unwrap();
    std::fs::write(dir.path().join("other.duckdb.merging"), b"not ours").unwrap();

    let mut session = Warehouse::begin(&path).unwrap();
    // The copy is a working warehouse, whatever was at its path before.
    assert_eq!(session.merged_snapshots().unwrap(), Vec::new());
    session
        .conn_mut()
        .execute_batch(
            "INSERT INTO all_chart_entries VALUES ('2026-11-20', 'JP', 'v', 1, 1, 1, 1, now(), 'all')",
        )
        .unwrap();
    assert!(sibling(&path, ".lock").exists());
    drop(session);

    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing published");
    assert_eq!(
        files_beside(&path),
        ["other.duckdb.merging", "wh.duckdb"],
        "copy and lock removed; another warehouse's files untouched"
    );
}

#[test]
fn the_standby_serves_only_as_the_published_files_parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = wh_path(&dir);
    let generation = |p: &Path| {
        let conn = open_read_only(p).unwrap();
        read_generation(&conn)
    };
    // A new warehouse: no parent. Its second publish names the first as its parent.
    let first = Warehouse::begin(&path).unwrap();
    assert!(!first.from_standby());
    let g1 = first.generation().0.to_string();
    assert_eq!(first.generation().1, None);
    first.publish().unwrap();
    let second = Warehouse::begin(&path).unwrap();
    assert!(!second.from_standby(), "the first publish left no standby");
    assert_eq!(second.generation().1, Some(g1.as_str()));
    let g2 = second.generation().0.to_string();
    second.publish().unwrap();
    assert_eq!(generation(&path), (Some(g2.clone()), Some(g1.clone())));
    let standby = sibling(&path, ".standby");
    assert_eq!(
        generation(&standby).0,
        Some(g1.clone()),
        "the replaced file"
    );
    // Steady state: the standby is the published file's parent, and serves.
    let third = Warehouse::begin(&path).unwrap();
    assert!(third.from_standby());
    assert_eq!(third.generation().1, Some(g2.as_str()));
    third.publish().unwrap();

    // A warehouse swapped in by hand has another lineage: its standby is refused, deleted.
    let other = dir.path().join("other.duckdb");
    Warehouse::begin(&other).unwrap().publish().unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert!(standby.exists());
    let swapped = Warehouse::begin(&path).unwrap();
    assert!(!swapped.from_standby());
    drop(swapped);
    assert!(!standby.exists(), "a standby of another lineage is removed");
}

#[test]
fn a_second_session_waits_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = wh_path(&dir);
    let first = Warehouse::begin(&path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let second = {
        let path = path.clone();
        std::thread::spawn(move || {
            let session = Warehouse::begin(&path).unwrap();
            tx.send(session.found_version()).unwrap();
            session.publish().unwrap();
        })
    };
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "the second session began while the first held the lock"
    );
    first.publish().unwrap();
    // It then copies what the first published.
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap(),
        Some(SCHEMA_VERSION)
    );
    second.join().unwrap();
    assert_eq!(files_beside(&path), ["wh.duckdb", "wh.duckdb.standby"]);
}

/// A region's chart of `videos` (id, title) on `day`.
fn batch(region: &str, day: &str, videos: &[(&str, &str)]) -> RecordBatch {
    use crate::record::{Page, region_batch};
    use crate::youtube::model::{Snippet, Video};
    let items = videos
        .iter()
        .map(|(id, title)| Video {
            id: id.to_string(),
            snippet: Some(Snippet {
                published_at: "2026-11-01T00:00:00Z".into(),
                title: title.to_string(),
                ..Snippet::default()
            }),
            ..Video::default()
        })
        .collect();
    let page = Page {
        offset: 0,
        fetched_at: format!("{day}T03:00:00Z").parse().unwrap(),
        items,
    };
    region_batch(region, &[page]).unwrap()
}

fn merge(session: &mut MergeSession, day: &str, batches: Vec<RecordBatch>) -> usize {
    let source = SourceFile {
        path: "lake/videos.parquet",
        etag: Some(day),
        size: 1,
        content_sha256: day,
    };
    let at = format!("{day}T04:00:00Z").parse().unwrap();
    session
        .merge_snapshot(day.parse().unwrap(), source, batches, at)
        .unwrap()
}

fn title(session: &MergeSession, id: &str) -> Vec<Vec<String>> {
    rows(
        session.conn(),
        &format!(
            "SELECT title, last_seen_date::VARCHAR, metadata_date::VARCHAR FROM videos WHERE video_id = '{id}'"
        ),
    )
}

#[test]
fn metadata_left_stale_by_a_replaced_snapshot_is_refreshed_from_the_new_last_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = Warehouse::begin(&wh_path(&dir)).unwrap();
    let day1 = || {
        vec![batch(
            "JP",
            "2026-11-20",
            &[("v", "first title"), ("w", "w")],
        )]
    };
    merge(&mut session, "2026-11-20", day1());
    merge(
        &mut session,
        "2026-11-21",
        vec![batch(
            "JP",
            "2026-11-21",
            &[("v", "second title"), ("w", "w")],
        )],
    );
    assert_eq!(session.stale_metadata_dates().unwrap(), Vec::new());
    // The 21st again, without v: its metadata came from there.
    merge(
        &mut session,
        "2026-11-21",
        vec![batch("JP", "2026-11-21", &[("w", "w")])],
    );
    assert_eq!(
        title(&session, "v"),
        [[
            "Text(\"second title\")",
            "Text(\"2026-11-20\")",
            "Text(\"2026-11-21\")"
        ]]
    );
    let day: NaiveDate = "2026-11-20".parse().unwrap();
    assert_eq!(session.stale_metadata_dates().unwrap(), [day]);
    assert_eq!(session.refresh_metadata(day, day1()).unwrap(), 1, "v alone");
    assert_eq!(
        title(&session, "v"),
        [[
            "Text(\"first title\")",
            "Text(\"2026-11-20\")",
            "Text(\"2026-11-20\")"
        ]]
    );
    assert_eq!(session.stale_metadata_dates().unwrap(), Vec::new());
}

/// The check `query --name` and a named query at the prompt both make (`ready_for`): a
/// `date` the warehouse holds, or exit 2 naming the nearest dates it holds.
#[test]
fn a_named_querys_date_is_checked_against_the_dates_held() {
    use crate::error::Error;
    use crate::queries::named_query;
    let dir = tempfile::tempdir().unwrap();
    let path = wh_path(&dir);
    let mut session = Warehouse::begin(&path).unwrap();
    for day in ["2026-11-20", "2026-11-22"] {
        merge(&mut session, day, vec![batch("JP", day, &[("v", "a")])]);
    }
    session.publish().unwrap();
    let wh = Warehouse::open_read_only(&path).unwrap();
    let day = |s: &str| -> NaiveDate { s.parse().unwrap() };
    assert_eq!(
        wh.held_dates().unwrap().into_iter().collect::<Vec<_>>(),
        [day("2026-11-20"), day("2026-11-22")]
    );
    let ready = |name: &str, params: &[&str], missing| {
        let q = named_query(name).unwrap();
        let given: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        wh.ready_for::<Error>(q, &q.bind(&given).unwrap(), missing)
    };
    let e = ready("top_movers", &["date=2026-11-21"], MissingDate::Refuse).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        format!(
            "the warehouse {} holds no snapshot of 2026-11-21; the nearest dates it holds are \
             2026-11-20 and 2026-11-22 (`trendlake query --name coverage` lists every date \
             held)",
            path.display()
        )
    );
    ready("top_movers", &["date=2026-11-21"], MissingDate::Answer).unwrap();
    ready("top_movers", &["date=2026-11-22"], MissingDate::Refuse).unwrap();
    ready("survival", &[], MissingDate::Refuse).unwrap();
    // No `date` parameter: nothing to check (`from` and `to` are a period's bounds).
    ready("coverage", &["from=2026-11-21"], MissingDate::Refuse).unwrap();
}

/// Naming a script's statement never changes an error's exit code.
#[test]
fn a_statements_position_keeps_the_errors_exit_code() {
    use crate::error::Error;
    let at = Position {
        index: 2,
        count: 3,
        line: 4,
    };
    let path = Path::new("w.duckdb");
    let errors = || {
        [
            WarehouseError::BadQuery {
                path: "w.duckdb".into(),
                message: "Parser Error: syntax error".into(),
                at: None,
            },
            WarehouseError::Refused(statement::Refusal::NotReading {
                word: "GRANT".into(),
            }),
            db_err(path, "run the query")(duckdb::Error::QueryReturnedNoRows),
        ]
    };
    let expected = [
        (
            2,
            "statement 2 of 3 (line 4): the query cannot run on warehouse w.duckdb: Parser \
             Error: syntax error",
        ),
        (
            2,
            "statement 2 of 3 (line 4): trendlake query runs only statements that read \
             (SELECT, WITH … SELECT, FROM …, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, \
             EXPLAIN, PIVOT, UNPIVOT); GRANT is not one; nothing of the script ran",
        ),
        (
            1,
            "statement 2 of 3 (line 4): warehouse w.duckdb: run the query: Query returned no \
             rows",
        ),
    ];
    for ((plain, e), (code, text)) in errors().into_iter().zip(errors()).zip(expected) {
        let plain = Error::from(plain);
        assert_eq!(plain.exit_code(), code, "{plain}");
        let named = e.at(Some(at));
        assert_eq!(named.to_string(), text);
        // Named twice is named once.
        let named = Error::from(named.at(Some(at)));
        assert_eq!(named.exit_code(), code, "{named}");
        assert_eq!(named.to_string(), text);
    }
    for e in errors() {
        let text = e.to_string();
        assert_eq!(
            e.at(None).to_string(),
            text,
            "a script of one names nothing"
        );
    }
}

#[test]
fn a_snapshot_repeating_a_video_in_a_region_is_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = Warehouse::begin(&wh_path(&dir)).unwrap();
    let source = SourceFile {
        path: "p",
        etag: None,
        size: 1,
        content_sha256: "x",
    };
    let error = session
        .merge_snapshot(
            "2026-11-20".parse().unwrap(),
            source,
            vec![batch(
                "JP",
                "2026-11-20",
                &[("v", "a"), ("w", "b"), ("v", "a")],
            )],
            Utc::now(),
        )
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("repeats a video within a region 1 time(s)"),
        "{error}"
    );
    assert_eq!(session.merged_snapshots().unwrap(), Vec::new());
    assert_eq!(
        rows(session.conn(), "SELECT count(*) FROM chart_entries"),
        [["BigInt(0)"]]
    );
}
