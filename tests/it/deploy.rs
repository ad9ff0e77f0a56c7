//! The deployment examples in `deploy/` are valid for the tools that read them, keep their
//! promises (one run at a time, a non-root user, the key from a secret, least privilege), and
//! every `trendlake` command line in them is accepted by the real command-line parser, so a flag
//! renamed in `src/cli` cannot silently break a deployment.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use clap::{CommandFactory, Parser};
use trendlake_cli::cli::Cli;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(rel: &str) -> String {
    let path = deploy_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses `args` (program name first) with trendlake's own clap definition.
#[track_caller]
fn assert_cli_accepts(args: &[String], whence: &str) {
    if let Err(e) = Cli::try_parse_from(args) {
        panic!(
            "{whence}: `{}` is rejected by trendlake's command line:\n{}",
            args.join(" "),
            e.render()
        );
    }
}

/// The value that follows `flag` in `args`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

// ---------------------------------------------------------------------------------------------
// `trendlake` command lines in shell-like text.

/// Lines of shell text with `\`-continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The name of a program that runs another one given after its options, if `word` is one.
fn wrapper(word: &str) -> Option<&'static str> {
    let name = Path::new(word).file_name()?;
    ["flock", "sudo", "nice", "timeout"]
        .into_iter()
        .find(|w| name == *w)
}

fn is_trendlake(word: &str) -> bool {
    Path::new(word)
        .file_name()
        .is_some_and(|n| n == "trendlake")
}

/// Every invocation of `trendlake` in one line of shell: the simple commands (split at `&&`,
/// `||`, `;`, `|`) whose program, after wrappers such as `exec`, `env`, `sudo` and
/// `flock LOCKFILE`, is `trendlake` or a path to it. Each comes back as its argument vector,
/// program first, up to the first redirection or comment.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut commands: Vec<Vec<&str>> = Vec::new();
    for word in line.split_whitespace() {
        if word.starts_with('#') {
            break;
        }
        if ["&&", "||", ";", "|"].contains(&word) {
            commands.push(std::mem::take(&mut words));
        } else if let Some(head) = word.strip_suffix(';') {
            words.push(head);
            commands.push(std::mem::take(&mut words));
        } else {
            words.push(word);
        }
    }
    commands.push(words);
    for command in commands {
        let mut rest = command.as_slice();
        loop {
            match rest {
                ["exec" | "nohup" | "command", tail @ ..] => rest = tail,
                [assignment, tail @ ..]
                    if assignment.contains('=') && !assignment.starts_with('-') =>
                {
                    rest = tail
                }
                ["env", tail @ ..] => rest = tail,
                [program, tail @ ..] if wrapper(program).is_some() => {
                    let name = wrapper(program).unwrap();
                    let mut tail = tail;
                    // Options, some with a value.
                    while let [opt, more @ ..] = tail {
                        if !opt.starts_with('-') {
                            break;
                        }
                        let takes_value = matches!(
                            (name, *opt),
                            ("flock", "-w" | "-E" | "--timeout" | "--conflict-exit-code")
                                | ("sudo", "-u" | "-g")
                                | ("nice", "-n")
                                | ("timeout", "-s" | "-k")
                        );
                        tail = if takes_value {
                            more.get(1..).unwrap_or_default()
                        } else {
                            more
                        };
                    }
                    // flock's lock file and timeout's duration come before the program.
                    if matches!(name, "flock" | "timeout") {
                        tail = tail.get(1..).unwrap_or_default();
                    }
                    rest = tail;
                }
                _ => break,
            }
        }
        if let [program, args @ ..] = rest
            && is_trendlake(program)
        {
            let mut argv = vec!["trendlake".to_string()];
            for arg in args {
                if arg.starts_with(['>', '<']) || arg.starts_with("2>") || arg.starts_with("1>") {
                    break;
                }
                argv.push(arg.trim_matches(['"', '\'']).to_string());
            }
            out.push(argv);
        }
    }
    out
}

#[test]
fn command_extraction_finds_invocations_and_only_those() {
    let argv = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        invocations(
            "30 8 * * * set -a && . /etc/t.env && exec /usr/bin/flock -n /l /usr/local/bin/trendlake run --lake x >> /log 2>&1"
        ),
        [argv("trendlake run --lake x")]
    );
    assert_eq!(
        invocations("sudo -u trendlake TRENDLAKE_LOG=info trendlake merge --date 2026-01-01 # now"),
        [argv("trendlake merge --date 2026-01-01")]
    );
    assert!(
        invocations("install -m 0755 target/release/trendlake /usr/local/bin/trendlake").is_empty()
    );
    assert!(invocations("kubectl create job --from=cronjob/trendlake trendlake-manual").is_empty());
    // And the parser check can fail.
    assert!(Cli::try_parse_from(argv("trendlake run --no-such-flag")).is_err());
    assert!(Cli::try_parse_from(argv("trendlake nightly")).is_err());
}

// ---------------------------------------------------------------------------------------------
// Each setting in one place

/// Where the examples that use a config file install deploy/trendlake.toml.
const CONFIG_PATH: &str = "/etc/trendlake/trendlake.toml";

/// deploy/trendlake.toml.
fn example_config() -> toml::Table {
    read("trendlake.toml").parse().expect("valid TOML")
}

/// Each variable `run` reads a setting from, with the setting's config-file key.
fn setting_variables() -> BTreeMap<String, String> {
    let cli = Cli::command();
    let run = cli.find_subcommand("run").expect("run");
    run.get_arguments()
        .chain(cli.get_arguments())
        .filter_map(|a| {
            let var = a.get_env()?.to_str()?.to_string();
            Some((var, a.get_id().to_string()))
        })
        .collect()
}

