//! Query results rendered for people and tools: a table on a terminal, CSV, JSON or Parquet,
//! to stdout or a file.
//!
//! Every type the warehouse holds prints in every format. Parquet keeps Arrow's types; for the
//! text formats the values print as:
//! - timestamps: RFC 3339; with a time zone (DuckDB's `TIMESTAMPTZ`) in UTC with `Z`
//!   (`2026-11-25T03:00:00Z`), without one (`TIMESTAMP`) the same without `Z`; fractional
//!   seconds only when non-zero, as 3, 6 or 9 digits (`…T03:00:00.250Z`). Arrow cannot print a
//!   time zone named `UTC` without its `chrono-tz` feature, and would print `+00:00` with it,
//!   so trendlake formats timestamps itself, from the stored instant whatever zone the column
//!   is labelled with;
//! - dates: `YYYY-MM-DD`; DuckDB's infinite dates and timestamps as `infinity` / `-infinity`;
//! - lists, structs, maps and unions: JSON text in the table and CSV (`["a","b"]`), JSON
//!   values in JSON (a union as its member's value);
//! - decimals (and DuckDB's `HUGEINT`, e.g. `sum(view_count)`) as their digits (JSON numbers),
//!   intervals as Arrow prints them (`1 days 2 hours`);
//! - null: empty in the table and CSV, `null` in JSON (every record has every key).
//!
//! DuckDB's `INTERVAL` and `UNION` cannot be written to Parquet by arrow; asking for it is a
//! usage error that suggests a cast.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder, UnionArray};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    DataType, Date32Type, FieldRef, Schema, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow::error::ArrowError;
use arrow::json::writer::{JsonArray, NullableEncoder, make_encoder};
use arrow::json::{Encoder, EncoderFactory, EncoderOptions};
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use clap::ValueEnum;

use crate::error::{Error, Result};

/// Output format of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

/// The `--output` extensions that choose a format, as the messages list them.
const EXTENSIONS: &str = ".csv, .json, .parquet";

/// The format of `query`'s result: `--format` if given, else `--output`'s extension, else a
/// table when stdout is a terminal and CSV when it is not.
pub fn output_format(explicit: Option<Format>, output: Option<&Path>) -> Result<Format> {
    choose_format(explicit, output, std::io::stdout().is_terminal())
}

/// [`output_format`] with the terminal check given, so it can be tested.
///
/// An `--output` whose extension is not one of [`EXTENSIONS`] is a usage error unless
/// `--format` says what to write, and so is Parquet to a terminal.
pub fn choose_format(
    explicit: Option<Format>,
    output: Option<&Path>,
    stdout_is_terminal: bool,
) -> Result<Format> {
    let format = match (explicit, output) {
        (Some(f), _) => f,
        (None, None) if stdout_is_terminal => Format::Table,
        (None, None) => Format::Csv,
        (None, Some(path)) => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("csv") => Format::Csv,
                Some("json") => Format::Json,
                Some("parquet") => Format::Parquet,
                _ => {
                    return Err(Error::Usage(format!(
                        "cannot tell which format to write to --output {}: its extension is \
                         none of {EXTENSIONS}; rename it or pass --format table|csv|json|parquet",
                        path.display()
                    )));
                }
            }
        }
    };
    if format == Format::Parquet && output.is_none() && stdout_is_terminal {
        return Err(parquet_to_terminal());
    }
    Ok(format)
}

fn parquet_to_terminal() -> Error {
    Error::Usage("--format parquet writes binary; give --output F or redirect stdout".into())
}

