//! The OpenAPI description: it lists every route the API serves and nothing it does not, it is the same
//! served and printed, and what fuzzing it found stays fixed.

mod common;

use std::collections::BTreeSet;

use common::{EDITOR_TOKEN, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn described(s: &TestServer) -> Value {
    let resp = s.client.get(s.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.unwrap()
}

/// Every operation: (method, path template, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// The routes are built only from their handlers' descriptions (`routes!`), never added beside them; so a
/// route cannot exist that the description lacks. This reads the API's modules for any other way in.
#[test]
fn no_route_of_the_api_is_added_outside_its_description() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/api");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // The demo article's page (`/`) is HTML for people, not part of the API.
        if path.ends_with("pages.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap().replace("OpenApiRouter::new()", "");
        for way in [".route(", ".route_service(", ".nest_service(", "Router::new()", "axum::routing::"] {
            assert!(
                !source.contains(way),
                "{} adds a route with `{way}`: use `routes!` on a described handler",
                path.display()
            );
        }
        read += 1;
    }
    assert!(read >= 12, "read {read} modules");
    // The application takes the API from `api::router()` alone, under the prefix.
    let http = std::fs::read_to_string(dir.parent().unwrap().join("mod.rs")).unwrap();
    assert_eq!(http.matches("API_PREFIX").count(), 1, "the API is nested once");
    assert!(http.contains(".nest(otklik_api::API_PREFIX, api)"));
}

/// And the other way: each described operation reaches a handler (the router's own 404 and 405 mean it
/// does not).
#[tokio::test]
async fn every_described_operation_is_served() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let doc = described(&s).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 29, "{} operations", ops.len());
    for (method, path, _) in &ops {
        let url = path.replace("{article}", "openapi-test").replace("{id}", "1");
        let url = if url.ends_with("/counts") || url.ends_with("/events") { format!("{url}?articles=a") } else { url };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = s.client.request(method.clone(), s.url(&url)).bearer_auth(EDITOR_TOKEN).send().await.unwrap();
        let status = resp.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = resp.json().await.unwrap();
            assert_ne!(body["error"]["message"], "there is no such API route", "{method} {url}");
        }
    }
}

#[tokio::test]
async fn the_description_is_openapi_3_1_served_as_printed_with_unique_operations() {
    let s = TestServer::start().await;
    let doc = described(&s).await;
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_otklik")).arg("openapi").output().unwrap();
    assert!(printed.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&printed.stdout).unwrap(),
        doc,
        "`otklik openapi` prints what is served"
    );

    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    let ids: BTreeSet<_> = ops.iter().map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are unique: {ids:?}");
    for (method, path, op) in &ops {
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("500") && responses.contains_key("503"), "{method} {path}");
        // Editors' routes name their scheme; readers' writes name the reader header.
        let editors = path.starts_with("/api/v1/admin/");
        assert_eq!(op.get("security").is_some(), editors, "{method} {path}");
        if editors {
            assert!(responses.contains_key("401"), "{method} {path}");
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["name"] == "article" {
                assert_eq!(param["schema"]["pattern"], "^[A-Za-z0-9._:-]{1,128}$", "{method} {path}");
            }
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["editor_token"]["scheme"], "bearer");
    let reader = &doc["paths"]["/api/v1/articles/{article}/reactions/mine"]["put"]["parameters"];
    assert!(reader.as_array().unwrap().iter().any(|p| p["name"] == "X-Otklik-Reader" && p["required"] == true));
    let limit = doc["paths"]["/api/v1/articles/{article}/comments"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(
        (limit["schema"]["anyOf"][0]["minimum"].clone(), limit["schema"]["anyOf"][0]["maximum"].clone()),
        (1.into(), 100.into())
    );
    // `other` is what an old widget reads an unknown code as; a server never sends it.
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].as_array().unwrap();
    assert!(codes.contains(&"rate_limited".into()) && !codes.contains(&"other".into()));
}

/// What schemathesis found (scripts/api-fuzz.sh), kept fixed.
#[tokio::test]
async fn fuzzing_finds_stay_fixed() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    // serde would read a struct's fields from an array: the API takes objects only.
    let resp = s
        .client
        .put(s.url("/api/v1/admin/articles/a/page"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&serde_json::json!([null, null]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_body");

    // A text body over the limit was refused in axum's words, as text/plain.
    let resp = s.client.post(s.url("/api/v1/articles/a/reactions/view")).body("x".repeat(4096)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let resp = s.client.post(s.url("/api/v1/articles/a/comments/view")).body(vec![0xff, 0xfe]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_body");
}
