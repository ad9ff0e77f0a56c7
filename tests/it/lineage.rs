//! Lineage an operator cannot break: raw pages, snapshots and the warehouse agree
//! whatever an operator or a failure does between two runs. Each scenario runs the real binary
//! against the fake API, on a local lake and, where storage is involved, on S3 (moto).

use std::path::{Path, PathBuf};

use crate::support::*;

const D1: &str = "2026-11-18";
const D2: &str = "2026-11-19";
const D3: &str = "2026-11-20";
const D4: &str = "2026-11-21";
const D5: &str = "2026-11-22";

/// `merge` of `lake` into `warehouse`; must succeed. Returns stderr.
async fn merge_into(lake: &str, warehouse: &Path, env: &[(String, String)]) -> String {
    let out = lake_command(lake, warehouse, "merge", &[], env).await;
    assert_exit(&out, 0);
    stderr(&out)
}

/// `run` of `day`'s `regions` from the fake at `api` into `lake` and `warehouse`, then `extra`.
async fn run_at(
    lake: &str,
    warehouse: &Path,
    api: &trendlake_fake_api::FakeApi,
    (day, regions): (&str, &str),
    extra: &[&str],
    env: &[(String, String)],
) -> std::process::Output {
    let base = api.base_url();
    let mut args = vec!["--api-base-url", &base, "--date", day, "--regions", regions];
    args.extend(extra);
    lake_command(lake, warehouse, "run", &args, env).await
}

/// Nights of `regions` run into the scratch's lake and warehouse, each must succeed.
async fn nights(s: &Scratch, api: &trendlake_fake_api::FakeApi, days: &[&str], regions: &str) {
    for day in days {
        api.set_date(date(day));
        assert_exit(
            &s.run(&api.base_url(), day, &["--regions", regions]).await,
            0,
        );
    }
}

fn entries(warehouse: &Path) -> String {
    warehouse_rows(warehouse, "SELECT count(*) FROM chart_entries")[0][0].clone()
}

