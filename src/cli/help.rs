//! The text `--help` shows after each command's options: the exit codes that command can end
//! with, its own and no other's (docs/operations.md's "Exit codes" table, which a test holds
//! them to), then, for the commands that read them, where settings come from.

/// Where settings come from, for the commands that read the config file.
macro_rules! settings {
    () => {
        "\n\nSettings come from flags, then TRENDLAKE_* (and YOUTUBE_*) environment variables, \
         then the --config TOML file, then defaults; `trendlake config` shows which. Logs go to \
         stderr; TRENDLAKE_LOG=info (any tracing filter) shows more."
    };
}

/// Exit code 2, the same for every command.
macro_rules! usage {
    () => {
        "2 bad usage or configuration (or a file of a newer trendlake), nothing touched"
    };
}

/// `trendlake --help`: every code, and which commands end with it.
pub const TOP: &str = concat!(
    "Exit codes (each command's --help lists its own): 0 done; 1 failure, nothing new \
     committed; ",
    usage!(),
    "; 3 (run, snapshot, demo) partial: some regions failed, the others were committed; 4 (run, \
     merge, rebuild, forget) the merge failed (the lake is safe; `trendlake merge` finishes); 5 \
     (run --report) committed and merged, but the report could not be written (`trendlake \
     report --publish` makes it); 6 (check) it could not finish, so no verdict.",
    settings!()
);

pub const RUN: &str = concat!(
    "Exit codes: 0 every region fetched, committed and merged (with --report, the report \
     written too); 1 failure, nothing new committed; ",
    usage!(),
    "; 3 partial: some regions failed, the others were committed and merged (or some lookups \
     of the tracking stage failed); 4 the merge failed (the lake is safe; `trendlake merge` \
     finishes); 5 (--report) committed and merged, \
     but the report could not be written (`trendlake report --date D --publish` makes it).",
    settings!()
);

pub const SNAPSHOT: &str = concat!(
    "Exit codes: 0 every region fetched and committed; 1 failure, nothing new committed; ",
    usage!(),
    "; 3 partial: some regions failed, the others were committed (or some lookups of the \
     tracking stage failed).",
    settings!()
);

pub const MERGE: &str = concat!(
    "Exit codes: 0 the warehouse follows the lake (merged, or already up to date); 1 failure \
     (the lake could not be read); ",
    usage!(),
    "; 4 the merge failed (the lake is safe; run `trendlake merge` again).",
    settings!()
);

pub const REBUILD: &str = concat!(
    "Exit codes: 0 rebuilt and merged; 1 the dates asked for have no raw pages (nothing \
     changed), or another failure; ",
    usage!(),
    "; 4 the rebuilt snapshots are in the lake but the merge failed (`trendlake merge` \
     finishes).",
    settings!()
);

pub const FORGET: &str = concat!(
    "Exit codes: 0 forgotten, and the warehouse merged; 1 failure; ",
    usage!(),
    "; 4 the dates are out of the lake but the merge failed (`trendlake merge` finishes).",
    settings!()
);

pub const CHECK: &str = concat!(
    "Exit codes: 0 the lake and the warehouse agree; 1 problems found, one line each on \
     stdout; ",
    usage!(),
    "; 6 it could not finish (the store or the warehouse could not be read to the end), so no \
     verdict: not \"problems found\".",
    settings!()
);

/// `query`, `report` and `config`: done, failed, or refused.
pub const READS: &str = concat!(
    "Exit codes: 0 done; 1 failure; ",
    usage!(),
    ".",
    settings!()
);

pub const DEMO: &str = concat!(
    "Exit codes: 0 every night complete; 1 failure; ",
    usage!(),
    "; 3 some region of some night failed (the others were committed and merged).\n\n\
     demo reads no config file (--config, TRENDLAKE_CONFIG), its log_format included: its \
     settings are its flags alone, so a deployment's file never points it at that deployment's \
     lake or warehouse. Logs go to stderr."
);

pub const FAKE_API: &str = concat!(
    "Exit codes: 0 stopped with Ctrl-C; 1 failure; ",
    usage!(),
    ".\n\nfake-api reads no config file (--config, TRENDLAKE_CONFIG): its settings are its \
     flags alone."
);

/// `completions`, `man` and `regions`.
pub const PRINTS: &str = concat!("Exit codes: 0 done; 1 failure; ", usage!(), ".");