/// The settings a deployment gives in more than one place, where one silently wins over the
/// other (a flag over a variable over the config file): each as `key: source and source`.
/// `argv` is the command line, `file` the config file it reads, `env` the variables it sets.
fn given_twice(argv: &[String], file: Option<&toml::Table>, env: &[&str]) -> Vec<String> {
    let variables = setting_variables();
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for arg in argv.iter().skip(1) {
        if let Some(flag) = arg.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap();
            sources
                .entry(flag.replace('-', "_"))
                .or_default()
                .push(format!("--{flag}"));
        }
    }
    for var in env {
        if let Some(key) = variables.get(*var) {
            sources
                .entry(key.clone())
                .or_default()
                .push(var.to_string());
        }
    }
    for key in file.into_iter().flat_map(|f| f.keys()) {
        sources
            .entry(key.replace('-', "_"))
            .or_default()
            .push("the config file".into());
    }
    // Which file to read is not a setting the file can hold.
    sources.remove("config");
    sources
        .into_iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(key, s)| format!("{key}: {}", s.join(" and ")))
        .collect()
}

/// The config file a command line reads: deploy/trendlake.toml where it is installed.
fn config_of(argv: &[String], whence: &str) -> Option<toml::Table> {
    let path = flag_value(argv, "--config")?;
    assert_eq!(path, CONFIG_PATH, "{whence}: the example config file");
    Some(example_config())
}

/// The names a `NAME=value …` list assigns (systemd's `Environment=`, Docker's `ENV`).
fn assigned_names(assignments: &str) -> Vec<String> {
    let words: Vec<&str> = assignments.split_whitespace().collect();
    match words.first() {
        // Docker's legacy `ENV NAME value`.
        Some(first) if !first.contains('=') => vec![first.to_string()],
        _ => words
            .iter()
            .filter_map(|w| w.trim_matches('"').split_once('='))
            .map(|(name, _)| name.to_string())
            .collect(),
    }
}

/// The text of a Markdown section, from its heading to the next heading of its level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading}"));
    let rest = &text[start + 1..];
    let level = format!("\n{} ", heading.split(' ').next().unwrap());
    &rest[..rest[1..].find(&level).map_or(rest.len(), |n| n + 1)]
}

/// Install steps that put the example config file at [`CONFIG_PATH`] so that the `trendlake`
/// user can read it: the file and its directory in the group `trendlake`, which may read them
/// (and enter the directory).
#[track_caller]
fn assert_readable_by_the_job(steps: &str, whence: &str) {
    let dir = Path::new(CONFIG_PATH).parent().unwrap().to_str().unwrap();
    let installs: Vec<Vec<&str>> = steps
        .lines()
        .filter_map(|l| l.split_once("install ").map(|(_, rest)| rest))
        .map(|l| l.split('#').next().unwrap().split_whitespace().collect())
        .collect();
    let find = |wanted: &dyn Fn(&[&str]) -> bool, what: &str| -> Vec<&str> {
        installs
            .iter()
            .find(|w| wanted(w))
            .unwrap_or_else(|| panic!("{whence}: no install of {what}"))
            .clone()
    };
    let option = |words: &[&str], name: &str| {
        let at = words.iter().position(|w| *w == name)?;
        words.get(at + 1).map(|v| v.to_string())
    };
    let dir_step = find(&|w| w.contains(&"-d") && w.last() == Some(&dir), dir);
    let file_step = find(&|w| w.last() == Some(&CONFIG_PATH), CONFIG_PATH);
    let source = file_step[file_step.len() - 2];
    assert!(
        source.ends_with("trendlake.toml"),
        "{whence}: {file_step:?}"
    );
    for (step, needs) in [(&dir_step, 5), (&file_step, 4)] {
        assert_eq!(
            option(step, "-g").as_deref(),
            Some("trendlake"),
            "{whence}: {step:?}"
        );
        let mode = option(step, "-m").unwrap_or_else(|| panic!("{whence}: {step:?} sets a mode"));
        let group = (u32::from_str_radix(&mode, 8).unwrap() >> 3) & 7;
        assert_eq!(group & needs, needs, "{whence}: {step:?}: the group's bits");
    }
}

#[test]
fn given_twice_finds_a_setting_in_two_places() {
    let argv: Vec<String> = ["trendlake", "run", "--config", CONFIG_PATH, "--lake", "/x"]
        .iter()
        .map(|s| s.to_string())
        .chain(["--log-format=json".to_string(), "--report".into()])
        .collect();
    let file = example_config();
    assert_eq!(
        given_twice(
            &argv,
            Some(&file),
            &[
                "TRENDLAKE_WAREHOUSE",
                "TRENDLAKE_LAKE",
                "YOUTUBE_API_KEY",
                "TZ"
            ]
        ),
        [
            "lake: --lake and TRENDLAKE_LAKE and the config file",
            "log_format: --log-format and the config file",
            "warehouse: TRENDLAKE_WAREHOUSE and the config file",
        ]
    );
    assert_eq!(
        given_twice(&argv[..4], Some(&file), &["YOUTUBE_API_KEY"]),
        Vec::<String>::new()
    );
    assert_eq!(
        assigned_names("TRENDLAKE_LAKE=/data/lake  \"TZ=UTC\""),
        ["TRENDLAKE_LAKE", "TZ"]
    );
    assert_eq!(
        assigned_names("TRENDLAKE_LAKE /data/lake"),
        ["TRENDLAKE_LAKE"]
    );
    // The install check fails on a directory the job's user cannot enter.
    let steps = format!(
        "install -d -m 0750 /etc/trendlake\ninstall -m 0640 -g trendlake x.trendlake.toml {CONFIG_PATH}\n"
    );
    let caught = std::panic::catch_unwind(|| assert_readable_by_the_job(&steps, "sample"));
    assert!(caught.is_err());
    let steps = steps.replace("-d -m 0750", "-d -m 0750 -g trendlake");
    assert_readable_by_the_job(&steps, "sample");
}

