//! External-table DDL for the engines that read the lake where it lies (Spark, Trino, Athena,
//! BigQuery): pure functions from the lake's Arrow schemas to SQL text (docs/engines.md).
//!
//! The columns and their types come from the schema the lake's files are written with
//! ([`crate::record::schema`]), never from a list of their own: a column added there is in the
//! DDL, and one of a type no engine mapping knows is an error ([`DdlError::Unmapped`]), which the
//! unit tests below turn into a failing test before any release prints it.

use std::fmt;

use arrow::datatypes::{DataType, Field, SchemaRef, TimeUnit};

/// The Hive-style partition key of every table of the lake (`videos/snapshot_date=D/…`), a
/// `DATE` in every engine.
pub const PARTITION_COLUMN: &str = "snapshot_date";

/// The first date Athena's partition projection considers (`projection.snapshot_date.range`
/// runs from it to `NOW`). Dates before it are not projected, so not read.
pub const PROJECTION_START: &str = "2020-01-01";

/// An engine trendlake writes DDL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Apache Spark SQL (and Databricks): a data source table over Parquet.
    Spark,
    /// Trino's Hive connector: an external table in a Hive metastore or Glue.
    Trino,
    /// Amazon Athena: an external table in Glue, with partition projection.
    Athena,
    /// Google BigQuery: an external table over Cloud Storage (or S3 through BigQuery Omni).
    BigQuery,
}

impl Engine {
    pub const ALL: [Engine; 4] = [
        Engine::Spark,
        Engine::Trino,
        Engine::Athena,
        Engine::BigQuery,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Spark => "Spark",
            Engine::Trino => "Trino",
            Engine::Athena => "Athena",
            Engine::BigQuery => "BigQuery",
        }
    }

    /// An identifier quoted as the engine's SQL quotes one: backticks for Spark, Athena (Hive
    /// DDL) and BigQuery, double quotes for Trino; a quote inside is doubled.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Engine::Trino => format!("\"{}\"", ident.replace('"', "\"\"")),
            Engine::Spark | Engine::Athena | Engine::BigQuery => {
                format!("`{}`", ident.replace('`', "``"))
            }
        }
    }

    /// How many dot-separated parts a table name may have, and how many it must.
    fn name_parts(self) -> (usize, usize) {
        match self {
            // table, database.table, catalog.database.table
            Engine::Spark => (1, 3),
            // schema.table or catalog.schema.table: the partition sync names the schema.
            Engine::Trino => (2, 3),
            // table or database.table
            Engine::Athena => (1, 2),
            // dataset.table or project.dataset.table: BigQuery has no default dataset.
            Engine::BigQuery => (2, 3),
        }
    }

    /// What a table name of too few parts lacks, said with an example.
    fn name_hint(self) -> &'static str {
        match self {
            Engine::Spark => "TABLE, DATABASE.TABLE or CATALOG.DATABASE.TABLE",
            Engine::Trino => {
                "SCHEMA.TABLE or CATALOG.SCHEMA.TABLE (Trino's partition sync names the schema)"
            }
            Engine::Athena => "TABLE or DATABASE.TABLE",
            Engine::BigQuery => {
                "DATASET.TABLE or PROJECT.DATASET.TABLE (BigQuery has no default dataset)"
            }
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A table of the lake that engines read: Parquet files under `dir/snapshot_date=D/`, written
/// with `schema`.
#[derive(Debug, Clone)]
pub struct LakeTable {
    /// Its directory under the lake's root, and its table name by default.
    pub dir: &'static str,
    pub schema: SchemaRef,
}

/// Every table of the lake an engine should read: the nightly chart snapshots. (`raw/` holds
/// the API's pages as gzip JSON and `_runs/` the run reports: records of how the tables were
/// made, not tables.)
pub fn lake_tables() -> Vec<LakeTable> {
    vec![LakeTable {
        dir: "videos",
        schema: crate::record::schema(),
    }]
}

/// The partition column as an Arrow field, typed through the same mapping as the others.
pub fn partition_field() -> Field {
    Field::new(PARTITION_COLUMN, DataType::Date32, false)
}

/// Why DDL cannot be written for what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    /// The table name is not one the engine takes (the caller names the flag).
    #[error("{given:?} is not a table name for {engine}: {problem}")]
    Table {
        engine: Engine,
        given: String,
        problem: String,
    },
    /// The lake's location is not one the engine reads, or not a URL the DDL can hold.
    #[error("{given:?} is not a location {engine} can read the lake at: {problem}")]
    Location {
        engine: Engine,
        given: String,
        problem: String,
    },
    /// The BigQuery connection is malformed, missing where needed, or given to another engine.
    #[error("{problem}")]
    Connection { problem: String },
    /// A column of the lake has a type the engine's mapping does not know: a change to the
    /// schema that this module was not taught (a bug, caught by its tests).
    #[error(
        "column {column:?} of the lake's {table} table has the Arrow type {data_type}, which trendlake cannot map to a {engine} type yet (crates/trendlake/src/ddl.rs)"
    )]
    Unmapped {
        engine: Engine,
        table: String,
        column: String,
        data_type: String,
    },
}

