//! Shared helpers: the real binary, a temp dir, the in-process fake API, reading results back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use trendlake::fake_api::{FakeApi, FakeConfig};

pub const SEED: u64 = 7;

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/youtube")
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub async fn fake(date: NaiveDate, tweak: impl FnOnce(&mut FakeConfig)) -> FakeApi {
    let mut config = FakeConfig {
        seed: SEED,
        date,
        ..FakeConfig::default()
    };
    tweak(&mut config);
    FakeApi::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("fake API starts")
}

/// A scratch directory with a lake and a warehouse path inside.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }
    pub fn warehouse(&self) -> PathBuf {
        self.dir.path().join("wh.duckdb")
    }
    pub fn snapshot_file(&self, date: &str) -> PathBuf {
        self.lake()
            .join(format!("videos/snapshot_date={date}/videos.parquet"))
    }
    /// `trendlake run` against `base_url` with this scratch's lake and warehouse.
    pub async fn run(&self, base_url: &str, date: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "run".to_string(),
            "--api-base-url".into(),
            base_url.into(),
            "--date".into(),
            date.into(),
            "--lake".into(),
            self.lake().display().to_string(),
            "--warehouse".into(),
            self.warehouse().display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        trendlake(args).await
    }
}

/// Run the real binary off the async runtime (the fake API serves on it meanwhile), with a
/// clean environment: no inherited key or trendlake settings.
pub async fn trendlake(args: Vec<String>) -> Output {
    trendlake_env(args, &[]).await
}

/// As [`trendlake`], with extra environment variables.
pub async fn trendlake_env(args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || command(&args, &env).output().expect("binary runs"))
        .await
        .unwrap()
}

pub fn trendlake_blocking(args: &[String]) -> Output {
    command(args, &[]).output().expect("binary runs")
}

/// The real binary with `args` and `env`, and none of the caller's key or trendlake settings.
pub fn command(args: &[String], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trendlake"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TRENDLAKE_") || k.starts_with("YOUTUBE_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code; stderr:\n{}\nstdout:\n{}",
        stderr(o),
        stdout(o)
    );
}

/// Read a Parquet file with the parquet crate alone: its metadata and its rows as one batch.
pub fn read_parquet(path: &Path) -> (std::sync::Arc<ParquetMetaData>, RecordBatch) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let meta = builder.metadata().clone();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().collect::<Result<_, _>>().unwrap();
    (
        meta,
        arrow::compute::concat_batches(&schema, &batches).unwrap(),
    )
}

/// A snapshot file holds every region asked for, complete and in order: 200 rows each, sorted by
/// region then rank, ranks 1..=200, no (region, video_id) twice. Returns the rows.
#[track_caller]
pub fn assert_complete_snapshot(path: &Path, regions: &[&str]) -> RecordBatch {
    use arrow::array::AsArray;
    let (_, rows) = read_parquet(path);
    assert_eq!(rows.num_rows(), 200 * regions.len());
    let region = rows.column_by_name("region").unwrap().as_string::<i32>();
    let rank = rows
        .column_by_name("rank")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int32Type>();
    let id = rows.column_by_name("video_id").unwrap().as_string::<i32>();
    let mut sorted: Vec<&str> = regions.to_vec();
    sorted.sort();
    let mut seen = std::collections::HashSet::new();
    for i in 0..rows.num_rows() {
        assert_eq!(region.value(i), sorted[i / 200], "sorted by region");
        assert_eq!(
            rank.value(i) as usize,
            i % 200 + 1,
            "ranks 1..=200 in order"
        );
        assert!(
            seen.insert((region.value(i), id.value(i))),
            "duplicate ({}, {})",
            region.value(i),
            id.value(i)
        );
    }
    rows
}

/// Rows of a warehouse query as strings, for comparing whole tables.
pub fn warehouse_rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let conn = duckdb::Connection::open_with_flags(path, config).unwrap();
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

/// Every file under `dir` with its bytes, to prove nothing changed.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
