//! The documentation's tables are checked against the code: every command and every flag with
//! its variable, default and commands (docs/commands.md), and every part of the source tree
//! (docs/layout.md). A flag added, renamed or given another default without its row fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::CommandFactory;
use trendlake_cli::cli::Cli;

/// A documentation file, by its path from the repository's root.
fn doc(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The commands and settings page.
const COMMANDS: &str = "docs/commands.md";
/// The code layout page.
const LAYOUT: &str = "docs/layout.md";

/// The rows of the first table after the heading `heading` of the file `rel`, as cells
/// (backticks kept).
fn table(rel: &str, heading: &str) -> Vec<Vec<String>> {
    let text = doc(rel);
    let start = text
        .lines()
        .position(|l| l.trim() == heading)
        .unwrap_or_else(|| panic!("{rel} has no heading {heading:?}"));
    text.lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            // Cells split at `|`, except an escaped `\|` inside a cell.
            let mut cells = vec![String::new()];
            let mut chars = l.trim().trim_matches('|').chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'|') => {
                        cells.last_mut().unwrap().push('|');
                        chars.next();
                    }
                    '|' => cells.push(String::new()),
                    c => cells.last_mut().unwrap().push(c),
                }
            }
            cells.iter().map(|c| c.trim().to_string()).collect()
        })
        .collect()
}

/// The text inside the first pair of backticks of a cell.
fn code(cell: &str) -> Option<&str> {
    let start = cell.find('`')? + 1;
    let end = start + cell[start..].find('`')?;
    Some(&cell[start..end])
}

/// Every command but clap's `help`.
fn commands() -> Vec<clap::Command> {
    let mut cli = Cli::command();
    cli.build();
    cli.get_subcommands()
        .filter(|c| c.get_name() != "help")
        .cloned()
        .collect()
}

#[test]
fn command_table_matches_the_cli() {
    let rows = table(COMMANDS, "## Commands");
    let documented: BTreeSet<String> = rows
        .iter()
        .map(|r| {
            let cell = code(&r[0]).unwrap_or_else(|| panic!("row {r:?}"));
            let mut words = cell.split_whitespace();
            assert_eq!(words.next(), Some("trendlake"), "{cell}");
            words.next().unwrap().to_string()
        })
        .collect();
    let actual: BTreeSet<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    assert_eq!(documented, actual);
    for c in commands() {
        assert!(
            c.get_about().is_some(),
            "{} has a description",
            c.get_name()
        );
    }
}

/// The exit codes docs/operations.md's table gives the commands: each code with the commands
/// it names (`all` for every one; `run --report` is `run`'s).
fn documented_exit_codes() -> BTreeMap<u8, BTreeSet<String>> {
    table("docs/operations.md", "## Exit codes")
        .iter()
        .map(|r| {
            let code = r[0]
                .trim_matches('`')
                .parse()
                .unwrap_or_else(|_| panic!("{r:?}"));
            let commands = r[2]
                .split(',')
                .map(|c| c.trim().trim_matches('`'))
                .filter_map(|c| c.split_whitespace().next())
                .map(str::to_string)
                .collect();
            (code, commands)
        })
        .collect()
}

/// The codes a help text lists: the number that starts each `;`-separated item (outside
/// parentheses) of the paragraph that begins "Exit codes".
fn listed_exit_codes(help: &str) -> BTreeSet<u8> {
    let start = help
        .find("Exit codes")
        .expect("an \"Exit codes\" paragraph");
    let paragraph = &help[start..];
    let paragraph = &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())];
    let list = &paragraph[paragraph.find(": ").expect("Exit codes…: ") + 2..];
    let mut items = vec![String::new()];
    let mut depth = 0;
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().unwrap().push(c);
    }
    items
        .iter()
        .map(|item| {
            let digits: String = item
                .trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("an item without its code: {item:?} in {paragraph:?}"))
        })
        .collect()
}

/// Each command's `--help` ends with its own exit codes, exactly those docs/operations.md gives
/// it (`rebuild --help` once listed `run`'s 3 and 5), and `trendlake --help` with all of them.
#[test]
fn every_commands_help_lists_its_own_exit_codes() {
    let documented = documented_exit_codes();
    let all: BTreeSet<u8> = documented.keys().copied().collect();
    assert_eq!(all, (0..=6).collect(), "the table's codes");
    let mut cli = Cli::command();
    cli.build();
    let top = cli.get_after_help().expect("trendlake --help").to_string();
    assert_eq!(listed_exit_codes(&top), all, "trendlake --help");
    for command in commands() {
        let name = command.get_name();
        let help = command
            .get_after_help()
            .unwrap_or_else(|| panic!("`{name} --help` lists its exit codes"))
            .to_string();
        assert_eq!(
            listed_exit_codes(&help),
            documented_for(name, &documented),
            "`{name} --help`:\n{help}"
        );
    }
    // The check can fail: the old shared text lists every command's codes.
    let shared = "Exit codes: 0 done; 3 partial (some failed; others not); 1 failure; 4 the merge \
                  failed; 5 (run --report) no report; 6 (check) no verdict; 2 usage.\n\nSettings…";
    assert_eq!(listed_exit_codes(shared), all);
    assert_ne!(
        listed_exit_codes(shared),
        documented_for("rebuild", &documented)
    );
}

