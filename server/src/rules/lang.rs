//! The two languages otklik speaks (the console's pages, messages and their pages): Russian and English.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    /// A language tag's language (`ru-RU`, `en`), if it is one of these.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.get(..2)?.to_ascii_lowercase().as_str() {
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language a text is written in, as far as messages go: Russian when it has more Cyrillic
    /// letters than Latin ones.
    pub fn of_text(text: &str) -> Self {
        let (mut cyrillic, mut latin) = (0_usize, 0_usize);
        for c in text.chars() {
            if matches!(c, '\u{0400}'..='\u{04FF}') {
                cyrillic += 1;
            } else if c.is_ascii_alphabetic() {
                latin += 1;
            }
        }
        if cyrillic > latin { Self::Ru } else { Self::En }
    }
}
