//! The lake on its storage backends. One suite of properties, each an `async fn` taking a lake URL
//! and its object_store options, run on a local directory and on S3 (a private moto server per
//! test), as object_store tests its own stores; and proof that moto enforces the conditional puts
//! concurrent S3 commits rely on, so a concurrency test cannot pass on S3 by luck.

use std::collections::BTreeMap;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, UpdateVersion};
use trendlake::commit::unsourced;
use trendlake::lake::{Lineage, codec::encode_snapshot};
use trendlake::record::{Page, region_batch};
use trendlake::youtube::model::{Snippet, Statistics, Video};
use trendlake_fake_api::chart;

use crate::support::*;

/// A lake for one test on one backend: its URL, its options, and what keeps the backend alive.
struct Backend {
    url: String,
    options: Vec<(String, String)>,
    _keep: Keep,
}

enum Keep {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Moto(#[allow(dead_code)] Moto),
}

impl Backend {
    fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: dir.path().join("lake").display().to_string(),
            options: Vec::new(),
            _keep: Keep::Dir(dir),
        }
    }

    async fn s3() -> Self {
        let moto = Moto::start().await;
        Self {
            url: moto.lake_url("some/prefix"),
            options: moto.env(),
            _keep: Keep::Moto(moto),
        }
    }
}

/// Each property as a test per backend: `storage::local::<property>` and `storage::s3::<property>`.
macro_rules! suite {
    ($($property:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $property() {
                    let backend = super::Backend::local();
                    super::$property(&backend.url, &backend.options).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $property() {
                    let backend = super::Backend::s3().await;
                    super::$property(&backend.url, &backend.options).await;
                }
            )*
        }
    };
}

suite!(
    commit_then_read_back,
    list_snapshots_in_date_order,
    replacing_a_region_keeps_the_others_byte_for_byte,
    concurrent_writers_of_a_date_keep_every_region,
    two_snapshot_processes_of_a_date_keep_both_sets,
    tracking_writes_its_file_and_lookups_and_rebuilds_them,
);

/// Two nights of `snapshot` with tracking on (the default): the second night's `tracked` file
/// and the lookups it names are in the lake, local or S3, and rebuild derives the same file.
async fn tracking_writes_its_file_and_lookups_and_rebuilds_them(
    url: &str,
    options: &[(String, String)],
) {
    for day in ["2026-11-20", "2026-11-21"] {
        let api = fake(date(day), |_| {}).await;
        let args = [
            "snapshot",
            "--api-base-url",
            &api.base_url(),
            "--date",
            day,
            "--lake",
            url,
            "--regions",
            "JP,US",
        ];
        let args = args.iter().map(|s| s.to_string()).collect();
        assert_exit(&trendlake_env(args, &env_refs(options)).await, 0);
    }
    let lake = open_lake(url, options);
    let day = date("2026-11-21");
    assert!(
        trendlake::track::read(&lake, date("2026-11-20"))
            .await
            .unwrap()
            .is_none(),
        "nothing to track on the first night"
    );
    let tracked = trendlake::track::read(&lake, day)
        .await
        .unwrap()
        .expect("the second night's tracked file");
    let source = tracked.source.clone().expect("it names its lookups");
    assert!(
        tracked.batch.num_rows() > 50,
        "{} rows",
        tracked.batch.num_rows()
    );
    assert_eq!(source.rows, tracked.batch.num_rows());
    let lookups = lake
        .list_under(&format!("raw/snapshot_date={day}/tracked"))
        .await
        .unwrap();
    let pages = lookups
        .iter()
        .filter(|l| l.parts.last().is_some_and(|f| f.starts_with("page-")))
        .count();
    assert_eq!(pages, tracked.batch.num_rows().div_ceil(50));
    assert!(
        lookups.iter().any(|l| l.parts.join("/") == source.manifest),
        "{lookups:?}"
    );
    // Re-derived from exactly those lookups: the same rows, so the file is left as it was.
    assert_eq!(
        trendlake::track::rebuild(&lake, day).await.unwrap(),
        Some(tracked.batch.num_rows())
    );
    let again = trendlake::track::read(&lake, day).await.unwrap().unwrap();
    assert_eq!(again.content_sha256, tracked.content_sha256);
}