impl DdlError {
    /// What the caller gave that is wrong, if anything (an unmapped type is trendlake's fault).
    pub fn is_usage(&self) -> bool {
        !matches!(self, DdlError::Unmapped { .. })
    }
}

/// A table name as the engine's DDL takes it: one to three dot-separated parts, each a plain
/// identifier (ASCII letters, digits, `_`, not starting with a digit; a BigQuery project may
/// also hold `-`), at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    parts: Vec<String>,
}

impl TableName {
    pub fn parse(engine: Engine, given: &str) -> Result<Self, DdlError> {
        let bad = |problem: String| DdlError::Table {
            engine,
            given: given.to_string(),
            problem,
        };
        let parts: Vec<&str> = given.split('.').collect();
        let (least, most) = engine.name_parts();
        if parts.len() < least || parts.len() > most {
            return Err(bad(format!(
                "{} part(s); write {}",
                parts.len(),
                engine.name_hint()
            )));
        }
        for (i, part) in parts.iter().enumerate() {
            let project = engine == Engine::BigQuery && parts.len() == 3 && i == 0;
            let first_ok = part
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            let rest_ok = part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || (project && c == '-'));
            if part.is_empty() {
                return Err(bad(format!("an empty part; write {}", engine.name_hint())));
            }
            if !first_ok || !rest_ok {
                return Err(bad(format!(
                    "{part:?} is not a plain identifier (ASCII letters, digits and _, not starting with a digit{})",
                    if project {
                        "; a project may also hold -"
                    } else {
                        ""
                    }
                )));
            }
            if part.len() > 128 {
                return Err(bad(format!("{part:?} is longer than 128 characters")));
            }
        }
        Ok(Self {
            parts: parts.into_iter().map(str::to_string).collect(),
        })
    }

    /// The name's last part: the table itself.
    pub fn table(&self) -> &str {
        self.parts.last().expect("a name has a part")
    }

    /// The parts before the table (catalog, schema, dataset…).
    pub fn qualifiers(&self) -> &[String] {
        &self.parts[..self.parts.len() - 1]
    }

    /// Every part quoted for `engine`, joined with dots.
    pub fn quoted(&self, engine: Engine) -> String {
        let quoted: Vec<String> = self.parts.iter().map(|p| engine.quote(p)).collect();
        quoted.join(".")
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join("."))
    }
}

/// The lake's root as a URL an engine reads (`s3://bucket/prefix`, `gs://…`, `file:///…`),
/// without a trailing slash, safe inside a SQL string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    url: String,
    scheme: String,
}