/// A flag silently wins over a variable, and a variable over the config file: so no example
/// gives a setting in two places, where the file's (or the variable's) value would be dead. The
/// systemd and cron examples keep every setting in the config file (their env file holds only
/// the key), Kubernetes and Docker in the environment.
#[test]
fn every_example_gives_each_setting_in_one_place() {
    let mut checked = Vec::new();

    // systemd: the command line, the unit's Environment= lines, the config file.
    let unit = parse_unit(&read("systemd/trendlake.service"));
    let exec = unit_value(&unit, "Service", "ExecStart").unwrap();
    let argv = &invocations(exec.trim_start_matches(['-', '@', '+', '!', ':']))[0];
    let env: Vec<String> = unit["Service"]
        .get("Environment")
        .into_iter()
        .flatten()
        .flat_map(|v| assigned_names(v))
        .collect();
    let env: Vec<&str> = env.iter().map(String::as_str).collect();
    let file = config_of(argv, "trendlake.service").expect("the service reads the config file");
    assert_eq!(
        given_twice(argv, Some(&file), &env),
        Vec::<String>::new(),
        "systemd"
    );
    checked.push("systemd");

    // cron: the job's command line, the crontab's NAME=value lines, the config file.
    let crontab = read("cron/trendlake.crontab");
    let mut env = Vec::new();
    let mut jobs = Vec::new();
    for line in crontab.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_whitespace().next() {
            Some(w) if w.contains('=') && !w.starts_with(|c: char| c.is_ascii_digit()) => {
                env.extend(assigned_names(line))
            }
            _ => jobs.extend(invocations(line)),
        }
    }
    let env: Vec<&str> = env.iter().map(String::as_str).collect();
    assert_eq!(jobs.len(), 1, "one job");
    let file = config_of(&jobs[0], "trendlake.crontab").expect("the job reads the config file");
    assert_eq!(
        given_twice(&jobs[0], Some(&file), &env),
        Vec::<String>::new(),
        "cron"
    );
    checked.push("cron");

    // Kubernetes: the container's args and env (no config file).
    let docs = YamlLoader::load_from_str(&read("kubernetes/cronjob.yaml")).unwrap();
    let container = &by_kind(&docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        [0];
    let mut argv = vec!["trendlake".to_string()];
    argv.extend(
        container["args"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| yaml_str(a, "args[]").to_string()),
    );
    let env: Vec<&str> = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|e| yaml_str(&e["name"], "env[].name"))
        .collect();
    assert!(!env.contains(&"TRENDLAKE_CONFIG") && config_of(&argv, "cronjob.yaml").is_none());
    assert_eq!(
        given_twice(&argv, None, &env),
        Vec::<String>::new(),
        "Kubernetes"
    );
    checked.push("Kubernetes");

    // Docker: the final stage's ENV and its ENTRYPOINT + CMD.
    let instructions = dockerfile();
    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let env: Vec<String> = instructions[last_from..]
        .iter()
        .filter(|(i, _)| i == "ENV")
        .flat_map(|(_, a)| assigned_names(a))
        .collect();
    let env: Vec<&str> = env.iter().map(String::as_str).collect();
    let argv = dockerfile_invocation();
    assert_eq!(
        given_twice(&argv, None, &env),
        Vec::<String>::new(),
        "Docker"
    );
    checked.push("Docker");

    // deploy/README.md: every command line that reads the installed config file.
    let readme = read("README.md");
    let mut in_code = false;
    let mut with_config = 0;
    for line in logical_lines(&readme) {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        for argv in invocations(&line) {
            if let Some(file) = config_of(&argv, "deploy/README.md") {
                assert_eq!(
                    given_twice(&argv, Some(&file), &[]),
                    Vec::<String>::new(),
                    "{line}"
                );
                with_config += 1;
            }
        }
    }
    assert!(
        with_config >= 1,
        "deploy/README.md shows the nightly command"
    );
    // Both examples that read the file have it installed where they read it, where the job's
    // user can read it (the service's own comment says the same).
    let service = read("systemd/trendlake.service");
    let install_steps = [
        (
            "deploy/README.md ## systemd",
            section(&readme, "## systemd"),
        ),
        ("deploy/README.md ## cron", section(&readme, "## cron")),
        ("trendlake.service", service.as_str()),
    ];
    for (whence, text) in install_steps {
        assert_readable_by_the_job(text, whence);
    }
    assert_eq!(checked, ["systemd", "cron", "Kubernetes", "Docker"]);
}

// ---------------------------------------------------------------------------------------------
// systemd

/// A unit file as systemd reads it: `[Section]` headers, `Key=Value` lines, `#` and `;`
/// comments, `\` continuations; a key may repeat, so values are kept in order.
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section: Option<String> = None;
    for (i, line) in logical_lines(text).iter().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            unit.entry(name.to_string()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not Key=Value: {line:?}", i + 1));
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("line {}: {key} before any [Section]", i + 1));
        unit.get_mut(section)
            .unwrap()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    unit
}

/// The last value of `key` in `section` (a later assignment wins, as in systemd).
fn unit_value<'a>(unit: &'a Unit, section: &str, key: &str) -> Option<&'a str> {
    unit.get(section)?.get(key)?.last().map(String::as_str)
}

