//! Shared helpers: the real binary, a temp dir, the in-process fake API, reading results back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use trendlake_fake_api::{FakeApi, FakeConfig};

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
        date: Some(date),
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

impl Scratch {
    /// `trendlake COMMAND` with this scratch's lake and warehouse, then `extra`.
    pub async fn cmd(&self, command: &str, extra: &[&str]) -> Output {
        let lake = self.lake().display().to_string();
        lake_command(&lake, &self.warehouse(), command, extra, &[]).await
    }
}

/// `trendlake COMMAND --lake LAKE --warehouse WAREHOUSE EXTRA…` with the environment `env`.
pub async fn lake_command(
    lake: &str,
    warehouse: &Path,
    command: &str,
    extra: &[&str],
    env: &[(String, String)],
) -> Output {
    let mut args: Vec<String> = [command, "--lake", lake, "--warehouse"]
        .map(String::from)
        .to_vec();
    args.push(warehouse.display().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    trendlake_env(args, &env_refs(env)).await
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

/// Read a Parquet file with the parquet crate alone: its metadata and its rows as one batch (whose
/// schema leaves out the file's key-value metadata, which names the file's own digest and lineage:
/// the batch is the rows, comparable with the same rows of another file).
pub fn read_parquet(path: &Path) -> (std::sync::Arc<ParquetMetaData>, RecordBatch) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let meta = builder.metadata().clone();
    let schema = std::sync::Arc::new(
        builder
            .schema()
            .as_ref()
            .clone()
            .with_metadata(std::collections::HashMap::new()),
    );
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
    // The general charts' rows (a file may hold category charts too: `demo` fetches some).
    let general = arrow::compute::kernels::cmp::eq(
        rows.column_by_name("chart_category").unwrap(),
        &arrow::array::StringArray::new_scalar("all"),
    )
    .unwrap();
    let rows = arrow::compute::filter_record_batch(&rows, &general).unwrap();
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

/// Every table of the warehouse, in full, but what differs between two merges of the same lake:
/// the times of merging and the warehouse's generation ids.
pub fn all_tables(path: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let text = |v: &String| {
        v.trim_start_matches("Text(\"")
            .trim_end_matches("\")")
            .to_string()
    };
    let tables = warehouse_rows(
        path,
        "SELECT table_name, \
                string_agg(column_name, ', ' ORDER BY column_index) \
                    FILTER (column_name IN ('merged_at', 'generation', 'parent_generation')) \
         FROM duckdb_columns() \
         WHERE NOT internal AND table_name IN (SELECT table_name FROM duckdb_tables()) \
         GROUP BY 1 ORDER BY 1",
    );
    tables
        .into_iter()
        .map(|row| {
            let name = text(&row[0]);
            let except = match row[1].as_str() {
                "Null" => String::new(),
                excluded => format!(" EXCLUDE ({})", text(&excluded.to_string())),
            };
            let rows = warehouse_rows(path, &format!("SELECT *{except} FROM {name} ORDER BY ALL"));
            (name, rows)
        })
        .collect()
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

/// The project's Python virtualenv (`.ci/venv` makes it): `$TRENDLAKE_VENV`, else
/// `~/.cache/trendlake-venv`, as `.ci/venv` chooses.
pub fn venv() -> PathBuf {
    match std::env::var_os("TRENDLAKE_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/trendlake-venv"),
    }
}

/// The bucket every [`Moto`] server starts with.
pub const BUCKET: &str = "trendlake";

/// A private S3 server for one test: moto's `moto_server` from the project's virtualenv, on a
/// free loopback port, with the bucket [`BUCKET`] created. Killed (and reaped) on drop, so each
/// test starts from an empty server.
///
/// There is no skipping: without the virtualenv the test panics and says to run `.ci/venv`.
pub struct Moto {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    pub async fn start() -> Self {
        let program = venv().join("bin/moto_server");
        if !program.is_file() {
            panic!(
                "{} not found: the S3 tests need moto's S3 server from the project's virtualenv; \
                 run .ci/venv (it creates or completes {}; set TRENDLAKE_VENV to use another)",
                program.display(),
                venv().display()
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let spawn = |port: u16| {
            let out = std::fs::File::create(&log).unwrap();
            Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(std::process::Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}; run .ci/venv", program.display()))
        };
        let free_port = || {
            std::net::TcpListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .unwrap()
                .port()
        };
        let port = free_port();
        // From here on, a panic kills the child through Drop.
        let mut moto = Moto {
            child: spawn(port),
            port,
            log: log.clone(),
            _dir: dir,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        // Python and moto's imports take about a second; allow 30.
        let (mut starts, mut polls) = (1, 0);
        loop {
            if let Some(status) = moto.child.try_wait().unwrap() {
                let tail = moto.log_tail();
                // The port was free when chosen, but another process took it before moto bound
                // it: start again on another.
                if tail.contains("Address already in use") && starts < 5 {
                    starts += 1;
                    polls = 0;
                    moto.port = free_port();
                    moto.child = spawn(moto.port);
                    continue;
                }
                panic!("moto_server exited ({status}) before answering; its log:\n{tail}");
            }
            if http.get(moto.endpoint()).send().await.is_ok() {
                break;
            }
            polls += 1;
            assert!(
                polls < 300,
                "moto_server did not answer on {} within 30 s; its log:\n{}",
                moto.endpoint(),
                moto.log_tail()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let created = http
            .put(format!("{}/{BUCKET}", moto.endpoint()))
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "creating bucket {BUCKET}: {}; moto's log:\n{}",
            created.status(),
            moto.log_tail()
        );
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS variables that point the trendlake binary (and `AmazonS3Builder::from_env`) at this
    /// server; in-process, pass them as options to [`open_lake`] instead of setting them, since
    /// the tests' threads share one environment.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// `s3://trendlake/<prefix>`.
    pub fn lake_url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{}", prefix.trim_matches('/'))
    }

    /// A client of the bucket, for looking at what the code under test left there.
    pub fn store(&self) -> object_store::aws::AmazonS3 {
        self.env()
            .into_iter()
            .fold(
                object_store::aws::AmazonS3Builder::new().with_bucket_name(BUCKET),
                |builder, (key, value)| {
                    builder.with_config(key.to_ascii_lowercase().parse().unwrap(), value)
                },
            )
            .build()
            .unwrap()
    }

    /// Every key in the bucket, sorted.
    pub async fn keys(&self) -> Vec<String> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let mut keys: Vec<String> = self
            .store()
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .unwrap();
        keys.sort();
        keys
    }

    /// The object at `key`; panics if there is none.
    pub async fn get(&self, key: &str) -> bytes::Bytes {
        use object_store::ObjectStoreExt;
        let store = self.store();
        let got = store
            .get(&object_store::path::Path::from(key))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        got.bytes().await.unwrap()
    }

    /// Freeze the server (SIGSTOP): connections are accepted by the kernel but never answered,
    /// like a hung S3 endpoint. [`Moto::resume`] continues it.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our unreaped child's.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// Kill the server now (connections are refused from here on) and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines moto wrote (its request log and any traceback).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // SIGKILL ends a paused server too.
        self.kill();
    }
}

/// `env` as [`trendlake_env`] takes it.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Every object of the lake at `url` (a path or `s3://…`, with `options` as for [`open_lake`]), by
/// its path relative to the lake's root, with its bytes: to prove what changed, locally or on S3.
pub async fn lake_objects(url: &str, options: &[(String, String)]) -> BTreeMap<String, Vec<u8>> {
    let lake = open_lake(url, options);
    let mut out = BTreeMap::new();
    for listed in lake.list_under("").await.unwrap() {
        let bytes = lake.get(&listed.meta.location).await.unwrap().unwrap();
        out.insert(listed.parts.join("/"), bytes.to_vec());
    }
    out
}

/// Open a lake in-process: `url` is a path, `file://…` or `s3://bucket/prefix`, `options` the
/// object_store settings (for S3, [`Moto::env`]'s names and values), never the process
/// environment, which the tests' threads share.
pub fn open_lake(url: &str, options: &[(String, String)]) -> trendlake::lake::Lake {
    use trendlake::lake::Lake;
    // object_store's config keys are lowercase (`aws_endpoint_url`); `from_env` lowercases the
    // variables' names, and so does this.
    let options: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    Lake::open_with(url, &options).unwrap_or_else(|e| panic!("opening {url}: {e}"))
}