/// Copy every file under `from` to the same place under `to`: new inodes and times, the bytes
/// alone kept (as `cp -r`, a restore from backup or an rsync without -t would).
fn copy_tree(from: &Path, to: &Path) {
    for (path, bytes) in tree(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_swapped_in_or_restored_by_hand_is_never_merged_onto_the_old_standby() {
    let api = fake(date(D1), |_| {}).await;
    let s = Scratch::new();
    nights(&s, &api, &[D1, D2, D3], "JP,KR,US,GB").await;
    assert_eq!(entries(&s.warehouse()), "BigInt(2400)");
    let standby = PathBuf::from(format!("{}.standby", s.warehouse().display()));
    assert!(standby.exists(), "the last night's merge left a standby");

    // The operator deletes a bad night from the lake, builds a fresh warehouse from it and moves
    // it into place. The standby beside it still holds the deleted night.
    std::fs::remove_dir_all(s.lake().join(format!("videos/snapshot_date={D2}"))).unwrap();
    let new = s.dir.path().join("new.duckdb");
    merge_into(&s.lake().display().to_string(), &new, &[]).await;
    assert_eq!(entries(&new), "BigInt(1600)");
    std::fs::rename(&new, s.warehouse()).unwrap();
    for night in [D4, D5] {
        nights(&s, &api, &[night], "JP,KR,US,GB").await;
        let fresh = s.dir.path().join(format!("fresh-{night}.duckdb"));
        merge_into(&s.lake().display().to_string(), &fresh, &[]).await;
        assert_eq!(
            all_tables(&s.warehouse()),
            all_tables(&fresh),
            "after {night}: the warehouse is what a fresh merge of the lake gives"
        );
    }
    assert_eq!(entries(&s.warehouse()), "BigInt(3200)");

    // A warehouse restored from a backup: its parent is no standby's generation either.
    let backup = s.dir.path().join("backup.duckdb");
    std::fs::copy(s.warehouse(), &backup).unwrap();
    nights(&s, &api, &["2026-11-23"], "JP,KR,US,GB").await;
    std::fs::copy(&backup, s.warehouse()).unwrap();
    std::fs::remove_dir_all(s.lake().join(format!("videos/snapshot_date={D4}"))).unwrap();
    nights(&s, &api, &["2026-11-24"], "JP,KR,US,GB").await;
    let fresh = s.dir.path().join("fresh-restored.duckdb");
    merge_into(&s.lake().display().to_string(), &fresh, &[]).await;
    assert_eq!(all_tables(&s.warehouse()), all_tables(&fresh));
    assert_eq!(entries(&s.warehouse()), "BigInt(4000)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_lake_merges_nothing_new_and_a_changed_snapshot_is_still_noticed() {
    let api = fake(date(D1), |_| {}).await;
    let s = Scratch::new();
    nights(&s, &api, &[D1, D2, D3], "JP,KR").await;
    let published = std::fs::read(s.warehouse()).unwrap();

    // A copy: every file new to the store (inode, mtime: another ETag), the same bytes.
    let copy = s.dir.path().join("copy");
    copy_tree(&s.lake(), &copy);
    let copy_url = copy.display().to_string();
    let err = merge_into(&copy_url, &s.warehouse(), &[]).await;
    assert!(
        err.contains("merged 0 snapshot(s), 0 chart entries; 3 already up to date"),
        "{err}"
    );
    assert!(
        std::fs::read(s.warehouse()).unwrap() == published,
        "the warehouse was not even rewritten"
    );

    // Synced to S3: another store, other ETags.
    let moto = Moto::start().await;
    let store = moto.store();
    for (path, bytes) in tree(&s.lake()) {
        use object_store::ObjectStoreExt;
        let key = format!("synced/{}", path.strip_prefix(s.lake()).unwrap().display());
        store
            .put(&object_store::path::Path::from(key), bytes.into())
            .await
            .unwrap();
    }
    let err = merge_into(&moto.lake_url("synced"), &s.warehouse(), &moto.env()).await;
    assert!(err.contains("merged 0 snapshot(s)"), "{err}");
    assert!(std::fs::read(s.warehouse()).unwrap() == published);

    // A changed snapshot in the copy is noticed: a re-run of D3 there adds US.
    api.set_date(date(D3));
    let out = run_at(&copy_url, &s.warehouse(), &api, (D3, "US"), &[], &[]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("merged 1 snapshot(s), 600 chart entries"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(&s.warehouse()), "BigInt(1400)");
}

/// A snapshot's bytes rewritten as a trendlake of schema version `version` would write them
/// (version 1: the columns before `chart_category`, which a general-chart-only file can drop).
fn with_version(snapshot: &[u8], version: &str) -> Vec<u8> {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(snapshot.to_vec()))
        .unwrap()
        .build()
        .unwrap();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "trendlake.schema_version".into(),
            version.to_string(),
        )]))
        .build();
    let schema = match version {
        "1" => trendlake::record::schema_v1(),
        _ => trendlake::record::schema(),
    };
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props)).unwrap();
    for batch in reader {
        let batch = batch.unwrap();
        let columns = batch.columns()[..schema.fields().len()].to_vec();
        let batch = arrow::array::RecordBatch::try_new(schema.clone(), columns).unwrap();
        writer.write(&batch).unwrap();
    }
    writer.close().unwrap();
    out
}

/// One scenario's lake: a directory, or a prefix of a [`Moto`] server, with the scratch's
/// warehouse.
struct At<'a> {
    lake: String,
    env: Vec<(String, String)>,
    s: &'a Scratch,
}

impl<'a> At<'a> {
    fn local(s: &'a Scratch) -> Self {
        Self {
            lake: s.lake().display().to_string(),
            env: Vec::new(),
            s,
        }
    }

    fn s3(s: &'a Scratch, moto: &Moto) -> Self {
        Self {
            lake: moto.lake_url("lake"),
            env: moto.env(),
            s,
        }
    }

