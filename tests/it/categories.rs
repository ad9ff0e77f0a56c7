//! The client's category calls against the fake API (issue 20's first part): a region's
//! `videoCategories.list` as the fake's oracle has it, a category chart paged to its end equal to
//! the oracle's chart of that category, and a chart that does not exist answered as
//! `ChartNotFound`, whether the API says 400 `videoChartNotFound` or 404 `notFound`.

use std::time::Duration;

use trendlake::youtube::{Client, ErrorKind};
use trendlake_fake_api::{categories, category_chart};

use crate::support::*;

const DAY: &str = "2026-11-25";

fn client(api: &trendlake_fake_api::FakeApi) -> Client {
    Client::new(&api.base_url(), None, Duration::from_secs(10)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regions_categories_are_the_fakes_in_its_language() {
    let api = fake(date(DAY), |_| {}).await;
    let c = client(&api);
    for (region, hl) in [
        ("JP", None),
        ("JP", Some("ja")),
        ("KR", Some("ko")),
        ("US", None),
    ] {
        let (got, body) = c.video_categories(region, hl).await.unwrap();
        let want = categories(region, hl).unwrap();
        assert_eq!(got.items, want, "{region} {hl:?}");
        assert!(!body.is_empty());
        assert!(
            got.items
                .iter()
                .any(|c| c.snippet.as_ref().unwrap().assignable)
        );
        assert!(
            got.items
                .iter()
                .any(|c| !c.snippet.as_ref().unwrap().assignable)
        );
    }
    // Localised: Music is not called "Music" in Japanese.
    let (ja, _) = c.video_categories("JP", Some("ja")).await.unwrap();
    let music = ja.items.iter().find(|c| c.id == "10").unwrap();
    assert_ne!(music.snippet.as_ref().unwrap().title, "Music");
    let e = c.video_categories("XX", None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRegion, "{e}");
    assert_eq!(api.requests(), 6, "one call each, no retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_category_chart_pages_to_its_end_and_a_missing_one_is_chart_not_found() {
    for not_found_404 in [false, true] {
        let api = fake(date(DAY), |c| c.chart_not_found_404 = not_found_404).await;
        let c = client(&api);
        // Music in JP exists; some assignable category of JP has no chart.
        let want = category_chart(SEED, "JP", 10, date(DAY)).expect("JP has a Music chart");
        assert!(!want.is_empty() && want.len() < 200, "{}", want.len());
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c
                .category_chart_page("JP", 10, 50, token.as_deref())
                .await
                .unwrap();
            got.extend(page.response.items.into_iter().map(|v| v.id));
            token = page.response.next_page_token;
            if token.is_none() {
                break;
            }
        }
        let want: Vec<String> = want.into_iter().map(|v| v.id).collect();
        assert_eq!(got, want);
        let missing = categories("JP", None)
            .unwrap()
            .into_iter()
            .map(|c| c.id.parse::<u32>().unwrap())
            .find(|id| category_chart(SEED, "JP", *id, date(DAY)).is_none())
            .expect("a category without a chart");
        let e = c
            .category_chart_page("JP", missing, 50, None)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::ChartNotFound, "{e}");
        assert_eq!(e.status, Some(if not_found_404 { 404 } else { 400 }), "{e}");
        // The general chart is asked without videoCategoryId, as before.
        let general = c.chart_page("JP", 50, None).await.unwrap();
        assert_eq!(general.response.items.len(), 50);
        let log = api.log();
        assert_eq!(log.last().unwrap().category, None);
    }
}
