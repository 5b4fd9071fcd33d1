//! The shipped widget, from the wasm cargo compiled with `--cfg otklik_split` and `--emit-relocs`.
//!
//! trunk builds one module; the shipped widget is several, which trunk cannot make. This step splits the
//! module at the split points of `src/chunks.rs` (wasm_split_cli_support, the library behind cargo-leptos
//! `--split`), binds the main one with wasm-bindgen, shrinks each with wasm-opt, and names every file by
//! one hash of all of them: a file's name changes whenever any file of the build does, so they are cached
//! as immutable together and a page never mixes two builds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, ensure};
use sha2::{Digest, Sha256};

const NAME: &str = "otklik-widget";

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let [input, out] = args else { anyhow::bail!("usage: xtask bundle WASM DIR") };
    let input = Path::new(input);
    let work = input.with_file_name("bundle");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    // (1) Split. The main module imports its loaders from the link module, which imports the main one's
    // `initSync` back; both names are rewritten to hashed ones below.
    let wasm = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let main = work.join("main.wasm");
    let link = format!("./{NAME}.split.js");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = &work;
    options.main_out_path = &main;
    options.main_module = "./otklik-widget.js";
    options.link_name = &link;
    let split = wasm_split_cli_support::transform(options).map_err(|e| anyhow::anyhow!("splitting: {e:?}"))?;
    ensure!(
        !split.split_modules.is_empty(),
        "no split points in {}: was it built with --cfg otklik_split?",
        input.display()
    );

    // (2) Bind the main module; the parts need no glue of their own.
    let bound = work.join("bindgen");
    let mut bindgen = Command::new("wasm-bindgen");
    bindgen.args(["--target", "web", "--keep-lld-exports", "--no-typescript", "--out-name", NAME, "--out-dir"]);
    run_tool(bindgen.arg(&bound).arg(&main))?;

    // (3) Shrink, and collect every file with the name the others load it by and its final role.
    let mut files: Vec<(String, String, Vec<u8>)> = vec![
        ("./otklik-widget.js".into(), ".js".into(), std::fs::read(bound.join(format!("{NAME}.js")))?),
        (link.clone(), ".split.js".into(), std::fs::read(work.join(link.trim_start_matches("./")))?),
        (format!("{NAME}_bg.wasm"), "_bg.wasm".into(), optimised(&bound.join(format!("{NAME}_bg.wasm")))?),
    ];
    let mut parts: Vec<&PathBuf> = split.split_modules.iter().collect();
    parts.sort();
    for part in parts {
        let stem = part.file_stem().and_then(|s| s.to_str()).context("a part without a name")?;
        let role = format!(".{}.wasm", stem.trim_start_matches("split_"));
        files.push((format!("./{stem}.wasm"), role, optimised(part)?));
    }

    // (4) One hash over everything, then the names each file uses for the others.
    let mut hasher = Sha256::new();
    for (_, role, body) in &files {
        hasher.update(role.as_bytes());
        hasher.update((body.len() as u64).to_le_bytes());
        hasher.update(body);
    }
    let hash: String = hasher.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let named = |role: &str| format!("{NAME}-{hash}{role}");
    let renames: Vec<(String, String)> = files
        .iter()
        .map(|(original, role, _)| {
            let dir = if original.starts_with("./") { "./" } else { "" };
            (original.clone(), format!("{dir}{}", named(role)))
        })
        .collect();

    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    for old in std::fs::read_dir(out)? {
        let old = old?.path();
        if old.is_file() {
            std::fs::remove_file(&old)?;
        }
    }
    println!("{:<40} {:>10} {:>10}", "file (KB = 1000 bytes)", "raw", "gzip -9");
    for (_, role, body) in files {
        let body = if role.ends_with(".js") {
            let mut text = String::from_utf8(body)?;
            // Only where a name is loaded: the wasm's own import names ("./otklik-widget.split.js" as a key
            // of the imports object) must stay as the module was linked.
            for (from, to) in &renames {
                for (before, after) in [("from \"", "\""), ("URL(\"", "\""), ("URL('", "'")] {
                    text = text.replace(&format!("{before}{from}{after}"), &format!("{before}{to}{after}"));
                }
            }
            text.into_bytes()
        } else {
            body
        };
        let name = named(&role);
        let gz = otklik_server::assets::gzip(&body).len();
        println!("{name:<40} {:>10.1} {:>10.1}", body.len() as f64 / 1000.0, gz as f64 / 1000.0);
        std::fs::write(out.join(&name), body)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// wasm-opt at the size setting trunk uses for the widget; features as the compiler emitted them.
fn optimised(path: &Path) -> anyhow::Result<Vec<u8>> {
    let out = path.with_extension("opt.wasm");
    let mut opt = Command::new("wasm-opt");
    opt.args(["-Oz", "--converge", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
        .args(["--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue"])
        .arg(path)
        .arg("-o")
        .arg(&out);
    run_tool(&mut opt)?;
    Ok(std::fs::read(out)?)
}

fn run_tool(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("running {command:?} (make setup installs it)"))?;
    ensure!(status.success(), "{command:?} failed: {status}");
    Ok(())
}
