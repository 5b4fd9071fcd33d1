//! With the `embed-assets` feature, lists the built widget (trunk's `dist/`, or `$OTKLIK_EMBED_DIR`) for
//! `include_bytes!`, so that the `otklik` binary carries it and deploying is copying one file.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=OTKLIK_EMBED_DIR");
    let mut list = String::from("&[\n");
    if std::env::var_os("CARGO_FEATURE_EMBED_ASSETS").is_some() {
        let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
        let dir = std::env::var_os("OTKLIK_EMBED_DIR").map_or_else(|| manifest.join("../dist"), PathBuf::from);
        let dir = dir.canonicalize().unwrap_or_else(|e| {
            panic!("embed-assets: no widget build at {} ({e}): run `make widget` first", dir.display())
        });
        println!("cargo::rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        assert!(
            files.iter().any(|f| f.to_string_lossy().ends_with("_bg.wasm")),
            "embed-assets: {} holds no widget bundle: run `make widget` first",
            dir.display()
        );
        for file in files {
            let rel = file.strip_prefix(&dir).expect("walked below dir").to_string_lossy().replace('\\', "/");
            list.push_str(&format!("    ({rel:?}, include_bytes!({:?}) as &[u8]),\n", file.display().to_string()));
        }
    }
    list.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded_assets.rs");
    std::fs::write(out, list).expect("writing the embedded asset list");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading the widget build") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() { walk(&path, out) } else { out.push(path) }
    }
}
