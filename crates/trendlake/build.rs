//! Build script: DuckDB's ICU extension (time zones, calendars, collations) linked into trendlake,
//! so that analysts' SQL on the warehouse's `TIMESTAMPTZ` columns works as in every other DuckDB
//! (`hour(ts)`, `ts::DATE`, `ts AT TIME ZONE 'Asia/Tokyo'`, `SET TimeZone`).
//!
//! The bundled engine (libduckdb-sys) ships without ICU, and its CMake build, which could add
//! it, needs a source checkout the published crate does not contain. DuckDB's Python package on
//! PyPI does carry the extension's sources in its source release, for the very same engine
//! commit. So this script takes that release (from `TRENDLAKE_DUCKDB_SDIST`, else a cache in
//! `~/.cache/trendlake-duckdb/`, filled with `pip download` the first time), checks its SHA-256
//! and its engine commit against the bundled one's, and compiles the extension's 30 files
//! against the release's own headers (byte-identical to the bundled engine's), with
//! `src/icu.cpp`, which registers the extension for every database the process opens. Nothing
//! of DuckDB is rebuilt: about a minute and a half of compiling, once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The DuckDB release the bundled engine is (libduckdb-sys 1.20000.1: v2.0.0).
const DUCKDB_VERSION: &str = "2.0.0";
/// Its engine commit, as libduckdb-sys's `.duckdb-release` and the release's `build_info.json` say.
const DUCKDB_COMMIT: &str = "d54cbbe3df17e8e5ce68312f483b4155836112aa";
/// SHA-256 of `duckdb-2.0.0.tar.gz` as PyPI serves it.
const SDIST_SHA256: &str = "09de511ef0dc76a5213e8d3d87a8b89bb4d3e8a6fe73a9f60dc001269946b44f";

/// The extension's sources (its CMakeLists.txt's `ICU_EXTENSION_FILES`).
const ICU_FILES: &[&str] = &[
    "collation/collation_collator.cpp",
    "collation/collation_loader.cpp",
    "collation/collation_normalizer.cpp",
    "collation/generated/collation_data.cpp",
    "datetime/astronomy.cpp",
    "datetime/calendar.cpp",
    "datetime/chinese.cpp",
    "datetime/coptic.cpp",
    "datetime/grego.cpp",
    "datetime/gregorian.cpp",
    "datetime/hebrew.cpp",
    "datetime/islamic.cpp",
    "datetime/japanese.cpp",
    "datetime/persian.cpp",
    "datetime/timezone.cpp",
    "datetime/tz_loader.cpp",
    "datetime/generated/tz_data.cpp",
    "icu_extension.cpp",
    "icu-current.cpp",
    "icu-dateadd.cpp",
    "icu-datefunc.cpp",
    "icu-datepart.cpp",
    "icu-datesub.cpp",
    "icu-datetrunc.cpp",
    "icu-makedate.cpp",
    "icu-list-range.cpp",
    "icu-table-range.cpp",
    "icu-strptime.cpp",
    "icu-timebucket.cpp",
    "icu-timezone.cpp",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/icu.cpp");
    println!("cargo:rerun-if-env-changed=TRENDLAKE_DUCKDB_SDIST");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let sdist = sdist();
    let bytes =
        std::fs::read(&sdist).unwrap_or_else(|e| fail(&format!("{}: {e}", sdist.display())));
    let digest = hex(&sha256(&bytes));
    if digest != SDIST_SHA256 {
        fail(&format!(
            "{} has SHA-256 {digest}, not the duckdb {DUCKDB_VERSION} source release's {SDIST_SHA256}; delete it and build again",
            sdist.display()
        ));
    }
    let root = out.join("duckdb");
    unpack(&bytes, &root);
    let info = std::fs::read_to_string(root.join("duckdb_packaging/build_info.json"))
        .unwrap_or_else(|e| fail(&format!("the release has no build_info.json ({e})")));
    if !info.contains(DUCKDB_COMMIT) {
        fail(&format!(
            "the duckdb {DUCKDB_VERSION} source release is not of engine commit {DUCKDB_COMMIT}: {info}"
        ));
    }
    let engine = root.join("external/duckdb");
    let icu = engine.join("extension/icu");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .warnings(false)
        .flag_if_supported("-w")
        .cargo_metadata(false)
        .include(engine.join("src/include"))
        .include(icu.join("include"))
        .include(icu.join("collation/include"))
        .include(icu.join("datetime/include"));
    for third in
        std::fs::read_dir(engine.join("third_party")).expect("the release has third_party/")
    {
        let dir = third.expect("a readable directory").path();
        build.include(&dir);
        if dir.join("include").is_dir() {
            build.include(dir.join("include"));
        }
    }
    // DuckDB's headers differ between its debug and release builds: compile as libduckdb-sys
    // compiled the engine (it mirrors Cargo's DEBUG the same way).
    match std::env::var("DEBUG").is_ok_and(|v| v != "false" && v != "0") {
        true => build.define("DEBUG", None),
        false => build.define("NDEBUG", None),
    };
    build.files(ICU_FILES.iter().map(|f| icu.join(f)));
    build.file("src/icu.cpp");
    build.compile("trendlake_icu");
    // Whole: `src/icu.cpp` registers the extension from a static constructor, which nothing
    // references (libduckdb-sys links its own extension registration the same way).
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=trendlake_icu");
}