/// Render query results in `format` to `output` (or stdout). `batches` must hold at least one
/// batch (an empty result is one empty batch, as `Warehouse::query` returns it) so that the
/// CSV header, the table header and the Parquet schema are known.
///
/// The conversions and checks that can fail run before `output` is created; a write that still
/// fails (a JSON encoding error, a full disk) removes the file it created, so a failed query
/// never leaves a partial file behind.
pub fn write_batches(batches: &[RecordBatch], format: Format, output: Option<&Path>) -> Result<()> {
    if format == Format::Parquet && output.is_none() && std::io::stdout().is_terminal() {
        return Err(parquet_to_terminal());
    }
    let printable: Vec<RecordBatch> = match format {
        Format::Table | Format::Csv => batches
            .iter()
            .map(printable)
            .collect::<Result<_, _>>()
            .map_err(OutputError::from)?,
        Format::Json | Format::Parquet => Vec::new(),
    };
    let table = match format {
        Format::Table => arrow::util::pretty::pretty_format_batches(&printable)
            .map_err(OutputError::from)?
            .to_string(),
        _ => String::new(),
    };
    let Some(first) = batches.first() else {
        return Err(OutputError::NoBatches.into());
    };
    if format == Format::Parquet
        && let Some(field) = first
            .schema()
            .fields()
            .iter()
            .find(|f| !parquet_can_hold(f.data_type()))
    {
        return Err(Error::Usage(format!(
            "column {:?} is of type {}, which trendlake cannot write to Parquet; cast it in the \
             query (e.g. {0}::VARCHAR, or epoch({0}) for an INTERVAL's seconds) or use \
             --format csv|json",
            field.name(),
            field.data_type()
        )));
    }

    let mut sink: Box<dyn Write + Send> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| Error::Io {
                context: format!("cannot create --output {}", path.display()),
                source: e,
            })?,
        )),
        None => Box::new(std::io::BufWriter::new(PipeStdout {
            stdout: std::io::stdout(),
            closed: false,
        })),
    };
    let source = match format {
        Format::Table | Format::Csv => &printable,
        Format::Json | Format::Parquet => batches,
    };
    if let Err(e) = write_to(&mut *sink, format, source, &table) {
        drop(sink);
        if let Some(path) = output {
            let _ = std::fs::remove_file(path);
        }
        return Err(e.into());
    }
    Ok(())
}

/// Why a query's result could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("rendering the result: {0}")]
    Arrow(#[from] ArrowError),
    #[error("writing the result as Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("writing the result: {0}")]
    Io(#[from] std::io::Error),
    #[error("the query returned no batches, not even an empty one")]
    NoBatches,
}

/// Stdout that takes a closed pipe (`trendlake query … | head`) as the reader having seen
/// enough: the rest is discarded instead of failing the query.
struct PipeStdout {
    stdout: std::io::Stdout,
    closed: bool,
}

impl PipeStdout {
    fn closed_pipe<T>(&mut self, result: std::io::Result<T>, or: T) -> std::io::Result<T> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(or)
            }
            other => other,
        }
    }
}

impl Write for PipeStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let written = self.stdout.write(buf);
        self.closed_pipe(written, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.stdout.flush();
        self.closed_pipe(flushed, ())
    }
}

/// Whether arrow's Parquet writer can store `dt`: not a `MonthDayNano` interval (DuckDB's
/// `INTERVAL`; Parquet's own INTERVAL is unsigned months, days and milliseconds) nor a union,
/// at any depth.
fn parquet_can_hold(dt: &DataType) -> bool {
    use arrow::datatypes::IntervalUnit;
    match dt {
        DataType::Interval(IntervalUnit::MonthDayNano) | DataType::Union(_, _) => false,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _)
        | DataType::RunEndEncoded(_, f) => parquet_can_hold(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| parquet_can_hold(f.data_type())),
        DataType::Dictionary(_, v) => parquet_can_hold(v),
        _ => true,
    }
}

/// Write already printable `batches` (or the rendered `table`) to `sink`.
fn write_to(
    sink: &mut (dyn Write + Send),
    format: Format,
    batches: &[RecordBatch],
    table: &str,
) -> Result<(), OutputError> {
    match format {
        Format::Table => writeln!(sink, "{table}")?,
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *sink);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .with_encoder_factory(Arc::new(TextEncoders))
                .build::<_, JsonArray>(&mut *sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            drop(w);
            writeln!(sink)?;
        }
        Format::Parquet => {
            let schema = batches[0].schema();
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut *sink, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    sink.flush()?;
    Ok(())
}

/// `batch` with every column a table or CSV can print: timestamps and dates as text (see the
/// module doc), nested values (lists, structs, maps, unions) as JSON text; other columns as
/// they are.
pub fn printable(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let text = match column.data_type() {
            DataType::Timestamp(unit, tz) => Some(timestamp_strings(column, *unit, tz.is_some())),
            DataType::Date32 => Some(date_strings(column)),
            dt if dt.is_nested() => Some(json_strings(field, column)?),
            _ => None,
        };
        match text {
            Some(text) => {
                fields.push(field.as_ref().clone().with_data_type(DataType::Utf8));
                columns.push(text);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        columns,
    )
}

/// One timestamp as text: RFC 3339 in UTC with `Z` when the column has a time zone, without
/// the `Z` when it has none; fractional seconds only when non-zero (3, 6 or 9 digits).
pub fn timestamp_text(value: i64, unit: TimeUnit, zoned: bool) -> String {
    let instant = match unit {
        TimeUnit::Second => DateTime::<Utc>::from_timestamp(value, 0),
        TimeUnit::Millisecond => DateTime::<Utc>::from_timestamp_millis(value),
        TimeUnit::Microsecond => DateTime::<Utc>::from_timestamp_micros(value),
        TimeUnit::Nanosecond => Some(DateTime::<Utc>::from_timestamp_nanos(value)),
    };
    match instant {
        Some(t) => {
            let mut text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            if !zoned {
                text.pop();
            }
            text
        }
        // Beyond chrono's range (±262,000 years): DuckDB's `infinity` is i64::MAX.
        None => infinity(value > 0),
    }
}

/// One date (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn date_text(days: i32) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(TimeDelta::days(i64::from(days))))
        .map(|d| d.format("%Y-%m-%d").to_string())
        // Beyond chrono's range: DuckDB's `infinity` is i32::MAX.
        .unwrap_or_else(|| infinity(days > 0))
}

fn infinity(positive: bool) -> String {
    if positive { "infinity" } else { "-infinity" }.to_string()
}

/// The raw values of a timestamp array (every unit stores i64).
fn timestamp_values(array: &dyn Array, unit: TimeUnit) -> ScalarBuffer<i64> {
    match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values().clone(),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .clone(),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .clone(),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .values()
            .clone(),
    }
}

