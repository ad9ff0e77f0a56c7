//! Query results rendered for people and tools: a table on a terminal, CSV, JSON, JSON lines or
//! Parquet, to stdout or a file.
//!
//! Results stream: each batch is written as DuckDB hands it over ([`write_stream`]), so a result
//! larger than memory goes to a file or a pipe in bounded memory. CSV, JSON and JSON lines are
//! written batch by batch (and flushed after each one on stdout); Parquet is written in row
//! groups of at most [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes. The table is for
//! people: it shows at most `--max-rows` rows and counts the rest without rendering them.
//!
//! Every type the warehouse holds prints in every format. Parquet keeps Arrow's types (a date
//! stays `Date32`, a count `Int64`); for the text formats the values print as:
//! - timestamps: RFC 3339; with a time zone (DuckDB's `TIMESTAMPTZ`) in UTC with `Z`
//!   (`2026-11-25T03:00:00Z`), without one (`TIMESTAMP`) the same without `Z`; fractional
//!   seconds only when non-zero, as 3, 6 or 9 digits (`…T03:00:00.250Z`). Arrow cannot print a
//!   time zone named `UTC` without its `chrono-tz` feature, and would print `+00:00` with it,
//!   so trendlake formats timestamps itself, from the stored instant whatever zone the column
//!   is labelled with;
//! - dates: `YYYY-MM-DD`; DuckDB's infinite dates and timestamps as `infinity` / `-infinity`;
//! - lists, structs, maps and unions: JSON text in the table and CSV (`["a","b"]`), JSON
//!   values in JSON and JSON lines (a union as its member's value);
//! - decimals (and DuckDB's `HUGEINT`, e.g. `sum(view_count)`) as their digits (JSON numbers),
//!   intervals as Arrow prints them (`1 days 2 hours`);
//! - null: empty in the table and CSV, `null` in JSON and JSON lines (every record has every
//!   key).
//!
//! JSON is one array of records (`[]` when empty); JSON lines is one record per line (nothing
//! when empty). An empty result still prints the CSV header and the table's, and writes a
//! Parquet file with the result's schema.
//!
//! DuckDB's `INTERVAL` and `UNION` cannot be written to Parquet by arrow; asking for it is a
//! usage error that suggests a cast.
//!
//! An `--output` file, like the report's page, is replaced whole: see `trendlake::fsutil`.
//!
//! A table for a terminal is fitted to its width ([`TableLook::width`]): when its lines would
//! be wider, long values are cut (ending in `…`) down to [`CUT_AT_LEAST`] columns, and if that
//! is not enough the middle columns give way to one `…` column, the first and last kept (as
//! DuckDB's CLI does). A table for a file or a pipe is never fitted.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder, UnionArray};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow::error::ArrowError;
use arrow::json::writer::{JsonArray, JsonFormat, LineDelimited, NullableEncoder, make_encoder};
use arrow::json::{Encoder, EncoderFactory, EncoderOptions};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use clap::ValueEnum;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::error::{Error, Result};

pub use trendlake::fsutil::ReplaceError;
use trendlake::fsutil::Replacement;

/// Output format of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (at most --max-rows rows)
    Table,
    /// CSV with a header line
    Csv,
    /// One JSON array of records
    Json,
    /// JSON lines: one JSON record per line
    Jsonl,
    /// Parquet, with the result's types
    Parquet,
}

/// The `--output` extensions that choose a format, as the messages list them.
const EXTENSIONS: &str = ".csv, .json, .jsonl, .ndjson, .parquet";

/// Most rows in one Parquet row group; with [`ROW_GROUP_BYTES`], what a Parquet result holds in
/// memory at most before it is written out.
pub const ROW_GROUP_ROWS: usize = 500_000;

