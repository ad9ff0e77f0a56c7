//! Where each setting comes from: the command line, then the environment (both clap's), then a
//! TOML file (`--config FILE` / `TRENDLAKE_CONFIG`), then the built-in default.
//!
//! The file is folded in as clap defaults, so every setting is defined once (its clap `Arg`) and
//! every value, whatever its source, goes through the same clap parser. Each file value is
//! checked on its own first, so a bad one is reported with the file, line and key.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use toml::de::{DeTable, DeValue};

use super::Cli;
use crate::logging::LogFormat;

/// Subcommands whose settings a config file may give (keys they lack are ignored by them). No
/// other command reads the file (`--config`'s help names these).
const LAYERED: &[&str] = &[
    "run", "snapshot", "merge", "rebuild", "forget", "check", "query", "report", "ddl", "config",
];
/// Commands with settings of their own that a config file must not give, so they ignore it and
/// say so: the demo and the fake API take their flags alone (the demo would otherwise build its
/// fake history into the lake and warehouse of the deployment whose file it was given).
const IGNORE_THE_FILE: &[&str] = &["demo", "fake-api"];
/// Commands whose unset `date` is today's (UTC): the snapshot's date.
const DATED_TODAY: &[&str] = &["run", "snapshot", "config"];
/// The subcommand that holds every key a config file may set (it takes `run`'s flags).
const ALL_KEYS: &str = "config";
/// Top-level settings a config file may also give.
const GLOBAL_KEYS: &[&str] = &["log_format"];

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(String),
    File {
        path: PathBuf,
        line: usize,
    },
    Default,
    /// `date` left out where it means the current UTC date (the snapshot's date of `run`).
    Today,
    /// No value at all (an optional setting left out).
    Unset,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File { path, line } => write!(f, "file {}:{line}", path.display()),
            Origin::Default => f.write_str("default"),
            Origin::Today => f.write_str("default (today, UTC)"),
            Origin::Unset => f.write_str("unset"),
        }
    }
}

/// One setting of the command being run, as resolved.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key in a config file, and clap's id: `concurrency`.
    pub key: String,
    /// `--concurrency`.
    pub flag: String,
    pub env: Option<String>,
    /// The value as it would be typed (lists comma-joined); `None` when unset.
    pub value: Option<String>,
    pub origin: Origin,
}

/// The parsed command line and where each of its settings came from.
#[derive(Debug)]
pub struct Parsed {
    pub cli: Cli,
    pub settings: Vec<Setting>,
}

/// How to name a setting in an error, by where it came from: `--concurrency`,
/// `TRENDLAKE_CONCURRENCY`, or `concurrency (trendlake.toml line 3)`.
pub(super) fn name_of(settings: &[Setting], key: &str) -> String {
    match settings.iter().find(|s| s.key == key) {
        Some(Setting {
            origin: Origin::Env(name),
            ..
        }) => name.clone(),
        Some(Setting {
            origin: Origin::File { path, line },
            key,
            ..
        }) => format!("{key} ({} line {line})", path.display()),
        Some(s) => s.flag.clone(),
        None => format!("--{}", key.replace('_', "-")),
    }
}

/// A config file that cannot be used: exit 2, naming the file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}; check --config / TRENDLAKE_CONFIG")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("config file {path}, line {line}, key `{key}`: {message}")]
    Key {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// Why the command line could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// clap's own error (also `--help` and `--version`, which are not failures).
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// The config file is unusable. It is reported in the log format the command line or the
    /// environment asks for, else in the one the file itself sets (as far as it can be read), so
    /// a file that sets `log_format = "json"` gets its own errors as JSON too.
    #[error("{error}")]
    Config {
        error: ConfigError,
        log_format: LogFormat,
    },
}

/// A value read from the config file, as clap would take it from the command line.
struct FileValue {
    key: String,
    line: usize,
    /// `None` for a boolean flag set to false (the flag is simply absent).
    value: Option<String>,
}