    async fn cmd(&self, command: &str, extra: &[&str]) -> std::process::Output {
        lake_command(&self.lake, &self.s.warehouse(), command, extra, &self.env).await
    }

    async fn run(
        &self,
        api: &trendlake_fake_api::FakeApi,
        day: &str,
        regions: &str,
        extra: &[&str],
    ) -> std::process::Output {
        run_at(
            &self.lake,
            &self.s.warehouse(),
            api,
            (day, regions),
            extra,
            &self.env,
        )
        .await
    }

    async fn objects(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        lake_objects(&self.lake, &self.env).await
    }

    /// Replace the object at `key` (relative to the lake's root).
    async fn put(&self, key: &str, bytes: Vec<u8>) {
        use object_store::ObjectStoreExt;
        match self.lake.strip_prefix(&format!("s3://{BUCKET}/")) {
            Some(prefix) => {
                let store = self.env.iter().fold(
                    object_store::aws::AmazonS3Builder::new().with_bucket_name(BUCKET),
                    |b, (k, v)| b.with_config(k.to_ascii_lowercase().parse().unwrap(), v),
                );
                let path = object_store::path::Path::from(format!("{prefix}/{key}"));
                store
                    .build()
                    .unwrap()
                    .put(&path, bytes.into())
                    .await
                    .unwrap();
            }
            None => std::fs::write(Path::new(&self.lake).join(key), bytes).unwrap(),
        }
    }

    /// Where the user finds `key` (as messages name it).
    fn shown(&self, key: &str) -> String {
        match self.lake.starts_with("s3://") {
            true => format!("{}/{key}", self.lake),
            false => Path::new(&self.lake).join(key).display().to_string(),
        }
    }
}

