//! `forget`: a bad date taken out of the lake, recoverably. Everything the lake holds of the date
//! (its snapshot, commit records, raw pages, chart catalogues, run reports and report page) is
//! moved under `_trash/<time>-<id>/`, keeping its path, and the reports index is rewritten without it; the
//! merge that follows removes the date from the warehouse. Moving it back restores it (and the
//! next merge merges it again); `check --prune` empties the trash after its grace period.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use tracing::info;

use crate::error::{Error, Result};
use crate::lake::{Lake, partition_date};

/// What `forget` moved aside.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Forgotten {
    /// The dates the lake held something of.
    pub dates: Vec<NaiveDate>,
    /// Objects moved into the trash.
    pub objects: usize,
    /// The trash folder, as the user can find it.
    pub trash: String,
    /// `_reports/index.html`, when it was rewritten.
    pub index: Option<String>,
}

/// The folders of the layout that hold a date's objects, the snapshot's first: once it is gone,
/// no reader or merge sees the date, whatever happens to the rest.
const PER_DATE: [&str; 7] = [
    "videos", "tracked", "_commits", "raw", "_charts", "_runs", "_reports",
];

/// Move every object of the dates in `from..=to` into one trash folder.
pub async fn forget(lake: &Lake, from: NaiveDate, to: NaiveDate) -> Result<Forgotten> {
    if from > to {
        return Err(Error::Usage(format!(
            "--from {from} is after --to {to}; give the earlier date first"
        )));
    }
    let folder = format!(
        "_trash/{}-{}",
        Utc::now().format("%Y%m%dT%H%M%SZ"),
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    );
    let mut forgotten = Forgotten {
        trash: lake.display(&lake.path(&folder)),
        ..Forgotten::default()
    };
    let mut dates = std::collections::BTreeSet::new();
    for top in PER_DATE {
        for listed in lake.list_under(top).await? {
            let parts = listed.parts();
            let Some(date) = parts.get(1).and_then(|dir| partition_date(dir)) else {
                continue;
            };
            if date < from || date > to {
                continue;
            }
            // The snapshot moves under the date's commit lock, so no commit of the date
            // interleaves with it (locally; on S3 a run committing the date now re-creates it).
            let _lock = match top {
                "videos" => lake.lock(date).await?,
                _ => None,
            };
            let trashed = lake.path(&format!("{folder}/{}", parts.join("/")));
            if lake.move_object(&listed.meta.location, &trashed).await? {
                forgotten.objects += 1;
                dates.insert(date);
            }
        }
    }
    forgotten.dates = dates.into_iter().collect();
    if forgotten.dates.is_empty() {
        return Ok(forgotten);
    }
    info!(dates = ?forgotten.dates, objects = forgotten.objects, trash = %forgotten.trash, "moved aside");
    forgotten.index = crate::report::rewrite_index(lake).await?;
    Ok(forgotten)
}