#[test]
fn systemd_service_is_a_sandboxed_oneshot_of_a_valid_run() {
    let unit = parse_unit(&read("systemd/trendlake.service"));
    let get = |key: &str| unit_value(&unit, "Service", key);
    assert_eq!(get("Type"), Some("oneshot"));
    assert!(unit.contains_key("Unit"), "a [Unit] section");
    let env_file = get("EnvironmentFile").expect("EnvironmentFile for YOUTUBE_API_KEY");
    assert!(env_file.trim_start_matches('-').starts_with('/'));
    let dynamic = get("DynamicUser").is_some_and(|v| ["yes", "true", "1", "on"].contains(&v));
    let user = get("User");
    assert!(
        dynamic || user.is_some_and(|u| u != "root" && u != "0"),
        "runs as a non-root user (User={user:?}, DynamicUser={dynamic})"
    );
    assert_eq!(get("ProtectSystem"), Some("strict"));
    assert_eq!(get("NoNewPrivileges"), Some("yes"));
    let state = get("StateDirectory").expect("StateDirectory");
    let writable: Vec<String> = unit["Service"]
        .get("ReadWritePaths")
        .expect("ReadWritePaths")
        .iter()
        .flat_map(|v| {
            v.split_whitespace()
                .map(|p| p.trim_start_matches('-').to_string())
        })
        .chain([format!("/var/lib/{state}")])
        .collect();

    let exec = get("ExecStart").expect("ExecStart");
    // systemd's prefixes (`-` ignore failure, `@`, `+`, `!`) are not part of the path.
    let exec = exec.trim_start_matches(['-', '@', '+', '!', ':']);
    assert!(
        exec.starts_with('/'),
        "ExecStart needs an absolute path: {exec}"
    );
    let found = invocations(exec);
    assert_eq!(found.len(), 1, "ExecStart runs trendlake: {exec}");
    let argv = &found[0];
    assert_cli_accepts(argv, "trendlake.service ExecStart");
    assert_eq!(argv[1], "run");
    // The example config file is the one it reads: the lake and the warehouse it names, and the
    // metrics file (for node_exporter's textfile collector), are writable in the sandbox.
    assert_eq!(flag_value(argv, "--config"), Some(CONFIG_PATH));
    let config = example_config();
    for key in ["lake", "warehouse"] {
        let path = config[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in the file"));
        assert!(
            writable.iter().any(|w| Path::new(path).starts_with(w)),
            "{key} {path} is inside a writable path {writable:?}"
        );
    }
    assert_eq!(
        config["log_format"].as_str(),
        Some("json"),
        "JSON for journald"
    );
    let metrics = config["metrics_file"].as_str().expect("metrics_file");
    assert!(metrics.ends_with(".prom"), "{metrics}");
    assert!(
        writable
            .iter()
            .any(|w| Path::new(metrics).parent() == Some(Path::new(w))),
        "metrics_file {metrics} is directly in a writable path {writable:?}"
    );
}

#[test]
fn systemd_timer_is_daily_persistent_and_spread() {
    let unit = parse_unit(&read("systemd/trendlake.timer"));
    let get = |key: &str| unit_value(&unit, "Timer", key);
    let calendar = get("OnCalendar").expect("OnCalendar");
    assert!(!calendar.is_empty());
    assert_eq!(get("Persistent"), Some("true"));
    assert!(get("RandomizedDelaySec").is_some());
    if let Some(target) = get("Unit") {
        assert_eq!(target, "trendlake.service");
    }
    assert_eq!(
        unit_value(&unit, "Install", "WantedBy"),
        Some("timers.target")
    );
}

// ---------------------------------------------------------------------------------------------
// cron

/// A five-field schedule as cron reads it: parsed by `croner` with seconds disallowed, and only
/// the syntax every cron implements (numbers, `*`, `,`, `-`, `/`), not croner's extensions.
#[track_caller]
fn assert_cron_schedule(fields: &[&str]) {
    assert_eq!(fields.len(), 5, "five schedule fields: {fields:?}");
    for field in fields {
        assert!(
            field
                .chars()
                .all(|c| c.is_ascii_digit() || "*,-/".contains(c)),
            "{field:?} uses syntax not every cron has"
        );
    }
    let schedule = fields.join(" ");
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(&schedule)
        .unwrap_or_else(|e| panic!("{schedule:?} is not a valid cron schedule: {e}"));
}

#[test]
fn crontab_line_is_valid_locked_logged_and_runs_a_valid_command() {
    let text = read("cron/trendlake.crontab");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        // `NAME=value` lines set the environment of the jobs.
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_none_or(|w| !w.contains('=') || w.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(lines.len(), 1, "one job line: {lines:?}");
    let words: Vec<&str> = lines[0].split_whitespace().collect();
    assert_cron_schedule(&words[..5]);
    let command = words[5..].join(" ");
    // cron turns an unescaped % into a newline.
    assert!(
        !command.contains('%'),
        "a % in a crontab command: {command}"
    );
    assert!(
        command.contains("flock"),
        "flock against overlap: {command}"
    );
    assert!(command.contains(">>"), "logs are appended: {command}");
    assert!(
        words[5..].iter().any(|w| *w == "." || *w == "source"),
        "the env file is sourced: {command}"
    );
    let found = invocations(&command);
    assert_eq!(found.len(), 1, "the job runs trendlake once: {command}");
    assert_cli_accepts(&found[0], "trendlake.crontab");
    assert_eq!(found[0][1], "run");
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

fn yaml_str<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {y:?}"))
}

fn by_kind<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
    let found: Vec<&Yaml> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} in cronjob.yaml");
    found[0]
}

