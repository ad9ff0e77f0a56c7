//! The repository stands alone: no file refers to a path outside it, and every relative Markdown
//! link leads to a file a clone has. Developers keep reference material beside the checkout; a
//! user clones the repository alone, so a reference to that material is a broken one.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// References to the developers-only folder beside the checkout. Split so this file does not
/// match itself.
const OUTSIDE: [&str; 3] = [
    concat!("..", "/shared"),
    concat!("shared", "/youtube_samples"),
    concat!("shared", "/youtube_api.md"),
];

/// Directories never looked at when git cannot list the files (build output, local data).
const SKIP_DIRS: [&str; 5] = [".git", "target", "data/demo", "data/lake", "node_modules"];

/// Files the repository would have in a clone, relative to `root`: tracked ones and new ones not
/// ignored (`git ls-files --cached --others --exclude-standard`, so `.gitignore` applies in
/// full), or, without git, every file under `root` but build output and local data.
fn repo_files(root: &Path) -> Vec<PathBuf> {
    let git = root.join(".git").exists().then(|| {
        Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(root)
            .output()
    });
    let mut files: Vec<PathBuf> = match git {
        Some(Ok(out)) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            // Tracked but deleted in the work tree: not in the next commit either.
            .filter(|p| root.join(p).is_file())
            .collect(),
        _ => walk(root),
    };
    files.sort();
    files.dedup();
    files
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let path = rel.join(entry.file_name());
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                if !SKIP_DIRS.iter().any(|d| path == Path::new(d)) {
                    stack.push(path);
                }
            } else if kind.is_file() {
                let name = path.to_string_lossy();
                if !(name.ends_with(".duckdb") || name.ends_with(".duckdb.wal")) {
                    out.push(path);
                }
            }
        }
    }
    out
}

/// The file's text, or `None` for binary files (a NUL byte, or not UTF-8).
fn text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// `(line, needle)` for every reference to the developers' folder in `text`.
fn outside_refs(text: &str) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for needle in OUTSIDE {
            if line.contains(needle) {
                out.push((i + 1, needle));
            }
        }
    }
    out
}

/// `(line, target)` of every Markdown link and image (`[x](target)`, `![x](target)`,
/// `[x]: target`) outside code blocks and code spans.
pub(crate) fn markdown_links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if let Some(f) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
            fence = Some(f);
            continue;
        }
        let line = without_code_spans(line);
        // Reference definitions: `[name]: target`.
        if let Some(rest) = line.trim_start().strip_prefix('[')
            && let Some((_, after)) = rest.split_once("]:")
            && let Some(target) = after.split_whitespace().next()
        {
            out.push((i + 1, target.trim_matches(['<', '>']).to_string()));
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            // Up to the matching `)`, allowing balanced parentheses inside the target.
            let mut depth = 0usize;
            let end = after
                .char_indices()
                .find(|&(_, c)| match c {
                    '(' => {
                        depth += 1;
                        false
                    }
                    ')' if depth == 0 => true,
                    ')' => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
                .map_or(after.len(), |(j, _)| j);
            let inner = after[..end].trim();
            let target = if let Some(angled) = inner.strip_prefix('<') {
                angled.split('>').next().unwrap_or_default()
            } else {
                // A title may follow the target: `[x](path "title")`.
                inner.split_whitespace().next().unwrap_or_default()
            };
            out.push((i + 1, target.to_string()));
            rest = &after[end.min(after.len())..];
        }
    }
    out
}

fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let opener = &rest[start..start + ticks];
        match rest[start + ticks..].find(opener) {
            Some(len) => rest = &rest[start + ticks + len + ticks..],
            // An unmatched backtick is literal text.
            None => {
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why the link `target` in the Markdown file `md` (relative to the root) is broken, if it is.
/// `files` are the repository's files; a directory is fine when it holds one of them.
fn broken_link(md: &Path, target: &str, files: &BTreeSet<PathBuf>) -> Option<String> {
    let lower = target.to_ascii_lowercase();
    if target.is_empty()
        || target.starts_with('#')
        || ["http://", "https://", "mailto:"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return None;
    }
    if lower.contains("://") || lower.starts_with("file:") {
        return Some(format!("{target}: not a link inside the repository"));
    }
    let path = target.split(['#', '?']).next().unwrap_or_default();
    let path = path.replace("%20", " ");
    if path.is_empty() {
        return None;
    }
    // GitHub resolves `/x` from the repository's root, anything else from the file's folder.
    let joined = match path.strip_prefix('/') {
        Some(from_root) => PathBuf::from(from_root),
        None => md.parent().unwrap_or(Path::new("")).join(&path),
    };
    let mut resolved = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::Normal(p) => resolved.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !resolved.pop() {
                    return Some(format!("{target}: leads outside the repository"));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Some(format!("{target}: an absolute path"));
            }
        }
    }
    let exists = files.contains(&resolved)
        || resolved.as_os_str().is_empty()
        || files.iter().any(|f| f.starts_with(&resolved));
    (!exists).then(|| format!("{target}: {} is not in the repository", resolved.display()))
}

