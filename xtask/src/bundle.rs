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

use crate::imports;

const NAME: &str = "otklik-widget";

pub fn run(input: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let work = input.with_file_name("bundle");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    // (1) Split. The main module imports its parts' loaders from a link module, which imports the main one's
    // `initSync` back; (3) writes the loaders into the main module's glue.
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
    let glue = std::fs::read_to_string(bound.join(format!("{NAME}.js")))?;
    let loaders = std::fs::read_to_string(work.join(link.trim_start_matches("./")))?;
    let main = optimised(&bound.join(format!("{NAME}_bg.wasm")))?;
    let (main, glue) = imports::shortened(&main, &merged(&glue, &loaders, &link)?)?;
    let glue = minified(&glue, &work)?;
    let mut files: Vec<(String, String, Vec<u8>)> = vec![
        ("./otklik-widget.js".into(), ".js".into(), glue.into_bytes()),
        (format!("{NAME}_bg.wasm"), "_bg.wasm".into(), main),
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
    // The loader every page fetches first (`/embed.js`; the server fills in the bundle's names).
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/static/embed.js");
    let loader = minified_script(&std::fs::read_to_string(source)?, &work)?;
    let gz = otklik_server::assets::gzip(loader.as_bytes()).len();
    println!("{:<40} {:>10.1} {:>10.1}", "embed.js", loader.len() as f64 / 1000.0, gz as f64 / 1000.0);
    std::fs::write(out.join(otklik_server::assets::LOADER_FILE), loader)?;
    Ok(ExitCode::SUCCESS)
}

/// The main module's glue with the parts' loaders written into it. As the splitter emits them they are a
/// module of their own, which the glue imports and which imports the glue's `initSync` back: one more
/// request, and on a phone one more round trip, before the widget can start. In one module the cycle is
/// gone: the glue's namespace imports of the link module become objects holding the same functions.
fn merged(glue: &str, loaders: &str, link: &str) -> anyhow::Result<String> {
    let import = format!(" from \"{link}\"");
    let mut namespaces = Vec::new();
    let mut out = String::with_capacity(glue.len() + loaders.len());
    for line in glue.lines() {
        match line.strip_prefix("import * as").and_then(|l| l.trim_end_matches(';').strip_suffix(&import)) {
            Some(namespace) => namespaces.push(namespace.trim().to_owned()),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    ensure!(!namespaces.is_empty(), "the glue does not import the parts' loaders ({link})");
    let mut exported = Vec::new();
    for line in loaders.lines() {
        if line.starts_with("import ") {
            ensure!(line.contains("{ initSync }"), "the parts' loaders import more than initSync: {line}");
            continue;
        }
        let line = match line.strip_prefix("export const ") {
            Some(rest) => {
                let name = rest.split([' ', '=']).next().unwrap_or_default();
                exported.push(name.to_owned());
                format!("const {rest}")
            }
            None => {
                ensure!(!line.starts_with("export"), "an export the merge does not know: {line}");
                line.to_owned()
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    for namespace in namespaces {
        out.push_str(&format!("const {namespace} = {{ {} }};\n", exported.join(", ")));
    }
    Ok(out)
}

/// The glue through terser (compressed, names mangled; as an ES module, so its exports keep their names):
/// 6.3 → 4.2 KB gzip on every page with the widget.
fn minified(js: &str, work: &Path) -> anyhow::Result<String> {
    terser(js, work, "glue", &["--module"])
}

/// The loader through terser, as a classic script (its names stay inside its function): 2.6 → 1.5 KB
/// gzip, first on every page with the widget.
fn minified_script(js: &str, work: &Path) -> anyhow::Result<String> {
    terser(js, work, "loader", &[])
}

fn terser(js: &str, work: &Path, name: &str, options: &[&str]) -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let terser = root.join("target/terser/node_modules/terser/bin/terser");
    let (input, output) = (work.join(format!("{name}.js")), work.join(format!("{name}.min.js")));
    std::fs::write(&input, js)?;
    let mut command = Command::new("node");
    command.arg(terser).args(options).args(["--compress", "--mangle", "--output"]).arg(&output).arg(&input);
    run_tool(&mut command)?;
    Ok(std::fs::read_to_string(output)?)
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