#[test]
fn kubernetes_cronjob_runs_once_at_a_time_as_non_root_with_secret_and_volume() {
    let docs = YamlLoader::load_from_str(&read("kubernetes/cronjob.yaml")).expect("valid YAML");
    let secret = by_kind(&docs, "Secret");
    let pvc = by_kind(&docs, "PersistentVolumeClaim");
    let cron = by_kind(&docs, "CronJob");
    assert_eq!(cron["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(pvc["apiVersion"].as_str(), Some("v1"));
    assert_eq!(secret["apiVersion"].as_str(), Some("v1"));

    let spec = &cron["spec"];
    let schedule = yaml_str(&spec["schedule"], "spec.schedule");
    assert_cron_schedule(&schedule.split_whitespace().collect::<Vec<_>>());
    assert_eq!(spec["concurrencyPolicy"].as_str(), Some("Forbid"));
    let job = &spec["jobTemplate"]["spec"];
    let backoff = job["backoffLimit"].as_i64().expect("backoffLimit");
    assert!((0..=6).contains(&backoff), "backoffLimit {backoff}");
    let pod = &job["template"]["spec"];
    let restart = yaml_str(&pod["restartPolicy"], "restartPolicy");
    assert!(["Never", "OnFailure"].contains(&restart), "{restart}");

    let containers = pod["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let non_root = |ctx: &Yaml| ctx["runAsNonRoot"].as_bool() == Some(true);
    assert!(
        non_root(&pod["securityContext"]) || non_root(&container["securityContext"]),
        "runAsNonRoot: true"
    );
    for ctx in [&pod["securityContext"], &container["securityContext"]] {
        if let Some(uid) = ctx["runAsUser"].as_i64() {
            assert_ne!(uid, 0, "runAsUser 0 is root");
        }
    }

    // The key comes from the Secret defined beside it, by a key that Secret has.
    let env = container["env"].as_vec().expect("env");
    let key_ref = env
        .iter()
        .find(|e| e["name"].as_str() == Some("YOUTUBE_API_KEY"))
        .map(|e| &e["valueFrom"]["secretKeyRef"])
        .expect("YOUTUBE_API_KEY in env");
    assert!(
        !key_ref.is_badvalue(),
        "YOUTUBE_API_KEY from a secretKeyRef"
    );
    assert_eq!(key_ref["name"], secret["metadata"]["name"]);
    let key = yaml_str(&key_ref["key"], "secretKeyRef.key");
    assert!(
        !secret["stringData"][key].is_badvalue() || !secret["data"][key].is_badvalue(),
        "the Secret has the key {key}"
    );

    // Warehouse and lake on the claim defined beside it, mounted at /data.
    let volumes = pod["volumes"].as_vec().expect("volumes");
    let data = volumes
        .iter()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"])
        .expect("a volume from the PersistentVolumeClaim");
    let mounts = container["volumeMounts"].as_vec().expect("volumeMounts");
    let mount = mounts
        .iter()
        .find(|m| m["name"] == data["name"])
        .expect("the claim is mounted");
    let mount_path = yaml_str(&mount["mountPath"], "mountPath");
    assert_eq!(mount_path, "/data");

    // The image's ENTRYPOINT is trendlake (checked against the Dockerfile); `args` follow it.
    assert!(
        container["command"].is_badvalue(),
        "command would replace the image's ENTRYPOINT"
    );
    let mut argv = vec!["trendlake".to_string()];
    for arg in container["args"].as_vec().expect("args") {
        argv.push(yaml_str(arg, "args[]").to_string());
    }
    assert_eq!(dockerfile_invocation()[0], "trendlake");
    assert_cli_accepts(&argv, "cronjob.yaml args");
    assert_eq!(argv, ["trendlake", "run"]);
    // The settings are its environment: the lake and the warehouse on the volume, JSON logs.
    let value = |name: &str| {
        env.iter()
            .find(|e| e["name"].as_str() == Some(name))
            .and_then(|e| e["value"].as_str())
    };
    for var in ["TRENDLAKE_LAKE", "TRENDLAKE_WAREHOUSE"] {
        let path = value(var).unwrap_or_else(|| panic!("{var} set"));
        assert!(
            Path::new(path).starts_with(mount_path),
            "{var} {path} on the volume"
        );
    }
    assert_eq!(value("TRENDLAKE_LOG_FORMAT"), Some("json"));
}

// ---------------------------------------------------------------------------------------------
// Docker

/// `(INSTRUCTION, arguments)` of deploy/docker/Dockerfile.
fn dockerfile() -> Vec<(String, String)> {
    dockerfile_instructions(&read("docker/Dockerfile"))
}

/// `(INSTRUCTION, arguments)` of a Dockerfile's text, continuations joined, comments dropped.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let without_comments: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    logical_lines(&without_comments)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim();
            let (instruction, args) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (instruction.to_ascii_uppercase(), args.trim().to_string())
        })
        .collect()
}

/// ENTRYPOINT followed by CMD, both in exec (JSON) form, of the final stage.
fn dockerfile_invocation() -> Vec<String> {
    let instructions = dockerfile();
    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let json = |name: &str| -> Vec<String> {
        let (_, args) = instructions[last_from..]
            .iter()
            .rfind(|(i, _)| i == name)
            .unwrap_or_else(|| panic!("{name} in the final stage"));
        serde_json::from_str(args)
            .unwrap_or_else(|e| panic!("{name} {args} is not the exec (JSON) form: {e}"))
    };
    let mut argv = json("ENTRYPOINT");
    argv.extend(json("CMD"));
    argv
}

#[test]
fn dockerfile_builds_in_stages_and_runs_as_non_root() {
    let instructions = dockerfile();
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|(i, _)| i == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert!(froms.len() >= 2, "a build stage and a runtime stage");
    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let build_stage = &instructions[..last_from];
    let runtime = &instructions[last_from..];

    assert!(
        build_stage
            .iter()
            .any(|(i, a)| i == "RUN" && a.contains("cargo build --release")),
        "a release build"
    );
    assert!(
        runtime
            .iter()
            .any(|(i, a)| i == "RUN" && a.contains("ca-certificates")),
        "CA certificates for HTTPS to the API"
    );
    assert!(
        runtime
            .iter()
            .any(|(i, a)| i == "COPY" && a.starts_with("--from=")),
        "the runtime copies the binary from the build stage"
    );
    let (_, user) = runtime
        .iter()
        .rfind(|(i, _)| i == "USER")
        .expect("USER in the final stage");
    let name = user.split(':').next().unwrap();
    assert!(
        !["root", "0", ""].contains(&name),
        "USER {user} must not be root"
    );

    let argv = dockerfile_invocation();
    assert_eq!(argv, ["trendlake", "run"]);
    assert_cli_accepts(&argv, "Dockerfile ENTRYPOINT + CMD");
}

