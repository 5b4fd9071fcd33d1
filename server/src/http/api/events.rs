//! `/events?articles=a,b`: live updates of up to 20 articles as a Server-Sent Events stream (see
//! `rules::live` and `otklik_api::live`).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::StreamExt as _;
use otklik_api::limits::{COUNTS_QUERY_MAX, LIVE_ARTICLES_MAX};
use otklik_api::live::REFETCH_EVENT;
use otklik_api::{ErrorBody, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::counts::article_list;
use crate::AppState;
use crate::http::error::AppError;
use crate::rules::live::{Event, Refused, Stream};

/// A comment line this often keeps proxies (and the listener's idle timeout) from closing a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// How long a client waits before reconnecting after the stream ended: 2 to 6 s, a different time for each
/// stream, so that the readers of a node that restarts do not all come back in the same second (the
/// widget adds its own backoff if that reconnect fails too).
fn retry() -> Duration {
    Duration::from_millis(2_000 + u64::from(getrandom::u32().unwrap_or(0) % 4_000))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// One event of the stream, as Server-Sent Events frame it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes what `sse` and `refetch` write
struct StreamEvent {
    /// `reactions`: `{"article", "counts"}`; `comments`: `{"article", "total", "newest"}`; `removed`:
    /// `{"article", "id"}`; `refetch`: `{}` (read the articles afresh).
    #[schema(pattern = "^(reactions|comments|removed|refetch)$")]
    event: Option<String>,
    /// The event's JSON.
    data: String,
    /// Send it back as `Last-Event-ID` to resume after it.
    id: Option<String>,
    /// How long to wait before reconnecting, in milliseconds.
    retry: Option<u64>,
}

/// Live updates of 1 to 20 articles, as Server-Sent Events: first each article's present state, then
/// what changes (`reactions`, `comments`, `removed`), or `refetch` when the stream fell behind. Resumes
/// after `Last-Event-ID`.
#[utoipa::path(get, operation_id = "streamEvents", path = "/events", tag = "live", params(super::counts::Params),
    responses(
        (status = 200, description = "The stream", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "`invalid_query`, `invalid_article_id`", body = ErrorBody),
        (status = 503, description = "`unavailable`: this node holds as many streams as it may", body = ErrorBody),
    ))]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, AppError> {
    let articles = article_list(query, LIVE_ARTICLES_MAX, COUNTS_QUERY_MAX)?;
    // An id that is not one of ours is a fresh start, not an error: the client may have come from an
    // older version.
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let (stream, missed) = state.live.open(&articles, resume).await.map_err(|Refused::Full| {
        AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "too many live streams are open; the page works without them",
        )
    })?;
    // How long to wait before reconnecting, the present state and what was missed (or the word to refetch),
    // then what happens.
    let mut first = vec![SseEvent::default().retry(retry()).comment("otklik")];
    match missed {
        Some(events) => first.extend(events.iter().map(sse)),
        None => first.push(refetch()),
    }
    let later =
        futures_util::stream::unfold(stream, |mut stream| async move { Some((next(&mut stream).await?, stream)) });
    let events = futures_util::stream::iter(first).chain(later).map(Ok::<_, Infallible>);
    let headers = [(HeaderName::from_static("x-accel-buffering"), "no")];
    Ok((headers, Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT))))
}

/// The stream's next event: a refetch if it fell behind, else what the hub sent; `None` once the hub is gone.
async fn next(stream: &mut Stream) -> Option<SseEvent> {
    let event = stream.events.recv().await?;
    if stream.behind.swap(false, Ordering::Relaxed) {
        return Some(refetch());
    }
    Some(sse(&event))
}

fn sse(event: &Arc<Event>) -> SseEvent {
    SseEvent::default().id(event.id.to_string()).event(event.name).data(&event.data)
}

fn refetch() -> SseEvent {
    SseEvent::default().event(REFETCH_EVENT).data("{}")
}
