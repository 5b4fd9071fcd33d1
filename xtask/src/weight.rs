//! The widget's weight: every file a page downloads to show it, measured the way the server serves it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use otklik_server::Assets;
use otklik_server::assets::{brotli, gzip};

use crate::flag;

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let dir = args.first().filter(|a| !a.starts_with("--")).context("which directory? (usually dist)")?;
    let budget_kb: f64 = flag(args, "--budget-kb").map(str::parse).transpose()?.unwrap_or(150.0);
    let assets = Assets::load(Path::new(dir))?;
    let files = assets.page_downloads();
    anyhow::ensure!(!files.is_empty(), "{dir} holds no widget bundle: run `make widget` first");

    let kb = |n: usize| n as f64 / 1000.0;
    println!("{:<48} {:>10} {:>10} {:>10}", "file (KB = 1000 bytes)", "raw", "gzip -9", "brotli 11");
    let (mut raw, mut gz, mut br) = (0, 0, 0);
    for (name, asset) in &files {
        let (r, g, b) = (asset.body.len(), gzip(&asset.body).len(), brotli(&asset.body).len());
        println!("{name:<48} {:>10.1} {:>10.1} {:>10.1}", kb(r), kb(g), kb(b));
        (raw, gz, br) = (raw + r, gz + g, br + b);
    }
    println!("{:<48} {:>10.1} {:>10.1} {:>10.1}", "total", kb(raw), kb(gz), kb(br));
    if kb(gz) > budget_kb {
        eprintln!("weight: {:.1} KB gzip is over the {budget_kb} KB budget", kb(gz));
        return Ok(ExitCode::FAILURE);
    }
    println!("weight: {:.1} KB gzip, within the {budget_kb} KB budget", kb(gz));
    Ok(ExitCode::SUCCESS)
}