/// Every problem found under `root`, one line each.
fn problems(root: &Path) -> Vec<String> {
    let files = repo_files(root);
    let set: BTreeSet<PathBuf> = files.iter().cloned().collect();
    let mut out = Vec::new();
    for rel in &files {
        let Some(text) = text(&root.join(rel)) else {
            continue;
        };
        for (line, needle) in outside_refs(&text) {
            out.push(format!(
                "{}:{line}: refers to {needle:?}, outside the repository",
                rel.display()
            ));
        }
        if rel.extension().is_some_and(|e| e == "md") {
            for (line, target) in markdown_links(&text) {
                if let Some(why) = broken_link(rel, &target, &set) {
                    out.push(format!("{}:{line}: broken link {why}", rel.display()));
                }
            }
        }
    }
    out
}

#[test]
fn no_file_refers_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = repo_files(root);
    // The listing itself works: it sees the manifest, this file and the fixtures.
    for expected in [
        "Cargo.toml",
        "README.md",
        "tests/it/repo.rs",
        "tests/fixtures/youtube/README.md",
    ] {
        assert!(
            files.iter().any(|f| f == Path::new(expected)),
            "{expected} not listed among {} files",
            files.len()
        );
    }
    let problems = problems(root);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "README.md",
        "# x\n[ok](docs/a.md) [dir](docs) [web](https://e.x/y) [top](#x)\n",
    );
    write(
        "docs/a.md",
        concat!(
            "[back](../README.md#x) [title](../README.md \"t\") [gone](missing.md)\n",
            "[up](../../etc/passwd)\n",
            "`[code](nowhere.md)`\n",
            "```\n[fenced](nowhere.md)\n```\n",
            "[ref]: ./b.md\n",
        ),
    );
    write("src/lib.rs", concat!("// see ", "..", "/shared/notes.md\n"));
    write("target/junk.md", "[never](looked/at.md)\n");
    write("data/demo/x.md", "[never](looked/at.md)\n");
    write("data/w.duckdb", concat!("..", "/shared\n"));
    std::fs::write(root.join("blob.bin"), b"\0..\0").unwrap();

    let found = problems(root);
    let has = |s: &str| found.iter().any(|p| p.contains(s));
    assert!(has("docs/a.md:1: broken link missing.md"), "{found:#?}");
    assert!(has(
        "docs/a.md:2: broken link ../../etc/passwd: leads outside"
    ));
    assert!(has("docs/a.md:7: broken link ./b.md"));
    assert!(has("src/lib.rs:1: refers to"));
    assert_eq!(found.len(), 4, "nothing else: {found:#?}");
}

#[test]
fn links_are_read_as_markdown_reads_them() {
    let links =
        |s: &str| -> Vec<String> { markdown_links(s).into_iter().map(|(_, t)| t).collect() };
    assert_eq!(
        links("a [`x.md`](x.md) and ![img](i/p.png \"t\") and [p](f(1).md)"),
        ["x.md", "i/p.png", "f(1).md"]
    );
    assert_eq!(links("[a](<with space.md>)"), ["with space.md"]);
    assert!(links("`[a](b.md)` ``[c](d.md)``").is_empty());
    assert!(links("~~~\n[a](b.md)\n~~~").is_empty());
    let files: BTreeSet<PathBuf> = ["README.md", "docs/a.md"].map(PathBuf::from).into();
    let md = Path::new("docs/a.md");
    assert_eq!(broken_link(md, "../README.md", &files), None);
    assert_eq!(broken_link(md, "/README.md", &files), None);
    assert_eq!(broken_link(md, "../docs", &files), None);
    assert_eq!(broken_link(md, "mailto:a@b.c", &files), None);
    assert!(broken_link(md, "../../x", &files).is_some());
    assert!(broken_link(md, "file:///etc/passwd", &files).is_some());
    assert!(broken_link(md, "../Readme.md", &files).is_some());
}
