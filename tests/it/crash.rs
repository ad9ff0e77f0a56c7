//! Crash consistency: `trendlake run` killed with SIGKILL at each point of a night (during the
//! fetch, while writing raw pages, before the Parquet commit, after it, during the merge), on a
//! local lake and on S3. After every kill the lake and the warehouse read back, `check` names
//! what is incomplete, and a re-run leaves both equal to an uninterrupted night's.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use crate::support::*;

const BEFORE: &str = "2026-11-19";
const NIGHT: &str = "2026-11-20";
const REGIONS: &str = "JP,KR,US";

/// Where one history lives: a lake (a directory or an S3 prefix) and a local warehouse.
struct Place {
    lake: String,
    env: Vec<(String, String)>,
    warehouse: PathBuf,
    _dir: tempfile::TempDir,
}

impl Place {
    fn new(moto: Option<&Moto>, name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (lake, env) = match moto {
            Some(moto) => (moto.lake_url(name), moto.env()),
            None => (dir.path().join("lake").display().to_string(), Vec::new()),
        };
        Self {
            lake,
            env,
            warehouse: dir.path().join("wh.duckdb"),
            _dir: dir,
        }
    }

    fn args(&self, command: &str, base_url: &str, date: &str) -> Vec<String> {
        let mut args: Vec<String> = [command, "--lake", &self.lake, "--warehouse"]
            .map(String::from)
            .to_vec();
        args.push(self.warehouse.display().to_string());
        if command == "run" {
            args.extend(
                [
                    "--api-base-url",
                    base_url,
                    "--date",
                    date,
                    "--regions",
                    REGIONS,
                ]
                .map(String::from),
            );
        }
        args
    }

    async fn run(&self, base_url: &str, date: &str) -> std::process::Output {
        trendlake_env(self.args("run", base_url, date), &env_refs(&self.env)).await
    }

    async fn check(&self) -> std::process::Output {
        trendlake_env(self.args("check", "", ""), &env_refs(&self.env)).await
    }

    /// `run` of `date` stopped at `point` and killed there with SIGKILL.
    fn run_killed_at(&self, base_url: &str, date: &str, point: &str) {
        let mut env = self.env.clone();
        env.push(("TRENDLAKE_PAUSE_AT".into(), point.into()));
        let mut child = command(&self.args("run", base_url, date), &env)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains(&format!("paused at {point}")) => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!(
                    "the run ended before reaching {point}: {:?}; stderr:\n{}",
                    child.wait(),
                    seen.join("\n")
                ),
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    /// Everything a night leaves, minus what differs from run to run (when pages were received,
    /// run ids, file etags): each snapshot's rows, the raw manifests' page lists, the warehouse.
    async fn contents(&self) -> Vec<String> {
        use arrow::util::display::array_value_to_string;
        let lake = open_lake(&self.lake, &self.env);
        let mut out = Vec::new();
        for file in lake.list_snapshots().await.unwrap() {
            let snapshot = lake.read_snapshot(file.date).await.unwrap().unwrap();
            for (region, batch) in snapshot.regions {
                // Timestamps as their integers (arrow's display of a "UTC" zone needs chrono-tz).
                let columns: Vec<(String, arrow::array::ArrayRef)> = batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .filter(|(f, _)| f.name() != "fetched_at")
                    .map(|(f, c)| {
                        let c = match f.data_type() {
                            arrow::datatypes::DataType::Timestamp(..) => {
                                arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).unwrap()
                            }
                            _ => c.clone(),
                        };
                        (f.name().clone(), c)
                    })
                    .collect();
                for row in 0..batch.num_rows() {
                    let mut line = format!("{} {region}", file.date);
                    for (_, column) in &columns {
                        line.push(' ');
                        line.push_str(&array_value_to_string(column, row).unwrap());
                    }
                    out.push(line);
                }
            }
            // The raw pages the commit names (not the run's id, which differs run to run).
            let (lineage, _) = trendlake::commit::lineage_of(&lake, file.date)
                .await
                .unwrap();
            for (region, source) in lineage {
                let (m, _) = trendlake::raw::read_manifest(&lake, &source.manifest)
                    .await
                    .unwrap()
                    .unwrap();
                let pages: Vec<String> = m
                    .pages
                    .iter()
                    .map(|p| format!("{}:{}:{}:{}", p.file, p.items, p.bytes, p.crc32))
                    .collect();
                out.push(format!("raw {} {region} {} {pages:?}", file.date, m.rows));
            }
        }
        for sql in [
            "SELECT snapshot_date, region, video_id, rank, view_count, like_count, comment_count FROM chart_entries ORDER BY ALL",
            "SELECT * EXCLUDE (metadata_date) FROM videos ORDER BY video_id",
            "SELECT snapshot_date, size, row_count, regions FROM merged_snapshots ORDER BY ALL",
        ] {
            for row in warehouse_rows(&self.warehouse, sql) {
                out.push(row.join(" "));
            }
        }
        out
    }
}

