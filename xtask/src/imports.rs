//! Short names for what the widget's wasm imports from its JS glue, written into both files.
//!
//! wasm-bindgen names every import after the JS it calls plus a 16-digit hash
//! (`__wbg_set_innerHTML_a9d3a267967b5117`), and every name is written twice, in the wasm's import
//! section and as a key of the glue's imports object. The hashes are noise to gzip: 150 of them cost a
//! phone's first load about 5 KB. Each import of the main module becomes a name of one or two letters,
//! and each module it imports from a single letter; the wasm's code, and everything else in the glue,
//! stay as they were.

use anyhow::{Context as _, bail, ensure};

/// The main module with short import names, and the glue that provides them under those names.
pub fn shortened(wasm: &[u8], glue: &str) -> anyhow::Result<(Vec<u8>, String)> {
    ensure!(wasm.len() >= 8 && wasm[..4] == *b"\0asm", "not a wasm module");
    let mut out = wasm[..8].to_vec();
    let mut glue = glue.to_owned();
    let mut at = 8;
    let mut renamed = 0;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, body) = leb(wasm, at + 1)?;
        let end = body + size as usize;
        ensure!(end <= wasm.len(), "a section runs past the end of the module");
        if id == 2 {
            let (section, count) = imports(&wasm[body..end], &mut glue)?;
            renamed = count;
            out.push(2);
            push_leb(&mut out, section.len() as u32);
            out.extend(section);
        } else {
            out.extend(&wasm[at..end]);
        }
        at = end;
    }
    ensure!(renamed > 0, "the module imports nothing from its glue");
    Ok((out, glue))
}

/// The import section with every name shortened, and how many imports it holds. The glue's keys follow.
fn imports(section: &[u8], glue: &mut String) -> anyhow::Result<(Vec<u8>, u32)> {
    let (count, mut at) = leb(section, 0)?;
    let mut out = Vec::new();
    push_leb(&mut out, count);
    let mut modules: Vec<String> = Vec::new();
    for n in 0..count {
        let (module, next) = name(section, at)?;
        let (field, next) = name(section, next)?;
        ensure!(section.get(next) == Some(&0), "import {module} {field} is not a function: extend this rewrite");
        let (_, end) = leb(section, next + 1)?;
        let module_index = match modules.iter().position(|m| *m == module) {
            Some(i) => i,
            None => {
                modules.push(module.clone());
                modules.len() - 1
            }
        };
        let short_module = short(module_index as u32);
        // wasm-bindgen's own imports are keys of the glue's imports object; the parts' loaders are
        // functions the glue hands over under their own names, which stay.
        let short_field = if field.starts_with("__wbg") || field.starts_with("__wbindgen") {
            let short = short(n);
            rename_key(glue, &field, &short).with_context(|| format!("import {module} {field}"))?;
            short
        } else {
            field.clone()
        };
        for text in [short_module.as_bytes(), short_field.as_bytes()] {
            push_leb(&mut out, text.len() as u32);
            out.extend(text);
        }
        out.extend(&section[next..end]);
        at = end;
    }
    ensure!(at == section.len(), "bytes after the last import");
    for (i, module) in modules.iter().enumerate() {
        let key = format!("\"{module}\": ");
        ensure!(glue.contains(&key), "the glue does not provide the module {module}");
        *glue = glue.replace(&key, &format!("\"{}\": ", short(i as u32)));
    }
    Ok((out, count))
}

/// Renames the glue's one key `from` (an imports object's `from: …`) to `to`.
fn rename_key(glue: &mut String, from: &str, to: &str) -> anyhow::Result<()> {
    let key = format!(" {from}: ");
    let at = glue.find(&key).context("the glue has no such key")?;
    ensure!(glue[at + key.len()..].find(&key).is_none(), "the glue has the key {from} twice");
    glue.replace_range(at + 1..at + 1 + from.len(), to);
    Ok(())
}

/// `n` as a short identifier: a–z, A–Z, then two letters.
fn short(n: u32) -> String {
    const LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = n as usize;
    let mut out = vec![LETTERS[n % 52]];
    while n >= 52 {
        n = n / 52 - 1;
        out.insert(0, LETTERS[n % 52]);
    }
    String::from_utf8(out).expect("letters")
}

/// A name (length, then UTF-8) at `at`, and where it ends.
fn name(bytes: &[u8], at: usize) -> anyhow::Result<(String, usize)> {
    let (len, start) = leb(bytes, at)?;
    let end = start + len as usize;
    let text = bytes.get(start..end).context("a name runs past its section")?;
    Ok((String::from_utf8(text.to_vec())?, end))
}

/// An unsigned LEB128 number at `at`, and where it ends.
fn leb(bytes: &[u8], mut at: usize) -> anyhow::Result<(u32, usize)> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at).context("a number runs past the module")?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((u32::try_from(value)?, at));
        }
    }
    bail!("a number longer than five bytes")
}

fn push_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_distinct_and_short() {
        let names: Vec<String> = (0..52 * 53).map(short).collect();
        assert_eq!(&names[..3], ["a", "b", "c"]);
        assert_eq!(names[51], "Z");
        assert_eq!(names[52], "aa");
        assert!(names.iter().all(|n| n.len() <= 2));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn numbers_round_trip() {
        for n in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut bytes = Vec::new();
            push_leb(&mut bytes, n);
            assert_eq!(leb(&bytes, 0).unwrap(), (n, bytes.len()));
        }
    }
}