async fn a_newer_snapshot_or_manifest_is_refused_and_left_alone(at: At<'_>) {
    let api = fake(date(D3), |_| {}).await;
    assert_exit(&at.run(&api, D3, "JP,KR", &[]).await, 0);
    let key = format!("videos/snapshot_date={D3}/videos.parquet");
    let good = at.objects().await[&key].clone();
    at.put(&key, with_version(&good, "3")).await;
    let before = at.objects().await;
    let wh = std::fs::read(at.s.warehouse()).unwrap();
    let requests = api.requests();

    let shown = at.shown(&key);
    let base = api.base_url();
    let run = |extra: &[&'static str]| {
        let mut args = vec!["--api-base-url", base.as_str(), "--date", D3];
        args.extend(extra);
        args
    };
    for (command, extra) in [
        ("run", run(&["--regions", "JP,KR"])),
        ("run", run(&["--only-missing"])),
        ("merge", vec![]),
        ("rebuild", vec!["--date", D3]),
        ("check", vec![]),
    ] {
        let out = at.cmd(command, &extra).await;
        assert_exit(&out, 2);
        let err = stderr(&out);
        for needle in [
            shown.as_str(),
            "schema version 3",
            "newer than 2",
            "upgrade trendlake",
        ] {
            assert!(err.contains(needle), "{command}: {needle:?} in {err}");
        }
        assert!(at.objects().await == before, "{command} changed the lake");
        assert!(
            std::fs::read(at.s.warehouse()).unwrap() == wh,
            "{command} changed the warehouse"
        );
    }
    assert_eq!(api.requests(), requests, "no request was spent");

    // A raw manifest of a newer format, named by the snapshot: refused too.
    at.put(&key, good.clone()).await;
    let lineage = trendlake::lake::codec::decode_snapshot(good.into())
        .unwrap()
        .lineage;
    let manifest = &lineage["KR"].manifest;
    let mut json: serde_json::Value = serde_json::from_slice(&before[manifest]).unwrap();
    json["format"] = 3.into();
    at.put(manifest, serde_json::to_vec(&json).unwrap()).await;
    let before = at.objects().await;
    for (command, extra) in [
        ("run", run(&["--regions", "JP"])),
        ("rebuild", vec!["--date", D3]),
        ("check", vec![]),
    ] {
        let out = at.cmd(command, &extra).await;
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(&at.shown(manifest)), "{command}: {err}");
        assert!(err.contains("manifest format 3"), "{command}: {err}");
        assert!(err.contains("upgrade trendlake"), "{command}: {err}");
        assert!(at.objects().await == before, "{command} changed the lake");
    }
    assert_eq!(api.requests(), requests, "no request was spent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_snapshot_or_manifest_is_refused_and_left_alone_on_a_local_lake() {
    let s = Scratch::new();
    a_newer_snapshot_or_manifest_is_refused_and_left_alone(At::local(&s)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_snapshot_or_manifest_is_refused_and_left_alone_on_s3() {
    let (s, moto) = (Scratch::new(), Moto::start().await);
    a_newer_snapshot_or_manifest_is_refused_and_left_alone(At::s3(&s, &moto)).await;
}

async fn only_missing_over_a_torn_snapshot_restores_what_it_can_and_fetches_the_rest(at: At<'_>) {
    let api = fake(date(D3), |_| {}).await;
    assert_exit(&at.run(&api, D3, "JP,KR", &[]).await, 0);
    let key = format!("videos/snapshot_date={D3}/videos.parquet");
    let good = at.objects().await[&key].clone();
    at.put(&key, good[..good.len() / 3].to_vec()).await;
    let requests = api.requests();

    let out = at.run(&api, D3, "JP,KR,US", &["--only-missing"]).await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("moved it aside"), "{err}");
    assert!(err.contains("fetching the missing regions US"), "{err}");
    // JP and KR came back from their raw pages: only US was fetched (4 pages).
    assert_eq!(api.requests() - requests, 4);
    let objects = at.objects().await;
    let held = |bytes: &[u8]| {
        trendlake::lake::codec::decode_snapshot(bytes.to_vec().into())
            .unwrap()
            .regions
    };
    let (now, was) = (held(&objects[&key]), held(&good));
    assert_eq!(now.keys().collect::<Vec<_>>(), ["JP", "KR", "US"]);
    assert!(
        now["JP"] == was["JP"] && now["KR"] == was["KR"],
        "JP and KR exactly as committed"
    );
    let aside: Vec<&String> = objects
        .keys()
        .filter(|k| k.starts_with("_quarantine/"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(objects[aside[0]] == good[..good.len() / 3]);
    assert_eq!(entries(&at.s.warehouse()), "BigInt(600)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_missing_over_a_torn_snapshot_on_a_local_lake() {
    let s = Scratch::new();
    only_missing_over_a_torn_snapshot_restores_what_it_can_and_fetches_the_rest(At::local(&s))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_missing_over_a_torn_snapshot_on_s3() {
    let (s, moto) = (Scratch::new(), Moto::start().await);
    only_missing_over_a_torn_snapshot_restores_what_it_can_and_fetches_the_rest(At::s3(&s, &moto))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replays_of_a_simulated_night_keep_both_run_reports() {
    // `demo` runs each night on a fixed clock, as two containers started in the same second
    // would share a clock (and a PID): the run ids must still differ.
    let s = Scratch::new();
    for _ in 0..2 {
        let out = trendlake(
            [
                "demo",
                "--days",
                "1",
                "--date",
                D3,
                "--regions",
                "JP",
                "--dir",
                &s.dir.path().display().to_string(),
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        assert_exit(&out, 0);
    }
    let runs: Vec<String> =
        std::fs::read_dir(s.dir.path().join(format!("lake/_runs/snapshot_date={D3}")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let raw: Vec<_> = std::fs::read_dir(
        s.dir
            .path()
            .join(format!("lake/raw/snapshot_date={D3}/region=JP")),
    )
    .unwrap()
    .filter(|e| {
        // `demo` fetches category charts too: their directories sit beside the runs'.
        let e = e.as_ref().unwrap();
        e.file_name().to_string_lossy().starts_with("run=")
    })
    .collect();
    assert_eq!(
        raw.len(),
        2,
        "each run archived into a directory of its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_on_s3_carries_its_content_type() {
    let moto = Moto::start().await;
    let api = fake(date(D3), |_| {}).await;
    let s = Scratch::new();
    let lake = moto.lake_url("typed");
    let out = run_at(
        &lake,
        &s.warehouse(),
        &api,
        (D3, "JP"),
        &["--report"],
        &moto.env(),
    )
    .await;
    assert_exit(&out, 0);
    // HeadObject by the AWS SDK (boto3, from the virtualenv moto comes with), signed as a browser
    // or CDN in front of the bucket would be served.
    let heads = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", HEAD_OBJECTS, &moto.endpoint(), BUCKET])
        .output()
        .unwrap();
    assert!(
        heads.status.success(),
        "{}",
        String::from_utf8_lossy(&heads.stderr)
    );
    let mut seen = std::collections::BTreeMap::new();
    for line in String::from_utf8(heads.stdout).unwrap().lines() {
        let (key, kind) = line.split_once('\t').unwrap();
        let what = match key.rsplit('/').next().unwrap() {
            "videos.parquet" => "snapshot",
            "report.html" | "index.html" => "html",
            "manifest.json" => "manifest",
            f if f.ends_with(".json.gz") => "page",
            _ if key.contains("/_runs/") => "run report",
            _ if key.contains("/_commits/") => "commit record",
            other => panic!("unexpected object {other}"),
        };
        let previous = seen.insert(what, kind.to_string());
        assert!(
            previous.as_deref().is_none_or(|p| p == kind),
            "{key}: {kind}, another {what} had {previous:?}"
        );
    }
    assert_eq!(
        seen,
        [
            ("commit record", "application/json"),
            ("html", "text/html; charset=utf-8"),
            ("manifest", "application/json"),
            ("page", "application/gzip"),
            ("run report", "application/json"),
            ("snapshot", "application/vnd.apache.parquet"),
        ]
        .map(|(a, b)| (a, b.to_string()))
        .into_iter()
        .collect()
    );
}

/// Every key of a bucket and its `Content-Type`, as HeadObject gives it (argv: endpoint, bucket).
const HEAD_OBJECTS: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="test",
                  aws_secret_access_key="test", region_name="us-east-1")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]):
    for o in page.get("Contents", []):
        head = s3.head_object(Bucket=sys.argv[2], Key=o["Key"])
        print(o["Key"] + "\t" + head["ContentType"])
"#;

/// A date forgotten: everything the lake held of it under `_trash/`, its report gone from the
/// index, the warehouse without it and equal to a fresh merge of the lake.
async fn forget_a_date(lake: String, env: Vec<(String, String)>, s: &Scratch) {
    let api = fake(date(D1), |_| {}).await;
    let warehouse = s.warehouse();
    for day in [D1, D2, D3] {
        api.set_date(date(day));
        let out = run_at(&lake, &warehouse, &api, (day, "JP,KR"), &["--report"], &env).await;
        assert_exit(&out, 0);
    }
    let out = lake_command(&lake, &warehouse, "forget", &["--date", D2], &env).await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("removed 1 date(s) the lake no longer holds: {D2}")),
        "{err}"
    );
    assert!(err.contains("_trash/"), "{err}");

    let objects = lake_objects(&lake, &env).await;
    let outside: Vec<&String> = objects
        .keys()
        .filter(|k| k.contains(D2) && !k.starts_with("_trash/"))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
    for part in ["videos/", "raw/", "_runs/", "_commits/", "_reports/"] {
        assert!(
            objects
                .keys()
                .any(|k| k.starts_with("_trash/")
                    && k.contains(&format!("/{part}snapshot_date={D2}"))),
            "{part} of {D2} in the trash: {:?}",
            objects.keys()
        );
    }
    let html = String::from_utf8(objects["_reports/index.html"].clone()).unwrap();
    assert!(html.contains(D1) && html.contains(D3), "{html}");
    assert!(!html.contains(D2), "{html}");

    let fresh = s.dir.path().join("fresh.duckdb");
    merge_into(&lake, &fresh, &env).await;
    assert_eq!(all_tables(&warehouse), all_tables(&fresh));
    assert_eq!(entries(&warehouse), "BigInt(800)");
    let out = lake_command(&lake, &warehouse, "check", &[], &env).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("1 trash folder(s)"),
        "{}",
        stderr(&out)
    );
    // Pruned once past the grace period (here none); kept before it.
    let prune = |hours: &'static str| {
        let (lake, warehouse, env) = (&lake, &warehouse, &env);
        async move {
            let extra = ["--prune", "--grace-hours", hours];
            lake_command(lake, warehouse, "check", &extra, env).await
        }
    };
    let out = prune("1").await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("pruned 0 item(s), 0 KiB; kept 1"),
        "{}",
        stderr(&out)
    );
    let out = prune("0").await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("pruned 1 item(s)"),
        "{}",
        stderr(&out)
    );
    let left = lake_objects(&lake, &env).await;
    assert!(
        left.keys().all(|k| !k.starts_with("_trash/")),
        "{:?}",
        left.keys()
    );
    assert_eq!(
        left.len(),
        objects.len() - objects.keys().filter(|k| k.starts_with("_trash/")).count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_moves_a_date_aside_and_the_warehouse_follows_on_a_local_lake() {
    let s = Scratch::new();
    forget_a_date(s.lake().display().to_string(), Vec::new(), &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_moves_a_date_aside_and_the_warehouse_follows_on_s3() {
    let moto = Moto::start().await;
    let s = Scratch::new();
    forget_a_date(moto.lake_url("forget"), moto.env(), &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_removes_a_date_deleted_from_the_lake_and_says_so() {
    let api = fake(date(D1), |_| {}).await;
    let s = Scratch::new();
    nights(&s, &api, &[D1, D2], "JP").await;
    std::fs::remove_file(s.snapshot_file(D1)).unwrap();
    let out = s.cmd("merge", &[]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&format!("removed 1 date(s) the lake no longer holds: {D1}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(&s.warehouse()), "BigInt(200)");
    // A lake holding none of the warehouse's dates is refused, not emptied into it.
    let other = Scratch::new();
    nights(&other, &api, &[D3], "JP").await;
    let other_lake = other.lake().display().to_string();
    let out = lake_command(&other_lake, &s.warehouse(), "merge", &[], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("holds none of the 1 snapshot date(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(&s.warehouse()), "BigInt(200)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_merge_is_exit_4_in_every_command_and_an_unfinished_check_exit_6() {
    let api = fake(date(D3), |_| {}).await;
    let s = Scratch::new();
    nights(&s, &api, &[D3], "JP").await;
    // A directory where the warehouse should be: every merge fails after its lake work.
    std::fs::remove_file(s.warehouse()).unwrap();
    std::fs::create_dir_all(s.warehouse()).unwrap();
    for (command, extra) in [
        ("merge", vec![]),
        ("rebuild", vec!["--date", D3]),
        (
            "run",
            vec![
                "--api-base-url",
                &api.base_url(),
                "--date",
                D3,
                "--regions",
                "JP",
                "--only-missing",
            ],
        ),
        ("forget", vec!["--date", D1]),
    ] {
        let out = s.cmd(command, &extra).await;
        assert_exit(&out, 4);
        assert!(
            stderr(&out).contains("merge failed"),
            "{command}: {}",
            stderr(&out)
        );
    }

    // check on a lake it cannot read to the end: no verdict, exit 6 (not 1, "problems found").
    let mut moto = Moto::start().await;
    let lake = moto.lake_url("gone");
    let warehouse = s.dir.path().join("other.duckdb");
    let mut env = moto.env();
    let out = run_at(&lake, &warehouse, &api, (D3, "JP"), &[], &env).await;
    assert_exit(&out, 0);
    assert_exit(
        &lake_command(&lake, &warehouse, "check", &[], &env).await,
        0,
    );
    // The server is gone: check cannot read the lake, which is no finding about it.
    moto.kill();
    env.push(("AWS_TIMEOUT".into(), "2s".into()));
    let out = lake_command(&lake, &warehouse, "check", &[], &env).await;
    assert_exit(&out, 6);
    let err = stderr(&out);
    assert!(err.contains("could not finish checking"), "{err}");
    assert!(err.contains(&lake), "{err}");
}

/// Turn the scratch's snapshot of `day` into what trendlake wrote before lineage: each region's
/// pages and a format-1 manifest (no SHA-256s) in the region's own directory, a snapshot without
/// digest or lineage, no commit records.
fn to_legacy_layout(s: &Scratch, day: &str) {
    let file = s.snapshot_file(day);
    let lineage = trendlake::lake::codec::decode_snapshot(std::fs::read(&file).unwrap().into())
        .unwrap()
        .lineage;
    for source in lineage.values() {
        let run_dir = s
            .lake()
            .join(&source.manifest)
            .parent()
            .unwrap()
            .to_path_buf();
        let region_dir = run_dir.parent().unwrap().to_path_buf();
        for entry in std::fs::read_dir(&run_dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_os_string();
            if name != "manifest.json" {
                std::fs::rename(&path, region_dir.join(name)).unwrap();
            }
        }
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
        manifest["format"] = 1.into();
        for page in manifest["pages"].as_array_mut().unwrap() {
            page.as_object_mut().unwrap().remove("sha256");
        }
        std::fs::write(
            region_dir.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        std::fs::remove_dir_all(&run_dir).unwrap();
    }
    let bytes = with_version(&std::fs::read(&file).unwrap(), "1");
    std::fs::write(&file, bytes).unwrap();
    std::fs::remove_dir_all(s.lake().join("_commits")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_written_before_lineage_stays_readable_checkable_and_rebuildable() {
    let api = fake(date(D3), |_| {}).await;
    let s = Scratch::new();
    nights(&s, &api, &[D3], "JP,KR").await;
    to_legacy_layout(&s, D3);
    let rows = read_parquet(&s.snapshot_file(D3)).1;
    let out = s.cmd("merge", &[]).await;
    assert_exit(&out, 0);
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 0);
    assert!(
        !stderr(&out).contains("not named by any commit"),
        "{}",
        stderr(&out)
    );

    // rebuild replays the regions' own manifests, and the file now names them.
    let out = s.cmd("rebuild", &["--date", D3]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("rebuilt 2 region(s), 400 rows"),
        "{}",
        stderr(&out)
    );
    // Rebuilt as a version-2 file: the same rows, each on its region's general chart.
    assert_eq!(
        read_parquet(&s.snapshot_file(D3)).1,
        trendlake::record::upgrade_v1(rows).unwrap()
    );
    let lineage =
        trendlake::lake::codec::decode_snapshot(std::fs::read(s.snapshot_file(D3)).unwrap().into())
            .unwrap()
            .lineage;
    assert_eq!(
        lineage["KR"].manifest,
        format!("raw/snapshot_date={D3}/region=KR/manifest.json")
    );
    assert_exit(&s.cmd("check", &[]).await, 0);
    assert_eq!(entries(&s.warehouse()), "BigInt(400)");

    // A re-run of KR: its new pages in a directory of their own; the old ones orphaned.
    api.set_date(date(D4));
    assert_exit(&s.run(&api.base_url(), D3, &["--regions", "KR"]).await, 0);
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("not named by any commit (not a problem): 1 raw run(s)"),
        "{}",
        stderr(&out)
    );
    let out = s.cmd("check", &["--prune", "--grace-hours", "0"]).await;
    assert_exit(&out, 0);
    assert!(
        !s.lake()
            .join(format!("raw/snapshot_date={D3}/region=KR/manifest.json"))
            .exists()
    );
    assert!(
        s.lake()
            .join(format!("raw/snapshot_date={D3}/region=JP/manifest.json"))
            .exists()
    );
    let out = s.cmd("rebuild", &["--date", D3]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("identical to the snapshot in place"),
        "{}",
        stderr(&out)
    );
}
