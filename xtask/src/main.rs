//! `cargo run -p xtask -- <task>`: developer tasks that need more than a shell line.
//!
//! - `weight DIR [--budget-kb N]`: what a page downloads for the widget, raw / gzip / brotli; fails over budget.
//! - `bench --server BIN`: starts the release server on a fresh database and measures it (see `bench.rs`).
//! - `bundle WASM DIR`: the shipped widget from the compiled wasm, split into modules (see `bundle.rs`).

mod bench;
mod bundle;
mod imports;
mod weight;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("weight") => weight::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("bundle") => bundle::run(&args[1..]),
        _ => Err(anyhow::anyhow!(
            "usage: xtask weight DIR [--budget-kb N] | xtask bench --server BIN | xtask bundle WASM DIR"
        )),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `--name` in `args`, if present.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}