impl Location {
    pub fn parse(engine: Engine, given: &str) -> Result<Self, DdlError> {
        let bad = |problem: &str| DdlError::Location {
            engine,
            given: given.to_string(),
            problem: problem.to_string(),
        };
        let Some((scheme, rest)) = given.split_once("://") else {
            return Err(bad(
                "not a URL; write scheme://… (s3://bucket/prefix, gs://bucket/prefix, file:///path)",
            ));
        };
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
        if !scheme_ok {
            return Err(bad("the scheme is not a lower-case URL scheme"));
        }
        // Nothing a SQL string literal would need escaped (Spark's treat `\` as an escape), nor
        // what would make the location a pattern or cut it short.
        if let Some(c) = given
            .chars()
            .find(|c| c.is_control() || matches!(c, '\'' | '"' | '\\' | '?' | '#' | '*'))
        {
            return Err(bad(&format!("it holds {c:?}")));
        }
        let rest = rest.trim_end_matches('/');
        if scheme != "file" && rest.split('/').next().is_none_or(str::is_empty) {
            return Err(bad("no bucket or host; write scheme://bucket/prefix"));
        }
        let allowed: &[&str] = match engine {
            Engine::Athena => &["s3"],
            Engine::BigQuery => &["gs", "s3"],
            Engine::Spark | Engine::Trino => &[],
        };
        if !allowed.is_empty() && !allowed.contains(&scheme) {
            return Err(bad(match engine {
                Engine::Athena => "Athena reads S3 only: write s3://bucket/prefix",
                _ => {
                    "BigQuery reads Cloud Storage (gs://bucket/prefix), or S3 (s3://bucket/prefix) through a BigQuery Omni connection"
                }
            }));
        }
        Ok(Self {
            url: format!("{scheme}://{rest}"),
            scheme: scheme.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// A directory under the location (`videos`).
    fn join(&self, dir: &str) -> String {
        format!("{}/{dir}", self.url)
    }
}

/// A BigQuery connection (`LOCATION.CONNECTION_ID` or `PROJECT.LOCATION.CONNECTION_ID`, as
/// `bq` names them): how BigQuery reaches a lake outside Cloud Storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection(String);

impl Connection {
    pub fn parse(given: &str) -> Result<Self, DdlError> {
        let parts: Vec<&str> = given.split('.').collect();
        let plain = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| plain(p)) {
            return Err(DdlError::Connection {
                problem: format!(
                    "{given:?} is not a BigQuery connection; write LOCATION.CONNECTION_ID or PROJECT.LOCATION.CONNECTION_ID (letters, digits, _ and -)"
                ),
            });
        }
        Ok(Self(given.to_string()))
    }
}

/// What to write DDL for: an engine, the name of the lake's table in it, where the lake is,
/// and for BigQuery the connection that reaches it.
#[derive(Debug, Clone)]
pub struct Target {
    pub engine: Engine,
    pub table: TableName,
    pub location: Location,
    pub connection: Option<Connection>,
}

impl Target {
    /// The target, once the three fit together: a BigQuery connection only for BigQuery, and
    /// needed there for S3.
    pub fn new(
        table: TableName,
        location: Location,
        connection: Option<Connection>,
        engine: Engine,
    ) -> Result<Self, DdlError> {
        match (engine, &connection) {
            (Engine::BigQuery, None) if location.scheme() == "s3" => {
                return Err(DdlError::Connection {
                    problem: format!(
                        "BigQuery reads S3 ({}) only through a BigQuery Omni connection: name it (LOCATION.CONNECTION_ID, e.g. aws-us-east-1.trendlake)",
                        location.as_str()
                    ),
                });
            }
            (Engine::BigQuery, _) | (_, None) => {}
            (engine, Some(_)) => {
                return Err(DdlError::Connection {
                    problem: format!(
                        "a connection is BigQuery's; {engine} reads the location with its own credentials"
                    ),
                });
            }
        }
        Ok(Self {
            engine,
            table,
            location,
            connection,
        })
    }
}

/// The engine's type of an Arrow type, as the engine reads it from Parquet; `None` when there
/// is no exact one (or trendlake has not been taught it): unsigned integers, timestamps that
/// are not UTC instants or finer than microseconds, decimals, maps, and for BigQuery an array of
/// arrays.
pub fn column_type(engine: Engine, data_type: &DataType) -> Option<String> {
    use DataType as D;
    let by_engine = |spark: &str, trino: &str, athena: &str, bigquery: &str| {
        Some(
            match engine {
                Engine::Spark => spark,
                Engine::Trino => trino,
                Engine::Athena => athena,
                Engine::BigQuery => bigquery,
            }
            .to_string(),
        )
    };
    match data_type {
        D::Boolean => by_engine("BOOLEAN", "BOOLEAN", "BOOLEAN", "BOOL"),
        D::Int8 => by_engine("TINYINT", "TINYINT", "TINYINT", "INT64"),
        D::Int16 => by_engine("SMALLINT", "SMALLINT", "SMALLINT", "INT64"),
        D::Int32 => by_engine("INT", "INTEGER", "INT", "INT64"),
        D::Int64 => by_engine("BIGINT", "BIGINT", "BIGINT", "INT64"),
        D::Float32 => by_engine("FLOAT", "REAL", "FLOAT", "FLOAT64"),
        D::Float64 => by_engine("DOUBLE", "DOUBLE", "DOUBLE", "FLOAT64"),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => by_engine("STRING", "VARCHAR", "STRING", "STRING"),
        D::Binary | D::LargeBinary | D::BinaryView => {
            by_engine("BINARY", "VARBINARY", "BINARY", "BYTES")
        }
        D::Date32 => by_engine("DATE", "DATE", "DATE", "DATE"),
        // Parquet's TIMESTAMP(isAdjustedToUTC = true): an instant. Spark's TIMESTAMP and
        // BigQuery's are instants; the Hive metastore's TIMESTAMP (Trino, Athena) holds the UTC
        // time of day, at the engine's precision (docs/engines.md).
        D::Timestamp(TimeUnit::Millisecond | TimeUnit::Microsecond, Some(tz))
            if matches!(tz.as_ref(), "UTC" | "+00:00") =>
        {
            by_engine("TIMESTAMP", "TIMESTAMP", "TIMESTAMP", "TIMESTAMP")
        }
        D::List(item) | D::LargeList(item) => {
            if engine == Engine::BigQuery
                && matches!(item.data_type(), D::List(_) | D::LargeList(_))
            {
                return None;
            }
            let inner = column_type(engine, item.data_type())?;
            Some(match engine {
                Engine::Trino => format!("ARRAY({inner})"),
                _ => format!("ARRAY<{inner}>"),
            })
        }
        D::Struct(fields) => {
            let mut members = Vec::with_capacity(fields.len());
            for f in fields {
                if !plain_identifier(f.name()) {
                    return None;
                }
                let ty = column_type(engine, f.data_type())?;
                members.push(match engine {
                    Engine::Spark => format!("{}: {ty}", engine.quote(f.name())),
                    // Hive's struct<name:type> takes a plain name as it is.
                    Engine::Athena => format!("{}:{ty}", f.name()),
                    Engine::Trino | Engine::BigQuery => {
                        format!("{} {ty}", engine.quote(f.name()))
                    }
                });
            }
            let members = members.join(", ");
            Some(match engine {
                Engine::Trino => format!("ROW({members})"),
                _ => format!("STRUCT<{members}>"),
            })
        }
        _ => None,
    }
}

/// A column name every engine takes as it is, quoted or not: lower-case ASCII letters, digits
/// and `_`, not starting with a digit.
fn plain_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A table's columns as `(quoted name, engine type)`, the partition column left out; an error
/// names the first column the engine cannot type.
fn columns(engine: Engine, table: &LakeTable) -> Result<Vec<(String, String)>, DdlError> {
    table
        .schema
        .fields()
        .iter()
        .map(|f| {
            let unmapped = || DdlError::Unmapped {
                engine,
                table: table.dir.to_string(),
                column: f.name().clone(),
                data_type: f.data_type().to_string(),
            };
            // The directory's key would shadow a file column of the same name.
            if f.name() == PARTITION_COLUMN || !plain_identifier(f.name()) {
                return Err(unmapped());
            }
            let ty = column_type(engine, f.data_type()).ok_or_else(unmapped)?;
            Ok((engine.quote(f.name()), ty))
        })
        .collect()
}

/// The partition column's quoted name and type.
fn partition(engine: Engine) -> (String, String) {
    let field = partition_field();
    let ty = column_type(engine, field.data_type()).expect("every engine has DATE");
    (engine.quote(field.name()), ty)
}

/// `  name TYPE,` lines of a column list.
fn column_list(columns: &[(String, String)]) -> String {
    let lines: Vec<String> = columns
        .iter()
        .map(|(name, ty)| format!("  {name} {ty}"))
        .collect();
    lines.join(",\n")
}

/// The statements that register the lake's tables in the target engine, in order: each
/// table's `CREATE`, then what makes the engine see the partitions on disk (Spark, Trino; run
/// it again after every night, or schedule it), none for Athena (partition projection) and
/// BigQuery (it lists the files at query time). Each statement is without its `;`.
pub fn statements(target: &Target) -> Result<Vec<String>, DdlError> {
    let mut out = Vec::new();
    for table in lake_tables() {
        out.extend(table_statements(target, &table)?);
    }
    Ok(out)
}

/// [`statements`] as one script: each ends with `;`, a blank line between them.
pub fn script(target: &Target) -> Result<String, DdlError> {
    let statements = statements(target)?;
    let ended: Vec<String> = statements.iter().map(|s| format!("{s};\n")).collect();
    Ok(ended.join("\n"))
}

fn table_statements(target: &Target, table: &LakeTable) -> Result<Vec<String>, DdlError> {
    let engine = target.engine;
    let name = target.table.quoted(engine);
    let columns = columns(engine, table)?;
    let (key, key_type) = partition(engine);
    let dir = target.location.join(table.dir);
    Ok(match engine {
        Engine::Spark => {
            let mut all = columns;
            all.push((key.clone(), key_type));
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {name} (\n{}\n)\nUSING PARQUET\nPARTITIONED BY ({key})\nLOCATION '{dir}'",
                    column_list(&all)
                ),
                // SYNC PARTITIONS: adds the new dates and drops those `forget` took away.
                format!("MSCK REPAIR TABLE {name} SYNC PARTITIONS"),
            ]
        }
        Engine::Trino => {
            let mut all = columns;
            all.push((key, key_type));
            let qualifiers = target.table.qualifiers();
            let (catalog, schema) = match qualifiers {
                [catalog, schema] => (Some(catalog), schema),
                [schema] => (None, schema),
                _ => unreachable!("a Trino name has a schema, checked when parsed"),
            };
            let procedure = match catalog {
                Some(c) => format!("{}.system.sync_partition_metadata", engine.quote(c)),
                None => "system.sync_partition_metadata".to_string(),
            };
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {name} (\n{}\n)\nWITH (\n  external_location = '{dir}',\n  format = 'PARQUET',\n  partitioned_by = ARRAY['{PARTITION_COLUMN}']\n)",
                    column_list(&all)
                ),
                // FULL: adds the new dates and drops those `forget` took away.
                format!(
                    "CALL {procedure}(schema_name => '{schema}', table_name => '{}', mode => 'FULL')",
                    target.table.table()
                ),
            ]
        }
        Engine::Athena => vec![format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{}\n)\nPARTITIONED BY (\n  {key} {key_type}\n)\nSTORED AS PARQUET\nLOCATION '{dir}/'\nTBLPROPERTIES (\n  'projection.enabled' = 'true',\n  'projection.{PARTITION_COLUMN}.type' = 'date',\n  'projection.{PARTITION_COLUMN}.format' = 'yyyy-MM-dd',\n  'projection.{PARTITION_COLUMN}.range' = '{PROJECTION_START},NOW',\n  'projection.{PARTITION_COLUMN}.interval' = '1',\n  'projection.{PARTITION_COLUMN}.interval.unit' = 'DAYS',\n  'storage.location.template' = '{dir}/{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/'\n)",
            column_list(&columns)
        )],
        Engine::BigQuery => {
            let connection = match &target.connection {
                Some(Connection(c)) => format!("WITH CONNECTION {}\n", engine.quote(c)),
                None => String::new(),
            };
            vec![format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{}\n)\n{connection}WITH PARTITION COLUMNS (\n  {key} {key_type}\n)\nOPTIONS (\n  format = 'PARQUET',\n  uris = ['{dir}/*'],\n  hive_partition_uri_prefix = '{dir}',\n  enable_list_inference = TRUE\n)",
                column_list(&columns)
            )]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::datatypes::{Fields, Schema};

    fn target(engine: Engine, table: &str, location: &str) -> Target {
        let connection = (engine == Engine::BigQuery && location.starts_with("s3://"))
            .then(|| Connection::parse("aws-us-east-1.trendlake").unwrap());
        Target::new(
            TableName::parse(engine, table).unwrap(),
            Location::parse(engine, location).unwrap(),
            connection,
            engine,
        )
        .unwrap()
    }

    /// The test that fails when the lake's schema gains a column some engine cannot type:
    /// every column of every table of the lake maps, in every engine.
    #[test]
    fn every_column_of_the_lake_has_a_type_in_every_engine() {
        for engine in Engine::ALL {
            for table in lake_tables() {
                for f in table.schema.fields() {
                    assert!(
                        column_type(engine, f.data_type()).is_some(),
                        "{engine} has no type for {}.{} ({}): teach column_type",
                        table.dir,
                        f.name(),
                        f.data_type()
                    );
                    assert!(plain_identifier(f.name()), "{}", f.name());
                    assert_ne!(f.name(), PARTITION_COLUMN);
                }
                let columns = columns(engine, &table).unwrap();
                assert_eq!(columns.len(), table.schema.fields().len());
            }
        }
    }

    /// Each Arrow type of the `videos` schema, and the partition's, in each engine.
    #[test]
    fn the_lake_types_map_to_each_engine_s_own() {
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let tags = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        // (type, Spark, Trino, Athena, BigQuery)
        let cases = [
            (DataType::Utf8, "STRING", "VARCHAR", "STRING", "STRING"),
            (DataType::Int32, "INT", "INTEGER", "INT", "INT64"),
            (DataType::Int64, "BIGINT", "BIGINT", "BIGINT", "INT64"),
            (DataType::Boolean, "BOOLEAN", "BOOLEAN", "BOOLEAN", "BOOL"),
            (utc, "TIMESTAMP", "TIMESTAMP", "TIMESTAMP", "TIMESTAMP"),
            (
                tags,
                "ARRAY<STRING>",
                "ARRAY(VARCHAR)",
                "ARRAY<STRING>",
                "ARRAY<STRING>",
            ),
            (DataType::Date32, "DATE", "DATE", "DATE", "DATE"),
        ];
        for (t, spark, trino, athena, bigquery) in &cases {
            for (engine, want) in Engine::ALL
                .into_iter()
                .zip([spark, trino, athena, bigquery])
            {
                assert_eq!(
                    column_type(engine, t).as_deref(),
                    Some(*want),
                    "{engine} {t}"
                );
            }
        }
        // And the lake's schema uses no type but those.
        for f in crate::record::schema().fields() {
            assert!(
                cases.iter().any(|c| &c.0 == f.data_type()),
                "{}: {} is not among the cases above; add it",
                f.name(),
                f.data_type()
            );
        }
        assert_eq!(partition_field().data_type(), &DataType::Date32);
    }

    #[test]
    fn nested_types_map_inside_out() {
        let point = DataType::Struct(Fields::from(vec![
            Field::new("x", DataType::Float64, false),
            Field::new("label", DataType::Utf8, true),
        ]));
        let points = DataType::List(Arc::new(Field::new("item", point.clone(), true)));
        assert_eq!(
            column_type(Engine::Spark, &points).unwrap(),
            "ARRAY<STRUCT<`x`: DOUBLE, `label`: STRING>>"
        );
        assert_eq!(
            column_type(Engine::Trino, &points).unwrap(),
            "ARRAY(ROW(\"x\" DOUBLE, \"label\" VARCHAR))"
        );
        assert_eq!(
            column_type(Engine::Athena, &points).unwrap(),
            "ARRAY<STRUCT<x:DOUBLE, label:STRING>>"
        );
        assert_eq!(
            column_type(Engine::BigQuery, &points).unwrap(),
            "ARRAY<STRUCT<`x` FLOAT64, `label` STRING>>"
        );
        let nested = DataType::LargeList(Arc::new(Field::new(
            "item",
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            true,
        )));
        assert_eq!(
            column_type(Engine::Trino, &nested).unwrap(),
            "ARRAY(ARRAY(BIGINT))"
        );
        assert_eq!(
            column_type(Engine::Spark, &nested).unwrap(),
            "ARRAY<ARRAY<BIGINT>>"
        );
        // BigQuery has no array of arrays.
        assert_eq!(column_type(Engine::BigQuery, &nested), None);
    }

    /// No type is given a near miss: what has no exact type in an engine is refused, so a
    /// schema change meets the failing test above instead of a silently wrong column.
    #[test]
    fn types_without_an_exact_match_are_refused() {
        let refused = [
            DataType::UInt32,
            DataType::UInt64,
            DataType::Float16,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            DataType::Timestamp(TimeUnit::Microsecond, Some("Asia/Tokyo".into())),
            DataType::Decimal128(20, 2),
            DataType::Date64,
            DataType::Null,
            DataType::List(Arc::new(Field::new("item", DataType::UInt8, true))),
            DataType::Struct(Fields::from(vec![Field::new(
                "Has Space",
                DataType::Int32,
                true,
            )])),
        ];
        for engine in Engine::ALL {
            for t in &refused {
                assert_eq!(column_type(engine, t), None, "{engine} {t}");
            }
        }
        // And a schema holding one is an error naming the column.
        let table = LakeTable {
            dir: "videos",
            schema: Arc::new(Schema::new(vec![
                Field::new("region", DataType::Utf8, false),
                Field::new("views", DataType::UInt64, true),
            ])),
        };
        let err = columns(Engine::Spark, &table).unwrap_err();
        assert_eq!(
            err,
            DdlError::Unmapped {
                engine: Engine::Spark,
                table: "videos".into(),
                column: "views".into(),
                data_type: "UInt64".into()
            }
        );
        assert!(!err.is_usage());
        // A file column named like the partition key is refused too.
        let shadowed = LakeTable {
            dir: "videos",
            schema: Arc::new(Schema::new(vec![Field::new(
                PARTITION_COLUMN,
                DataType::Date32,
                false,
            )])),
        };
        assert!(columns(Engine::Trino, &shadowed).is_err());
    }

    #[test]
    fn identifiers_are_quoted_per_engine() {
        assert_eq!(Engine::Spark.quote("rank"), "`rank`");
        assert_eq!(Engine::Athena.quote("a`b"), "`a``b`");
        assert_eq!(Engine::BigQuery.quote("rank"), "`rank`");
        assert_eq!(Engine::Trino.quote("rank"), "\"rank\"");
        assert_eq!(Engine::Trino.quote("a\"b"), "\"a\"\"b\"");
        let name = TableName::parse(Engine::BigQuery, "my-project.lake.videos").unwrap();
        assert_eq!(
            name.quoted(Engine::BigQuery),
            "`my-project`.`lake`.`videos`"
        );
        let name = TableName::parse(Engine::Trino, "hive.lake.videos").unwrap();
        assert_eq!(name.quoted(Engine::Trino), "\"hive\".\"lake\".\"videos\"");
        assert_eq!(name.table(), "videos");
        assert_eq!(name.qualifiers(), ["hive", "lake"]);
    }

    #[test]
    fn table_names_are_checked_per_engine() {
        let ok = |e, s| TableName::parse(e, s).is_ok();
        assert!(ok(Engine::Spark, "videos"));
        assert!(ok(Engine::Spark, "spark_catalog.lake.videos"));
        assert!(ok(Engine::Athena, "lake.videos"));
        assert!(ok(Engine::Athena, "_videos2"));
        assert!(ok(Engine::Trino, "lake.videos"));
        assert!(ok(Engine::BigQuery, "my-project.lake.videos"));
        // Too few or too many parts for the engine.
        assert!(!ok(Engine::Trino, "videos"));
        assert!(!ok(Engine::BigQuery, "videos"));
        assert!(!ok(Engine::Athena, "a.b.c"));
        assert!(!ok(Engine::Spark, "a.b.c.d"));
        // Not plain identifiers.
        for bad in [
            "",
            "lake.",
            ".videos",
            "2videos",
            "vid eos",
            "vid-eos",
            "videos;DROP",
            "vid`eos",
            "vidéos",
        ] {
            assert!(!ok(Engine::Spark, bad), "{bad:?}");
        }
        // A hyphen only in a BigQuery project.
        assert!(!ok(Engine::BigQuery, "lake.vid-eos"));
        assert!(!ok(Engine::BigQuery, "my-lake.videos"));
        assert!(!ok(Engine::Spark, &"v".repeat(129)));
        let err = TableName::parse(Engine::Trino, "videos").unwrap_err();
        assert!(err.to_string().contains("SCHEMA.TABLE"), "{err}");
        assert!(err.is_usage());
    }

    #[test]
    fn locations_are_checked_per_engine() {
        let loc = |e, s| Location::parse(e, s).map(|l| l.as_str().to_string());
        assert_eq!(
            loc(Engine::Athena, "s3://bucket/lake/").unwrap(),
            "s3://bucket/lake"
        );
        assert_eq!(
            loc(Engine::Spark, "file:///tmp/lake").unwrap(),
            "file:///tmp/lake"
        );
        assert_eq!(loc(Engine::Spark, "s3a://bucket").unwrap(), "s3a://bucket");
        assert_eq!(loc(Engine::BigQuery, "gs://b/p").unwrap(), "gs://b/p");
        assert!(loc(Engine::BigQuery, "s3://b/p").is_ok());
        assert!(loc(Engine::Athena, "gs://bucket/lake").is_err());
        assert!(loc(Engine::BigQuery, "file:///tmp/lake").is_err());
        for bad in [
            "/tmp/lake",
            "s3://",
            "s3:///x",
            "S3://bucket",
            "s3://bucket/it's",
            "s3://bucket/a\\b",
            "s3://bucket/*",
            "s3://bucket/a?b",
            "s3://bucket/a\nb",
        ] {
            assert!(loc(Engine::Spark, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bigquery_connection_is_for_bigquery_and_needed_for_s3() {
        let name = |e| TableName::parse(e, "lake.videos").unwrap();
        let s3 = |e| Location::parse(e, "s3://bucket/lake").unwrap();
        let conn = || Some(Connection::parse("aws-us-east-1.trendlake").unwrap());
        assert!(
            Target::new(
                name(Engine::BigQuery),
                s3(Engine::BigQuery),
                None,
                Engine::BigQuery
            )
            .is_err()
        );
        assert!(
            Target::new(
                name(Engine::BigQuery),
                s3(Engine::BigQuery),
                conn(),
                Engine::BigQuery
            )
            .is_ok()
        );
        assert!(
            Target::new(
                name(Engine::Athena),
                s3(Engine::Athena),
                conn(),
                Engine::Athena
            )
            .is_err()
        );
        assert!(Connection::parse("trendlake").is_err());
        assert!(Connection::parse("my-project.us.trendlake").is_ok());
        assert!(Connection::parse("us.trend`lake").is_err());
    }

    /// The DDL reads the layout the lake writes: `videos/snapshot_date=D/videos.parquet`.
    #[test]
    fn the_ddl_follows_the_lake_s_layout() {
        let dir = tempfile::tempdir().unwrap();
        let lake = crate::lake::Lake::open(&dir.path().display().to_string()).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let table = &lake_tables()[0];
        assert_eq!(
            lake.snapshot_path(date).as_ref(),
            format!("{}/{PARTITION_COLUMN}={date}/videos.parquet", table.dir)
        );
        assert!(crate::lake::partition_date(&format!("{PARTITION_COLUMN}={date}")).is_some());
    }

    #[test]
    fn every_engine_writes_its_statements() {
        for (engine, location, count) in [
            (Engine::Spark, "file:///tmp/lake", 2),
            (Engine::Trino, "s3://bucket/lake", 2),
            (Engine::Athena, "s3://bucket/lake", 1),
            (Engine::BigQuery, "gs://bucket/lake", 1),
        ] {
            let t = target(engine, "lake.videos", location);
            let statements = statements(&t).unwrap();
            assert_eq!(statements.len(), count, "{engine}");
            let create = &statements[0];
            for f in crate::record::schema().fields() {
                assert!(
                    create.contains(&engine.quote(f.name())),
                    "{engine}: {}",
                    f.name()
                );
            }
            assert!(create.contains(&engine.quote(PARTITION_COLUMN)), "{engine}");
            assert!(create.contains(&format!("{location}/videos")), "{engine}");
            assert!(!create.contains(';'), "{engine}: one statement");
        }
        let athena = script(&target(Engine::Athena, "videos", "s3://b/p/")).unwrap();
        assert!(athena.contains(
            "'storage.location.template' = 's3://b/p/videos/snapshot_date=${snapshot_date}/'"
        ));
        assert!(athena.ends_with(");\n"));
        let trino = script(&target(Engine::Trino, "hive.lake.videos", "s3://b/p")).unwrap();
        assert!(trino.contains(
            "CALL \"hive\".system.sync_partition_metadata(schema_name => 'lake', table_name => 'videos', mode => 'FULL');"
        ));
        let bq = script(&target(Engine::BigQuery, "lake.videos", "s3://b/p")).unwrap();
        assert!(bq.contains("WITH CONNECTION `aws-us-east-1.trendlake`\nWITH PARTITION COLUMNS"));
    }
}
