//! The deployment examples in `deploy/` are valid for the tools that read them, keep their
//! promises (one run at a time, a non-root user, the key from a secret, least privilege), and
//! every `trendlake` command line in them is accepted by the real command-line parser, so a flag
//! renamed in `src/cli` cannot silently break a deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
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
    for flag in ["--lake", "--warehouse"] {
        let path = flag_value(argv, flag).unwrap_or_else(|| panic!("{flag} given"));
        assert!(
            writable.iter().any(|w| Path::new(path).starts_with(w)),
            "{flag} {path} is inside a writable path {writable:?}"
        );
    }
    // The example config file is the one it reads, and the metrics file that file names (for
    // node_exporter's textfile collector) is writable in the sandbox too.
    assert_eq!(
        flag_value(argv, "--config"),
        Some("/etc/trendlake/trendlake.toml")
    );
    let config: toml::Table = read("trendlake.toml").parse().unwrap();
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
    assert_eq!(argv[1], "run");
    for flag in ["--lake", "--warehouse"] {
        let path = flag_value(&argv, flag).unwrap_or_else(|| panic!("{flag} given"));
        assert!(
            Path::new(path).starts_with(mount_path),
            "{flag} {path} on the volume"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Docker

/// `(INSTRUCTION, arguments)` of a Dockerfile, continuations joined, comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("docker/Dockerfile");
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

    // The build context is the repository's root: every COPY source exists there.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (_, args) in build_stage.iter().filter(|(i, _)| i == "COPY") {
        let words: Vec<&str> = args
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        for source in &words[..words.len() - 1] {
            assert!(
                root.join(source).exists(),
                "COPY {source}: not in the repository"
            );
        }
    }

    let argv = dockerfile_invocation();
    assert_eq!(argv, ["trendlake", "run"]);
    assert_cli_accepts(&argv, "Dockerfile ENTRYPOINT + CMD");
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
