//! The widget's weight: every file a page downloads to show it, measured the way the server serves it.

use std::path::Path;
use std::process::ExitCode;

use otklik_server::Assets;
use otklik_server::assets::{brotli, gzip};

pub fn run(dir: &Path, first_budget: Option<f64>, total_budget: Option<f64>) -> anyhow::Result<ExitCode> {
    let assets = Assets::load(dir)?;
    let first = assets.page_downloads();
    anyhow::ensure!(!first.is_empty(), "{} holds no widget bundle: run `make widget` first", dir.display());

    let kb = |n: usize| n as f64 / 1000.0;
    println!("{:<48} {:>10} {:>10} {:>10}", "file (KB = 1000 bytes)", "raw", "gzip -9", "brotli 11");
    let sum = |files: &[(String, std::sync::Arc<otklik_server::assets::Asset>)], (mut raw, mut gz, mut br)| {
        for (name, asset) in files {
            let (r, g, b) = (asset.body.len(), gzip(&asset.body).len(), brotli(&asset.body).len());
            println!("{name:<48} {:>10.1} {:>10.1} {:>10.1}", kb(r), kb(g), kb(b));
            (raw, gz, br) = (raw + r, gz + g, br + b);
        }
        (raw, gz, br)
    };
    let at_first = sum(&first, (0, 0, 0));
    println!(
        "{:<48} {:>10.1} {:>10.1} {:>10.1}",
        "first load (until the thread or a report)",
        kb(at_first.0),
        kb(at_first.1),
        kb(at_first.2)
    );
    let total = sum(&assets.deferred_downloads(), at_first);
    println!("{:<48} {:>10.1} {:>10.1} {:>10.1}", "whole widget", kb(total.0), kb(total.1), kb(total.2));
    let mut ok = true;
    for (what, gz, budget) in [("first load", at_first.1, first_budget), ("whole widget", total.1, total_budget)] {
        match budget {
            Some(budget) if kb(gz) > budget => {
                eprintln!("weight: the {what} is {:.1} KB gzip, over its {budget} KB budget", kb(gz));
                ok = false;
            }
            Some(budget) => println!("weight: the {what} is {:.1} KB gzip, within its {budget} KB budget", kb(gz)),
            None => {}
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
