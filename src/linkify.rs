//! Finds web addresses in plain comment text, so they can be shown as links without ever treating the
//! text as HTML.

/// Splits `text` into `(is_link, piece)` runs, in order; joined, the pieces give back `text`.
pub fn segments(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = url_start(rest) {
        let tail = &rest[start..];
        let end =
            tail.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '«' | '»')).unwrap_or(tail.len());
        // Sentence punctuation after an address belongs to the sentence.
        let url = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'']);
        if url.len() <= "https://".len() {
            out.push((false, &rest[..start + end]));
            rest = &rest[start + end..];
            continue;
        }
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        out.push((true, url));
        rest = &rest[start + url.len()..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// Where the next `http://` or `https://` starting a word begins.
fn url_start(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("http").map(|i| i + from) {
        let word_start =
            text[..i].chars().next_back().is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '«' | '"'));
        if word_start && (text[i..].starts_with("https://") || text[i..].starts_with("http://")) {
            return Some(i);
        }
        from = i + 4;
    }
    None
}

// Plain string logic: run natively by `make test-native`, and in the browser with the other widget tests.
#[cfg(test)]
mod tests {
    use super::segments;

    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn finds_addresses_and_leaves_the_rest() {
        assert_eq!(
            segments("См. https://example.com/a?b=1, и (http://x.org)."),
            [
                (false, "См. "),
                (true, "https://example.com/a?b=1"),
                (false, ", и ("),
                (true, "http://x.org"),
                (false, ").")
            ]
        );
        assert_eq!(segments("no links, just httpfoo and https://"), [(false, "no links, just httpfoo and https://")]);
        assert_eq!(segments("<b>https://e.com/<script></b>"), [(false, "<b>https://e.com/<script></b>")]);
        assert_eq!(segments("«https://e.com/путь»"), [(false, "«"), (true, "https://e.com/путь"), (false, "»")]);
        assert!(segments("").is_empty());
    }
}