/// Parse `argv` (program name first) with the environment and the config file folded in.
pub fn parse<I, T>(argv: I) -> Result<Parsed, ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let first = Cli::command().try_get_matches_from(&argv)?;
    let command = first.subcommand_name().unwrap_or_default();
    let mut config_path = config_path(&first);
    if !LAYERED.contains(&command)
        && let Some(path) = config_path.take()
        && IGNORE_THE_FILE.contains(&command)
    {
        crate::logging::warning(&format!(
            "{command} reads no config file, so {} is ignored (log_format included): its \
             settings are its own flags alone",
            path.display()
        ));
    }
    let (matches, file) = match &config_path {
        None => (first, Vec::new()),
        Some(path) => {
            let file = read_file(path).map_err(|error| ParseError::Config {
                error,
                log_format: error_log_format(&first, path),
            })?;
            let command = with_file_defaults(Cli::command(), &file);
            (command.try_get_matches_from(&argv)?, file)
        }
    };
    let cli = Cli::from_arg_matches(&matches)?;
    let today = chrono::Utc::now().date_naive();
    let settings = resolve(&matches, &file, config_path.as_deref(), today);
    Ok(Parsed { cli, settings })
}

/// The log format of an error in the config file `path`: the flag's or the variable's, else
/// the file's own `log_format` when it can be made out, else text.
fn error_log_format(matches: &ArgMatches, path: &Path) -> LogFormat {
    let given = matches!(
        matches.value_source("log_format"),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    );
    let asked = matches.get_one::<LogFormat>("log_format").copied();
    match (given, asked) {
        (true, Some(format)) => format,
        _ => std::fs::read_to_string(path)
            .ok()
            .and_then(|text| log_format_in(&text))
            .unwrap_or(LogFormat::Text),
    }
}

/// The `log_format` a config file's text sets, even when the file is otherwise unusable: from
/// the parsed TOML, or, when the TOML does not parse, from a top-level `log_format = "…"` line.
fn log_format_in(text: &str) -> Option<LogFormat> {
    use clap::ValueEnum;
    let named = |key: &str| matches!(key, "log_format" | "log-format");
    let value = match DeTable::parse(text) {
        Ok(table) => table
            .get_ref()
            .iter()
            .find(|(k, _)| named(k.get_ref()))
            .and_then(|(_, v)| v.get_ref().as_str().map(str::to_string)),
        Err(_) => text
            .lines()
            .map(str::trim)
            // Keys under a [table] are not top-level settings.
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| named(k.trim()))
            .map(|(_, v)| {
                let v = v.split('#').next().unwrap_or_default().trim();
                v.trim_matches(|c| c == '"' || c == '\'').to_string()
            }),
    };
    LogFormat::from_str(&value?, false).ok()
}