/// Most (estimated, encoded) bytes in one Parquet row group.
pub const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

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
                Some("jsonl" | "ndjson") => Format::Jsonl,
                Some("parquet") => Format::Parquet,
                _ => {
                    return Err(Error::Usage(format!(
                        "cannot tell which format to write to --output {}: its extension is \
                         none of {EXTENSIONS}; rename it or pass \
                         --format table|csv|json|jsonl|parquet",
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

/// What [`write_stream`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Rows in the result (all of them were fetched, even those a table did not show), or, when
    /// the reader of stdout went away, the rows fetched until then.
    pub rows: u64,
    /// Rows written out: all of them but in a table cut at `max_rows`.
    pub shown: u64,
}

/// Write a result in `format` to `output` (or stdout) as its batches come: `schema` first (so an
/// empty result still has its CSV header, its table header and its Parquet schema), then each
/// batch. `max_rows` bounds the rows a table shows (0: all); the other formats write every row.
///
/// The checks that can fail early (Parquet to a terminal, a type Parquet cannot hold) run
/// before anything is created. A file is written beside `--output` under a temporary name,
/// fsynced and renamed over it only once complete (see `whole`), so a query that fails
/// midway (an error from DuckDB, a full disk) never leaves a partial file, the temporary one is
/// removed, and a power cut never leaves an empty or torn one. (A FIFO or a device is written
/// directly.) On stdout, a reader that goes away (`trendlake query … | head`) ends the
/// query quietly: no more batches are fetched.
pub fn write_stream<E>(
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
    format: Format,
    max_rows: usize,
    output: Option<&Path>,
) -> Result<Written>
where
    Error: From<E>,
{
    if format == Format::Parquet && output.is_none() && std::io::stdout().is_terminal() {
        return Err(parquet_to_terminal());
    }
    if format == Format::Parquet
        && let Some(field) = schema
            .fields()
            .iter()
            .find(|f| !parquet_can_hold(f.data_type()))
    {
        return Err(Error::Usage(format!(
            "column {:?} is of type {}, which trendlake cannot write to Parquet; cast it in the \
             query (e.g. {0}::VARCHAR, or epoch({0}) for an INTERVAL's seconds) or use \
             --format csv|json|jsonl",
            field.name(),
            field.data_type()
        )));
    }
    let (mut sink, file) = match output {
        Some(path) => {
            let (out, file) = OutputFile::create(path)?;
            (Sink::new(Box::new(out), None), Some(file))
        }
        None => {
            let closed = Arc::new(AtomicBool::new(false));
            let stdout = PipeStdout {
                stdout: std::io::stdout(),
                closed: closed.clone(),
            };
            (Sink::new(Box::new(stdout), Some(closed)), None)
        }
    };
    // Only a table going to a terminal is fitted to it: a file or a pipe gets every column whole.
    let width = if output.is_none() && std::io::stdout().is_terminal() {
        terminal_width()
    } else {
        None
    };
    let look = TableLook {
        max_rows,
        width,
        hints: Hints::Flags,
    };
    let written = match format {
        Format::Table => write_table(&mut sink, schema, batches, look),
        Format::Csv => write_csv(&mut sink, schema, batches),
        Format::Json => write_json::<JsonArray, E>(&mut sink, batches, true),
        Format::Jsonl => write_json::<LineDelimited, E>(&mut sink, batches, false),
        Format::Parquet => write_parquet(&mut sink, schema, batches),
    }
    .and_then(|w| {
        sink.flush().map_err(OutputError::from)?;
        Ok(w)
    });
    drop(sink);
    match (written, file) {
        (Ok(w), Some(file)) => {
            file.finish()?;
            Ok(w)
        }
        // Dropping `file` removes the unfinished one.
        (result, _) => result,
    }
}

/// [`write_stream`] of batches already in memory, a table showing them all. `batches` must hold
/// at least one batch (an empty result is one empty batch, as `Warehouse::query` returns it),
/// whose schema is the result's.
pub fn write_batches(batches: &[RecordBatch], format: Format, output: Option<&Path>) -> Result<()> {
    let Some(first) = batches.first() else {
        return Err(OutputError::NoBatches.into());
    };
    write_stream(
        first.schema(),
        batches.iter().cloned().map(Ok::<_, Error>),
        format,
        0,
        output,
    )?;
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
    #[error("--output: {0}")]
    File(#[from] ReplaceError),
}

/// How a table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLook {
    /// Rows shown at most (0: all); the rest are only counted.
    pub max_rows: usize,
    /// The terminal's width, which the table's lines are fitted to; `None`: never fitted (a
    /// file, a pipe).
    pub width: Option<usize>,
    /// What the notes under a cut table suggest.
    pub hints: Hints,
}

/// How the notes under a table say to see what it left out: `query`'s flags on the command
/// line, the dot commands at the prompt (where flags cannot be changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hints {
    Flags,
    Prompt,
}

impl Hints {
    fn all_rows(self) -> &'static str {
        match self {
            Hints::Flags => "--max-rows 0 shows all, or --format csv",
            Hints::Prompt => ".maxrows 0 shows all, or .mode csv, or .output FILE",
        }
    }

    fn all_columns(self) -> &'static str {
        match self {
            Hints::Flags => "--format csv shows all",
            Hints::Prompt => ".mode line shows all",
        }
    }
}

