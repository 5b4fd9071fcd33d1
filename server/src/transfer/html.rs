//! A comment's HTML (Disqus, WordPress, Remark42) made into otklik's plain text: paragraphs and `<br>`
//! become line breaks, a link keeps its address, entities are decoded, and every other tag leaves only
//! its text. Nothing of the markup survives, so nothing of it can run in a reader's page.

/// Plain text from `html`. With `newlines` (WordPress, which keeps its comments as typed and adds the
/// paragraphs when it shows them), line breaks in the source are kept; otherwise they are white space.
pub fn to_text(html: &str, newlines: bool) -> String {
    let mut out = String::with_capacity(html.len());
    // A link's address, written after its text unless the text is the address itself.
    let mut href: Option<(String, usize)> = None;
    let mut skip_until: Option<&'static str> = None;
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(end) = skip_until {
            match find_ci(rest, end) {
                Some(at) => {
                    rest = &rest[at..];
                    skip_until = None;
                }
                None => break,
            }
        }
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, rest, newlines);
            break;
        };
        push_text(&mut out, &rest[..lt], newlines);
        let tag_src = &rest[lt..];
        // Not a tag (`a < b`): the character is text.
        let starts_tag = tag_src[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        let Some(gt) = tag_src.find('>').filter(|_| starts_tag) else {
            push_text(&mut out, "<", newlines);
            rest = &tag_src[1..];
            continue;
        };
        let tag = &tag_src[1..gt];
        rest = &tag_src[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match (name.as_str(), closing) {
            ("br", _) => out.push('\n'),
            ("p" | "div" | "blockquote" | "pre" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6", _) => {
                paragraph(&mut out)
            }
            ("li", false) => {
                line(&mut out);
                out.push_str("• ");
            }
            ("li", true) => line(&mut out),
            ("script", false) => skip_until = Some("</script"),
            ("style", false) => skip_until = Some("</style"),
            ("a", false) => href = attribute(tag, "href").map(|h| (decode_entities(&h), out.len())),
            ("a", true) => {
                if let Some((address, start)) = href.take() {
                    let text = out[start..].trim();
                    let safe = address.starts_with("http://") || address.starts_with("https://");
                    if safe && text != address && !text.contains(address.as_str()) {
                        if text.is_empty() {
                            out.push_str(&address);
                        } else {
                            out.push_str(" (");
                            out.push_str(&address);
                            out.push(')');
                        }
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                    push_text(&mut out, &alt, false);
                }
            }
            _ => {}
        }
    }
    tidy(&out)
}

/// Text between tags, with entities decoded and white space as HTML shows it.
fn push_text(out: &mut String, text: &str, newlines: bool) {
    let decoded = decode_entities(text);
    for c in decoded.chars() {
        if c == '\n' && newlines {
            out.push('\n');
        } else if c.is_whitespace() && c != '\u{a0}' {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else if !c.is_control() {
            out.push(c);
        }
    }
}

/// Ends the current line (once).
fn line(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Ends the current paragraph: a blank line before the next.
fn paragraph(out: &mut String) {
    line(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Lines trimmed, no more than one blank line in a row, none at the ends; no-break spaces made plain.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for l in text.replace('\u{a0}', " ").lines() {
        let l = l.trim();
        if l.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(l);
    }
    out
}

/// An attribute's value in a tag's source (`a href="x" title=y`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name).map(|i| i + from) {
        from = at + name.len();
        let before_ok = lower[..at].ends_with(|c: char| c.is_whitespace());
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_src = tag[tag.len() - after.len() + 1..].trim_start();
        let value = match value_src.chars().next()? {
            q @ ('"' | '\'') => value_src[1..].split(q).next()?,
            _ => value_src.split(|c: char| c.is_whitespace() || c == '/').next()?,
        };
        return Some(value.to_owned());
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

/// `&amp;`, `&#1044;`, `&#x44;` and the named entities comments use.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|i| i + 1);
        let decoded = end.filter(|e| rest[*e..].starts_with(';')).and_then(|e| entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "copy" => '©',
        "reg" => '®',
        "times" => '×',
        "euro" => '€',
        "deg" => '°',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn paragraphs_and_breaks_become_lines() {
        assert_eq!(to_text("<p>First</p><p>Second<br>line</p>", false), "First\n\nSecond\nline");
        assert_eq!(to_text("one\n  two", false), "one two");
        assert_eq!(to_text("one\ntwo\n\nthree", true), "one\ntwo\n\nthree");
    }

    #[test]
    fn links_keep_their_address() {
        assert_eq!(
            to_text(r#"See <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow">this</a>."#, false),
            "See this (https://example.org/a?b=1&c=2)."
        );
        assert_eq!(
            to_text(r#"<a href="https://example.org/">https://example.org/</a>"#, false),
            "https://example.org/"
        );
        // Only web addresses are kept: a script address is not.
        assert_eq!(to_text(r#"<a href="javascript:alert(1)">click</a>"#, false), "click");
    }

    #[test]
    fn entities_are_decoded_and_markup_is_gone() {
        assert_eq!(
            to_text("Tom &amp; Jerry &laquo;ок&raquo; &#1044;&#x430; &bogus; a < b", false),
            "Tom & Jerry «ок» Да &bogus; a < b"
        );
        assert_eq!(to_text("<b>bold</b> <script>alert(1)</script><i>it</i>", false), "bold it");
        assert_eq!(to_text("&lt;script&gt;", false), "<script>");
        assert_eq!(to_text("<ul><li>a</li><li>b</li></ul>", false), "• a\n• b");
    }
}