/// `n` videos of `region`: ids `<region>-<i>`, titles `<region> video <i>`, views
/// `1000 × (version + 1) + i`, so each version of a region differs from the others.
fn videos(region: &str, version: u32, n: usize) -> RecordBatch {
    let items = (0..n)
        .map(|i| Video {
            id: format!("{region}-{i}"),
            snippet: Some(Snippet {
                published_at: "2026-11-19T12:00:00Z".into(),
                channel_id: format!("UC{region}"),
                title: format!("{region} video {i}"),
                ..Snippet::default()
            }),
            statistics: Some(Statistics {
                view_count: Some((1000 * (version as usize + 1) + i).to_string()),
                ..Statistics::default()
            }),
            ..Video::default()
        })
        .collect();
    let page = Page {
        offset: 0,
        fetched_at: "2026-11-20T03:00:00Z".parse().unwrap(),
        items,
    };
    region_batch(region, &[page]).unwrap()
}

fn fetched(regions: &[(&str, RecordBatch)]) -> BTreeMap<String, RecordBatch> {
    regions
        .iter()
        .map(|(r, b)| (r.to_string(), b.clone()))
        .collect()
}

/// Commit `regions` (without raw pages) to `day`; must succeed.
async fn commit(
    lake: &trendlake::lake::Lake,
    day: chrono::NaiveDate,
    regions: BTreeMap<String, RecordBatch>,
) -> trendlake::commit::Commit {
    trendlake::commit::commit(lake, day, unsourced(regions), "t")
        .await
        .unwrap()
}

