//! Every relative link of the README and the docs/ pages leads somewhere: the file or directory
//! exists inside the repository, and an `#anchor` names a heading of the page it points at, as
//! GitHub makes anchors from headings (lower case, spaces to `-`, punctuation dropped, `-1`,
//! `-2`, … for repeats). A page moved or a heading renamed without its links fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::repo::markdown_links;

/// The pages checked, relative to the root: the README, every page under docs/, and the
/// deployment README.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| PathBuf::from("docs").join(e.unwrap().file_name()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    if root.join("deploy/README.md").is_file() {
        out.push(PathBuf::from("deploy/README.md"));
    }
    out
}

/// GitHub's anchor for a heading's text: inline code and link syntax reduced to their text,
/// lower case, every character but letters, digits, `_`, `-` and spaces dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](target)` and `![alt](target)` → text.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else {
            break;
        };
        text.push_str(rest[..open].trim_end_matches('!'));
        text.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown text's headings (ATX headings outside fenced code), repeats
/// numbered as GitHub numbers them.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
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
        if line.len() - trimmed.len() > 3 {
            continue; // indented code
        }
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) {
            continue;
        }
        let after = &trimmed[level..];
        if !(after.is_empty() || after.starts_with(' ')) {
            continue;
        }
        let heading = after.trim().trim_end_matches('#').trim();
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every broken link of `pages` (relative to `root`), one line each.
fn broken_links(root: &Path, pages: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    let mut anchors_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut anchors_in = |rel: &Path| -> BTreeSet<String> {
        anchors_of
            .entry(rel.to_path_buf())
            .or_insert_with(|| anchors(&std::fs::read_to_string(root.join(rel)).unwrap()))
            .clone()
    };
    for page in pages {
        let text = std::fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        for (line, target) in markdown_links(&text) {
            let at = format!("{}:{line}: {target}", page.display());
            let lower = target.to_ascii_lowercase();
            if ["http://", "https://", "mailto:"]
                .iter()
                .any(|p| lower.starts_with(p))
            {
                continue;
            }
            if lower.contains("://") || target.starts_with('/') {
                out.push(format!("{at}: not a relative link"));
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            // The file the link leads to, relative to the root.
            let resolved = if path.is_empty() {
                page.clone()
            } else {
                let joined = page
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(path.replace("%20", " "));
                let mut resolved = PathBuf::new();
                let mut outside = false;
                for part in joined.components() {
                    match part {
                        Component::Normal(p) => resolved.push(p),
                        Component::CurDir => {}
                        Component::ParentDir => outside |= !resolved.pop(),
                        Component::RootDir | Component::Prefix(_) => outside = true,
                    }
                }
                if outside {
                    out.push(format!("{at}: leads outside the repository"));
                    continue;
                }
                resolved
            };
            if !root.join(&resolved).exists() {
                out.push(format!("{at}: {} does not exist", resolved.display()));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if resolved.extension().is_none_or(|e| e != "md") {
                out.push(format!(
                    "{at}: an anchor into {}, which is not a Markdown page",
                    resolved.display()
                ));
                continue;
            }
            if !anchors_in(&resolved).contains(anchor) {
                out.push(format!(
                    "{at}: {} has no heading with the anchor #{anchor}",
                    resolved.display()
                ));
            }
        }
    }
    out
}

#[test]
fn docs_links() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = pages(root);
    assert!(pages.len() >= 10, "README and the docs pages: {pages:?}");
    let broken = broken_links(root, &pages);
    assert!(
        broken.is_empty(),
        "{} broken link(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn docs_links_reach_every_page_from_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let linked: BTreeSet<String> = markdown_links(&readme)
        .into_iter()
        .map(|(_, t)| t.split('#').next().unwrap().to_string())
        .collect();
    for page in pages(root).into_iter().skip(1) {
        let page = page.display().to_string();
        if page.starts_with("docs/") {
            assert!(linked.contains(&page), "README links {page}");
        }
    }
}

#[test]
fn docs_links_slugs_as_github_makes_them() {
    assert_eq!(slug("Commands"), "commands");
    assert_eq!(
        slug("Logs, exit codes and run reports"),
        "logs-exit-codes-and-run-reports"
    );
    assert_eq!(
        slug("Parquet schema of `videos`"),
        "parquet-schema-of-videos"
    );
    assert_eq!(slug("Lineage: what names what"), "lineage-what-names-what");
    assert_eq!(slug("`check`"), "check");
    assert_eq!(slug("Exit codes of `query`"), "exit-codes-of-query");
    assert_eq!(
        slug("The [fake API](fake_api.md) — faults"),
        "the-fake-api--faults"
    );
    assert_eq!(slug("snake_case and a-dash"), "snake_case-and-a-dash");
    assert_eq!(slug("Retry-After (seconds)"), "retry-after-seconds");
}

/// The check on a deliberately broken sample: each kind of broken link is found, and nothing
/// that is fine is reported.
#[test]
fn docs_links_catch_a_broken_sample() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "README.md",
        concat!(
            "# Sample\n",
            "## Where to read on\n",
            "[ok](docs/a.md) [ok](docs/a.md#a-heading) [ok](#where-to-read-on) [ok](docs)\n",
            "[gone](docs/missing.md) [bad anchor](docs/a.md#no-such-heading)\n",
            "[self](#nowhere) [web](https://example.com/x#y) [up](../outside.md)\n",
            "`[code](docs/never.md)`\n",
        ),
    );
    write(
        "docs/a.md",
        concat!(
            "# A\n",
            "## A heading\n",
            "## Twice\n",
            "## Twice\n",
            "```sh\n# not a heading\n```\n",
            "[ok](#twice-1) [ok](../README.md#sample) [ok](../src/lib.rs)\n",
            "[not a heading](#not-a-heading) [thrice](#twice-2)\n",
            "[anchor into code](../src/lib.rs#L1)\n",
        ),
    );
    write("src/lib.rs", "\n");
    let pages = [PathBuf::from("README.md"), PathBuf::from("docs/a.md")];
    let found = broken_links(root, &pages);
    let expected = [
        "README.md:4: docs/missing.md: docs/missing.md does not exist",
        "README.md:4: docs/a.md#no-such-heading: docs/a.md has no heading with the anchor #no-such-heading",
        "README.md:5: #nowhere: README.md has no heading with the anchor #nowhere",
        "README.md:5: ../outside.md: leads outside the repository",
        "docs/a.md:9: #not-a-heading: docs/a.md has no heading with the anchor #not-a-heading",
        "docs/a.md:9: #twice-2: docs/a.md has no heading with the anchor #twice-2",
        "docs/a.md:10: ../src/lib.rs#L1: an anchor into src/lib.rs, which is not a Markdown page",
    ];
    assert_eq!(found, expected, "{found:#?}");
}
