//! A fault-injecting S3 proxy for tests. [`FaultyS3`] listens on loopback in the test's runtime,
//! forwards every request to a [`Moto`] server unchanged (method, path, query, headers, body) and
//! returns moto's answer unchanged, except the requests an armed [`Fault`] matches: those it
//! answers itself with an S3 error (412 PreconditionFailed, 500 InternalError, …), and moto never
//! sees them. It logs every request it answered, so a test can count what a client attempted.
//!
//! Real contention cannot make a snapshot commit lose its conditional PUT twenty times in a row,
//! nor make S3 fail on cue; this proxy can. The tests below prove the proxy with object_store's
//! own client, then show what the real binary does when its commit keeps losing or S3 fails.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};

use crate::support::*;

/// [`Fault::times`] for a fault that fails every matching request, however many.
pub const ALWAYS: u32 = u32::MAX;

/// Which requests to fail, and how.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    /// How the object's key ends (percent-decoded), e.g. `"videos.parquet"`.
    pub key_suffix: String,
    /// Only requests with `If-Match` or `If-None-Match` (a snapshot commit's PUT).
    pub only_conditional: bool,
    pub status: StatusCode,
    /// How many matching requests fail; later ones go through to moto.
    pub times: u32,
}

impl Fault {
    /// The next `times` conditional PUTs of keys ending in `key_suffix` get `status`.
    pub fn conditional_put(key_suffix: &str, status: StatusCode, times: u32) -> Self {
        Self {
            method: Method::PUT,
            key_suffix: key_suffix.to_string(),
            only_conditional: true,
            status,
            times,
        }
    }
}

/// A fault armed by [`FaultyS3::fail`], to ask how many requests it failed.
#[derive(Debug, Clone, Copy)]
pub struct FaultId(usize);

/// One request the proxy answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: Method,
    /// The URL's path, percent-decoded, without the query: `/trendlake/<key>`.
    pub path: String,
    pub conditional: bool,
    pub status: StatusCode,
    /// Answered by a fault, never forwarded to moto.
    pub injected: bool,
}

#[derive(Default)]
struct Record {
    /// Each fault armed, with how many requests it has failed.
    faults: Vec<(Fault, u32)>,
    seen: Vec<Seen>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    record: Mutex<Record>,
}

/// The proxy; stops when dropped. See the module's header.
pub struct FaultyS3 {
    endpoint: String,
    moto_env: Vec<(String, String)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultyS3 {
    /// Listen on a free loopback port, forwarding to `moto`.
    pub async fn start(moto: &Moto) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            upstream: moto.endpoint(),
            http,
            record: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            endpoint,
            moto_env: moto.env(),
            shared,
            server,
        }
    }

    /// [`Moto::env`], with the endpoint this proxy's: the binary's S3 requests go through it.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto_env.clone();
        for (key, value) in &mut env {
            if key == "AWS_ENDPOINT_URL" {
                *value = self.endpoint.clone();
            }
        }
        env
    }

    /// A client of the bucket through this proxy, with object_store's default retries.
    pub fn store(&self) -> object_store::aws::AmazonS3 {
        let builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(BUCKET);
        self.env()
            .into_iter()
            .fold(builder, |builder, (key, value)| {
                builder.with_config(key.to_ascii_lowercase().parse().unwrap(), value)
            })
            .build()
            .unwrap()
    }

    /// Arm `fault`: from now on, matching requests fail until it has failed `fault.times`.
    pub fn fail(&self, fault: Fault) -> FaultId {
        let mut record = self.shared.record.lock().unwrap();
        record.faults.push((fault, 0));
        FaultId(record.faults.len() - 1)
    }

    /// Disarm a fault: matching requests go through again. Its count stays.
    pub fn disarm(&self, id: FaultId) {
        let (fault, failed) = &mut self.shared.record.lock().unwrap().faults[id.0];
        fault.times = *failed;
    }

    /// How many requests a fault has failed.
    pub fn failed(&self, id: FaultId) -> u32 {
        self.shared.record.lock().unwrap().faults[id.0].1
    }

    /// Every request answered so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.record.lock().unwrap().seen.clone()
    }
}