/// The source release: `TRENDLAKE_DUCKDB_SDIST`, else the cache, downloaded there once.
fn sdist() -> PathBuf {
    if let Some(path) = std::env::var_os("TRENDLAKE_DUCKDB_SDIST") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| fail("HOME is not set"));
    let cache = Path::new(&home).join(".cache/trendlake-duckdb");
    let path = cache.join(format!("duckdb-{DUCKDB_VERSION}.tar.gz"));
    if path.is_file() {
        return path;
    }
    println!(
        "cargo:warning=fetching DuckDB {DUCKDB_VERSION}'s source release from PyPI for its ICU extension (once, into {})",
        cache.display()
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            &format!("duckdb=={DUCKDB_VERSION}"),
        ])
        .args(["--no-binary", "duckdb", "--no-deps", "--quiet", "-d"])
        .arg(&cache)
        .status();
    match status {
        Ok(s) if s.success() && path.is_file() => path,
        other => fail(&format!(
            "`{python} -m pip download duckdb=={DUCKDB_VERSION} --no-binary duckdb --no-deps -d {}` failed ({other:?}); \
             run it by hand (PyPI must be reachable), or set TRENDLAKE_DUCKDB_SDIST to the release's path",
            cache.display()
        )),
    }
}

/// Unpack what the build needs of the release (`duckdb-2.0.0/…` stripped): the engine's headers
/// and third-party headers, the ICU extension, and `build_info.json`.
fn unpack(gz: &[u8], to: &Path) {
    let prefix = format!("duckdb-{DUCKDB_VERSION}/");
    let wanted = |p: &str| {
        p.starts_with("external/duckdb/src/include/")
            || p.starts_with("external/duckdb/third_party/")
            || p.starts_with("external/duckdb/extension/icu/")
            || p == "duckdb_packaging/build_info.json"
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    for entry in archive
        .entries()
        .unwrap_or_else(|e| fail(&format!("not a tar.gz: {e}")))
    {
        let mut entry = entry.unwrap_or_else(|e| fail(&format!("a damaged entry: {e}")));
        let path = entry.path().expect("a path").to_string_lossy().into_owned();
        let Some(relative) = path.strip_prefix(&prefix) else {
            continue;
        };
        if !wanted(relative) || !entry.header().entry_type().is_file() {
            continue;
        }
        let target = to.join(relative);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("OUT_DIR is writable");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("an entry reads");
        // Unchanged files keep their times, so cc's objects are not rebuilt for nothing.
        if std::fs::read(&target).ok().as_deref() != Some(&content[..]) {
            std::fs::write(&target, content).expect("OUT_DIR is writable");
        }
    }
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fail(problem: &str) -> ! {
    panic!("trendlake's build could not add DuckDB's ICU extension: {problem}");
}
