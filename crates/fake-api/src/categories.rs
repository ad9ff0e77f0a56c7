//! `GET /youtube/v3/videoCategories`: the categories of a region (`regionCode=R`) or the ones
//! asked by id (`id=1,10`), titles localised by `hl`, in the real `youtube#videoCategoryListResponse`
//! envelope (no paging).
//!
//! Every supported region lists every category of `data/categories.csv`, assignable as the CSV
//! says, except that a few assignable ones are not assignable in some regions (a fixed function
//! of the region, [`assignable_in`]), so regions differ a little as they do in the real API. A
//! region's category charts exist only for the categories it can assign (see
//! [`crate::data::category_chart`]).

use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use trendlake::youtube::model::{VideoCategory, VideoCategoryListResponse, VideoCategorySnippet};

pub use crate::data::assignable_in;
use crate::data::{etag_of, twisted};
use crate::{ApiError, LoggedRequest, ServerState, authorize, faults, json_response, to_json};

/// The path of `videoCategories.list`.
pub const VIDEO_CATEGORIES_PATH: &str = "/youtube/v3/videoCategories";

/// What fault plans name a `videoCategories.list` call by (the `category` of a [`crate::Fault`]).
pub const CATEGORIES_TARGET: &str = "categories";

/// The channel every category belongs to (YouTube's own).
pub const CATEGORY_CHANNEL_ID: &str = "UCBR8-60-B28hp2BmDPdntcQ";

/// The categories `videoCategories.list?part=snippet&regionCode=REGION[&hl=HL]` lists, in id
/// order, with their etags; `None` for an unsupported region (the API's `invalidRegionCode`).
pub fn categories(region: &str, hl: Option<&str>) -> Option<Vec<VideoCategory>> {
    trendlake::regions::region(region)?;
    Some(
        trendlake::regions::categories()
            .iter()
            .map(|c| {
                let assignable = c.assignable && !twisted(region, c.id);
                item(c.id, &c.name, assignable, hl)
            })
            .collect(),
    )
}

/// The categories asked by id (`id=1,10`), in the order asked, unknown ids left out; assignable
/// as the CSV says (no region, no twist).
pub fn categories_by_id(ids: &[String], hl: Option<&str>) -> Vec<VideoCategory> {
    ids.iter()
        .filter_map(|id| {
            trendlake::regions::categories()
                .iter()
                .find(|c| c.id.to_string() == *id)
        })
        .map(|c| item(c.id, &c.name, c.assignable, hl))
        .collect()
}

fn item(id: i32, english: &str, assignable: bool, hl: Option<&str>) -> VideoCategory {
    let mut item = VideoCategory {
        kind: Some("youtube#videoCategory".to_owned()),
        etag: None,
        id: id.to_string(),
        snippet: Some(VideoCategorySnippet {
            title: localised(id, hl).unwrap_or(english).to_owned(),
            assignable,
            channel_id: CATEGORY_CHANNEL_ID.to_owned(),
        }),
    };
    item.etag = Some(etag_of(&to_json(&item)));
    item
}

/// The title of `id` in the language of `hl` (`ja`, `ja-JP`, `ko`, `es`, `es-419`, …), if the
/// fake has one; English otherwise.
fn localised(id: i32, hl: Option<&str>) -> Option<&'static str> {
    let lang = hl?.split(['-', '_']).next()?.to_ascii_lowercase();
    let column = match lang.as_str() {
        "ja" => 1,
        "ko" => 2,
        "es" => 3,
        _ => return None,
    };
    TITLES
        .iter()
        .find(|row| row.0 == id)
        .map(|row| [row.1, row.2, row.3][column - 1])
}

/// Titles of the common categories: (id, ja, ko, es).
const TITLES: &[(i32, &str, &str, &str)] = &[
    (1, "映画とアニメ", "영화/애니메이션", "Cine y animación"),
    (2, "自動車と乗り物", "자동차", "Motor"),
    (10, "音楽", "음악", "Música"),
    (15, "ペットと動物", "애완동물/동물", "Mascotas y animales"),
    (17, "スポーツ", "스포츠", "Deportes"),
    (19, "旅行とイベント", "여행/이벤트", "Viajes y eventos"),
    (20, "ゲーム", "게임", "Videojuegos"),
    (22, "ブログ", "인물/블로그", "Gente y blogs"),
    (23, "コメディー", "코미디", "Humor"),
    (24, "エンターテイメント", "엔터테인먼트", "Entretenimiento"),
    (25, "ニュースと政治", "뉴스/정치", "Noticias y política"),
    (
        26,
        "ハウツーとスタイル",
        "노하우/스타일",
        "Consejos y estilo",
    ),
    (27, "教育", "교육", "Educación"),
    (28, "科学と技術", "과학기술", "Ciencia y tecnología"),
    (
        29,
        "非営利団体と社会活動",
        "비영리/사회운동",
        "ONG y activismo",
    ),
    (30, "映画", "영화", "Películas"),
    (31, "アニメ", "애니메이션", "Anime/animación"),
];

