//! Cleaning what people type before it is stored: control characters and invisible formatting out.

/// One line of plain text: control characters and invisible formatting removed, white space collapsed.
pub fn clean_line(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| w.chars().filter(|c| !is_invisible_format(*c)).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters that draw nothing but change how text around them reads: bidirectional overrides and
/// isolates (which can make "moderator" of "rotaredom"), zero-width joiners and spaces, word joiners
/// and byte-order marks. In a name or a title they serve only to impersonate.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

/// Text with control characters removed, line breaks and other white space kept.
pub fn without_controls(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control() || c.is_whitespace()).collect()
}