/// The points of a night, with the problems `check` must report after a kill there, and those
/// it may report too: raw pages are written a few regions at a time, so when the run stops on
/// one region's first page the others may be anywhere (finished, or mid-write with a staged file
/// left behind).
const POINTS: &[(&str, &[&str], &[&str])] = &[
    ("fetched", &[], &[]),
    (
        "raw",
        &["raw_incomplete"],
        &["raw_uncommitted", "stray_object"],
    ),
    ("raw_written", &["raw_uncommitted"], &[]),
    ("commit", &["raw_uncommitted"], &[]),
    ("committed", &["row_count_mismatch", "not_merged"], &[]),
    ("merge", &["not_merged"], &[]),
];

async fn crash_at_every_point(moto: Option<&Moto>) {
    let api = fake(date(BEFORE), |_| {}).await;
    // The uninterrupted history: BEFORE, then NIGHT.
    let clean = Place::new(moto, "clean");
    assert_exit(&clean.run(&api.base_url(), BEFORE).await, 0);
    api.set_date(date(NIGHT));
    assert_exit(&clean.run(&api.base_url(), NIGHT).await, 0);
    let expected = clean.contents().await;
    assert!(expected.len() > 1200, "{} lines", expected.len());

    for (point, problems, may) in POINTS {
        let place = Place::new(moto, &format!("killed-at-{point}"));
        api.set_date(date(BEFORE));
        assert_exit(&place.run(&api.base_url(), BEFORE).await, 0);
        api.set_date(date(NIGHT));
        let before = place.contents().await;
        place.run_killed_at(&api.base_url(), NIGHT, point);

        // Everything reads back; what was there before the night is untouched.
        let after_kill = place.contents().await;
        let kept: Vec<&String> = after_kill
            .iter()
            .filter(|l| l.starts_with(BEFORE) || l.starts_with(&format!("raw {BEFORE}")))
            .collect();
        let was: Vec<&String> = before
            .iter()
            .filter(|l| l.starts_with(BEFORE) || l.starts_with(&format!("raw {BEFORE}")))
            .collect();
        assert_eq!(kept, was, "killed at {point}: the earlier snapshot changed");

        let out = place.check().await;
        let listed = stdout(&out);
        let mut kinds: Vec<&str> = listed
            .lines()
            .map(|l| l.split(' ').next().unwrap())
            .filter(|k| !may.contains(k))
            .collect();
        kinds.dedup();
        assert_eq!(&kinds, problems, "killed at {point}; check said:\n{listed}");
        assert_exit(&out, if listed.is_empty() { 0 } else { 1 });

        // A re-run finishes the night as if nothing had happened.
        assert_exit(&place.run(&api.base_url(), NIGHT).await, 0);
        assert_eq!(
            place.contents().await,
            expected,
            "killed at {point}, then re-run"
        );
        let out = place.check().await;
        assert_exit(&out, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_anywhere_on_a_local_lake_recovers_on_the_next_run() {
    crash_at_every_point(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_anywhere_on_s3_recovers_on_the_next_run() {
    let moto = Moto::start().await;
    crash_at_every_point(Some(&moto)).await;
}

/// S3 goes away in the middle of a run (after the fetch, before anything is written): the run
/// says which endpoint failed, exits 1, leaves nothing half-written, and the next run succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_stopping_mid_run_is_a_clear_error_and_the_next_run_succeeds() {
    let moto = Moto::start().await;
    let api = fake(date(BEFORE), |_| {}).await;
    let place = Place::new(Some(&moto), "lake");
    assert_exit(&place.run(&api.base_url(), BEFORE).await, 0);
    let keys_before = moto.keys().await;
    let mut before_bytes = std::collections::BTreeMap::new();
    for key in &keys_before {
        before_bytes.insert(key.clone(), moto.get(key).await);
    }
    api.set_date(date(NIGHT));

    let release = place._dir.path().join("go");
    let mut env = place.env.clone();
    env.push(("TRENDLAKE_PAUSE_AT".into(), "fetched".into()));
    env.push((
        "TRENDLAKE_PAUSE_RELEASE".into(),
        release.display().to_string(),
    ));
    // Hung, not refused: the worst case for a client (every request has to time out).
    env.push(("AWS_TIMEOUT".into(), "2s".into()));
    let mut child = command(&place.args("run", &api.base_url(), NIGHT), &env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("paused at fetched") {
            break;
        }
    }
    moto.pause();
    std::fs::write(&release, b"").unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    moto.resume();
    let err = rest.join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(&moto.endpoint()) || err.contains("s3://trendlake/lake"),
        "{err}"
    );
    assert!(err.contains("nothing committed"), "{err}");

    // No snapshot of the night, and the earlier one byte for byte as it was. (A request moto had
    // read when it froze may still land when it resumes: a raw page or the run report, which
    // `check` names and the next run replaces; never a snapshot, which is written last.)
    let snapshots = |keys: Vec<String>| -> Vec<String> {
        keys.into_iter()
            .filter(|k| k.contains("/videos/"))
            .collect()
    };
    let after = snapshots(moto.keys().await);
    assert_eq!(after, snapshots(keys_before.clone()), "{err}");
    for key in &after {
        assert_eq!(moto.get(key).await, before_bytes[key], "{key}");
    }

    assert_exit(&place.run(&api.base_url(), NIGHT).await, 0);
    assert_exit(&place.check().await, 0);
}

/// What a date's commit is: the snapshot's bytes and, per region, the raw pages it names,
/// replayed (every digest on the way checked) into exactly the snapshot's rows.
async fn committed(place: &Place, day: &str) -> (Vec<u8>, trendlake::lake::Lineage) {
    let lake = open_lake(&place.lake, &place.env);
    let snapshot = lake.read_snapshot(date(day)).await.unwrap().unwrap();
    assert_eq!(
        snapshot.lineage.keys().collect::<Vec<_>>(),
        snapshot.regions.keys().collect::<Vec<_>>(),
        "every region names its raw pages"
    );
    for (region, source) in &snapshot.lineage {
        let replayed = trendlake::raw::replay(&lake, source)
            .await
            .unwrap_or_else(|e| panic!("{day} {region}: {e}"));
        assert!(replayed == snapshot.regions[region], "{day} {region}");
    }
    (snapshot.bytes.to_vec(), snapshot.lineage)
}

/// A re-run of an already committed date killed at every point of the night. Before its commit,
/// nothing a reader or `rebuild` uses changes: the committed snapshot, the raw pages it names and
/// the warehouse are as they were and `check` passes. After its commit, the new snapshot names its
/// own complete pages, and `check` asks only for the merge. Either way `rebuild` reproduces the
/// committed rows exactly, even with the snapshot file gone.
async fn rerun_killed_at_every_point(moto: Option<&Moto>) {
    let api = fake(date(BEFORE), |_| {}).await;
    for (point, _, _) in POINTS {
        let place = Place::new(moto, &format!("rerun-{point}"));
        let (before, tables) = two_nights(&place, &api).await;

        // The chart has moved on since: the re-run fetches other numbers.
        api.set_date(date("2026-11-21"));
        place.run_killed_at(&api.base_url(), NIGHT, point);
        let after = committed(&place, NIGHT).await;
        let landed = matches!(*point, "committed" | "merge");
        let out = place.check().await;
        if landed {
            assert!(
                after.0 != before.0,
                "killed at {point}: the re-run's commit landed"
            );
            assert_eq!(
                stdout(&out),
                format!(
                    "not_merged {NIGHT}: the lake file's rows changed since it was merged; run `trendlake merge`\n"
                ),
                "killed at {point}"
            );
            let merged = trendlake_env(place.args("merge", "", ""), &env_refs(&place.env)).await;
            assert_exit(&merged, 0);
            assert_exit(&place.check().await, 0);
        } else {
            assert!(
                after.0 == before.0,
                "killed at {point}: the snapshot changed"
            );
            assert_eq!(after.1, before.1, "killed at {point}: it names other pages");
            assert_eq!(all_tables(&place.warehouse), tables, "killed at {point}");
            assert_exit(&out, 0);
        }

        // rebuild reads exactly the pages the commit names: the same file, nothing rewritten.
        let now = committed(&place, NIGHT).await;
        let env = env_refs(&place.env);
        let rebuild = |extra: &[&str]| {
            let mut args = place.args("rebuild", "", "");
            args.extend(extra.iter().map(|a| a.to_string()));
            trendlake_env(args, &env)
        };
        let out = rebuild(&["--date", NIGHT]).await;
        assert_exit(&out, 0);
        assert!(
            stderr(&out).contains("identical to the snapshot in place"),
            "killed at {point}: {}",
            stderr(&out)
        );
        // And with the file gone, from the pages its commit record names.
        delete_snapshot(&place, moto, NIGHT).await;
        assert_exit(&rebuild(&["--date", NIGHT]).await, 0);
        assert!(
            committed(&place, NIGHT).await == now,
            "killed at {point}: rebuilt byte for byte"
        );
        assert_exit(&place.check().await, 0);
    }
}

/// BEFORE, then NIGHT run at `place`: NIGHT's commit ([`committed`]) and the warehouse's tables.
async fn two_nights(
    place: &Place,
    api: &trendlake_fake_api::FakeApi,
) -> (
    (Vec<u8>, trendlake::lake::Lineage),
    std::collections::BTreeMap<String, Vec<Vec<String>>>,
) {
    for night in [BEFORE, NIGHT] {
        api.set_date(date(night));
        assert_exit(&place.run(&api.base_url(), night).await, 0);
    }
    (committed(place, NIGHT).await, all_tables(&place.warehouse))
}

/// Delete `day`'s snapshot file, as an operator (or a bad sync) might.
async fn delete_snapshot(place: &Place, moto: Option<&Moto>, day: &str) {
    use object_store::ObjectStoreExt;
    let lake = open_lake(&place.lake, &place.env);
    match (lake.local_dir(), moto) {
        (Some(dir), _) => {
            std::fs::remove_file(dir.join(format!("videos/snapshot_date={day}/videos.parquet")))
                .unwrap()
        }
        (None, Some(moto)) => {
            let prefix = place.lake.trim_start_matches(&format!("s3://{BUCKET}/"));
            moto.store()
                .delete(&object_store::path::Path::from(format!(
                    "{prefix}/videos/snapshot_date={day}/videos.parquet"
                )))
                .await
                .unwrap()
        }
        (None, None) => unreachable!("an S3 lake has its server"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_of_a_committed_date_killed_anywhere_on_a_local_lake_changes_nothing_it_names() {
    rerun_killed_at_every_point(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_of_a_committed_date_killed_anywhere_on_s3_changes_nothing_it_names() {
    let moto = Moto::start().await;
    rerun_killed_at_every_point(Some(&moto)).await;
}

/// A re-run of a committed date on S3 whose commit never lands: every conditional put of the
/// snapshot answered `status` (412: another run committed the date, each of the 20 times; 500:
/// S3 failing, retried by object_store). The run exits 1, and nothing a reader or `rebuild` uses
/// changes: the committed snapshot, the pages it names, the warehouse; `check` passes, and
/// `rebuild` reproduces the committed file byte for byte.
async fn a_rerun_whose_commit_never_lands(status: axum::http::StatusCode, puts: u32) {
    use crate::s3_proxy::{ALWAYS, Fault, FaultyS3};
    let moto = Moto::start().await;
    let proxy = FaultyS3::start(&moto).await;
    let api = fake(date(BEFORE), |_| {}).await;
    let mut place = Place::new(Some(&moto), "lake");
    place.env = proxy.env();
    let (before, tables) = two_nights(&place, &api).await;

    api.set_date(date("2026-11-21"));
    let fault = proxy.fail(Fault::conditional_put(
        &format!("snapshot_date={NIGHT}/videos.parquet"),
        status,
        ALWAYS,
    ));
    let out = place.run(&api.base_url(), NIGHT).await;
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("nothing committed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(proxy.failed(fault), puts, "{}", stderr(&out));
    proxy.disarm(fault);

    let after = committed(&place, NIGHT).await;
    assert!(after.0 == before.0, "the committed snapshot changed");
    assert_eq!(after.1, before.1, "it names other pages");
    assert_eq!(all_tables(&place.warehouse), tables);
    assert_exit(&place.check().await, 0);
    let mut rebuild = place.args("rebuild", "", "");
    rebuild.extend(["--date".to_string(), NIGHT.to_string()]);
    let out = trendlake_env(rebuild.clone(), &env_refs(&place.env)).await;
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("identical to the snapshot in place"));
    delete_snapshot(&place, Some(&moto), NIGHT).await;
    assert_exit(&trendlake_env(rebuild, &env_refs(&place.env)).await, 0);
    assert!(
        committed(&place, NIGHT).await.0 == before.0,
        "rebuilt byte for byte"
    );
    assert_eq!(all_tables(&place.warehouse), tables);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_that_loses_its_commit_twenty_times_changes_nothing_it_names() {
    // MAX_COMMIT_ATTEMPTS conditional puts, each lost.
    a_rerun_whose_commit_never_lands(axum::http::StatusCode::PRECONDITION_FAILED, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_whose_commit_meets_an_s3_500_changes_nothing_it_names() {
    // The first put and object_store's 5 retries (`s3_retry` in src/lake/mod.rs).
    a_rerun_whose_commit_never_lands(axum::http::StatusCode::INTERNAL_SERVER_ERROR, 6).await;
}