/// A validated `videoCategories.list` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoriesRequest {
    /// The region asked (`regionCode`), or `""` when categories are asked by id.
    pub region: String,
    /// The ids asked (`id=`), empty when asked by region.
    pub ids: Vec<String>,
    pub hl: Option<String>,
}

/// Checks the key and charges a unit (as `videos.list` does: refused calls cost too), then the
/// parameters: `part` (`snippet` or `id`), and exactly one of `regionCode` and `id`.
pub fn parse(
    state: &ServerState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<CategoriesRequest, ApiError> {
    let param = |name: &str| crate::param(params, name);
    authorize(state, headers, &param)?;
    let part = param("part").ok_or_else(|| ApiError::required("part"))?;
    for name in part.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !matches!(name, "snippet" | "id") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                &format!("'{name}'"),
                "youtube.part",
                "unknownPart",
            )
            .at("part"));
        }
    }
    let hl = param("hl").map(str::to_owned);
    match (param("regionCode"), param("id")) {
        (Some(_), Some(_)) => Err(ApiError::incompatible(&["id", "regionCode"])),
        (None, None) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "No filter selected. Expected one of: id, regionCode",
            "youtube.parameter",
            "missingRequiredParameter",
        )
        .at("parameters.")),
        (Some(region), None) => {
            if trendlake::regions::region(region).is_none() {
                return Err(ApiError::invalid_region());
            }
            Ok(CategoriesRequest {
                region: region.to_owned(),
                ids: Vec::new(),
                hl,
            })
        }
        (None, Some(ids)) => Ok(CategoriesRequest {
            region: String::new(),
            ids: crate::lookup::split_ids(ids),
            hl,
        }),
    }
}

/// The normal answer: every category of the region (or those asked by id).
pub fn respond(request: &CategoriesRequest) -> Response {
    let items = if request.ids.is_empty() {
        categories(&request.region, request.hl.as_deref()).unwrap_or_default()
    } else {
        categories_by_id(&request.ids, request.hl.as_deref())
    };
    list_response(items)
}

/// The envelope around `items`.
pub(crate) fn list_response(items: Vec<VideoCategory>) -> Response {
    let mut list = VideoCategoryListResponse {
        kind: Some("youtube#videoCategoryListResponse".to_owned()),
        etag: None,
        items,
    };
    list.etag = Some(etag_of(&to_json(&list)));
    json_response(StatusCode::OK, to_json(&list))
}

pub(crate) async fn handler(
    State(state): State<ServerState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let at = Instant::now();
    state.count_request();
    tokio::time::sleep(state.latency()).await;
    let params = match query {
        Ok(Query(params)) => params,
        Err(e) => Vec::from([("\0".to_owned(), e.body_text())]),
    };
    let param = |name: &str| crate::param(&params, name);
    let logged = |page: usize, status: u16, fault: Option<String>| LoggedRequest {
        path: VIDEO_CATEGORIES_PATH.to_owned(),
        region: param("regionCode").unwrap_or_default().to_owned(),
        page,
        ids: param("id")
            .map(crate::lookup::split_ids)
            .unwrap_or_default(),
        category: None,
        at,
        status,
        fault,
    };
    if let Some((_, message)) = params.iter().find(|(k, _)| k == "\0") {
        let error = ApiError::new(StatusCode::BAD_REQUEST, message, "global", "badRequest");
        state.record(logged(0, error.status.as_u16(), None));
        return error.into_response();
    }
    let request = match parse(&state, &headers, &params) {
        Ok(request) => request,
        Err(error) => {
            state.record(logged(0, error.status.as_u16(), None));
            return error.into_response();
        }
    };
    let fault = state.take_fault(&request.region, 1, Some(CATEGORIES_TARGET));
    state.record(logged(
        1,
        fault.as_ref().map_or(200, |f| f.kind.status().as_u16()),
        fault.as_ref().map(|f| f.kind.name().to_owned()),
    ));
    match fault {
        Some(fault) => answer_fault(&request, &fault).await,
        None => respond(&request),
    }
}