fn timestamp_strings(array: &ArrayRef, unit: TimeUnit, zoned: bool) -> ArrayRef {
    let values = timestamp_values(array, unit);
    let text: StringArray = (0..array.len())
        .map(|i| {
            array
                .is_valid(i)
                .then(|| timestamp_text(values[i], unit, zoned))
        })
        .collect();
    Arc::new(text)
}

fn date_strings(array: &ArrayRef) -> ArrayRef {
    let dates = array.as_primitive::<Date32Type>();
    let text: StringArray = dates.iter().map(|d| d.map(date_text)).collect();
    Arc::new(text)
}

/// A nested column as one JSON text per row (null stays null), temporals inside as in JSON.
fn json_strings(field: &FieldRef, array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let options = EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_encoder_factory(Arc::new(TextEncoders));
    let mut encoder = make_encoder(field, array.as_ref(), &options)?;
    // Logical nulls: a union's nulls are its members'.
    let nulls = array.logical_nulls();
    let mut text = StringBuilder::with_capacity(array.len(), array.len() * 16);
    let mut buf = Vec::new();
    for i in 0..array.len() {
        if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            text.append_null();
            continue;
        }
        buf.clear();
        encoder.encode(i, &mut buf);
        let json = std::str::from_utf8(&buf)
            .map_err(|e| ArrowError::JsonError(format!("column {}: {e}", field.name())))?;
        text.append_value(json);
    }
    Ok(Arc::new(text.finish()))
}

/// Arrow's JSON encoders, except: timestamps ([`timestamp_text`]) and dates ([`date_text`])
/// as strings, and unions as their member's value, at any depth.
#[derive(Debug)]
struct TextEncoders;

impl EncoderFactory for TextEncoders {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a FieldRef,
        array: &'a dyn Array,
        options: &'a EncoderOptions,
    ) -> Result<Option<NullableEncoder<'a>>, ArrowError> {
        let encoder: Box<dyn Encoder + 'a> = match array.data_type() {
            DataType::Timestamp(unit, tz) => Box::new(TimestampEncoder {
                values: timestamp_values(array, *unit),
                unit: *unit,
                zoned: tz.is_some(),
            }),
            DataType::Date32 => Box::new(DateEncoder(
                array.as_primitive::<Date32Type>().values().clone(),
            )),
            DataType::Union(fields, _) => {
                let union = array.as_union();
                let mut members: Vec<Option<NullableEncoder<'a>>> =
                    (0..=i8::MAX).map(|_| None).collect();
                for (type_id, field) in fields.iter() {
                    members[type_id as usize] =
                        Some(make_encoder(field, union.child(type_id).as_ref(), options)?);
                }
                // A union has no null buffer of its own: a null member prints `null`.
                return Ok(Some(NullableEncoder::new(
                    Box::new(UnionEncoder { union, members }),
                    None,
                )));
            }
            _ => return Ok(None),
        };
        Ok(Some(NullableEncoder::new(encoder, array.nulls().cloned())))
    }
}

struct TimestampEncoder {
    values: ScalarBuffer<i64>,
    unit: TimeUnit,
    zoned: bool,
}

impl Encoder for TimestampEncoder {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        // RFC 3339 text and "infinity" need no JSON escaping.
        out.push(b'"');
        out.extend_from_slice(timestamp_text(self.values[idx], self.unit, self.zoned).as_bytes());
        out.push(b'"');
    }
}

struct DateEncoder(ScalarBuffer<i32>);

