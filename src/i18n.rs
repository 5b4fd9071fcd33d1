//! Russian and English texts, with numbers and plural forms from the browser's `Intl`.

use js_sys::{Array, Intl, Object};
use otklik_api::ReactionKind;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

/// The widget's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// `data-otklik-lang` on the host, else the page's `<html lang>`, else English.
    pub fn for_host(host: &HtmlElement) -> Self {
        let page = || host.owner_document()?.document_element()?.get_attribute("lang");
        let tag = host.get_attribute("data-otklik-lang").filter(|l| !l.trim().is_empty()).or_else(page);
        Self::from_tag(tag.as_deref().unwrap_or(""))
    }

    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ru") { Self::Ru } else { Self::En }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }
}

/// Every string the widget shows, per language.
pub struct Texts {
    pub reactions: &'static str,
    /// Labels in `ReactionKind::ALL` order.
    pub kinds: [&'static str; 5],
    pub loading: &'static str,
    pub load_failed: &'static str,
    pub retry: &'static str,
    pub save_offline: &'static str,
    pub save_refused: &'static str,
    pub save_server: &'static str,
    pub dismiss: &'static str,
}

static RU: Texts = Texts {
    reactions: "Реакции на статью",
    kinds: ["Лайк", "Смех", "Удивление", "Гнев", "Печаль"],
    loading: "Загружаем реакции…",
    load_failed: "Не удалось загрузить реакции.",
    retry: "Повторить",
    save_offline: "Нет связи с сервером — реакция не сохранена. Проверьте подключение и попробуйте ещё раз.",
    save_refused: "Сервер не принял реакцию. Обновите страницу и попробуйте ещё раз.",
    save_server: "Сервер временно недоступен — реакция не сохранена. Попробуйте чуть позже.",
    dismiss: "Закрыть сообщение",
};

static EN: Texts = Texts {
    reactions: "Reactions to this article",
    kinds: ["Like", "Laugh", "Surprised", "Angry", "Sad"],
    loading: "Loading reactions…",
    load_failed: "Reactions could not be loaded.",
    retry: "Retry",
    save_offline: "No connection to the server, so your reaction was not saved. Check your connection and try again.",
    save_refused: "The server did not accept your reaction. Reload the page and try again.",
    save_server: "The server is unavailable right now, so your reaction was not saved. Please try again shortly.",
    dismiss: "Dismiss message",
};

impl Texts {
    pub fn kind(&self, kind: ReactionKind) -> &'static str {
        self.kinds[kind.index()]
    }
}

fn locales(lang: Lang) -> Array {
    Array::of1(&JsValue::from_str(lang.tag()))
}

/// `n` as the reader's locale writes it ("12 345" in Russian, "12,345" in English).
pub fn format_count(lang: Lang, n: u64) -> String {
    let format = Intl::NumberFormat::new(&locales(lang), &Object::new()).format();
    format
        .call1(&JsValue::NULL, &JsValue::from_f64(n as f64))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| n.to_string())
}

/// "reaction"/"reactions", or "реакция"/"реакции"/"реакций", as `Intl.PluralRules` selects for `n`.
pub fn reactions_noun(lang: Lang, n: u64) -> &'static str {
    let category = Intl::PluralRules::new(&locales(lang), &Object::new()).select(n as f64);
    match (lang, String::from(category).as_str()) {
        (Lang::Ru, "one") => "реакция",
        (Lang::Ru, "few") => "реакции",
        (Lang::Ru, _) => "реакций",
        (Lang::En, "one") => "reaction",
        (Lang::En, _) => "reactions",
    }
}
