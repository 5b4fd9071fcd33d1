//! Build script of the widget: the stylesheet goes into the bundle without its comments and spare white
//! space, which a reader's browser would download and parse for nothing.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=style/widget.css");
    let css = std::fs::read_to_string("style/widget.css").expect("style/widget.css is readable");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("widget.css");
    std::fs::write(out, minify(&css)).expect("OUT_DIR is writable");
}

/// Comments removed and white space collapsed, kept only where it separates words: between two
/// identifiers, numbers or selectors (`.a .b`, `1px solid`, `100vw - 32px`), never next to `{};,>`
/// or after `:` (before a `:` it is a descendant combinator, `.a :is(b)`, and stays). The stylesheet
/// has no strings or URLs that white space inside could matter to.
fn minify(css: &str) -> String {
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("*/").map_or(rest.len(), |e| start + e + 2);
        text.push(' ');
        rest = &rest[end..];
    }
    text.push_str(rest);

    let tight = |c: char| matches!(c, '{' | '}' | ';' | ',' | '>');
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let last = out.chars().last();
        if space && !tight(c) && last.is_some_and(|l| !tight(l) && l != ':') {
            out.push(' ');
        }
        space = false;
        // The last declaration of a block needs no semicolon.
        if c == '}' && out.ends_with(';') {
            out.pop();
        }
        out.push(c);
    }
    out
}