// ---------------------------------------------------------------------------------------------
// Docker: what the image is built from

/// The repository's root, which is the image's build context (`docker build -f
/// deploy/docker/Dockerfile .`).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file or directory a crate of the workspace embeds at compile time, relative to the
/// repository's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Embedded {
    path: PathBuf,
    /// A `concat!` whose path goes on with a macro argument (`$name`) names some file of a
    /// directory: the whole directory counts.
    dir: bool,
    /// Where it is embedded: `crates/trendlake/src/queries.rs:38`.
    whence: String,
}

/// The Rust files of every crate of the workspace: `src/` and `crates/*/src/`, recursively, and
/// the crates' build scripts.
fn crate_sources(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join("src")];
    let mut files = vec![root.join("build.rs")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let krate = entry.unwrap().path();
        dirs.push(krate.join("src"));
        files.push(krate.join("build.rs"));
    }
    files.retain(|f| f.is_file());
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The string literal (plain or raw) at the start of `s`, after blanks: its value and the rest.
fn string_literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(raw) = s.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        let end = format!("\"{}", "#".repeat(hashes));
        let at = body.find(&end)?;
        return Some((body[..at].to_string(), &body[at + end.len()..]));
    }
    let body = s.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((value, &body[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

/// What the argument of an `include_*!` names, relative to the file it is in: a literal path
/// (a file), or for `concat!` its leading literals, a directory when a macro argument follows
/// them (`concat!("../../../sql/queries/", $name, ".sql")` is a file of `../../../sql/queries/`).
/// `None` for what is generated at build time (`concat!(env!("OUT_DIR"), …)`), which no
/// context holds.
fn included_path(arg: &str, whence: &str) -> Option<(String, bool)> {
    let arg = arg.trim_start();
    if let Some((path, _)) = string_literal(arg) {
        return Some((path, false));
    }
    let Some(mut rest) = arg.strip_prefix("concat!(") else {
        panic!("{whence}: an embedded path this test cannot read: {arg:.60}");
    };
    let mut prefix = String::new();
    loop {
        rest = rest.trim_start();
        if rest.starts_with(')') {
            return Some((prefix, false));
        }
        match string_literal(rest) {
            Some((piece, after)) => {
                prefix.push_str(&piece);
                rest = after.trim_start();
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
            None if prefix.is_empty() && rest.starts_with("env!(\"OUT_DIR\")") => return None,
            None if prefix.is_empty() => {
                panic!("{whence}: an embedded path this test cannot read: {arg:.60}")
            }
            None => {
                let dir = match prefix.rfind('/') {
                    Some(slash) => prefix[..slash].to_string(),
                    None => String::new(),
                };
                return Some((dir, true));
            }
        }
    }
}

/// `path` with `.` and `..` resolved lexically; `None` if it climbs above its start.
fn normalized(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            part => out.push(part),
        }
    }
    Some(out)
}

/// Every file (or directory) that `include_str!`, `include_bytes!` or `include!` embeds in any
/// crate of the workspace, resolved from the file it is written in, relative to `root`.
fn embedded_files(root: &Path) -> Vec<Embedded> {
    let mut out = Vec::new();
    for source in crate_sources(root) {
        let text = std::fs::read_to_string(&source).unwrap();
        let rel = source.strip_prefix(root).unwrap();
        for mac in ["include_str!(", "include_bytes!(", "include!("] {
            for (at, _) in text.match_indices(mac) {
                let before = &text[..at];
                let line_start = before.rfind('\n').map_or(0, |n| n + 1);
                // A comment naming the macro embeds nothing.
                if text[line_start..at].contains("//")
                    || before
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                let whence = format!("{}:{}", rel.display(), before.matches('\n').count() + 1);
                let Some((path, dir)) = included_path(&text[at + mac.len()..], &whence) else {
                    continue;
                };
                let resolved = normalized(&rel.parent().unwrap().join(&path))
                    .unwrap_or_else(|| panic!("{whence}: {path} is outside the repository"));
                let kind_ok = if dir {
                    root.join(&resolved).is_dir()
                } else {
                    root.join(&resolved).is_file()
                };
                assert!(kind_ok, "{whence}: {} does not exist", resolved.display());
                out.push(Embedded {
                    path: resolved,
                    dir,
                    whence,
                });
            }
        }
    }
    out.sort();
    out
}

/// `*` and `?` in one path component, as Docker's (Go's) `filepath.Match` reads them.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(&p, &n)
}

/// Path components against pattern components, `**` standing for any number of components.
fn components_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| components_match(rest, &path[i..])),
        Some((p, rest)) => {
            path.first().is_some_and(|first| wildcard(p, first))
                && components_match(rest, &path[1..])
        }
    }
}

fn parts(path: &Path) -> Vec<&str> {
    path.iter().map(|p| p.to_str().unwrap()).collect()
}

/// Whether `.dockerignore`'s lines leave `path` (relative to the context's root) out of the
/// build context, by Docker's rules: patterns relative to the root, the last line that matches
/// the path or a directory above it wins, and `!` takes a path back in.
fn docker_ignored(dockerignore: &str, path: &Path) -> bool {
    let mut ignored = false;
    for line in dockerignore.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keep, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p.trim()),
            None => (false, line),
        };
        let pattern = normalized(Path::new(pattern.trim_matches('/'))).unwrap_or_default();
        let pattern = parts(&pattern);
        let path = parts(path);
        if (1..=path.len()).any(|n| components_match(&pattern, &path[..n])) {
            ignored = !keep;
        }
    }
    ignored
}

