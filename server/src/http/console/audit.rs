//! The audit log: who did what, when.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{Failed, Lang, Section, Signed, layout, render, snippet, time};
use crate::AppState;

#[derive(Deserialize)]
pub struct Params {
    before: Option<i64>,
}

pub async fn list(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<Params>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let page = state.store.audit(params.before, 50).await.map_err(|e| Failed(e.into(), lang))?;
    let content = html! {
        @if page.entries.is_empty() { p.empty { (t.empty_audit) } } @else {
            table.audit {
                thead { tr { th scope="col" { (t.when) } th scope="col" { (t.who) } th scope="col" { (t.action) }
                             th scope="col" { (t.target) } th scope="col" { (t.detail) } } }
                tbody {
                    @for e in &page.entries {
                        tr {
                            td { (time(e.at)) }
                            td { (e.who) }
                            td { code { (e.action) } }
                            td { (e.target) }
                            td { (snippet(&e.detail, 160)) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = page.next {
            p { a rel="next" href={ "/admin/audit?before=" (next) } { (t.older) " →" } }
        }
    };
    Ok(render(layout(lang, t.nav_audit, Some(&who), Section::Audit, content)))
}