/// `--config` wherever it was given (it is global, so it may follow the subcommand).
fn config_path(matches: &ArgMatches) -> Option<PathBuf> {
    let sub = matches.subcommand().map(|(_, m)| m);
    sub.and_then(|m| m.try_get_one::<PathBuf>("config").ok().flatten())
        .or_else(|| matches.get_one::<PathBuf>("config"))
        .cloned()
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn read_file(path: &Path) -> Result<Vec<FileValue>, ConfigError> {
    let unreadable = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Opened once, so the permissions checked below are those of the file that was read.
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    let table = DeTable::parse(&text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(&text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let command = Cli::command();
    let all = command
        .find_subcommand(ALL_KEYS)
        .expect("the config subcommand exists");
    let mut values = Vec::new();
    for (key, value) in table.get_ref() {
        let line = line_of(&text, key.span().start);
        let name = key.get_ref().replace('-', "_");
        let bad = |message: String| ConfigError::Key {
            path: path.to_path_buf(),
            line,
            key: key.get_ref().to_string(),
            message,
        };
        let arg = all
            .get_arguments()
            .chain(command.get_arguments())
            .find(|a| a.get_id() == name.as_str() && a.get_long().is_some())
            .filter(|a| a.get_id() != "config")
            .filter(|a| !a.is_global_set() || GLOBAL_KEYS.contains(&name.as_str()))
            .ok_or_else(|| {
                bad(format!(
                    "unknown setting; the keys are {} (see `trendlake config`)",
                    known_keys().join(", ")
                ))
            })?;
        let flag = matches!(arg.get_action(), ArgAction::SetTrue);
        let list = arg.get_value_delimiter().is_some();
        let text_value = match value.get_ref() {
            DeValue::Boolean(b) if flag => b.then(|| "true".to_string()),
            _ if flag => return Err(bad("expected true or false".into())),
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => Some(i.to_string()),
            DeValue::Float(f) => Some(f.to_string()),
            DeValue::Array(items) if list => {
                let mut parts = Vec::new();
                for item in items {
                    match item.get_ref().as_str() {
                        Some(s) => parts.push(s.to_string()),
                        None => return Err(bad("expected a list of strings".into())),
                    }
                }
                Some(parts.join(","))
            }
            other => {
                return Err(bad(format!(
                    "a {} is not a valid value here",
                    other.type_str()
                )));
            }
        };
        // The value alone through clap's own parser, as if typed after its flag.
        if let Some(v) = &text_value {
            let long = arg.get_long().expect("file keys are long flags");
            let trial = if flag {
                vec![format!("--{long}")]
            } else {
                vec![format!("--{long}={v}")]
            };
            Cli::command()
                .try_get_matches_from(
                    ["trendlake".to_string(), ALL_KEYS.to_string()]
                        .into_iter()
                        .chain(trial),
                )
                .map_err(|e| bad(clap_message(&e)))?;
        }
        values.push(FileValue {
            key: name,
            line,
            value: text_value,
        });
    }
    let holds_key = values
        .iter()
        .any(|v| v.key == "api_key" && v.value.as_deref().is_some_and(|k| !k.is_empty()));
    if holds_key {
        warn_if_exposed(path, &file);
    }
    Ok(values)
}

/// A config file holding the API key that other users can get at draws a warning. Not an
/// error: the key is exposed already, and refusing would only cost the night's snapshot.
fn warn_if_exposed(path: &Path, file: &std::fs::File) {
    #[cfg(unix)]
    if let Some(mode) = file.metadata().ok().as_ref().and_then(exposed_mode) {
        crate::logging::warning(&exposed_key_warning(path, mode));
    }
    #[cfg(not(unix))]
    let _ = (path, file);
}

/// The file's permission bits when any group or other bit is set: a group member or any user
/// may read (or replace) what it holds.
#[cfg(unix)]
fn exposed_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(unix)]
fn exposed_key_warning(path: &Path, mode: u32) -> String {
    format!(
        "the config file {path} holds api_key and other users have access to it (mode {mode:04o}); \
         restrict it with `chmod 600 {path}`, or give the key in YOUTUBE_API_KEY instead",
        path = path.display()
    )
}

/// clap's error without its `error:` prefix and usage lines.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.trim_start_matches("error: ").trim().to_string()
}

/// Every key a config file may set.
pub fn known_keys() -> Vec<String> {
    let command = Cli::command();
    let all = command
        .find_subcommand(ALL_KEYS)
        .expect("the config subcommand exists");
    all.get_arguments()
        .filter(|a| a.get_long().is_some() && !a.is_global_set())
        .map(|a| a.get_id().to_string())
        .chain(GLOBAL_KEYS.iter().map(|k| k.to_string()))
        .filter(|k| k != "help")
        .collect()
}

/// The command with the file's values as defaults: flags and the environment still win.
fn with_file_defaults(mut command: clap::Command, file: &[FileValue]) -> clap::Command {
    for fv in file {
        let Some(value) = fv.value.clone() else {
            continue;
        };
        if GLOBAL_KEYS.contains(&fv.key.as_str()) {
            command = command.mut_arg(fv.key.as_str(), |a| a.default_value(value.clone()));
            continue;
        }
        for name in LAYERED {
            command = command.mut_subcommand(*name, |sub| {
                if sub.get_arguments().any(|a| a.get_id() == fv.key.as_str()) {
                    sub.mut_arg(fv.key.as_str(), |a| set_default(a, &value))
                } else {
                    sub
                }
            });
        }
    }
    command
}

fn set_default(arg: clap::Arg, value: &str) -> clap::Arg {
    match arg.get_value_delimiter() {
        Some(d) => {
            let parts: Vec<String> = value.split(d).map(str::to_string).collect();
            arg.default_values(parts)
        }
        None => arg.default_value(value.to_string()),
    }
}

/// The settings of the subcommand run (and the global ones), with their origins; an unset
/// snapshot date is `today`'s.
fn resolve(
    matches: &ArgMatches,
    file: &[FileValue],
    path: Option<&Path>,
    today: chrono::NaiveDate,
) -> Vec<Setting> {
    let command = Cli::command();
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Vec::new();
    };
    let sub = command
        .find_subcommand(name)
        .expect("clap matched this subcommand");
    let mut settings = Vec::new();
    let args = sub
        .get_arguments()
        .filter(|a| a.get_long().is_some() && !a.is_global_set())
        .map(|a| (a, sub_matches))
        .chain(
            command
                .get_arguments()
                .filter(|a| GLOBAL_KEYS.contains(&a.get_id().as_str()))
                .map(|a| (a, matches)),
        );
    for (arg, m) in args {
        let key = arg.get_id().as_str();
        if key == "help" {
            continue;
        }
        let from_file = file.iter().find(|f| f.key == key);
        let origin = match m.value_source(key) {
            Some(ValueSource::CommandLine) => Origin::Flag,
            Some(ValueSource::EnvVariable) => Origin::Env(
                arg.get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            Some(ValueSource::DefaultValue) | None => match (from_file, path) {
                (Some(f), Some(path)) if f.value.is_some() => Origin::File {
                    path: path.to_path_buf(),
                    line: f.line,
                },
                _ if m.value_source(key).is_some() => Origin::Default,
                _ => Origin::Unset,
            },
            Some(_) => Origin::Default,
        };
        let value = match arg.get_action() {
            ArgAction::SetTrue => Some(m.get_flag(key).to_string()),
            _ => m.get_raw(key).map(|values| {
                values
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        };
        let (value, origin) = match (value, origin) {
            (_, Origin::Unset) if key == "date" && DATED_TODAY.contains(&name) => {
                (Some(today.to_string()), Origin::Today)
            }
            (_, Origin::Unset) => (None, Origin::Unset),
            (Some(_), origin) if key == "api_key" => (Some("[REDACTED]".to_string()), origin),
            (value, origin) => (value, origin),
        };
        settings.push(Setting {
            key: key.to_string(),
            flag: format!("--{}", arg.get_long().expect("filtered on long")),
            env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
            value,
            origin,
        });
    }
    settings
}

/// `trendlake config`: the effective settings of `run`, one per line, and where each came from.
pub fn describe(settings: &[Setting]) -> String {
    let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
    let value_width = settings
        .iter()
        .map(|s| s.value.as_deref().map_or(6, str::len))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for s in settings {
        let value = s.value.as_deref().unwrap_or("(none)");
        writeln!(
            out,
            "{:<width$}  {:<value_width$}  {}",
            s.key, value, s.origin
        )
        .expect("writing to a String");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let text = "a = 1\nb = 2\n\nc = 3\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, text.find('b').unwrap()), 2);
        assert_eq!(line_of(text, text.find('c').unwrap()), 4);
    }

    /// `--config`'s help names the commands that read the file, all of them and no other.
    #[test]
    fn config_help_names_every_command_that_reads_the_file() {
        let cli = Cli::command();
        let help = cli
            .get_arguments()
            .find(|a| a.get_id() == "config")
            .and_then(|a| a.get_help())
            .expect("--config has help")
            .to_string();
        let named: Vec<&str> = cli
            .get_subcommands()
            .map(|c| c.get_name())
            .filter(|name| {
                help.split(|c: char| !(c.is_alphanumeric() || c == '-'))
                    .any(|word| word == *name)
            })
            .collect();
        let mut layered = LAYERED.to_vec();
        let mut named = named;
        layered.sort();
        named.sort();
        assert_eq!(named, layered, "{help}");
    }

    #[test]
    fn an_unset_snapshot_date_is_today_and_says_so() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let date_of = |args: &[&str]| {
            let argv: Vec<&str> = ["trendlake"].iter().chain(args).copied().collect();
            let matches = Cli::command().try_get_matches_from(argv).unwrap();
            let settings = resolve(&matches, &[], None, today);
            let s = settings.into_iter().find(|s| s.key == "date").unwrap();
            (s.value, s.origin)
        };
        for command in DATED_TODAY {
            assert_eq!(
                date_of(&[command]),
                (Some("2026-12-05".into()), Origin::Today),
                "{command}"
            );
            assert_eq!(
                date_of(&[command, "--date", "2026-11-30"]),
                (Some("2026-11-30".into()), Origin::Flag)
            );
        }
        // Where no date means every date (merge) or the latest (report), it stays unset.
        assert_eq!(date_of(&["merge"]), (None, Origin::Unset));
        assert_eq!(date_of(&["report", "--publish"]), (None, Origin::Unset));
        let line = describe(&[Setting {
            key: "date".into(),
            flag: "--date".into(),
            env: Some("TRENDLAKE_DATE".into()),
            value: Some("2026-12-05".into()),
            origin: Origin::Today,
        }]);
        assert_eq!(line, "date  2026-12-05  default (today, UTC)\n");
    }

    #[test]
    fn the_file_log_format_is_read_even_from_a_broken_file() {
        let json = Some(LogFormat::Json);
        // A file that parses, with a bad value elsewhere (checked later, key by key).
        assert_eq!(
            log_format_in("concurrency = \"many\"\nlog_format = \"json\"\n"),
            json
        );
        assert_eq!(log_format_in("log-format = \"json\"\n"), json);
        // A file that does not parse: the line itself, comments and quotes aside.
        assert_eq!(
            log_format_in("lake = 3 3\n  log_format = 'json'   # for the collector\n"),
            json
        );
        assert_eq!(
            log_format_in("regions = [\"JP\",\nlog_format = \"text\""),
            Some(LogFormat::Text)
        );
        // None set, an unknown value, or one under a table: not a format.
        assert_eq!(log_format_in("concurrency = 5\n"), None);
        assert_eq!(log_format_in("log_format = \"xml\"\n"), None);
        assert_eq!(
            log_format_in("lake = 3 3\n[x]\nlog_format = \"json\"\n"),
            None
        );
    }

    #[test]
    fn every_key_is_a_flag_of_run() {
        let keys = known_keys();
        for key in [
            "api_key",
            "api_base_url",
            "regions",
            "lake",
            "warehouse",
            "concurrency",
            "per_region",
            "timeout_secs",
            "max_attempts",
            "retry_min_delay_ms",
            "region_budget_secs",
            "quota_budget",
            "max_rps",
            "log_format",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
        assert!(!keys.iter().any(|k| k == "config" || k == "help"));
    }

    const SECRET: &str = "AIzaSECRET-cli-0123456789";

    fn parsed(args: &[&str]) -> Parsed {
        let argv: Vec<&str> = ["trendlake"].iter().chain(args).copied().collect();
        parse(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// `{:?}` and `{:#?}` of `value` show the key's place, never the key.
    #[track_caller]
    fn assert_debug_hides_key(value: &impl std::fmt::Debug) {
        trendlake::youtube::client::assert_debug_hides_key(value, SECRET);
    }

    #[test]
    fn fetch_args_debug_hides_the_key() {
        use super::super::Command;
        for command in ["run", "snapshot", "config"] {
            let parsed = parsed(&[command, "--api-key", SECRET]);
            // The key is kept, for the client to send.
            assert_eq!(parsed.cli.api_key().unwrap().expose(), SECRET);
            assert_debug_hides_key(&parsed);
            assert_debug_hides_key(&parsed.cli);
            match &parsed.cli.command {
                Command::Run(args) | Command::Config(args) => {
                    assert_debug_hides_key(args);
                    assert_debug_hides_key(&args.fetch);
                }
                Command::Snapshot(args) => {
                    assert_debug_hides_key(args);
                    assert_debug_hides_key(&args.fetch);
                }
                other => panic!("{command} parsed as {other:?}"),
            }
        }
    }

    #[cfg(feature = "fake-api")]
    #[test]
    fn fake_api_args_debug_hides_the_key() {
        use super::super::Command;
        let parsed = parsed(&["fake-api", "--api-key", SECRET]);
        assert_eq!(parsed.cli.api_key().unwrap().expose(), SECRET);
        let Command::FakeApi(args) = &parsed.cli.command else {
            panic!("{:?}", parsed.cli.command)
        };
        assert_debug_hides_key(args);
        assert_debug_hides_key(&parsed);
    }

    #[test]
    fn settings_debug_hides_a_key_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("trendlake.toml");
        std::fs::write(
            &file,
            format!("regions = [\"JP\"]\napi_key = \"{SECRET}\"\n"),
        )
        .unwrap();
        let parsed = parsed(&["config", "--config", file.to_str().unwrap()]);
        let key = parsed.settings.iter().find(|s| s.key == "api_key").unwrap();
        assert_eq!(
            key.origin,
            Origin::File {
                path: file.clone(),
                line: 2
            }
        );
        assert_debug_hides_key(key);
        assert_debug_hides_key(&parsed.settings);
        assert_debug_hides_key(&parsed);
        assert!(!describe(&parsed.settings).contains(SECRET));
        assert_eq!(parsed.cli.api_key().unwrap().expose(), SECRET);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_get_at_is_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("trendlake.toml");
        std::fs::write(&file, "").unwrap();
        let mode_of = |mode: u32| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            exposed_mode(&std::fs::metadata(&file).unwrap())
        };
        for mode in [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o601, 0o777] {
            assert_eq!(mode_of(mode), Some(mode), "{mode:o}");
        }
        for mode in [0o600, 0o400, 0o700, 0o200] {
            assert_eq!(mode_of(mode), None, "{mode:o}");
        }
        let warning = exposed_key_warning(&file, 0o644);
        let path = file.display().to_string();
        assert!(
            warning.contains(&format!("`chmod 600 {path}`")),
            "{warning}"
        );
        assert!(warning.contains("mode 0644"), "{warning}");
    }

    #[test]
    fn origin_names_the_source() {
        let settings = vec![
            Setting {
                key: "concurrency".into(),
                flag: "--concurrency".into(),
                env: Some("TRENDLAKE_CONCURRENCY".into()),
                value: Some("0".into()),
                origin: Origin::File {
                    path: "t.toml".into(),
                    line: 3,
                },
            },
            Setting {
                key: "lake".into(),
                flag: "--lake".into(),
                env: Some("TRENDLAKE_LAKE".into()),
                value: Some("x".into()),
                origin: Origin::Env("TRENDLAKE_LAKE".into()),
            },
        ];
        assert_eq!(
            name_of(&settings, "concurrency"),
            "concurrency (t.toml line 3)"
        );
        assert_eq!(name_of(&settings, "lake"), "TRENDLAKE_LAKE");
        assert_eq!(name_of(&settings, "max_rps"), "--max-rps");
    }
}