/// What the build stage COPYs from the build context to where it was in the repository,
/// relative to the WORKDIR (where Cargo.toml lands, so the crates' relative include paths
/// resolve): files and directories, relative to the context's root. A wildcard source counts
/// the files it matches; a copy elsewhere (`COPY data /opt/data`) does not count.
fn copied_in_place(root: &Path, dockerfile: &str) -> Vec<PathBuf> {
    let instructions = dockerfile_instructions(dockerfile);
    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let mut workdir = PathBuf::from("/");
    let mut out = Vec::new();
    for (instruction, args) in &instructions[..last_from] {
        match instruction.as_str() {
            "FROM" => workdir = PathBuf::from("/"),
            "WORKDIR" => workdir = workdir.join(args),
            "COPY" | "ADD" => {}
            _ => continue,
        }
        if !matches!(instruction.as_str(), "COPY" | "ADD") {
            continue;
        }
        let words: Vec<String> = match args.trim_start().starts_with('[') {
            true => serde_json::from_str(args).expect("COPY's exec form is a JSON list"),
            false => args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .map(str::to_string)
                .collect(),
        };
        // From another stage or image: not the context.
        if args.split_whitespace().any(|w| w.starts_with("--from=")) {
            continue;
        }
        let (dest, sources) = words.split_last().expect("COPY SRC… DEST");
        let into_dir = dest.ends_with('/') || sources.len() > 1 || dest == ".";
        let Some(dest) = normalized(&workdir.join(dest))
            .and_then(|d| d.strip_prefix(&workdir).ok().map(Path::to_path_buf))
        else {
            continue;
        };
        for source in sources {
            let source = normalized(Path::new(source)).expect("a source inside the context");
            for found in expand(root, &source) {
                // A directory's contents land in DEST; a file lands in DEST, or in it.
                let lands = match (root.join(&found).is_dir(), into_dir) {
                    (true, _) | (false, false) => dest.clone(),
                    (false, true) => dest.join(found.file_name().unwrap()),
                };
                if lands == found {
                    out.push(found);
                }
            }
        }
    }
    out
}