impl Drop for FaultyS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Headers of one connection, not of the request: never forwarded. `host` is moto's own (moto
/// does not check SigV4 signatures, so the signed proxy `host` need not reach it).
const HOP_BY_HOP: [header::HeaderName; 6] = [
    header::HOST,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read whole, also when failing it, so the connection stays usable.
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        let message = "the request's body ended early";
        return s3_error(StatusCode::BAD_REQUEST, "IncompleteBody", message, "");
    };
    let path = percent_decode(parts.uri.path());
    let conditional = parts.headers.contains_key(header::IF_MATCH)
        || parts.headers.contains_key(header::IF_NONE_MATCH);
    // Matched and counted under one lock, so concurrent requests take a fault's turns one each.
    let injected = {
        let mut record = shared.record.lock().unwrap();
        record
            .faults
            .iter_mut()
            .find(|(fault, failed)| {
                *failed < fault.times
                    && fault.method == parts.method
                    && path.ends_with(&fault.key_suffix)
                    && (conditional || !fault.only_conditional)
            })
            .map(|(fault, failed)| {
                *failed += 1;
                fault.status
            })
    };
    let (method, response) = match injected {
        Some(status) => {
            let (code, message) = s3_words(status);
            (parts.method, s3_error(status, code, message, &path))
        }
        None => (parts.method.clone(), forward(&shared, parts, body).await),
    };
    shared.record.lock().unwrap().seen.push(Seen {
        method,
        path,
        conditional,
        status: response.status(),
        injected: injected.is_some(),
    });
    response
}