fn documented_for(command: &str, documented: &BTreeMap<u8, BTreeSet<String>>) -> BTreeSet<u8> {
    documented
        .iter()
        .filter(|(_, c)| c.contains("all") || c.contains(command))
        .map(|(code, _)| *code)
        .collect()
}

/// One row of the settings table: flag, variable, config key, default, commands.
#[derive(Debug)]
struct FlagRow {
    env: Option<String>,
    key: Option<String>,
    default: String,
    commands: BTreeSet<String>,
}

fn flag_rows() -> BTreeMap<String, Vec<FlagRow>> {
    let mut out: BTreeMap<String, Vec<FlagRow>> = BTreeMap::new();
    for r in table(COMMANDS, "## Settings") {
        assert_eq!(r.len(), 6, "six cells: {r:?}");
        let flag = code(&r[0]).unwrap_or_else(|| panic!("{r:?}"));
        let flag = flag.split_whitespace().next().unwrap().to_string();
        let row = FlagRow {
            env: code(&r[1]).map(str::to_string),
            key: code(&r[2]).map(str::to_string),
            default: r[3].trim_matches('`').to_string(),
            commands: r[4]
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        };
        out.entry(flag).or_default().push(row);
    }
    out
}

#[test]
fn flag_table_matches_every_command() {
    let rows = flag_rows();
    let keys = trendlake_cli::cli::known_keys();
    let mut seen = BTreeSet::new();
    let mut cli = Cli::command();
    cli.build();
    for command in commands() {
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let flag = format!("--{long}");
            let name = command.get_name();
            assert!(
                arg.get_help().is_some(),
                "{name} {flag} has a description in --help"
            );
            // A global flag has one row for all commands.
            let listed = if arg.is_global_set() { "all" } else { name };
            let row = rows
                .get(&flag)
                .and_then(|rs| rs.iter().find(|r| r.commands.contains(listed)))
                .unwrap_or_else(|| panic!("{COMMANDS}'s settings table lists {flag} for {listed}"));
            seen.insert((flag.clone(), listed.to_string()));
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(row.env, env, "{name} {flag}: variable");
            let default: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = match (default.is_empty(), arg.get_value_delimiter()) {
                (true, _) => String::new(),
                (false, Some(d)) => default.join(&d.to_string()),
                (false, None) => default.join(" "),
            };
            let documented = row.default.split(' ').next().unwrap_or_default();
            match default.as_str() {
                "" | "false" => {}
                d => assert_eq!(documented, d, "{name} {flag}: default"),
            }
            let key = arg.get_id().as_str();
            let in_file = keys.iter().any(|k| k == key)
                && (arg.is_global_set() || !matches!(name, "demo" | "fake-api"));
            assert_eq!(
                row.key.as_deref(),
                in_file.then_some(key),
                "{name} {flag}: config key"
            );
        }
    }
    // And no row documents a flag (for a command) that does not exist.
    for (flag, rs) in &rows {
        for r in rs {
            for c in &r.commands {
                assert!(
                    seen.contains(&(flag.clone(), c.clone())),
                    "{COMMANDS} lists {flag} for {c}, which has no such flag"
                );
            }
        }
    }
}

/// Directories each of whose entries has its own row in the layout table: the binary's sources
/// and the library's.
const LISTED_ENTRY_BY_ENTRY: [&str; 2] = ["src", "crates/trendlake/src"];

/// Parts of the workspace the layout table names as a whole.
const LISTED_WHOLE: [&str; 14] = [
    "Cargo.toml",
    "crates/trendlake",
    "crates/fake-api",
    "sql",
    "data",
    "tests/it",
    "tests/fixtures/youtube",
    "tests/python",
    "benches",
    "examples",
    "docs",
    "deploy",
    ".ci",
    "crates/trendlake/build.rs",
];

/// The workspace's layout as docs/layout.md describes it: the `trendlake-cli` package at the
/// root (the binary), the library in `crates/trendlake/`, the fake API in `crates/fake-api/`.
#[test]
fn layout_table_covers_the_source_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows = table(LAYOUT, "## Paths");
    let mut paths = Vec::new();
    for r in &rows {
        let cell = &r[0];
        let mut rest = cell.as_str();
        while let Some(p) = code(rest) {
            assert!(
                root.join(p).exists(),
                "{LAYOUT} names {p}, which is missing"
            );
            paths.push(p.trim_end_matches('/').to_string());
            let used = rest.find(p).unwrap() + p.len() + 1;
            rest = &rest[used..];
        }
    }
    for dir in LISTED_ENTRY_BY_ENTRY {
        let entries = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{LAYOUT} describes {dir}/, which cannot be read: {e}"));
        for entry in entries {
            let name = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                paths.iter().any(|p| p == &name),
                "{LAYOUT}'s table lists {name}"
            );
        }
    }
    for part in LISTED_WHOLE {
        assert!(
            paths.iter().any(|p| p == part),
            "{LAYOUT}'s table lists {part}"
        );
    }
}
