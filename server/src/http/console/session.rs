//! Signing in and out of the console.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{Change, Lang, SECURE_SESSION_COOKIE, SESSION_COOKIE, Section, layout};
use crate::AppState;
use crate::http::client_ip::ClientIpHash;
use crate::rules::accounts::{SESSION_SECS, new_token, token_hash, verify_password};
use crate::rules::rate_limit::LimitKind;

/// The sign-in form, with a message after a failed attempt.
pub async fn sign_in_page(state: &AppState, lang: Lang, status: StatusCode, error: Option<&str>) -> Response {
    let t = lang.texts();
    // With only the API token configured there is no account to sign in with: say how to make one.
    let no_accounts = !state.store.moderators_exist().await.unwrap_or(true);
    let body = layout(
        lang,
        t.sign_in_title,
        None,
        Section::None,
        html! {
            @if let Some(error) = error { p.error role="alert" #signin-error { (error) } }
            @if no_accounts { p.note { (t.token_only) } }
            form.signin method="post" action="/admin/login" {
                p {
                    label for="name" { (t.name) }
                    input #name type="text" name="name" autocomplete="username" required autofocus
                        aria-describedby=[error.map(|_| "signin-error")];
                }
                p {
                    label for="password" { (t.password) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                p { button type="submit" { (t.sign_in) } }
            }
        },
    );
    (status, Html(body.into_string())).into_response()
}

#[derive(Deserialize)]
pub struct SignIn {
    name: String,
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    lang: Lang,
    ClientIpHash(ip): ClientIpHash,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let t = lang.texts();
    match crate::http::admin::admin_enabled(&state).await {
        Ok(true) => {}
        Ok(false) => return super::message_page(lang, StatusCode::NOT_FOUND, t.not_found),
        Err(err) => return super::Failed(err, lang).into_response(),
    }
    let name = form.name.trim();
    // Keyed by the address too: wrong passwords sent from one place must not lock the moderator out of
    // every other place (the per-address limit already stops a guesser).
    let name_key = crate::rules::rate_limit::pair_key(&ip, name);
    let mut limited = false;
    for (kind, key) in [(LimitKind::SignInIp, &ip), (LimitKind::SignInName, &name_key)] {
        if state.limits.check(kind, key).await.is_err() {
            limited = true;
            break;
        }
    }
    if limited {
        return sign_in_page(&state, lang, StatusCode::TOO_MANY_REQUESTS, Some(t.too_many_attempts)).await;
    }
    let stored = match state.store.moderator_password(name).await {
        Ok(stored) => stored,
        Err(err) => return super::Failed(err.into(), lang).into_response(),
    };
    // Argon2 takes tens of milliseconds of CPU and 19 MiB: off the async workers, and a few at a time, so
    // that a flood of attempts queues instead of exhausting memory.
    let Ok(_turn) = state.password_checks.acquire().await else {
        return sign_in_page(&state, lang, StatusCode::SERVICE_UNAVAILABLE, Some(t.too_many_attempts)).await;
    };
    let password = form.password;
    let phc = stored.as_ref().map(|(_, phc)| phc.clone());
    let valid = tokio::task::spawn_blocking(move || verify_password(phc.as_deref(), &password)).await.unwrap_or(false);
    let Some((moderator, _)) = stored.filter(|_| valid) else {
        tracing::info!("console sign-in refused");
        return sign_in_page(&state, lang, StatusCode::UNAUTHORIZED, Some(t.wrong_credentials)).await;
    };
    let started = async {
        let (token, csrf) = (new_token()?, new_token()?);
        state.store.start_session(moderator, token_hash(&token), csrf, crate::unix_now() + SESSION_SECS).await?;
        anyhow::Ok(token)
    };
    let token = match started.await {
        Ok(token) => token,
        Err(err) => return super::Failed(err.into(), lang).into_response(),
    };
    tracing::info!(moderator = %name, "console sign-in");
    let cookie = session_cookie(&token, SESSION_SECS, secure(&headers));
    let mut response = Redirect::to("/admin").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn sign_out(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Change { who, .. }: Change<super::NoFields>,
) -> Response {
    if let Err(err) = state.store.end_session(who.token_hash).await {
        return super::Failed(err.into(), lang).into_response();
    }
    let mut response = Redirect::to("/admin").into_response();
    if let Ok(value) = HeaderValue::from_str(&session_cookie("", 0, secure(&headers))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Secure unless the console is reached over plain HTTP on a loopback address (`make run`, tests): any
/// other deployment is HTTPS, behind a proxy that may or may not say so in `X-Forwarded-Proto`, and a
/// session cookie must never travel in the clear because a proxy was not configured to say it.
pub fn secure(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        return true;
    }
    !text("x-forwarded-host").or(text("host")).is_some_and(is_loopback_host)
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(addr, _)| addr),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let (name, secure) = if secure { (SECURE_SESSION_COOKIE, "; Secure") } else { (SESSION_COOKIE, "") };
    format!("{name}={token}; Path=/admin; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "localhost:8080", "127.0.0.1:8080", "127.1.2.3", "[::1]:80", "[::1]"] {
            assert!(super::is_loopback_host(host), "{host}");
        }
        for host in ["news.example.com", "news.example.com:443", "192.0.2.1:8080", "[2001:db8::1]:80", "localhost.evil"]
        {
            assert!(!super::is_loopback_host(host), "{host}");
        }
    }
}
