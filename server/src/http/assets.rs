//! The widget's files: loaded once, compressed once (gzip and brotli), served from memory.
//!
//! The build (`make widget`, or trunk in development) writes content-hashed names, so those files are cached
//! for a year as immutable; the loader
//! `/embed.js` keeps a stable name that publishers put in their pages, so it is cached only briefly and
//! names the current hashed bundle each time the server starts.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

/// One servable file with its compressed encodings, made once, after the server starts answering (see
/// [`Assets::compress`]): compressing the widget takes most of a second, which a restarted node must not
/// spend before its first answer.
#[derive(Clone)]
pub struct Asset {
    pub body: Bytes,
    /// Each `None` inside once made if compressing does not make the file smaller.
    gzip: OnceLock<Option<Bytes>>,
    brotli: OnceLock<Option<Bytes>>,
    compressible: bool,
    pub content_type: &'static str,
    etag: HeaderValue,
    cache_control: &'static str,
}

/// Every file of the built widget, keyed by its path under `/assets/`, plus the generated loader.
#[derive(Clone, Default)]
pub struct Assets {
    files: HashMap<String, Arc<Asset>>,
    embed: Option<Arc<Asset>>,
    /// The bundle's entry points, for the loader and for measuring what a page downloads.
    bundle: Option<(String, String)>,
    /// Told when [`Assets::compress`] is done.
    compressing: Arc<tokio::sync::Notify>,
}

/// Whether this binary carries the widget (built with `--features embed-assets`).
pub const EMBEDDED_BUILD: bool = cfg!(feature = "embed-assets");

/// The widget files compiled in by `build.rs`: (path under `/assets/`, contents).
static EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));

/// The loader as `make widget` minified it, beside the bundle; without it (a trunk build) the server serves
/// its own copy of `static/embed.js`, comment lines left out.
pub const LOADER_FILE: &str = "loader.js";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300";