/// The answer to a `videoCategories.list` call when `fault` fires (never a chart-only kind:
/// those are refused in a plan aimed at `"categories"`, and would answer normally).
async fn answer_fault(request: &CategoriesRequest, fault: &crate::Fault) -> Response {
    faults::answer_with(
        fault,
        || respond(request),
        || list_response(Vec::new()),
        || respond(request),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{reason, start};
    use crate::{FakeApi, FakeConfig, Fault, FaultKind};

    fn config() -> FakeConfig {
        FakeConfig {
            date: Some("2026-11-25".parse().unwrap()),
            ..FakeConfig::default()
        }
    }

    /// `GET /videoCategories?QUERY`: the status and the JSON body.
    async fn get(api: &FakeApi, query: &[(&str, &str)]) -> (u16, serde_json::Value) {
        crate::tests::get_at(api, "videoCategories", query).await
    }

    #[test]
    fn every_region_lists_every_category_with_a_twist() {
        let csv = trendlake::regions::categories();
        let mut twisted_regions = 0;
        for region in trendlake::regions::regions() {
            let items = categories(&region.code, None).unwrap();
            assert_eq!(items.len(), csv.len());
            let mut lost = 0;
            for (item, row) in items.iter().zip(csv) {
                let snippet = item.snippet.as_ref().unwrap();
                assert_eq!(item.id, row.id.to_string());
                assert_eq!(snippet.title, row.name);
                assert_eq!(snippet.channel_id, CATEGORY_CHANNEL_ID);
                // Only ever taken away, never given.
                assert!(!snippet.assignable || row.assignable, "{}", item.id);
                if row.assignable && !snippet.assignable {
                    lost += 1;
                    assert!(!crate::data::ALWAYS_ASSIGNABLE.contains(&row.id));
                }
                assert_eq!(
                    snippet.assignable,
                    assignable_in(&region.code, row.id as u32)
                );
            }
            twisted_regions += usize::from(lost > 0);
            assert!(lost <= 5, "{} loses {lost}", region.code);
        }
        let n = trendlake::regions::regions().len();
        assert!(
            twisted_regions > n / 4 && twisted_regions < n,
            "{twisted_regions} of {n}"
        );
        assert_eq!(categories("XX", None), None);
        assert!(!assignable_in("JP", 18) && !assignable_in("JP", 99) && !assignable_in("XX", 10));
    }

    #[test]
    fn titles_are_localised_by_hl_with_english_as_fallback() {
        let title = |hl: Option<&str>, id: &str| {
            let items = categories("JP", hl).unwrap();
            let item = items.into_iter().find(|c| c.id == id).unwrap();
            item.snippet.unwrap().title
        };
        assert_eq!(title(Some("ja"), "10"), "音楽");
        assert_eq!(title(Some("ja-JP"), "20"), "ゲーム");
        assert_eq!(title(Some("ko"), "24"), "엔터테인먼트");
        assert_eq!(title(Some("es"), "17"), "Deportes");
        assert_eq!(title(Some("es-419"), "25"), "Noticias y política");
        assert_eq!(title(Some("fr"), "10"), "Music");
        assert_eq!(title(None, "28"), "Science & Technology");
        // Not in the small table: English whatever the language.
        assert_eq!(title(Some("ja"), "44"), "Trailers");
    }

    #[tokio::test]
    async fn video_categories_list_has_the_real_shape() {
        let api = start(config()).await;
        let (status, body) = get(
            &api,
            &[("part", "snippet"), ("regionCode", "KR"), ("hl", "ko")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["kind"], "youtube#videoCategoryListResponse");
        assert_eq!(body["etag"].as_str().unwrap().len(), 27);
        assert!(body.get("nextPageToken").is_none() && body.get("pageInfo").is_none());
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 32);
        let music = &items[2];
        assert_eq!(music["kind"], "youtube#videoCategory");
        assert_eq!(music["etag"].as_str().unwrap().len(), 27);
        assert_eq!(music["id"], "10");
        assert_eq!(
            music["snippet"],
            serde_json::json!({"title": "음악", "assignable": true, "channelId": "UCBR8-60-B28hp2BmDPdntcQ"})
        );
        let list: VideoCategoryListResponse = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(list.items, categories("KR", Some("ko")).unwrap());

        let (status, body) = get(
            &api,
            &[("part", "snippet"), ("id", "1,10,999"), ("hl", "es")],
        )
        .await;
        assert_eq!(status, 200);
        let titles: Vec<_> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap(),
                    c["snippet"]["title"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(titles, [("1", "Cine y animación"), ("10", "Música")]);
        assert_eq!(api.requests(), 2);
    }

    #[tokio::test]
    async fn refusals_have_the_real_shape_and_cost_a_unit() {
        let api = start(FakeConfig {
            quota: Some(5),
            ..config()
        })
        .await;
        let (status, body) = get(&api, &[("part", "snippet"), ("regionCode", "XX")]).await;
        assert_eq!((status, reason(&body)), (400, "invalidRegionCode"));
        assert_eq!(body["error"]["errors"][0]["domain"], "youtube.parameter");
        assert_eq!(body["error"]["errors"][0]["location"], "regionCode");
        let (status, body) = get(&api, &[("regionCode", "JP")]).await;
        assert_eq!((status, reason(&body)), (400, "required"));
        assert_eq!(body["error"]["errors"][0]["location"], "part");
        let (status, body) = get(&api, &[("part", "snippet")]).await;
        assert_eq!((status, reason(&body)), (400, "missingRequiredParameter"));
        let (status, body) = get(&api, &[("part", "statistics"), ("regionCode", "JP")]).await;
        assert_eq!((status, reason(&body)), (400, "unknownPart"));
        assert_eq!(
            get(&api, &[("part", "snippet"), ("regionCode", "JP")])
                .await
                .0,
            200
        );
        // Five units spent, refusals included: the sixth call is over quota.
        let (status, body) = get(&api, &[("part", "snippet"), ("regionCode", "JP")]).await;
        assert_eq!((status, reason(&body)), (403, "quotaExceeded"));
        let log = api.log();
        assert_eq!(log.len(), 6);
        assert!(
            log.iter()
                .all(|r| r.path == VIDEO_CATEGORIES_PATH && r.category.is_none())
        );
        assert_eq!(
            log.iter().map(|r| (r.page, r.status)).collect::<Vec<_>>(),
            [(0, 400), (0, 400), (0, 400), (0, 400), (1, 200), (0, 403)]
        );
    }

    #[tokio::test]
    async fn a_fault_aimed_at_categories_fires_only_there() {
        let api = start(FakeConfig {
            faults: vec![
                Fault::new(FaultKind::Backend503)
                    .region("JP")
                    .category(CATEGORIES_TARGET),
            ],
            ..config()
        })
        .await;
        let chart = [
            ("part", "snippet"),
            ("chart", "mostPopular"),
            ("regionCode", "JP"),
        ];
        assert_eq!(crate::tests::get(&api, &chart).await.0, 200);
        assert_eq!(
            get(&api, &[("part", "snippet"), ("regionCode", "KR")])
                .await
                .0,
            200
        );
        let (status, body) = get(&api, &[("part", "snippet"), ("regionCode", "JP")]).await;
        assert_eq!((status, reason(&body)), (503, "backendError"));
        assert_eq!(
            get(&api, &[("part", "snippet"), ("regionCode", "JP")])
                .await
                .0,
            200
        );
        let fired: Vec<_> = api
            .log()
            .into_iter()
            .filter(|r| r.fault.is_some())
            .collect();
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].path.as_str(), fired[0].region.as_str()),
            (VIDEO_CATEGORIES_PATH, "JP")
        );
    }

    #[tokio::test]
    async fn an_empty_page_fault_on_categories_is_an_empty_list() {
        let api = start(FakeConfig {
            faults: vec![Fault::new(FaultKind::EmptyPage).category(CATEGORIES_TARGET)],
            ..config()
        })
        .await;
        let (status, body) = get(&api, &[("part", "snippet"), ("regionCode", "US")]).await;
        assert_eq!(status, 200);
        assert_eq!(body["kind"], "youtube#videoCategoryListResponse");
        assert_eq!(body["items"], serde_json::json!([]));
    }
}