fn names<V>(regions: &BTreeMap<String, V>) -> Vec<&str> {
    regions.keys().map(String::as_str).collect()
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<String> {
    let col = batch.column_by_name(column).unwrap().as_string::<i32>();
    col.iter().map(|v| v.unwrap().to_string()).collect()
}

fn ranks(batch: &RecordBatch) -> Vec<i32> {
    let col = batch.column_by_name("rank").unwrap();
    col.as_primitive::<Int32Type>().values().to_vec()
}

fn views(batch: &RecordBatch) -> Vec<i64> {
    let col = batch.column_by_name("view_count").unwrap();
    col.as_primitive::<Int64Type>()
        .iter()
        .map(Option::unwrap)
        .collect()
}

async fn commit_then_read_back(url: &str, options: &[(String, String)]) {
    let lake = open_lake(url, options);
    let day = date("2026-11-20");
    assert!(lake.read_snapshot(day).await.unwrap().is_none());
    assert!(lake.snapshot_regions(day).await.unwrap().is_empty());

    let written = fetched(&[("US", videos("US", 0, 2)), ("JP", videos("JP", 0, 3))]);
    let first = commit(&lake, day, written.clone()).await;
    assert_eq!(first.rows, 5);
    assert!(first.regions_kept.is_empty(), "{:?}", first.regions_kept);
    assert!(!first.unchanged);
    assert!(
        first
            .path
            .ends_with("/videos/snapshot_date=2026-11-20/videos.parquet"),
        "{}",
        first.path
    );

    // A second Lake (its own client) reads exactly what the first wrote.
    let snapshot = open_lake(url, options)
        .read_snapshot(day)
        .await
        .unwrap()
        .expect("the committed snapshot");
    assert_eq!(snapshot.bytes.len(), first.bytes);
    assert_eq!(snapshot.meta.size, first.bytes as u64);
    assert_eq!(snapshot.meta.location, lake.snapshot_path(day));
    assert_eq!(names(&snapshot.regions), ["JP", "US"]);
    let (jp, us) = (&snapshot.regions["JP"], &snapshot.regions["US"]);
    assert_eq!(jp, &written["JP"]);
    assert_eq!(us, &written["US"]);
    assert_eq!(strings(jp, "region"), ["JP", "JP", "JP"]);
    assert_eq!(ranks(jp), [1, 2, 3]);
    assert_eq!(strings(jp, "video_id"), ["JP-0", "JP-1", "JP-2"]);
    assert_eq!(
        strings(jp, "title"),
        ["JP video 0", "JP video 1", "JP video 2"]
    );
    assert_eq!(strings(jp, "channel_id"), ["UCJP", "UCJP", "UCJP"]);
    assert_eq!(views(jp), [1000, 1001, 1002]);
    assert_eq!(strings(us, "video_id"), ["US-0", "US-1"]);
    assert_eq!(ranks(us), [1, 2]);
    assert_eq!(views(us), [1000, 1001]);
    assert_eq!(lake.snapshot_regions(day).await.unwrap(), ["JP", "US"]);
    assert!(
        lake.read_snapshot(date("2026-11-21"))
            .await
            .unwrap()
            .is_none()
    );

    // The same regions again: nothing to write, and nothing written.
    let again = commit(&lake, day, written).await;
    assert!(again.unchanged);
    assert_eq!(again.rows, 5);
    assert_eq!(again.bytes, first.bytes);
    let after = lake.read_snapshot(day).await.unwrap().unwrap();
    assert_eq!(after.bytes, snapshot.bytes);
    assert_eq!(after.meta.e_tag, snapshot.meta.e_tag);
    assert_eq!(after.meta.last_modified, snapshot.meta.last_modified);
}

async fn list_snapshots_in_date_order(url: &str, options: &[(String, String)]) {
    let lake = open_lake(url, options);
    assert!(lake.list_snapshots().await.unwrap().is_empty());
    for day in ["2026-11-21", "2025-12-31", "2026-11-20", "2026-02-03"] {
        commit(&lake, date(day), fetched(&[("JP", videos("JP", 0, 1))])).await;
    }
    // A run report is in the lake too, but it is not a snapshot.
    lake.write_run_report(date("2026-11-20"), "run-1", b"{}".to_vec())
        .await
        .unwrap();

    let listed = open_lake(url, options).list_snapshots().await.unwrap();
    let dates: Vec<String> = listed.iter().map(|f| f.date.to_string()).collect();
    assert_eq!(
        dates,
        ["2025-12-31", "2026-02-03", "2026-11-20", "2026-11-21"]
    );
    for file in &listed {
        assert_eq!(file.meta.location, lake.snapshot_path(file.date));
        let snapshot = lake.read_snapshot(file.date).await.unwrap().unwrap();
        assert_eq!(file.meta.size, snapshot.bytes.len() as u64);
    }
}

async fn replacing_a_region_keeps_the_others_byte_for_byte(
    url: &str,
    options: &[(String, String)],
) {
    let lake = open_lake(url, options);
    let day = date("2026-11-20");
    commit(
        &lake,
        day,
        fetched(&[
            ("GB", videos("GB", 0, 2)),
            ("JP", videos("JP", 0, 3)),
            ("US", videos("US", 0, 4)),
        ]),
    )
    .await;
    let before = lake.read_snapshot(day).await.unwrap().unwrap();

    let commit = commit(
        &open_lake(url, options),
        day,
        fetched(&[("JP", videos("JP", 1, 5))]),
    )
    .await;
    assert_eq!(commit.regions_kept, ["GB", "US"]);
    assert_eq!(commit.rows, 2 + 5 + 4);
    assert!(!commit.unchanged);

    let after = lake.read_snapshot(day).await.unwrap().unwrap();
    assert_eq!(names(&after.regions), ["GB", "JP", "US"]);
    assert_eq!(after.regions["JP"], videos("JP", 1, 5));
    assert_eq!(views(&after.regions["JP"]), [2000, 2001, 2002, 2003, 2004]);
    for kept in ["GB", "US"] {
        assert_eq!(after.regions[kept], before.regions[kept], "{kept}");
        // Byte for byte: the region alone encodes to the same file before and after.
        assert_eq!(
            encode_snapshot([&after.regions[kept]], &Lineage::new())
                .unwrap()
                .bytes,
            encode_snapshot([&before.regions[kept]], &Lineage::new())
                .unwrap()
                .bytes,
            "{kept}"
        );
    }
    assert_eq!(views(&after.regions["US"]), [1000, 1001, 1002, 1003]);
}

/// Eight writers, each its own `Lake` (its own client, as separate runs would be), commit one
/// region each of the same date at once, three rounds over: every region survives every round,
/// with that round's rows. Each commit is a read-modify-write of one file, so this holds only if
/// commits of a date exclude each other (a lock locally; conditional puts with retry on S3).
async fn concurrent_writers_of_a_date_keep_every_region(url: &str, options: &[(String, String)]) {
    const REGIONS: [&str; 8] = ["GB", "HK", "JP", "KR", "SG", "TH", "TW", "US"];
    let day = date("2026-11-20");
    for round in 0..3 {
        let mut writers = tokio::task::JoinSet::new();
        for (i, region) in REGIONS.into_iter().enumerate() {
            let (url, options) = (url.to_string(), options.to_vec());
            writers.spawn(async move {
                let lake = open_lake(&url, &options);
                trendlake::commit::commit(
                    &lake,
                    day,
                    unsourced(fetched(&[(region, videos(region, round, i + 1))])),
                    "t",
                )
                .await
                .unwrap_or_else(|e| panic!("round {round}, {region}: {e}"))
            });
        }
        while let Some(commit) = writers.join_next().await {
            assert!(
                !commit.unwrap().unchanged,
                "every commit changes its region"
            );
        }
        let snapshot = open_lake(url, options)
            .read_snapshot(day)
            .await
            .unwrap()
            .expect("a snapshot");
        assert_eq!(
            names(&snapshot.regions),
            REGIONS,
            "round {round}: regions lost to concurrent commits"
        );
        for (i, region) in REGIONS.into_iter().enumerate() {
            assert_eq!(
                snapshot.regions[region],
                videos(region, round, i + 1),
                "round {round}: {region} holds this round's rows"
            );
        }
    }
}

/// Two real `trendlake snapshot` processes with disjoint regions of the same date, at once, on
/// three dates: both sets of regions are in each date's file, as the fake API served them.
async fn two_snapshot_processes_of_a_date_keep_both_sets(url: &str, options: &[(String, String)]) {
    let sets = ["JP,KR,TW,SG", "VN,TH,HK,US,GB"];
    let mut all: Vec<&str> = sets.iter().flat_map(|s| s.split(',')).collect();
    all.sort();
    for day in ["2026-11-20", "2026-11-21", "2026-11-22"] {
        let api = fake(date(day), |_| {}).await;
        let run = |regions: &str| {
            let args = [
                "snapshot",
                "--api-base-url",
                &api.base_url(),
                "--date",
                day,
                "--lake",
                url,
                "--regions",
                regions,
            ];
            let args = args.iter().map(|s| s.to_string()).collect();
            async move { trendlake_env(args, &env_refs(options)).await }
        };
        let (a, b) = tokio::join!(run(sets[0]), run(sets[1]));
        assert_exit(&a, 0);
        assert_exit(&b, 0);

        let snapshot = open_lake(url, options)
            .read_snapshot(date(day))
            .await
            .unwrap()
            .expect("a snapshot");
        assert_eq!(
            names(&snapshot.regions),
            all,
            "{day}: one run's regions were lost\nfirst run:\n{}\nsecond run:\n{}",
            stderr(&a),
            stderr(&b)
        );
        for region in &all {
            let batch = &snapshot.regions[*region];
            let expected: Vec<String> = chart(SEED, region, date(day))
                .into_iter()
                .map(|v| v.id)
                .collect();
            assert_eq!(strings(batch, "video_id"), expected, "{day} {region}");
            assert_eq!(ranks(batch), (1..=200).collect::<Vec<i32>>());
        }
    }
}

/// moto refuses a create over an existing object and an update from a stale version, as S3
/// does, through object_store's own `put_opts`; its ETag is the quoted MD5 of the content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_enforces_conditional_puts() {
    let moto = Moto::start().await;
    let store = moto.store();
    let path = Path::from("probe/object");

    let one = store
        .put_opts(
            &path,
            PutPayload::from_static(b"one"),
            PutMode::Create.into(),
        )
        .await
        .unwrap();
    assert_eq!(
        one.e_tag.as_deref(),
        Some("\"f97c5d29941bfb1b2fdab0874906ab82\""),
        "MD5 of \"one\", quoted"
    );
    assert_eq!(one.version, None, "the bucket is not versioned");
    let error = store
        .put_opts(
            &path,
            PutPayload::from_static(b"two"),
            PutMode::Create.into(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, object_store::Error::AlreadyExists { .. }),
        "{error:?}"
    );
    assert_eq!(moto.get("probe/object").await, "one");

    let two = store
        .put_opts(
            &path,
            PutPayload::from_static(b"two"),
            PutMode::Update(one.clone().into()).into(),
        )
        .await
        .unwrap();
    assert_eq!(moto.get("probe/object").await, "two");
    let error = store
        .put_opts(
            &path,
            PutPayload::from_static(b"stale"),
            PutMode::Update(one.clone().into()).into(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, object_store::Error::Precondition { .. }),
        "{error:?}"
    );
    assert_eq!(moto.get("probe/object").await, "two");
    store
        .put_opts(
            &path,
            PutPayload::from_static(b"three"),
            PutMode::Update(two.into()).into(),
        )
        .await
        .unwrap();
    assert_eq!(moto.get("probe/object").await, "three");

    // Updating an object that is not there fails the precondition too (object_store maps S3's
    // 404 to it), and creates nothing.
    let error = store
        .put_opts(
            &Path::from("probe/missing"),
            PutPayload::from_static(b"x"),
            PutMode::Update(UpdateVersion {
                e_tag: one.e_tag,
                version: None,
            })
            .into(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, object_store::Error::Precondition { .. }),
        "{error:?}"
    );
    assert_eq!(moto.keys().await, ["probe/object"]);
}

