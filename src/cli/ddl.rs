//! `trendlake ddl`: the DDL that registers the lake's tables in Spark, Trino, Athena or BigQuery
//! (docs/engines.md), printed on stdout. The text is the library's (`trendlake::ddl`); here are
//! the flags, where the location comes from, and which flag an error names.

use clap::{Args, ValueEnum};

use trendlake::ddl::{Connection, DdlError, Engine, Location, TableName, Target, script};
use trendlake::lake::Lake;
use trendlake::pipeline::Outcome;

use super::{LakeArg, Setting, name_of, write_stdout};
use crate::error::{Error, Result};

/// The engines `--engine` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Spark SQL: CREATE TABLE … USING PARQUET, then MSCK REPAIR TABLE
    Spark,
    /// Trino's Hive connector: CREATE TABLE … WITH (external_location …), then
    /// system.sync_partition_metadata
    Trino,
    /// Amazon Athena: CREATE EXTERNAL TABLE with partition projection
    Athena,
    /// Google BigQuery: CREATE EXTERNAL TABLE … WITH PARTITION COLUMNS
    #[value(name = "bigquery")]
    BigQuery,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Spark => Engine::Spark,
            EngineArg::Trino => Engine::Trino,
            EngineArg::Athena => Engine::Athena,
            EngineArg::BigQuery => Engine::BigQuery,
        }
    }
}

/// The table's name when `--table` is not given (Spark and Athena take it unqualified).
const DEFAULT_TABLE: &str = "videos";

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// The engine to register the lake in.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: EngineArg,
    /// The table's name in the engine (default: videos), qualified as the engine needs:
    /// SCHEMA.TABLE or CATALOG.SCHEMA.TABLE for Trino, DATASET.TABLE or PROJECT.DATASET.TABLE
    /// for BigQuery; each part ASCII letters, digits and _.
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// The lake's root as the engine reads it (s3://bucket/prefix, gs://bucket/prefix,
    /// file:///path; default: --lake's URL).
    #[arg(long, value_name = "URL")]
    pub location: Option<String>,
    /// BigQuery only: the connection it reads the lake through (LOCATION.CONNECTION_ID, or
    /// PROJECT.LOCATION.CONNECTION_ID); needed for a lake on S3 (BigQuery Omni).
    #[arg(long, value_name = "CONNECTION")]
    pub connection: Option<String>,
    #[command(flatten)]
    pub lake: LakeArg,
}

/// A usage error of the library named by the setting at fault; an unmappable column stays the
/// library's error (trendlake's bug, exit 1).
fn named(setting: String) -> impl Fn(DdlError) -> Error {
    move |e| match e.is_usage() {
        true => Error::Usage(format!("{setting}: {e}")),
        false => trendlake::Error::from(e).into(),
    }
}

/// `ddl`: check the flags, find the location, print the statements.
pub(super) async fn ddl(args: DdlArgs, settings: &[Setting]) -> Result<Outcome> {
    let engine = Engine::from(args.engine);
    let table = match &args.table {
        Some(name) => TableName::parse(engine, name).map_err(named("--table".into()))?,
        None => TableName::parse(engine, DEFAULT_TABLE)
            .map_err(named(format!("--table (not given: {DEFAULT_TABLE})")))?,
    };
    let connection = args
        .connection
        .as_deref()
        .map(Connection::parse)
        .transpose()
        .map_err(named("--connection".into()))?;
    let location = match &args.location {
        Some(url) => Location::parse(engine, url).map_err(named("--location".into()))?,
        None => lake_location(engine, &args.lake.lake, &name_of(settings, "lake")).await?,
    };
    let target =
        Target::new(table, location, connection, engine).map_err(named("--connection".into()))?;
    write_stdout(script(&target).map_err(trendlake::Error::from)?.as_bytes())?;
    Ok(Outcome::Complete)
}

/// The location of the lake `spec` (from `setting`): an S3 URL as it is, a local lake (which
/// must exist) as the `file://` URL of its directory, unencoded, as Spark takes a path.
async fn lake_location(engine: Engine, spec: &str, setting: &str) -> Result<Location> {
    let url = if spec.contains("://") && !spec.starts_with("file://") {
        spec.to_string()
    } else {
        let lake = Lake::open_existing(spec).await?;
        let dir = lake.local_dir().expect("a path is a local lake");
        format!("file://{}", dir.display())
    };
    Location::parse(engine, &url).map_err(|e| {
        Error::Usage(format!(
            "{setting} {spec}: {e}; give --location with the URL {engine} reads the lake at"
        ))
    })
}