/// The paths under `root` that a COPY source names (with `*` and `?` in any component).
fn expand(root: &Path, source: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for part in parts(source) {
        let mut next = Vec::new();
        for at in found {
            if !part.contains(['*', '?']) {
                next.push(at.join(part));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(root.join(&at)) else {
                continue;
            };
            for entry in entries {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if wildcard(part, &name) {
                    next.push(at.join(name));
                }
            }
        }
        found = next;
    }
    found.retain(|p| root.join(p).exists());
    found.sort();
    found
}

/// The embedded files that an image built from `dockerfile` (with the repository's
/// `.dockerignore`) would lack, each with where it is embedded.
fn missing_from_image(root: &Path, dockerfile: &str, embedded: &[Embedded]) -> Vec<String> {
    let copied = copied_in_place(root, dockerfile);
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap_or_default();
    embedded
        .iter()
        .filter(|e| {
            // A directory must be copied whole: the path itself or a directory above it.
            !copied.iter().any(|c| e.path.starts_with(c)) || docker_ignored(&ignore, &e.path)
        })
        .map(|e| format!("{} ({})", e.path.display(), e.whence))
        .collect()
}

#[test]
fn the_image_copies_every_file_the_crates_embed() {
    let root = repo_root();
    let embedded = embedded_files(root);
    // The scan finds each form: literal paths beside the code and up the tree, and the named
    // queries' directory from queries.rs's `concat!`.
    for (known, dir) in [
        ("sql/schema.sql", false),
        ("sql/queries", true),
        ("data/regions.csv", false),
        ("data/source_changes.csv", false),
        ("crates/trendlake/src/report/templates/report.html", false),
    ] {
        assert!(
            embedded
                .iter()
                .any(|e| e.path == Path::new(known) && e.dir == dir),
            "{known} (dir: {dir}) not among {embedded:#?}"
        );
    }
    let dockerfile = read("docker/Dockerfile");
    assert_eq!(
        missing_from_image(root, &dockerfile, &embedded),
        Vec::<String>::new(),
        "embedded files the image's build would lack"
    );

    // And the check fails where the image would: the reference data narrowed to two files, the
    // named queries to one, or the data left out by the .dockerignore.
    let narrowed = |from: &str, to: &str| {
        assert!(dockerfile.contains(from), "the Dockerfile has `{from}`");
        missing_from_image(root, &dockerfile.replace(from, to), &embedded)
    };
    assert_eq!(
        narrowed(
            "COPY data ./data",
            "COPY data/regions.csv data/categories.csv ./data/"
        ),
        ["data/source_changes.csv (crates/trendlake/src/report/annotations.rs:10)"]
    );
    let without_queries = narrowed(
        "COPY sql ./sql",
        "COPY sql/schema.sql sql/views.sql sql/staging.sql ./sql/\nCOPY sql/merge ./sql/merge\n\
         COPY sql/migrations ./sql/migrations\nCOPY sql/check ./sql/check\n\
         COPY sql/queries/top_movers.sql ./sql/queries/",
    );
    assert_eq!(
        without_queries,
        ["sql/queries (crates/trendlake/src/queries.rs:38)"]
    );
    // Copied, but not where the relative paths look.
    let elsewhere = narrowed("COPY data ./data", "COPY data ./reference");
    assert_eq!(elsewhere.len(), 3, "{elsewhere:?}");
    let wildcard = narrowed("COPY data ./data", "COPY data/*.csv ./data/");
    assert_eq!(wildcard, Vec::<String>::new());
    assert!(docker_ignored("data/\n", Path::new("data/regions.csv")));
    assert!(docker_ignored("**/*.csv\n", Path::new("data/regions.csv")));
    assert!(!docker_ignored(
        "data/*\n!data/*.csv\n",
        Path::new("data/regions.csv")
    ));
    assert!(!docker_ignored(
        "data/demo/\n",
        Path::new("data/regions.csv")
    ));
}

/// The build context as Docker would send it: the repository minus `.dockerignore`.
#[test]
fn the_dockerignore_keeps_local_data_and_builds_out_of_the_context() {
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore"))
        .expect(".dockerignore at the repository's root");
    // What `demo`, a `run` with the default paths and a build in the checkout leave behind.
    for local in [
        "target/release/trendlake",
        ".git/HEAD",
        "data/demo/warehouse.duckdb",
        "data/lake/videos",
        "data/warehouse.duckdb",
        "data/warehouse.duckdb.wal",
    ] {
        assert!(docker_ignored(&ignore, Path::new(local)), "{local} is sent");
    }
}

/// Cargo accepts the workspace the build stage sees (the files it COPYs, less what the
/// `.dockerignore` leaves out) for the image's build command: every target the manifests
/// declare is there (the benches, say). Checked as far as the build would start: the target
/// directory is put where it cannot be created, so nothing is compiled.
#[test]
fn cargo_accepts_the_build_stage_workspace() {
    let root = repo_root();
    let dockerfile = read("docker/Dockerfile");
    let build = "cargo build --release --locked --no-default-features --bin trendlake";
    assert!(
        dockerfile_instructions(&dockerfile)
            .iter()
            .any(|(i, a)| i == "RUN" && a.contains(build)),
        "the image builds with `{build}`"
    );
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap_or_default();
    let context = tempfile::tempdir().unwrap();
    let mut stack = copied_in_place(root, &dockerfile);
    while let Some(rel) = stack.pop() {
        if docker_ignored(&ignore, &rel) {
            continue;
        }
        let (from, to) = (root.join(&rel), context.path().join(&rel));
        if from.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(&from).unwrap() {
                stack.push(rel.join(entry.unwrap().file_name()));
            }
        } else {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let blocker = context.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let out = std::process::Command::new(env!("CARGO"))
        .args(build.split_whitespace().skip(1))
        .arg("--offline")
        .arg("--target-dir")
        .arg(blocker.join("target"))
        .current_dir(context.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("failed to create directory") && err.contains("not-a-directory"),
        "cargo stopped before the build:\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// AWS

fn strings(v: &serde_json::Value) -> Vec<&str> {
    match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(|s| s.as_str()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn iam_policy_is_least_privilege_for_the_lake_prefix() {
    let policy: serde_json::Value =
        serde_json::from_str(&read("aws/iam-policy.json")).expect("valid JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    let statements = policy["Statement"].as_array().expect("Statement list");
    let mut granted = Vec::new();
    for s in statements {
        assert_eq!(s["Effect"], "Allow");
        assert!(s.get("NotAction").is_none() && s.get("NotResource").is_none());
        let actions = strings(&s["Action"]);
        let resources = strings(&s["Resource"]);
        assert!(!actions.is_empty() && !resources.is_empty(), "{s}");
        for a in &actions {
            assert!(a.starts_with("s3:") && !a.contains('*'), "action {a}");
        }
        for r in &resources {
            assert!(
                r.starts_with("arn:aws:s3:::BUCKET") && *r != "*",
                "resource {r}"
            );
        }
        if actions.contains(&"s3:ListBucket") {
            assert_eq!(resources, ["arn:aws:s3:::BUCKET"]);
            let prefixes = strings(&s["Condition"]["StringLike"]["s3:prefix"]);
            assert!(!prefixes.is_empty(), "ListBucket limited by s3:prefix");
            assert!(
                prefixes.iter().all(|p| p.starts_with("PREFIX")),
                "{prefixes:?}"
            );
        } else {
            assert_eq!(resources, ["arn:aws:s3:::BUCKET/PREFIX/*"]);
        }
        granted.extend(actions);
    }
    granted.sort();
    assert_eq!(
        granted,
        [
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Every command in every file

#[test]
fn every_trendlake_command_in_deploy_parses() {
    let mut checked = 0;
    let mut stack = vec![deploy_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path
                .strip_prefix(deploy_dir())
                .unwrap()
                .display()
                .to_string();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let mut in_code = false;
            for line in logical_lines(&text) {
                let line = line.trim_start();
                // Where each kind of file keeps the shell commands it runs.
                let shell = match ext {
                    // Markdown: fenced code blocks (prose names commands in code spans).
                    "md" => {
                        if line.starts_with("```") {
                            in_code = !in_code;
                            None
                        } else {
                            in_code.then_some(line)
                        }
                    }
                    // Unit files: the Exec*= lines, without systemd's prefixes.
                    "service" | "timer" => line
                        .strip_prefix("Exec")
                        .and_then(|l| l.split_once('='))
                        .map(|(_, cmd)| cmd.trim_start_matches(['-', '@', '+', '!', ':'])),
                    // The Dockerfile: RUN lines.
                    _ if name.ends_with("Dockerfile") => line.strip_prefix("RUN "),
                    "crontab" => Some(line),
                    // YAML and JSON hold arguments as lists: their own tests check them.
                    _ => None,
                };
                let Some(shell) = shell.filter(|l| !l.starts_with('#')) else {
                    continue;
                };
                for argv in invocations(shell) {
                    assert_cli_accepts(&argv, &name);
                    checked += 1;
                }
            }
        }
    }
    // The service, the crontab and deploy/README.md's code blocks at least.
    assert!(checked >= 3, "only {checked} trendlake command lines found");
}