/// The width of the terminal on stdout, else `$COLUMNS` (a pseudo-terminal nobody sized says
/// 0 columns; `COLUMNS=60` also lets a test choose). `None` when neither says.
pub fn terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(w, _)| usize::from(w.0))
        .filter(|&w| w > 0)
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|&w| w > 0)
        })
}

/// The table: the first `max_rows` rows (all when 0) rendered, fitted to the terminal's width
/// if it has one, the rest only counted; then notes saying how many columns and rows were left
/// out.
pub fn write_table<E>(
    out: &mut impl Write,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
    look: TableLook,
) -> Result<Written>
where
    Error: From<E>,
{
    let max_rows = look.max_rows;
    let mut shown: Vec<RecordBatch> = Vec::new();
    let (mut rows, mut shown_rows) = (0u64, 0usize);
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        let room = if max_rows == 0 {
            usize::MAX
        } else {
            max_rows - shown_rows
        };
        let take = batch.num_rows().min(room);
        if take > 0 {
            shown.push(printable(&batch.slice(0, take)).map_err(OutputError::from)?);
            shown_rows += take;
        }
    }
    if shown.is_empty() {
        shown.push(printable(&RecordBatch::new_empty(schema)).map_err(OutputError::from)?);
    }
    let mut columns = None;
    if let Some(width) = look.width {
        let fitted = fit(&shown, width).map_err(OutputError::from)?;
        if let Some((batch, kept, all)) = fitted {
            shown = vec![batch];
            columns = (kept < all).then_some((kept, all));
        }
    }
    let table = arrow::util::pretty::pretty_format_batches(&shown).map_err(OutputError::from)?;
    writeln!(out, "{table}").map_err(OutputError::from)?;
    if let Some((kept, all)) = columns {
        writeln!(
            out,
            "({kept} of {all} columns shown; {})",
            look.hints.all_columns()
        )
        .map_err(OutputError::from)?;
    }
    if rows > shown_rows as u64 {
        writeln!(
            out,
            "({} of {} rows shown; {})",
            thousands(shown_rows as u64),
            thousands(rows),
            look.hints.all_rows()
        )
        .map_err(OutputError::from)?;
    }
    Ok(Written {
        rows,
        shown: shown_rows as u64,
    })
}

/// Values are cut to no fewer terminal columns than this before middle columns are hidden: a
/// value cut shorter says too little to be worth the room.
pub const CUT_AT_LEAST: usize = 16;

/// Which columns of a table fit a terminal: the first `left` and the last `right` (all of them
/// when `left + right` is the count; otherwise a `…` column stands for the rest), their values
/// cut to `cap` terminal columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    left: usize,
    right: usize,
    cap: usize,
}

/// The width of a table's lines (arrow's layout: `| ` before each value, ` ` after it, a
/// closing `|`) with the columns of `widths` the layout keeps, cut to `cap`.
fn line_width(widths: &[usize], left: usize, right: usize, cap: usize) -> usize {
    let n = widths.len();
    let kept = widths[..left].iter().chain(&widths[n - right..]);
    let gap = if left + right < n { 1 + 3 } else { 0 };
    1 + kept.map(|&w| w.min(cap) + 3).sum::<usize>() + gap
}