impl Assets {
    /// Loads the built widget in `dir` (`make widget`'s or trunk's output). A missing directory yields an empty set (the API still works;
    /// the loader answers 503 saying the widget is not built) so that the server runs without a build.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        if !dir.is_dir() {
            tracing::warn!(dir = %dir.display(), "no widget assets: build them with `make widget`");
            return Ok(Self::default());
        }
        let mut paths = Vec::new();
        walk(dir, &mut paths)?;
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = path.strip_prefix(dir).expect("walked below dir").to_string_lossy().replace('\\', "/");
            let body = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((rel, Bytes::from(body)));
        }
        Self::from_files(files).with_context(|| format!("loading the widget from {}", dir.display()))
    }

    /// The widget build compiled into this binary (`--features embed-assets`); empty without it.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::from_files(EMBEDDED.iter().map(|(name, body)| ((*name).to_owned(), Bytes::from_static(body))).collect())
    }

    fn from_files(files: Vec<(String, Bytes)>) -> anyhow::Result<Self> {
        let mut assets = Self::default();
        let mut loader = None;
        for (rel, body) in files {
            // trunk's index.html is only a build entry; pages embed the widget through /embed.js.
            if rel == "index.html" {
                continue;
            }
            if rel == LOADER_FILE {
                loader = Some(String::from_utf8(body.to_vec()).context("the minified loader is not UTF-8")?);
                continue;
            }
            let cache = if is_hashed(&rel) { IMMUTABLE } else { SHORT };
            let kind = content_type(Path::new(&rel));
            assets.files.insert(rel, Arc::new(Asset::new(body, kind, cache)));
        }
        let wasm = assets.files.keys().find(|k| !k.contains('/') && k.ends_with("_bg.wasm")).cloned();
        if let Some(wasm) = wasm {
            let js = format!("{}.js", wasm.trim_end_matches("_bg.wasm"));
            anyhow::ensure!(assets.files.contains_key(&js), "the build has {wasm} but not {js}");
            let loader = loader
                .unwrap_or_else(|| without_comment_lines(include_str!("../../static/embed.js")))
                .replace("__OTKLIK_JS__", &js)
                .replace("__OTKLIK_WASM__", &wasm);
            assets.embed = Some(Arc::new(Asset::new(loader.into(), "text/javascript; charset=utf-8", SHORT)));
            assets.bundle = Some((js, wasm));
        } else {
            tracing::warn!("the widget assets hold no bundle (*_bg.wasm): build them with `make widget`");
        }
        Ok(assets)
    }

    /// Compresses every file (gzip and brotli), the loader and the bundle's first load first; run once the
    /// server answers (`App::serve`), on a blocking thread. Until a file's turn, it is sent as it is.
    pub fn compress(&self) {
        let first = self.page_downloads();
        for (_, asset) in first.iter().chain(self.deferred_downloads().iter()) {
            asset.compress();
        }
        for asset in self.files.values() {
            asset.compress();
        }
        self.compressing.notify_waiters();
    }

    /// Whether every file's compressed forms are made.
    pub fn compressed(&self) -> bool {
        self.files.values().chain(&self.embed).all(|a| !a.compressible || a.brotli.get().is_some())
    }

    /// Resolves once every file's compressed forms are made (what tests wait for before they ask for them).
    pub async fn until_compressed(&self) {
        loop {
            // Registered before the check, so that a `compress` finishing in between is not missed.
            let done = self.compressing.notified();
            if self.compressed() {
                return;
            }
            done.await;
        }
    }

    /// The files a page downloads to show the widget, in load order: the loader, then the bundle.
    pub fn page_downloads(&self) -> Vec<(String, Arc<Asset>)> {
        let mut out = Vec::new();
        if let (Some(embed), Some((js, wasm))) = (&self.embed, &self.bundle) {
            out.push(("embed.js".to_owned(), embed.clone()));
            for name in [js, wasm] {
                out.push((name.clone(), self.files[name].clone()));
            }
            // Anything else the bundle pulls in (wasm-bindgen snippets, stylesheets) counts too.
            let mut extra: Vec<_> = self
                .files
                .iter()
                .filter(|(k, _)| *k != js && *k != wasm && (k.ends_with(".js") || k.ends_with(".css")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            extra.sort_by(|a, b| a.0.cmp(&b.0));
            out.extend(extra);
        }
        out
    }

    /// The files the widget downloads only when the reader needs them (the thread's and the typo dialog's
    /// wasm modules), by name.
    pub fn deferred_downloads(&self) -> Vec<(String, Arc<Asset>)> {
        let main = self.bundle.as_ref().map(|(_, wasm)| wasm.as_str());
        let mut out: Vec<_> = self
            .files
            .iter()
            .filter(|(k, _)| k.ends_with(".wasm") && Some(k.as_str()) != main)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl Asset {
    fn new(body: Bytes, content_type: &'static str, cache_control: &'static str) -> Self {
        let compressible =
            !content_type.starts_with("image/png") && !content_type.starts_with("font/woff2") && body.len() > 512;
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", crate::hex::encode(&digest[..8]));
        Self {
            body,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            compressible,
            content_type,
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header value"),
            cache_control,
        }
    }

    /// Makes the compressed encodings, if they are not made yet.
    fn compress(&self) {
        if self.compressible {
            self.gzip.get_or_init(|| smaller(&self.body, gzip(&self.body)));
            self.brotli.get_or_init(|| smaller(&self.body, brotli(&self.body)));
        }
    }

    fn respond(&self, request: &HeaderMap) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        // The bundle is fetched by pages on other origins (module scripts and wasm need CORS to load).
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        // Lets the publisher's own measurements (Resource Timing) see what the widget costs their page.
        headers.insert("timing-allow-origin", HeaderValue::from_static("*"));
        if request.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == self.etag.as_bytes()) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let accepts = |coding: &str| accepts_encoding(request, coding);
        let (brotli, gzip) = (self.brotli.get().and_then(Option::as_ref), self.gzip.get().and_then(Option::as_ref));
        let (body, coding) = match (brotli, gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (self.body.clone(), None),
        };
        if let Some(coding) = coding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        } else if self.compressible && self.brotli.get().is_none() {
            // Asked for in the moment after a start, before the compressed forms exist: a cache must not keep
            // this larger body for the file's year-long life.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        (headers, body).into_response()
    }
}

/// The loader as pages get it: its comments (whole lines, and the opening block) and indentation are for
/// the people who read its source, not for every page view of every publisher. Comments that share a line
/// with code, and everything inside a line, are left as written.
fn without_comment_lines(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut in_block = false;
    for line in source.lines().map(str::trim) {
        if in_block || line.starts_with("/*") {
            in_block = !line.ends_with("*/");
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn router() -> Router<AppState> {
    Router::new().route("/embed.js", get(embed)).route("/assets/{*path}", get(file))
}

async fn embed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.assets.embed {
        Some(asset) => asset.respond(&headers),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            "console.error(\"otklik: this server has no widget build; run `make widget` and restart it\");\n",
        )
            .into_response(),
    }
}

async fn file(State(state): State<AppState>, UrlPath(path): UrlPath<String>, headers: HeaderMap) -> Response {
    match state.assets.files.get(&path) {
        Some(asset) => asset.respond(&headers),
        None => (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "not found\n").into_response(),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A content hash: `-` and 16 hex digits just before the first dot (or before `_bg`), as the shipped build
/// (`otklik-widget-<hash>.thread.wasm`) and trunk write them.
fn is_hashed(name: &str) -> bool {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem.split('.').next().unwrap_or(stem).trim_end_matches("_bg");
    stem.len() > 17 && {
        let (head, hash) = stem.split_at(stem.len() - 16);
        head.ends_with('-') && hash.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `Accept-Encoding` allows `coding` (present and not `q=0`).
fn accepts_encoding(headers: &HeaderMap, coding: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            parts.next().is_some_and(|name| name.eq_ignore_ascii_case(coding))
                && !parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0)))
        },
    )
}

fn smaller(original: &[u8], compressed: Vec<u8>) -> Option<Bytes> {
    (compressed.len() < original.len()).then(|| compressed.into())
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

pub fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).expect("compressing into a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_content_hashes() {
        assert!(is_hashed("otklik-widget-0123456789abcdef.js"));
        assert!(is_hashed("otklik-widget-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("otklik-widget-0123456789abcdef.thread.wasm"));
        assert!(!is_hashed("embed.js"));
        assert!(!is_hashed("otklik-widget.js"));
    }

    #[test]
    fn the_loader_ships_without_comment_lines() {
        let source = "/* about\n   the file */\n(function () {\n  // why\n  var a = \"//x\"; // kept\n\n})();\n";
        assert_eq!(without_comment_lines(source), "(function () {\nvar a = \"//x\"; // kept\n})();\n");
        let loader = without_comment_lines(include_str!("../../static/embed.js"));
        assert!(loader.starts_with("(function () {") && !loader.contains("\n//"), "{loader}");
    }

    #[test]
    fn a_minified_loader_beside_the_bundle_is_served_as_embed_js_and_not_as_a_file() {
        let bundle = |loader: Option<&str>| {
            let mut files = vec![
                ("otklik-widget-0123456789abcdef.js".to_owned(), Bytes::from_static(b"export default 1")),
                ("otklik-widget-0123456789abcdef_bg.wasm".to_owned(), Bytes::from_static(b"\0asm")),
            ];
            files.extend(loader.map(|l| (LOADER_FILE.to_owned(), Bytes::from(l.to_owned()))));
            Assets::from_files(files).unwrap()
        };
        let minified = bundle(Some("!function(){import(\"/assets/__OTKLIK_JS__\")}();"));
        let embed = minified.embed.as_ref().unwrap();
        assert_eq!(&embed.body[..], b"!function(){import(\"/assets/otklik-widget-0123456789abcdef.js\")}();");
        assert!(!minified.files.contains_key(LOADER_FILE));
        assert_eq!(minified.page_downloads().len(), 3, "the loader counts once");
        // A build without it (trunk's) gets the server's own copy.
        let own = bundle(None);
        assert!(own.embed.as_ref().unwrap().body.starts_with(b"(function () {"));
    }

    #[test]
    fn a_file_goes_out_as_it_is_until_compressed_and_is_not_cached_meanwhile() {
        let asset = Asset::new(Bytes::from("let x = 1;\n".repeat(200)), "text/javascript; charset=utf-8", IMMUTABLE);
        let mut request = HeaderMap::new();
        request.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
        let early = asset.respond(&request);
        assert!(early.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(early.headers()[header::CACHE_CONTROL], "no-store");

        let assets = Assets { files: HashMap::from([("a.js".to_owned(), Arc::new(asset))]), ..Assets::default() };
        assert!(!assets.compressed());
        assets.compress();
        assert!(assets.compressed());
        let later = assets.files["a.js"].respond(&request);
        assert_eq!(later.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(later.headers()[header::CACHE_CONTROL], IMMUTABLE);
    }

    #[test]
    fn negotiates_encodings() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=0"));
        assert!(accepts_encoding(&h, "gzip"));
        assert!(!accepts_encoding(&h, "br"));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("BR"));
        assert!(accepts_encoding(&h, "br"));
    }
}