/// Conditional puts hold under contention too: of eight clients updating from the same version
/// at once, exactly one wins and its body is what is stored, round after round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_lets_one_of_concurrent_conditional_puts_win() {
    let moto = Moto::start().await;
    let path = Path::from("probe/contended");
    for round in 0..5 {
        let base = moto
            .store()
            .put(&path, format!("base {round}").into())
            .await
            .unwrap();
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..8 {
            let (store, path) = (moto.store(), path.clone());
            let mode = PutMode::Update(base.clone().into());
            writers.spawn(async move {
                let body = format!("round {round}, writer {writer}");
                let put = store
                    .put_opts(&path, body.clone().into(), mode.into())
                    .await;
                (body, put)
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = writers.join_next().await {
            match joined.unwrap() {
                (body, Ok(_)) => winners.push(body),
                (_, Err(object_store::Error::Precondition { .. })) => {}
                (body, Err(e)) => panic!("{body}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(moto.get("probe/contended").await, winners[0]);
    }
}

/// The harness: the server can be paused (requests hang) and resumed, and killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_can_be_paused_resumed_and_killed() {
    let mut moto = Moto::start().await;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(http.get(moto.endpoint()).send().await.is_ok());
    moto.pause();
    let error = http.get(moto.endpoint()).send().await.unwrap_err();
    assert!(
        error.is_timeout(),
        "a paused server does not answer: {error:?}"
    );
    moto.resume();
    assert!(http.get(moto.endpoint()).send().await.is_ok());
    moto.kill();
    let error = http.get(moto.endpoint()).send().await.unwrap_err();
    assert!(error.is_connect(), "a killed server refuses: {error:?}");
}