/// The request to moto as it came, and moto's answer back as it went (its `content-length` kept:
/// a HEAD's is the object's size).
async fn forward(shared: &Shared, parts: axum::http::request::Parts, body: Bytes) -> Response {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sent = shared
        .http
        .request(parts.method, format!("{}{target}", shared.upstream))
        .headers(without_hop_by_hop(parts.headers))
        .body(body)
        .send()
        .await;
    let failed = |e: reqwest::Error| {
        let message = format!("forwarding to moto: {e}");
        s3_error(StatusCode::BAD_GATEWAY, "ProxyError", &message, "")
    };
    let answer = match sent {
        Ok(answer) => answer,
        Err(e) => return failed(e),
    };
    let status = answer.status();
    let headers = without_hop_by_hop(answer.headers().clone());
    let body = match answer.bytes().await {
        Ok(body) => body,
        Err(e) => return failed(e),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn without_hop_by_hop(mut headers: HeaderMap) -> HeaderMap {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers
}

/// S3's code and message for an error status.
fn s3_words(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::PRECONDITION_FAILED => (
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("SlowDown", "Please reduce your request rate."),
        _ => (
            "InjectedFault",
            "Failed by the tests' fault-injecting S3 proxy",
        ),
    }
}

/// An error as S3 words it: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
fn s3_error(status: StatusCode, code: &str, message: &str, resource: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><Resource>{resource}</Resource>\
         <RequestId>faulty-s3</RequestId></Error>"
    );
    let mut response = Response::new(Body::from(xml));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/xml".parse().unwrap());
    response
}

/// `%XX` escapes decoded (object_store escapes `=` in `snapshot_date=D`, among others).
fn percent_decode(path: &str) -> String {
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path.as_bytes();
    while let [first, ..] = rest {
        let digit = |i: usize| rest.get(i).and_then(|&b| char::from(b).to_digit(16));
        match (first, digit(1), digit(2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                rest = &rest[3..];
            }
            _ => {
                out.push(*first);
                rest = &rest[1..];
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The proxy itself: put, get, a range, head, list and delete through it land in moto and come
/// back as moto answered, each in the log, none failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_through_to_moto_unchanged() {
    use futures::TryStreamExt;
    let moto = Moto::start().await;
    let proxy = FaultyS3::start(&moto).await;
    let store = proxy.store();
    let path = Path::from("probe/date=1/object");

    let put = store
        .put(&path, PutPayload::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(moto.get("probe/date=1/object").await, "hello");
    store
        .put(&Path::from("probe/other"), PutPayload::from_static(b"x"))
        .await
        .unwrap();
    let got = store.get(&path).await.unwrap();
    assert_eq!(got.meta.e_tag, put.e_tag);
    assert_eq!(got.bytes().await.unwrap(), "hello");
    assert_eq!(store.get_range(&path, 1..4).await.unwrap(), "ell");
    // A HEAD's content-length is the object's size, not its (empty) body's.
    assert_eq!(store.head(&path).await.unwrap().size, 5);
    let mut listed: Vec<String> = store
        .list(Some(&Path::from("probe")))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(listed, ["probe/date=1/object", "probe/other"]);
    store.delete(&path).await.unwrap();
    assert_eq!(moto.keys().await, ["probe/other"]);

    let seen: Vec<(Method, String, u16)> = proxy
        .seen()
        .into_iter()
        .inspect(|s| assert!(!s.injected && !s.conditional, "{s:?}"))
        .map(|s| (s.method, s.path, s.status.as_u16()))
        .collect();
    // object_store escapes `=` in the URL (`date%3D1`); the log has keys decoded.
    let object = "/trendlake/probe/date=1/object".to_string();
    assert_eq!(
        seen,
        [
            (Method::PUT, object.clone(), 200),
            (Method::PUT, "/trendlake/probe/other".into(), 200),
            (Method::GET, object.clone(), 200),
            (Method::GET, object.clone(), 206),
            (Method::HEAD, object.clone(), 200),
            (Method::GET, "/trendlake".into(), 200),
            // object_store deletes with a DeleteObjects request (`POST /<bucket>?delete`).
            (Method::POST, "/trendlake".into(), 200),
        ]
    );
}

/// A 412 fault for three conditional PUTs: object_store reports each as `Precondition` (it does
/// not retry a 412, so each is one request), moto keeps the version they were conditional on,
/// and the fourth goes through. An unconditional PUT of a matching key is not the fault's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_fault_fails_exactly_its_conditional_puts_before_moto_sees_them() {
    let moto = Moto::start().await;
    let proxy = FaultyS3::start(&moto).await;
    let store = proxy.store();
    let path = Path::from("probe/object");
    let base = store.put(&path, "base".into()).await.unwrap();

    let fault = proxy.fail(Fault::conditional_put(
        "probe/object",
        StatusCode::PRECONDITION_FAILED,
        3,
    ));
    store
        .put(&Path::from("copy/probe/object"), "copy".into())
        .await
        .unwrap();
    assert_eq!(proxy.failed(fault), 0);
    for attempt in 1..=4 {
        let put = store
            .put_opts(
                &path,
                format!("attempt {attempt}").into(),
                PutMode::Update(base.clone().into()).into(),
            )
            .await;
        if attempt <= 3 {
            let error = put.unwrap_err();
            assert!(
                matches!(error, object_store::Error::Precondition { .. }),
                "attempt {attempt}: {error:?}"
            );
            assert!(error.to_string().contains("PreconditionFailed"), "{error}");
            assert_eq!(moto.get("probe/object").await, "base", "attempt {attempt}");
        } else {
            put.unwrap();
        }
    }
    assert_eq!(moto.get("probe/object").await, "attempt 4");
    assert_eq!(proxy.failed(fault), 3);
    let conditional_puts: Vec<(u16, bool)> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == Method::PUT && s.conditional)
        .map(|s| (s.status.as_u16(), s.injected))
        .collect();
    assert_eq!(
        conditional_puts,
        [(412, true), (412, true), (412, true), (200, false)]
    );

    // A create (`If-None-Match: *`) refused with 412 is `AlreadyExists` to object_store, as a
    // lost first commit of a date is to the lake; nothing is created.
    let fresh = Path::from("probe/fresh");
    let fault = proxy.fail(Fault::conditional_put(
        "probe/fresh",
        StatusCode::PRECONDITION_FAILED,
        1,
    ));
    let error = store
        .put_opts(&fresh, "fresh".into(), PutMode::Create.into())
        .await
        .unwrap_err();
    assert!(
        matches!(error, object_store::Error::AlreadyExists { .. }),
        "{error:?}"
    );
    assert_eq!(moto.keys().await, ["copy/probe/object", "probe/object"]);
    store
        .put_opts(&fresh, "fresh".into(), PutMode::Create.into())
        .await
        .unwrap();
    assert_eq!(moto.get("probe/fresh").await, "fresh");
    assert_eq!(proxy.failed(fault), 1);
}

/// object_store retries a 5xx: a 500 fault shorter than its retries is invisible to the caller,
/// and a persistent one fails the PUT after every retry, each of them a request the proxy failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_fault_is_retried_by_object_store_until_its_retries_run_out() {
    let moto = Moto::start().await;
    let proxy = FaultyS3::start(&moto).await;
    let store = proxy.store();
    let path = Path::from("probe/object");
    let base = store.put(&path, "base".into()).await.unwrap();
    let update = || PutMode::Update(base.clone().into()).into();

    let persistent = proxy.fail(Fault::conditional_put(
        "probe/object",
        StatusCode::INTERNAL_SERVER_ERROR,
        ALWAYS,
    ));
    let error = store
        .put_opts(&path, "lost".into(), update())
        .await
        .unwrap_err();
    assert!(
        matches!(error, object_store::Error::Generic { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("InternalError"), "{error}");
    // object_store's default RetryConfig has max_retries 10 (and a 3-minute retry_timeout, which
    // backoff from 100 ms does not reach in 10 retries): the first attempt and 10 retries.
    assert_eq!(proxy.failed(persistent), 11);
    assert_eq!(moto.get("probe/object").await, "base");
    proxy.disarm(persistent);

    let brief = proxy.fail(Fault::conditional_put(
        "probe/object",
        StatusCode::INTERNAL_SERVER_ERROR,
        2,
    ));
    store.put_opts(&path, "won".into(), update()).await.unwrap();
    assert_eq!(proxy.failed(brief), 2);
    assert_eq!(proxy.failed(persistent), 11);
    assert_eq!(moto.get("probe/object").await, "won");
}

const BEFORE: &str = "2026-11-19";
const NIGHT: &str = "2026-11-20";

/// An S3 lake behind the proxy with one night ([`BEFORE`]) committed through it, and the fake API
/// serving [`NIGHT`].
struct ProxiedLake {
    moto: Moto,
    proxy: FaultyS3,
    api: trendlake_fake_api::FakeApi,
    dir: tempfile::TempDir,
    /// The earlier snapshot's key and bytes.
    before: (String, bytes::Bytes),
}

impl ProxiedLake {
    async fn with_an_earlier_night() -> Self {
        let moto = Moto::start().await;
        let proxy = FaultyS3::start(&moto).await;
        let api = fake(date(BEFORE), |_| {}).await;
        let dir = tempfile::tempdir().unwrap();
        let mut lake = Self {
            moto,
            proxy,
            api,
            dir,
            before: (String::new(), bytes::Bytes::new()),
        };
        assert_exit(&lake.run(BEFORE).await, 0);
        let key = format!("lake/videos/snapshot_date={BEFORE}/videos.parquet");
        lake.before = (key.clone(), lake.moto.get(&key).await);
        lake.api.set_date(date(NIGHT));
        lake
    }

    async fn run(&self, date: &str) -> std::process::Output {
        let args = [
            "run",
            "--lake",
            &self.moto.lake_url("lake"),
            "--warehouse",
            &self.dir.path().join("wh.duckdb").display().to_string(),
            "--api-base-url",
            &self.api.base_url(),
            "--date",
            date,
            "--regions",
            "JP,US",
        ];
        let args = args.map(String::from).to_vec();
        trendlake_env(args, &env_refs(&self.proxy.env())).await
    }

    /// The night's snapshot commit: conditional PUTs of its `videos.parquet`, as (status, failed
    /// by the proxy).
    fn commits_of_the_night(&self) -> Vec<(u16, bool)> {
        let key = format!("/lake/videos/snapshot_date={NIGHT}/videos.parquet");
        self.proxy
            .seen()
            .into_iter()
            .filter(|s| s.method == Method::PUT && s.conditional && s.path.ends_with(&key))
            .map(|s| (s.status.as_u16(), s.injected))
            .collect()
    }

    /// The earlier snapshot is byte for byte as it was, and there is no other.
    async fn assert_only_the_earlier_snapshot(&self, stderr: &str) {
        let snapshots: Vec<String> = self
            .moto
            .keys()
            .await
            .into_iter()
            .filter(|k| k.starts_with("lake/videos/"))
            .collect();
        assert_eq!(snapshots, std::slice::from_ref(&self.before.0), "{stderr}");
        assert_eq!(self.moto.get(&self.before.0).await, self.before.1);
    }
}

/// Every conditional PUT of the night's snapshot answered 412, as if another run committed the
/// date each time: the run tries 20 times (MAX_COMMIT_ATTEMPTS in src/commit.rs), gives up saying
/// so, exits 1, writes no snapshot; and run again, it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_loses_its_race_twenty_times_gives_up_and_writes_no_snapshot() {
    let lake = ProxiedLake::with_an_earlier_night().await;
    let fault = lake.proxy.fail(Fault::conditional_put(
        &format!("snapshot_date={NIGHT}/videos.parquet"),
        StatusCode::PRECONDITION_FAILED,
        ALWAYS,
    ));
    let out = lake.run(NIGHT).await;
    let err = stderr(&out);
    assert_exit(&out, 1);
    assert!(
        err.contains(
            "other runs committed this date while this one tried to; \
             nothing of this run was written, run it again"
        ),
        "{err}"
    );
    assert_eq!(lake.proxy.failed(fault), 20, "{err}");
    assert_eq!(lake.commits_of_the_night(), [(412, true); 20], "{err}");
    lake.assert_only_the_earlier_snapshot(&err).await;

    lake.proxy.disarm(fault);
    let out = lake.run(NIGHT).await;
    assert_exit(&out, 0);
    assert_eq!(lake.commits_of_the_night().last(), Some(&(200, false)));
    let night = format!("lake/videos/snapshot_date={NIGHT}/videos.parquet");
    assert!(!lake.moto.get(&night).await.is_empty());
    assert_eq!(lake.moto.get(&lake.before.0).await, lake.before.1);
}

/// Every conditional PUT of the night's snapshot answered 500: object_store retries it (5 retries,
/// `s3_retry` in src/lake/mod.rs), then the run exits 1 naming the object, and writes no snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_500_on_the_commit_fails_the_run_naming_the_object() {
    let lake = ProxiedLake::with_an_earlier_night().await;
    let fault = lake.proxy.fail(Fault::conditional_put(
        &format!("snapshot_date={NIGHT}/videos.parquet"),
        StatusCode::INTERNAL_SERVER_ERROR,
        ALWAYS,
    ));
    let out = lake.run(NIGHT).await;
    let err = stderr(&out);
    assert_exit(&out, 1);
    assert!(
        err.contains(&format!(
            "s3://trendlake/lake/videos/snapshot_date={NIGHT}/videos.parquet"
        )),
        "{err}"
    );
    assert_eq!(lake.proxy.failed(fault), 6, "{err}");
    assert_eq!(lake.commits_of_the_night(), [(500, true); 6], "{err}");
    lake.assert_only_the_earlier_snapshot(&err).await;
}
