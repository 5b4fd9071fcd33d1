//! The non-API routes over real HTTP: the demo page, the loader, the widget assets and CORS for the API.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};

const JS: &str = "otklik-widget-0123456789abcdef.js";
const WASM: &str = "otklik-widget-0123456789abcdef_bg.wasm";

/// A server whose assets directory holds a (fake but well-formed) trunk build.
async fn with_build() -> TestServer {
    TestServer::start_with(|settings| {
        let dist = settings.assets.clone();
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join(JS), "export default async function init() {}\n".repeat(64)).unwrap();
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend((0..4096u32).map(|i| (i % 7) as u8));
        std::fs::write(dist.join(WASM), wasm).unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html>").unwrap();
    })
    .await
}

fn raw_client() -> reqwest::Client {
    // reqwest is built without decompression here, so encodings arrive exactly as the server sends them.
    reqwest::Client::new()
}

#[tokio::test]
async fn the_demo_page_embeds_the_widget_like_a_publisher() {
    let s = TestServer::start().await;
    let resp = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.contains(&format!(r#"data-otklik-article="{}""#, otklik_server::DEMO_ARTICLE)));
    assert!(html.contains(r#"<script src="/embed.js" async></script>"#));
    assert!(html.contains(r#"<html lang="ru">"#));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_the_demo_its_policy() {
    let s = TestServer::start().await;
    let demo = s.client.get(s.url("/")).send().await.unwrap();
    let csp = demo.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for part in
        ["default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'sha256-", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    for path in ["/", "/healthz", "/api/v1/articles/a/reactions", "/api/v1/nope", "/embed.js"] {
        let resp = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(resp.headers()["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
    }
}

#[tokio::test]
async fn the_loader_names_the_hashed_bundle_and_is_cached_briefly() {
    let s = with_build().await;
    let resp = raw_client().get(s.url("/embed.js")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(resp.headers()[CACHE_CONTROL], "public, max-age=300");
    let loader = resp.text().await.unwrap();
    assert!(loader.contains(&format!("/assets/{JS}")) && loader.contains(&format!("/assets/{WASM}")));
    // Publishers put it on every page: it must stay tiny. This build has no minified loader (a trunk build
    // has none either), so this is the server's own copy; the shipped one, minified by `make widget`, is
    // under the ratchet of `make weight`.
    let gzip = raw_client().get(s.url("/embed.js")).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let size = gzip.bytes().await.unwrap().len();
    assert!(size <= 3_072, "embed.js is {size} bytes gzipped, over 3 KB");

    let unbuilt = TestServer::start().await;
    let resp = unbuilt.client.get(unbuilt.url("/embed.js")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.text().await.unwrap().contains("make widget"));
}

#[tokio::test]
async fn hashed_assets_are_immutable_typed_compressed_and_revalidated() {
    let s = with_build().await;
    let url = s.url(&format!("/assets/{WASM}"));
    let client = raw_client();

    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()[CONTENT_TYPE], "application/wasm");
    assert_eq!(plain.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(plain.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let etag = plain.headers()[ETAG].clone();
    let body = plain.bytes().await.unwrap();
    assert!(body.starts_with(b"\0asm"));

    for (accept, expected) in [("gzip, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip")] {
        let resp = client.get(&url).header(ACCEPT_ENCODING, accept).send().await.unwrap();
        assert_eq!(resp.headers()[CONTENT_ENCODING], expected, "{accept}");
        assert!(resp.bytes().await.unwrap().len() < body.len());
    }
    let revalidated = client.get(&url).header(IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    let js = client.get(s.url(&format!("/assets/{JS}"))).send().await.unwrap();
    assert!(js.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    for missing in ["/assets/nope.js", "/assets/index.html"] {
        assert_eq!(client.get(s.url(missing)).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn only_listed_origins_may_call_the_api_from_their_pages() {
    let s = TestServer::start_with(|settings| settings.allowed_origins = vec!["https://news.example".into()]).await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, s.url("/api/v1/articles/a/reactions/mine"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PUT")
            .header("Access-Control-Request-Headers", "content-type, x-otklik-reader")
            .send()
    };
    let allowed = preflight("https://news.example").await.unwrap();
    assert_eq!(allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "https://news.example");
    assert!(allowed.headers().contains_key("access-control-max-age"));
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let unset = TestServer::start().await;
    let resp = unset.client.get(unset.reactions("a")).header("Origin", "https://news.example").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "same origin only when unset");
}