/// The widest cut at which the kept columns fit `room`; 1 when none does (the lines will be
/// wider than the terminal, as narrow as they can be).
fn widest_cap(widths: &[usize], left: usize, right: usize, room: usize) -> usize {
    let n = widths.len();
    let widest = widths[..left]
        .iter()
        .chain(&widths[n - right..])
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let fits = |cap| line_width(widths, left, right, cap) <= room;
    if fits(widest) {
        return widest;
    }
    // `fits` only turns false as the cap grows: search for the last cap that fits.
    let (mut lo, mut hi) = (1, widest - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// How columns of these widths (the widest value or name of each, in terminal columns) fit a
/// terminal `room` columns wide: all of them whole if they fit; else all of them with long
/// values cut, if no value need be cut below [`CUT_AT_LEAST`]; else the first and last columns
/// and then, alternately from the left and the right, as many as fit with values cut at
/// [`CUT_AT_LEAST`], their values then cut as little as the room left allows.
fn layout(widths: &[usize], room: usize) -> Layout {
    let n = widths.len();
    if n == 0 || line_width(widths, n, 0, usize::MAX) <= room {
        return Layout {
            left: n,
            right: 0,
            cap: usize::MAX,
        };
    }
    let cap = widest_cap(widths, n, 0, room);
    if n == 1 || cap >= CUT_AT_LEAST {
        return Layout {
            left: n,
            right: 0,
            cap,
        };
    }
    let (mut left, mut right) = (1, 1);
    // Keeping every column but one would need more room than keeping them all, which does not
    // fit: so the `…` column always stands for at least one.
    while left + right + 1 < n {
        let (l, r) = if left <= right {
            (left + 1, right)
        } else {
            (left, right + 1)
        };
        if line_width(widths, l, r, CUT_AT_LEAST) > room {
            break;
        }
        (left, right) = (l, r);
    }
    Layout {
        left,
        right,
        cap: widest_cap(widths, left, right, room),
    }
}

/// Terminal columns `text` takes in a table: its widest line, as comfy-table (arrow's table)
/// measures it.
fn text_width(text: &str) -> usize {
    text.split('\n')
        .map(UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

/// `text` with each line longer than `cap` terminal columns cut to end in `…` within them.
fn cut(text: &str, cap: usize) -> String {
    text.split('\n')
        .map(|line| {
            if line.width() <= cap {
                return line.to_string();
            }
            // Whole grapheme clusters only, so an accent is never parted from its letter.
            let mut end = 0;
            for (i, g) in line.grapheme_indices(true) {
                if line[..i + g.len()].width() + 1 > cap {
                    break;
                }
                end = i + g.len();
            }
            format!("{}…", &line[..end])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rows of `shown` (printable batches) fitted to a terminal `width` columns wide (see
/// [`layout`]), as one batch of text with a `…` column standing for the hidden ones, with how
/// many of how many columns it shows; `None` when the table fits as it is.
fn fit(
    shown: &[RecordBatch],
    width: usize,
) -> Result<Option<(RecordBatch, usize, usize)>, ArrowError> {
    let Some(first) = shown.first() else {
        return Ok(None);
    };
    let schema = first.schema();
    // The values as arrow's table prints them (nulls empty).
    let options = FormatOptions::default();
    let mut texts: Vec<Vec<String>> = schema
        .fields()
        .iter()
        .map(|f| vec![f.name().clone()])
        .collect();
    for batch in shown {
        for (column, text) in batch.columns().iter().zip(texts.iter_mut()) {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            text.extend((0..batch.num_rows()).map(|row| formatter.value(row).to_string()));
        }
    }
    let widths: Vec<usize> = texts
        .iter()
        .map(|t| t.iter().map(|v| text_width(v)).max().unwrap_or(0))
        .collect();
    let all = widths.len();
    let Layout { left, right, cap } = layout(&widths, width);
    if left == all && cap == usize::MAX {
        return Ok(None);
    }
    let column = |text: &[String]| -> (Field, ArrayRef) {
        let name = cut(&text[0], cap);
        let values: StringArray = text[1..].iter().map(|v| Some(cut(v, cap))).collect();
        (Field::new(name, DataType::Utf8, false), Arc::new(values))
    };
    let mut fitted: Vec<(Field, ArrayRef)> = texts[..left].iter().map(|t| column(t)).collect();
    if left + right < all {
        let rows = texts[0].len() - 1;
        let gap: StringArray = std::iter::repeat_n(Some("…"), rows).collect();
        fitted.push((Field::new("…", DataType::Utf8, false), Arc::new(gap)));
    }
    fitted.extend(texts[all - right..].iter().map(|t| column(t)));
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = fitted.into_iter().unzip();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok(Some((batch, left + right, all)))
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn write_csv<E>(
    sink: &mut Sink,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
) -> Result<Written>
where
    Error: From<E>,
{
    let mut rows = 0u64;
    let mut header = true;
    for batch in batches {
        let batch = batch?;
        if batch.num_rows() == 0 && !header {
            continue;
        }
        rows += batch.num_rows() as u64;
        let text = printable(&batch).map_err(OutputError::from)?;
        arrow::csv::WriterBuilder::new()
            .with_header(header)
            .build(&mut *sink)
            .write(&text)
            .map_err(OutputError::from)?;
        header = false;
        if sink.batch_done()? {
            break;
        }
    }
    if header {
        // No batch at all: the header alone.
        let empty = printable(&RecordBatch::new_empty(schema)).map_err(OutputError::from)?;
        arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut *sink)
            .write(&empty)
            .map_err(OutputError::from)?;
    }
    Ok(Written { rows, shown: rows })
}

/// JSON (one array, `[]` when empty) or JSON lines (one record per line, nothing when empty).
fn write_json<F: JsonFormat, E>(
    sink: &mut Sink,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
    array: bool,
) -> Result<Written>
where
    Error: From<E>,
{
    let mut rows = 0u64;
    let mut w = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_encoder_factory(Arc::new(TextEncoders))
        .build::<_, F>(&mut *sink);
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        w.write(&batch).map_err(OutputError::from)?;
        if w.get_mut().batch_done()? {
            break;
        }
    }
    w.finish().map_err(OutputError::from)?;
    drop(w);
    if array {
        // The array ends its line; each of JSON lines' records already does.
        writeln!(sink).map_err(OutputError::from)?;
    }
    Ok(Written { rows, shown: rows })
}

fn write_parquet<E>(
    sink: &mut Sink,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, E>>,
) -> Result<Written>
where
    Error: From<E>,
{
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build();
    let mut w = ArrowWriter::try_new(&mut *sink, schema, Some(props)).map_err(OutputError::from)?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        w.write(&batch).map_err(OutputError::from)?;
        if w.inner_mut().batch_done()? {
            break;
        }
    }
    w.close().map_err(OutputError::from)?;
    Ok(Written { rows, shown: rows })
}

/// Where the bytes go: a buffer in front of stdout or the output file.
struct Sink {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Set when stdout's reader went away; `None` for a file.
    stdout_closed: Option<Arc<AtomicBool>>,
}

impl Sink {
    fn new(out: Box<dyn Write + Send>, stdout_closed: Option<Arc<AtomicBool>>) -> Self {
        Self {
            out: BufWriter::with_capacity(256 * 1024, out),
            stdout_closed,
        }
    }

    /// After each batch: stdout is flushed, so a reader sees rows as they come. Whether to stop
    /// because stdout's reader went away.
    fn batch_done(&mut self) -> Result<bool, OutputError> {
        let Some(closed) = &self.stdout_closed else {
            return Ok(false);
        };
        self.out.flush()?;
        Ok(closed.load(Ordering::Relaxed))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// An `--output` file being written: a [`Replacement`] beside it, put in place by
/// [`OutputFile::finish`] and removed if dropped unfinished. A path that exists and is not a
/// regular file (a FIFO, `/dev/stdout`) is written directly.
struct OutputFile {
    /// `None` when the path is written directly.
    replacement: Option<Replacement>,
}

impl OutputFile {
    fn create(path: &Path) -> Result<(File, Self)> {
        let cannot_create = |source| Error::Io {
            context: format!("cannot create --output {}", path.display()),
            source,
        };
        // A symbolic link keeps pointing where it did: the file it names is replaced.
        let target = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
            }
            _ => path.to_path_buf(),
        };
        if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
            let file = File::create(&target).map_err(cannot_create)?;
            return Ok((file, Self { replacement: None }));
        }
        let replacement = Replacement::begin(&target).map_err(OutputError::from)?;
        // The sink owns its handle; `finish` syncs the file through the replacement's.
        let file = replacement.file().try_clone().map_err(cannot_create)?;
        Ok((
            file,
            Self {
                replacement: Some(replacement),
            },
        ))
    }

    /// Put the complete result in place, on disk.
    fn finish(self) -> Result<()> {
        if let Some(replacement) = self.replacement {
            replacement.commit().map_err(OutputError::from)?;
        }
        Ok(())
    }
}

/// Stdout that takes a closed pipe (`trendlake query … | head`) as the reader having seen
/// enough: the rest is discarded instead of failing the query, and `closed` tells the writer to
/// stop fetching.
struct PipeStdout {
    stdout: std::io::Stdout,
    closed: Arc<AtomicBool>,
}

impl PipeStdout {
    fn closed_pipe<T>(&mut self, result: std::io::Result<T>, or: T) -> std::io::Result<T> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed.store(true, Ordering::Relaxed);
                Ok(or)
            }
            other => other,
        }
    }
}

impl Write for PipeStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        let written = self.stdout.write(buf);
        self.closed_pipe(written, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
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
                ("x.jsonl", Format::Jsonl),
                ("x.NDJSON", Format::Jsonl),
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
                assert!(
                    msg.contains(".csv, .json, .jsonl, .ndjson, .parquet"),
                    "{msg}"
                );
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

    /// `n` rows of `sample()` in batches of `per` (the last may be shorter).
    fn batches_of(n: usize, per: usize) -> Vec<RecordBatch> {
        let one = sample().slice(1, 1);
        let rows: Vec<RecordBatch> = (0..n).map(|_| one.clone()).collect();
        rows.chunks(per)
            .map(|c| arrow::compute::concat_batches(&one.schema(), c).unwrap())
            .collect()
    }

    fn stream_to(
        path: &Path,
        format: Format,
        max_rows: usize,
        batches: Vec<Result<RecordBatch, Error>>,
    ) -> Result<Written> {
        write_stream(sample().schema(), batches, format, max_rows, Some(path))
    }

    #[test]
    fn json_lines_is_one_record_per_line_like_json() {
        let text = render(Format::Jsonl, &[sample()]);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let array: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &[sample()])).unwrap();
        assert_eq!(serde_json::Value::Array(lines), array);
        assert!(text.ends_with("}\n") && text.lines().count() == 2, "{text}");
        assert_eq!(
            render(Format::Jsonl, &[RecordBatch::new_empty(sample().schema())]),
            ""
        );
    }

    #[test]
    fn every_batch_is_written_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let batches = batches_of(10, 3);
        assert_eq!(batches.len(), 4);
        for format in [Format::Csv, Format::Json, Format::Jsonl, Format::Parquet] {
            let path = dir.path().join("out");
            let written =
                stream_to(&path, format, 0, batches.iter().cloned().map(Ok).collect()).unwrap();
            assert_eq!(
                written,
                Written {
                    rows: 10,
                    shown: 10
                },
                "{format:?}"
            );
            let rows = match format {
                Format::Csv => std::fs::read_to_string(&path).unwrap().lines().count() - 1,
                Format::Json => {
                    let v: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    v.as_array().unwrap().len()
                }
                Format::Jsonl => std::fs::read_to_string(&path).unwrap().lines().count(),
                _ => {
                    let reader =
                        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                            std::fs::File::open(&path).unwrap(),
                        )
                        .unwrap();
                    reader.metadata().file_metadata().num_rows() as usize
                }
            };
            assert_eq!(rows, 10, "{format:?}");
        }
    }

    #[test]
    fn a_table_shows_max_rows_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let batches = || batches_of(1234, 100).into_iter().map(Ok).collect();
        let written = stream_to(&path, Format::Table, 40, batches()).unwrap();
        assert_eq!(
            written,
            Written {
                rows: 1234,
                shown: 40
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3 + 40 + 1 + 1, "{text}");
        assert_eq!(
            lines.last().unwrap(),
            &"(40 of 1,234 rows shown; --max-rows 0 shows all, or --format csv)"
        );
        // 0: every row, no note.
        let written = stream_to(&path, Format::Table, 0, batches()).unwrap();
        assert_eq!(
            written,
            Written {
                rows: 1234,
                shown: 1234
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3 + 1234 + 1);
        // A limit the result does not reach: no note either.
        stream_to(&path, Format::Table, 5000, batches()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_failure_midway_leaves_no_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        for format in [
            Format::Csv,
            Format::Json,
            Format::Jsonl,
            Format::Parquet,
            Format::Table,
        ] {
            let path = dir.path().join("out");
            let _ = std::fs::remove_file(&path);
            let failing = || {
                let mut b: Vec<Result<RecordBatch, Error>> =
                    batches_of(5, 2).into_iter().map(Ok).collect();
                b.insert(2, Err(Error::Usage("the query failed midway".into())));
                b
            };
            let err = stream_to(&path, format, 0, failing()).unwrap_err();
            assert!(err.to_string().contains("midway"), "{format:?}: {err}");
            assert!(!path.exists(), "{format:?}: no partial file");
            std::fs::write(&path, "old").unwrap();
            stream_to(&path, format, 0, failing()).unwrap_err();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "{format:?}");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 1, "{format:?}: no temporary file left");
        }
    }

    #[test]
    fn a_symbolic_link_is_followed_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        let link = dir.path().join("link.csv");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_batches(&[sample()], Format::Csv, Some(&link)).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .starts_with("fetched_at,")
        );
    }

    #[test]
    fn a_fifo_is_written_directly_not_replaced() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.csv");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_batches(&[sample()], Format::Csv, Some(&fifo)).unwrap();
        // Had a file been renamed over the FIFO, the reader would wait for a writer forever.
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(reader.join().unwrap(), render(Format::Csv, &[sample()]));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file beside the FIFO");
    }

    /// A chart-like result wider than a terminal: five columns, one of long titles.
    fn wide() -> RecordBatch {
        RecordBatch::try_from_iter([
            ("rank", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "region",
                Arc::new(StringArray::from(vec!["JP", "KR"])) as ArrayRef,
            ),
            (
                "title",
                Arc::new(StringArray::from(vec![
                    "A very long title that goes on and on",
                    "日本語のタイトル",
                ])) as ArrayRef,
            ),
            (
                "channel_title",
                Arc::new(StringArray::from(vec![Some("Some Channel"), None])) as ArrayRef,
            ),
            (
                "view_count",
                Arc::new(Int64Array::from(vec![1_234_567, 89])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn table_at(batch: &RecordBatch, width: Option<usize>, max_rows: usize) -> String {
        let mut out = Vec::new();
        write_table(
            &mut out,
            batch.schema(),
            [Ok::<_, Error>(batch.clone())],
            TableLook {
                max_rows,
                width,
                hints: Hints::Prompt,
            },
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_wide_table_is_fitted_at_given_widths() {
        let batch = wide();
        let whole = table_at(&batch, None, 0);
        assert_eq!(whole.lines().next().unwrap().len(), 86);
        assert_eq!(table_at(&batch, Some(86), 0), whole, "it fits: unchanged");
        assert_eq!(table_at(&batch, Some(200), 0), whole);
        // 80: every column, the long title cut to fit (no value cut below 16 columns).
        assert_eq!(
            table_at(&batch, Some(80), 0),
            "\
+------+--------+---------------------------------+---------------+------------+
| rank | region | title                           | channel_title | view_count |
+------+--------+---------------------------------+---------------+------------+
| 1    | JP     | A very long title that goes on… | Some Channel  | 1234567    |
| 2    | KR     | 日本語のタイトル                |               | 89         |
+------+--------+---------------------------------+---------------+------------+
"
        );
        // 60: the title would be cut below 16: the middle column gives way to `…`, the first
        // two and the last two kept whole.
        assert_eq!(
            table_at(&batch, Some(60), 0),
            "\
+------+--------+---+---------------+------------+
| rank | region | … | channel_title | view_count |
+------+--------+---+---------------+------------+
| 1    | JP     | … | Some Channel  | 1234567    |
| 2    | KR     | … |               | 89         |
+------+--------+---+---------------+------------+
(4 of 5 columns shown; .mode line shows all)
"
        );
        // 20: the first and last columns always, cut to fit.
        assert_eq!(
            table_at(&batch, Some(20), 0),
            "\
+------+---+-------+
| rank | … | view… |
+------+---+-------+
| 1    | … | 1234… |
| 2    | … | 89    |
+------+---+-------+
(2 of 5 columns shown; .mode line shows all)
"
        );
        // Rows and columns both cut: both notes, the columns' first.
        assert_eq!(
            table_at(&batch, Some(40), 1),
            "\
+------+--------+---+------------+
| rank | region | … | view_count |
+------+--------+---+------------+
| 1    | JP     | … | 1234567    |
+------+--------+---+------------+
(3 of 5 columns shown; .mode line shows all)
(1 of 2 rows shown; .maxrows 0 shows all, or .mode csv, or .output FILE)
"
        );
        // Every width a table can be fitted to (13: `| x | … | y |`): no line is wider.
        for width in 13..=86 {
            let text = table_at(&batch, Some(width), 0);
            for line in text.lines().filter(|l| l.starts_with(['+', '|'])) {
                assert!(line.width() <= width, "{width}: {line:?}\n{text}");
            }
        }
    }

    #[test]
    fn fitting_keeps_the_first_and_last_columns_and_alternates_inward() {
        let l = |left, right, cap| Layout { left, right, cap };
        let all = usize::MAX;
        // Lines are 1 + (width + 3) per column, + 4 for the `…` column.
        let widths = [4, 6, 37, 13, 10];
        assert_eq!(layout(&widths, 86), l(5, 0, all));
        assert_eq!(layout(&widths, 85), l(5, 0, 36));
        assert_eq!(layout(&widths, 65), l(5, 0, 16));
        // Below 16 for the title: the rank, the view count, then the region, the channel.
        assert_eq!(layout(&widths, 64), l(2, 2, 13));
        assert_eq!(layout(&widths, 49), l(2, 1, 10));
        assert_eq!(layout(&widths, 34), l(2, 1, 10));
        assert_eq!(layout(&widths, 33), l(1, 1, 10));
        assert_eq!(layout(&widths, 24), l(1, 1, 9));
        assert_eq!(layout(&widths, 13), l(1, 1, 1));
        assert_eq!(layout(&widths, 1), l(1, 1, 1), "as narrow as it can be");
        // Many narrow columns: as many as fit, from both ends.
        assert_eq!(layout(&[2; 10], 30), l(3, 2, 2));
        // One column: its values cut, to 1 at worst.
        assert_eq!(layout(&[50], 20), l(1, 0, 16));
        assert_eq!(layout(&[50], 3), l(1, 0, 1));
        assert_eq!(layout(&[], 3), l(0, 0, all));
    }

    #[test]
    fn values_are_cut_within_their_width_on_grapheme_boundaries() {
        assert_eq!(cut("abcdefghij", 10), "abcdefghij");
        assert_eq!(cut("abcdefghij", 9), "abcdefgh…");
        assert_eq!(cut("abcdefghij", 1), "…");
        // Two columns a character: cut before one that would not fit whole.
        assert_eq!(cut("日本語のタイトル", 6), "日本…");
        assert_eq!(cut("日本語のタイトル", 7), "日本語…");
        // An accent stays with its letter.
        assert_eq!(cut("cafe\u{301} au lait", 5), "cafe\u{301}…");
        // Each line of a multi-line value.
        assert_eq!(cut("first line\nsecond", 6), "first…\nsecond");
        assert_eq!(text_width("first line\nsecond"), 10);
    }

    #[test]
    fn thousands_are_separated() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234, "1,234"),
            (20_000_000, "20,000,000"),
            (123_456_789_012, "123,456,789,012"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }
}