impl Encoder for DateEncoder {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(date_text(self.0[idx]).as_bytes());
        out.push(b'"');
    }
}

struct UnionEncoder<'a> {
    union: &'a UnionArray,
    /// By type id.
    members: Vec<Option<NullableEncoder<'a>>>,
}

impl Encoder for UnionEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let offset = self.union.value_offset(idx);
        let member = self.members[self.union.type_id(idx) as usize]
            .as_mut()
            .expect("a union's type ids are its fields'");
        if member.is_null(offset) {
            out.extend_from_slice(b"null");
        } else {
            member.encode(offset, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Date32Array, Int64Array, ListBuilder, StructArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::Field;
    use std::path::PathBuf;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn format_flag_wins_over_extension_and_terminal() {
        for tty in [true, false] {
            assert_eq!(
                choose_format(Some(Format::Json), Some(&p("x.csv")), tty).unwrap(),
                Format::Json
            );
            assert_eq!(
                choose_format(Some(Format::Csv), Some(&p("x.txt")), tty).unwrap(),
                Format::Csv
            );
            assert_eq!(
                choose_format(Some(Format::Table), None, tty).unwrap(),
                Format::Table
            );
        }
        assert_eq!(
            choose_format(Some(Format::Parquet), None, false).unwrap(),
            Format::Parquet,
            "parquet to a pipe is fine"
        );
    }

    #[test]
    fn extension_decides_without_the_flag() {
        for tty in [true, false] {
            for (file, format) in [
                ("out/x.csv", Format::Csv),
                ("x.json", Format::Json),
                ("x.parquet", Format::Parquet),
                ("X.PARQUET", Format::Parquet),
                ("x.Json", Format::Json),
            ] {
                assert_eq!(choose_format(None, Some(&p(file)), tty).unwrap(), format);
            }
        }
    }

    #[test]
    fn terminal_decides_without_flag_or_output() {
        assert_eq!(choose_format(None, None, true).unwrap(), Format::Table);
        assert_eq!(choose_format(None, None, false).unwrap(), Format::Csv);
    }

    #[test]
    fn unknown_extension_is_a_usage_error_naming_file_and_extensions() {
        for file in ["x.txt", "dir/x.xlsx", "noext", "x.csv.gz", ".csv"] {
            for tty in [true, false] {
                let err = choose_format(None, Some(&p(file)), tty).unwrap_err();
                assert!(err.is_usage(), "{file}: {err}");
                let msg = err.to_string();
                assert!(msg.contains(file), "{msg}");
                assert!(msg.contains(".csv, .json, .parquet"), "{msg}");
                assert!(msg.contains("--format"), "{msg}");
            }
        }
    }

    #[test]
    fn parquet_to_a_terminal_is_a_usage_error() {
        let err = choose_format(Some(Format::Parquet), None, true).unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().contains("--output"), "{err}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_fraction_only_when_nonzero() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        let us = TimeUnit::Microsecond;
        for (value, unit, zoned, text) in [
            (at("2026-11-25T03:00:00Z"), us, true, "2026-11-25T03:00:00Z"),
            (
                at("2026-11-25T03:00:00.25Z"),
                us,
                true,
                "2026-11-25T03:00:00.250Z",
            ),
            (
                at("2026-11-25T03:00:00.000123Z"),
                us,
                true,
                "2026-11-25T03:00:00.000123Z",
            ),
            (
                at("2026-11-25T12:00:00+09:00"),
                us,
                true,
                "2026-11-25T03:00:00Z",
            ),
            (at("1969-12-31T23:59:59Z"), us, true, "1969-12-31T23:59:59Z"),
            (at("2026-11-25T03:00:00Z"), us, false, "2026-11-25T03:00:00"),
            (
                1_764_039_600,
                TimeUnit::Second,
                true,
                "2025-11-25T03:00:00Z",
            ),
            (
                1_764_039_600_001,
                TimeUnit::Millisecond,
                true,
                "2025-11-25T03:00:00.001Z",
            ),
            (
                1_764_039_600_000_000_001,
                TimeUnit::Nanosecond,
                true,
                "2025-11-25T03:00:00.000000001Z",
            ),
            (i64::MAX, us, true, "infinity"),
            (-i64::MAX, us, true, "-infinity"),
        ] {
            assert_eq!(timestamp_text(value, unit, zoned), text);
        }
    }

    #[test]
    fn dates_are_iso_and_infinite_dates_say_so() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(20_417), "2025-11-25");
        assert_eq!(date_text(-1), "1969-12-31");
        assert_eq!(date_text(i32::MAX), "infinity");
        assert_eq!(date_text(-i32::MAX), "-infinity");
    }

    /// A batch like DuckDB returns: `TIMESTAMPTZ` as microseconds in "UTC", a list, a date, nulls.
    fn sample() -> RecordBatch {
        let ts = TimestampMicrosecondArray::from(vec![Some(1_795_575_600_000_000), None])
            .with_timezone("UTC");
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("a");
        tags.values().append_value("say \"hi\", ok");
        tags.append(true);
        tags.append(false);
        let tags = tags.finish();
        let dates = Date32Array::from(vec![Some(20_417), None]);
        let likes = Int64Array::from(vec![None, Some(7)]);
        let inner = StructArray::from(vec![(
            Arc::new(Field::new("at", ts.data_type().clone(), true)),
            Arc::new(ts.clone()) as ArrayRef,
        )]);
        RecordBatch::try_from_iter([
            ("fetched_at", Arc::new(ts) as ArrayRef),
            ("tags", Arc::new(tags) as ArrayRef),
            ("snapshot_date", Arc::new(dates) as ArrayRef),
            ("like_count", Arc::new(likes) as ArrayRef),
            ("nested", Arc::new(inner) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn printable_turns_timestamps_and_lists_into_text() {
        let b = printable(&sample()).unwrap();
        let text = |name: &str| {
            let c = b.column_by_name(name).unwrap().as_string::<i32>();
            (0..c.len())
                .map(|i| c.is_valid(i).then(|| c.value(i).to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text("fetched_at"),
            [Some("2026-11-25T03:00:00Z".to_string()), None]
        );
        assert_eq!(
            text("tags"),
            [Some(r#"["a","say \"hi\", ok"]"#.to_string()), None]
        );
        assert_eq!(
            text("nested"),
            [
                Some(r#"{"at":"2026-11-25T03:00:00Z"}"#.to_string()),
                Some(r#"{"at":null}"#.to_string())
            ]
        );
        assert_eq!(
            text("snapshot_date"),
            [Some("2025-11-25".to_string()), None]
        );
        assert_eq!(b.schema().field(3).data_type(), &DataType::Int64, "kept");
    }

    fn render(format: Format, batches: &[RecordBatch]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        write_batches(batches, format, Some(&path)).unwrap();
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn csv_has_rfc3339_json_lists_iso_dates_and_empty_nulls() {
        assert_eq!(
            render(Format::Csv, &[sample()]),
            "fetched_at,tags,snapshot_date,like_count,nested\n\
             2026-11-25T03:00:00Z,\"[\"\"a\"\",\"\"say \\\"\"hi\\\"\", ok\"\"]\",2025-11-25,,\"{\"\"at\"\":\"\"2026-11-25T03:00:00Z\"\"}\"\n\
             ,,,7,\"{\"\"at\"\":null}\"\n"
        );
    }

    #[test]
    fn json_is_an_array_of_records_with_explicit_nulls() {
        let text = render(Format::Json, &[sample()]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"fetched_at": "2026-11-25T03:00:00Z", "tags": ["a", "say \"hi\", ok"],
                 "snapshot_date": "2025-11-25", "like_count": null,
                 "nested": {"at": "2026-11-25T03:00:00Z"}},
                {"fetched_at": null, "tags": null, "snapshot_date": null, "like_count": 7,
                 "nested": {"at": null}},
            ])
        );
    }

    #[test]
    fn table_prints_text_and_blank_nulls() {
        assert_eq!(
            render(Format::Table, &[sample()]),
            r#"+----------------------+------------------------+---------------+------------+-------------------------------+
| fetched_at           | tags                   | snapshot_date | like_count | nested                        |
+----------------------+------------------------+---------------+------------+-------------------------------+
| 2026-11-25T03:00:00Z | ["a","say \"hi\", ok"] | 2025-11-25    |            | {"at":"2026-11-25T03:00:00Z"} |
|                      |                        |               | 7          | {"at":null}                   |
+----------------------+------------------------+---------------+------------+-------------------------------+
"#
        );
    }

    #[test]
    fn empty_results_keep_their_columns_in_every_format() {
        let empty = RecordBatch::new_empty(sample().schema());
        let batches = [empty];
        assert_eq!(
            render(Format::Csv, &batches),
            "fetched_at,tags,snapshot_date,like_count,nested\n"
        );
        assert_eq!(render(Format::Json, &batches), "[]\n");
        assert!(render(Format::Table, &batches).contains("| fetched_at |"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        write_batches(&batches, Format::Parquet, Some(&path)).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&path).unwrap(),
        )
        .unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(
            reader.schema().field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }
}
