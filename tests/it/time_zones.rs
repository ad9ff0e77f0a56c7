//! Analysts' SQL on the warehouse's `TIMESTAMPTZ` columns answers as in any DuckDB with ICU
//! (docs/warehouse.md, "Time zones"): `hour()`, `date_trunc`, `::DATE`, timestamp arithmetic and `AT TIME ZONE`,
//! in the session's time zone (UTC, or `query --time-zone`), each value checked against chrono-tz.

use chrono::{DateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::support::*;

/// Rows of `sql` on `warehouse` in the session zone `zone`, as `query --format json` gives them.
async fn rows(warehouse: &std::path::Path, zone: &str, sql: &str) -> Vec<Value> {
    let args = [
        "query",
        "--warehouse",
        &warehouse.display().to_string(),
        "--format",
        "json",
        "--time-zone",
        zone,
        sql,
    ];
    let out = trendlake(args.map(String::from).to_vec()).await;
    assert_exit(&out, 0);
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Array(rows) => rows,
        other => panic!("{sql}: not an array: {other}"),
    }
}

/// The instant `micros` after the epoch.
fn instant(micros: &Value) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros.as_i64().unwrap()).unwrap()
}

/// A `TIMESTAMP` or `DATE` as the JSON output writes it, parsed.
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not text: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamptz_sql_answers_as_duckdb_does_in_every_session_zone() {
    let s = Scratch::new();
    let api = fake(date("2026-11-20"), |_| {}).await;
    for night in ["2026-11-20", "2026-11-21"] {
        api.set_date(date(night));
        assert_exit(
            &s.run(&api.base_url(), night, &["--regions", "JP,US"]).await,
            0,
        );
    }
    let wh = s.warehouse();
    for zone in ["UTC", "Asia/Tokyo", "America/New_York"] {
        let tz: Tz = zone.parse().unwrap();
        // hour(), ::DATE and date_trunc of every upload, in the session's zone.
        let got = rows(
            &wh,
            zone,
            "SELECT video_id, epoch_us(published_at) AS us, hour(published_at) AS h, \
                    published_at::DATE AS d, \
                    epoch_us(date_trunc('day', published_at)) AS midnight \
             FROM videos ORDER BY video_id",
        )
        .await;
        assert!(got.len() > 300, "{zone}: {} videos", got.len());
        for row in &got {
            let local = instant(&row["us"]).with_timezone(&tz);
            assert_eq!(row["h"], local.hour(), "{zone} {row}");
            assert_eq!(
                text(&row["d"]),
                local.date_naive().to_string(),
                "{zone} {row}"
            );
            let midnight = tz
                .from_local_datetime(&local.date_naive().and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap();
            assert_eq!(
                instant(&row["midnight"]),
                midnight.with_timezone(&Utc),
                "{zone} {row}"
            );
        }
        // AT TIME ZONE gives the wall clock of the zone named, whatever the session's.
        let got = rows(
            &wh,
            zone,
            "SELECT epoch_us(published_at) AS us, \
                    strftime(published_at AT TIME ZONE 'Asia/Tokyo', '%Y-%m-%d %H:%M:%S') AS tokyo \
             FROM videos ORDER BY video_id LIMIT 50",
        )
        .await;
        for row in &got {
            let tokyo = instant(&row["us"]).with_timezone(&chrono_tz::Asia::Tokyo);
            assert_eq!(
                text(&row["tokyo"]),
                tokyo.format("%Y-%m-%d %H:%M:%S").to_string(),
                "{zone} {row}"
            );
        }
        // Arithmetic on TIMESTAMPTZ: the span of the entries, and how long ago the last one was.
        let got = rows(
            &wh,
            zone,
            "SELECT epoch_us(max(fetched_at)) - epoch_us(min(fetched_at)) AS span_us, \
                    epoch_us(min(fetched_at) + (max(fetched_at) - min(fetched_at))) AS back_us, \
                    epoch_us(max(fetched_at)) AS last_us, \
                    now() - max(fetched_at) > INTERVAL 0 SECOND AS in_the_past \
             FROM chart",
        )
        .await;
        assert_eq!(
            got[0]["back_us"], got[0]["last_us"],
            "{zone}: min + (max - min) = max"
        );
        assert!(got[0]["span_us"].as_i64().unwrap() > 0);
        assert_eq!(got[0]["in_the_past"], true);
    }

    // The session zone is UTC by default, whatever the machine's (TZ is ignored).
    let out = trendlake_env(
        [
            "query",
            "--warehouse",
            &wh.display().to_string(),
            "--format",
            "csv",
            "SELECT current_setting('TimeZone') AS zone",
        ]
        .map(String::from)
        .to_vec(),
        &[("TZ", "Asia/Tokyo")],
    )
    .await;
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "zone\nUTC\n");
    // A zone DuckDB does not know is bad input.
    let out = trendlake(
        [
            "query",
            "--warehouse",
            &wh.display().to_string(),
            "--time-zone",
            "Mars/Olympus_Mons",
            "SELECT 1",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("time zone \"Mars/Olympus_Mons\" is not one DuckDB knows"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_named_queries_answer_the_same_in_every_session_zone() {
    let s = Scratch::new();
    let api = fake(date("2026-11-20"), |_| {}).await;
    for night in ["2026-11-20", "2026-11-21"] {
        api.set_date(date(night));
        assert_exit(
            &s.run(&api.base_url(), night, &["--regions", "JP,US"]).await,
            0,
        );
    }
    for name in ["publish_hour", "time_to_trend", "top_movers", "coverage"] {
        let mut answers = Vec::new();
        for zone in ["UTC", "Pacific/Kiritimati", "America/Adak"] {
            let args = [
                "query",
                "--warehouse",
                &s.warehouse().display().to_string(),
                "--format",
                "csv",
                "--time-zone",
                zone,
                "--name",
                name,
            ];
            let out = trendlake(args.map(String::from).to_vec()).await;
            assert_exit(&out, 0);
            answers.push(stdout(&out));
        }
        assert!(answers[0].lines().count() > 2, "{name}: {}", answers[0]);
        assert_eq!(answers[0], answers[1], "{name}");
        assert_eq!(answers[0], answers[2], "{name}");
    }
}
