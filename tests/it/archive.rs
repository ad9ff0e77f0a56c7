//! The raw archive, `rebuild`, `check` and the quarantine of unreadable snapshots, through the
//! real binary on a local lake.

use std::io::Read;
use std::path::Path;

use crate::support::*;
use trendlake::lake::codec::sha256_hex;

const DAY: &str = "2026-11-20";

/// The directory of the raw pages DAY's snapshot names for `region`: the run's own.
fn raw_dir(s: &Scratch, region: &str) -> std::path::PathBuf {
    let snapshot = std::fs::read(s.snapshot_file(DAY)).unwrap();
    let decoded = trendlake::lake::codec::decode_snapshot(snapshot.into()).unwrap();
    let manifest = &decoded.lineage[region].manifest;
    let dir = s.lake().join(manifest).parent().unwrap().to_path_buf();
    assert_eq!(
        dir.parent().unwrap(),
        s.lake()
            .join(format!("raw/snapshot_date={DAY}/region={region}")),
        "one directory per run under the region's"
    );
    dir
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A lake with JP and KR of DAY, from the fake, merged.
async fn two_regions() -> (Scratch, trendlake_fake_api::FakeApi) {
    let api = fake(date(DAY), |_| {}).await;
    let s = Scratch::new();
    let out = s.run(&api.base_url(), DAY, &["--regions", "JP,KR"]).await;
    assert_exit(&out, 0);
    (s, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_archived_as_received_with_a_manifest() {
    let (s, api) = two_regions().await;
    for region in ["JP", "KR"] {
        let dir = raw_dir(&s, region);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // 200 items at 50 a page.
        assert_eq!(
            names,
            [
                "manifest.json",
                "page-1.json.gz",
                "page-2.json.gz",
                "page-3.json.gz",
                "page-4.json.gz"
            ]
        );
        let bytes = std::fs::read(dir.join("manifest.json")).unwrap();
        // The snapshot names this run's manifest by its SHA-256, and its row count.
        let snapshot = std::fs::read(s.snapshot_file(DAY)).unwrap();
        let lineage = trendlake::lake::codec::decode_snapshot(snapshot.into())
            .unwrap()
            .lineage;
        assert_eq!(lineage[region].manifest_sha256, sha256_hex(&bytes));
        assert_eq!(lineage[region].rows, 200);
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(manifest["format"], 2);
        assert_eq!(manifest["run_id"], lineage[region].run_id.as_str());
        assert_eq!(manifest["region"], region);
        assert_eq!(manifest["rows"], 200);
        assert_eq!(manifest["per_region"], 200);
        let pages = manifest["pages"].as_array().unwrap();
        assert_eq!(pages.len(), 4);
        for (i, page) in pages.iter().enumerate() {
            let body = gunzip(&dir.join(page["file"].as_str().unwrap()));
            assert_eq!(page["bytes"], body.len());
            assert_eq!(page["crc32"], crc32fast::hash(&body));
            assert_eq!(page["sha256"], sha256_hex(&body));
            // The API's own envelope, byte for byte as it was sent.
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["kind"], "youtube#videoListResponse");
            assert_eq!(json["items"].as_array().unwrap().len(), 50);
            assert_eq!(page["page"], i + 1);
        }
    }
    // Four requests per region: the archive cost no extra call.
    assert_eq!(api.requests(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_restores_a_deleted_snapshot_byte_for_byte_and_an_untouched_one_is_left_alone() {
    let (s, api) = two_regions().await;
    let file = s.snapshot_file(DAY);
    let original = std::fs::read(&file).unwrap();
    let entries = "SELECT * FROM chart_entries ORDER BY ALL";
    let before = warehouse_rows(&s.warehouse(), entries);
    let requests = api.requests();

    // Untouched: identical rows, so the file is not even rewritten.
    let out = s.cmd("rebuild", &["--date", DAY]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("identical to the snapshot in place"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read(&file).unwrap() == original,
        "the file changed"
    );

    // Deleted: rebuilt from raw pages alone, identical.
    std::fs::remove_file(&file).unwrap();
    let out = s.cmd("rebuild", &["--date", DAY]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("rebuilt 2 region(s), 400 rows"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read(&file).unwrap() == original,
        "the file changed"
    );
    assert_eq!(warehouse_rows(&s.warehouse(), entries), before);
    assert_eq!(api.requests(), requests, "rebuild never calls the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_without_raw_pages_says_so_and_changes_nothing() {
    let (s, _api) = two_regions().await;
    let before = tree(s.dir.path());
    for args in [
        vec!["--date", "2026-11-19"],
        vec!["--from", "2026-11-21", "--to", "2026-11-30"],
    ] {
        let out = s.cmd("rebuild", &args).await;
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("has no complete raw pages for"), "{err}");
        assert!(err.contains("nothing changed"), "{err}");
    }
    assert_eq!(tree(s.dir.path()), before);
    let out = s.cmd("rebuild", &[]).await;
    assert_exit(&out, 2);
    let out = s
        .cmd("rebuild", &["--from", "2026-11-21", "--to", "2026-11-20"])
        .await;
    assert_exit(&out, 2);
    assert_eq!(tree(s.dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_check_and_rebuild_refuse_a_lake_that_does_not_exist() {
    let s = Scratch::new();
    for command in ["merge", "check", "rebuild"] {
        let extra: &[&str] = if command == "rebuild" {
            &["--date", DAY]
        } else {
            &[]
        };
        let out = s.cmd(command, extra).await;
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains("there is no lake at"), "{command}: {err}");
        assert!(!s.lake().exists(), "{command} created the lake");
        assert!(!s.warehouse().exists(), "{command} created a warehouse");
    }
    // An empty directory is no lake either.
    std::fs::create_dir_all(s.lake()).unwrap();
    let out = s.cmd("merge", &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("holds no snapshots"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_a_healthy_lake_and_lists_every_problem_of_a_damaged_one() {
    let (s, api) = two_regions().await;
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no problems"), "{}", stderr(&out));

    // A second date, committed but never merged; a raw page lost; a stray staged file.
    api.set_date(date("2026-11-21"));
    let out = trendlake(
        [
            "snapshot",
            "--api-base-url",
            &api.base_url(),
            "--date",
            "2026-11-21",
            "--regions",
            "US",
            "--lake",
            &s.lake().display().to_string(),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_exit(&out, 0);
    std::fs::remove_file(raw_dir(&s, "KR").join("page-3.json.gz")).unwrap();
    std::fs::write(
        s.lake()
            .join("videos/snapshot_date=2026-11-20/videos.parquet#4242"),
        b"half a file",
    )
    .unwrap();
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    let listed = stdout(&out);
    let kinds: Vec<&str> = listed
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["raw_missing", "stray_object", "not_merged"],
        "{listed}"
    );
    assert!(
        listed.contains("2026-11-20 KR: ")
            && listed.contains("/manifest.json names page-3.json.gz"),
        "{listed}"
    );
    assert!(listed.contains("videos.parquet#4242"), "{listed}");
    assert!(listed.contains("not_merged 2026-11-21:"), "{listed}");

    // A lake file gone: the warehouse holds a date the lake has not.
    std::fs::remove_file(s.snapshot_file("2026-11-21")).unwrap();
    std::fs::remove_file(s.snapshot_file(DAY)).unwrap();
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains(&format!("orphan_date {DAY}:")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_snapshot_is_quarantined_and_its_regions_restored_from_raw_pages() {
    let (s, api) = two_regions().await;
    let file = s.snapshot_file(DAY);
    let good = std::fs::read(&file).unwrap();
    let kr_before = warehouse_rows(
        &s.warehouse(),
        "SELECT * FROM chart_entries WHERE region = 'KR' ORDER BY ALL",
    );
    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    assert!(
        stdout(&out).starts_with("unreadable_snapshot "),
        "{}",
        stdout(&out)
    );

    // A re-run of JP alone: not blocked, KR comes back from its raw pages.
    let out = s.run(&api.base_url(), DAY, &["--regions", "JP"]).await;
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("moved it aside"),
        "the quarantine is announced: {}",
        stderr(&out)
    );
    assert_complete_snapshot(&file, &["JP", "KR"]);
    // KR exactly as it was before the file was torn (JP was fetched again).
    let held = |bytes: Vec<u8>| {
        trendlake::lake::codec::decode_snapshot(bytes.into())
            .unwrap()
            .regions
            .remove("KR")
            .unwrap()
    };
    assert!(held(std::fs::read(&file).unwrap()) == held(good.clone()));
    let quarantine = s.lake().join(format!("_quarantine/snapshot_date={DAY}"));
    let aside: Vec<_> = std::fs::read_dir(&quarantine)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(std::fs::read(&aside[0]).unwrap() == good[..good.len() / 2]);
    assert_eq!(
        warehouse_rows(
            &s.warehouse(),
            "SELECT * FROM chart_entries WHERE region = 'KR' ORDER BY ALL"
        ),
        kr_before
    );
    // check now names only the file moved aside.
    let out = s.cmd("check", &[]).await;
    assert_exit(&out, 1);
    let listed = stdout(&out);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("quarantined "), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_check_refuse_an_s3_prefix_with_no_lake() {
    let moto = Moto::start().await;
    let s = Scratch::new();
    for command in ["merge", "check"] {
        let args = [
            command,
            "--lake",
            &moto.lake_url("nothing/here"),
            "--warehouse",
            &s.warehouse().display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        let out = trendlake_env(args, &env_refs(&moto.env())).await;
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("there is no lake at s3://trendlake/nothing/here"),
            "{command}: {err}"
        );
    }
    assert!(moto.keys().await.is_empty(), "nothing was created");
    assert!(!s.warehouse().exists());
}
