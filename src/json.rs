//! Decodes API responses from the browser's own `JSON.parse` result into the shared serde types.
//!
//! serde_json's decoder, and the error messages serde formats for it, cost the bundle about as much as
//! the whole reactive UI. The browser already ships a JSON parser, so responses are parsed there and
//! walked here. Errors are deliberately bare: a reader can do nothing with "invalid type: floating point
//! `1.5`", and dropping serde's message lets the linker drop all of its formatting code.

use std::fmt;

use js_sys::{Array, Object, Reflect};
use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// A response that does not have the shape the API promises.
#[derive(Debug)]
pub struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response does not match the API")
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(_: T) -> Self {
        DecodeError
    }
}

/// Decodes a value produced by `JSON.parse` (e.g. `Response.json()`).
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, DecodeError> {
    T::deserialize(Js(value))
}

/// JavaScript numbers are doubles: integers are exact up to 2^53.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

struct Js(JsValue);

impl<'de> de::Deserializer<'de> for Js {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let value = self.0;
        if value.is_null() || value.is_undefined() {
            visitor.visit_unit()
        } else if let Some(b) = value.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = value.as_f64() {
            match n {
                n if n.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&n) => visitor.visit_u64(n as u64),
                n if n.fract() == 0.0 && (-MAX_SAFE..0.0).contains(&n) => visitor.visit_i64(n as i64),
                n => visitor.visit_f64(n),
            }
        } else if let Some(s) = value.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(&value) {
            visitor.visit_seq(Seq { items: value.unchecked_into(), next: 0 })
        } else if value.is_object() {
            let keys = Object::keys(value.unchecked_ref::<Object>());
            visitor.visit_map(Map { object: value, keys, next: 0 })
        } else {
            Err(DecodeError)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.0.is_null() || self.0.is_undefined() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    /// Only unit variants cross the API (reaction kinds, error codes): they are plain strings.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let name: StringDeserializer<DecodeError> = self.0.as_string().ok_or(DecodeError)?.into_deserializer();
        visitor.visit_enum(name)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Seq {
    items: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DecodeError> {
        if self.next >= self.items.length() {
            return Ok(None);
        }
        self.next += 1;
        seed.deserialize(Js(self.items.get(self.next - 1))).map(Some)
    }
}

struct Map {
    object: JsValue,
    keys: Array,
    next: u32,
}

impl<'de> de::MapAccess<'de> for Map {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DecodeError> {
        if self.next >= self.keys.length() {
            return Ok(None);
        }
        seed.deserialize(Js(self.keys.get(self.next))).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DecodeError> {
        let key = self.keys.get(self.next);
        self.next += 1;
        seed.deserialize(Js(Reflect::get(&self.object, &key).map_err(|_| DecodeError)?))
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use otklik_api::{ErrorBody, ErrorCode, ReactionKind, ReactionsView};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn parse(text: &str) -> JsValue {
        js_sys::JSON::parse(text).expect("valid JSON")
    }

    #[wasm_bindgen_test]
    fn decodes_the_reactions_view() {
        let view: ReactionsView = from_js(parse(
            r#"{"counts":{"like":0,"laugh":3,"surprised":0,"angry":9007199254740991,"sad":0},"mine":"laugh","extra":[1,{"a":null}]}"#,
        ))
        .unwrap();
        assert_eq!((view.counts.laugh, view.counts.angry), (3, 9_007_199_254_740_991));
        assert_eq!(view.mine, Some(ReactionKind::Laugh));
        let none: ReactionsView =
            from_js(parse(r#"{"counts":{"like":1,"laugh":0,"surprised":0,"angry":0,"sad":0},"mine":null}"#)).unwrap();
        assert_eq!(none.mine, None);
    }

    #[wasm_bindgen_test]
    fn decodes_errors_including_codes_from_newer_servers() {
        let body: ErrorBody = from_js(parse(r#"{"error":{"code":"invalid_reader","message":"m"}}"#)).unwrap();
        assert_eq!(body.error.code, ErrorCode::InvalidReader);
        let body: ErrorBody = from_js(parse(r#"{"error":{"code":"from_the_future","message":"m"}}"#)).unwrap();
        assert_eq!(body.error.code, ErrorCode::Other);
    }

    #[wasm_bindgen_test]
    fn refuses_what_does_not_match() {
        for bad in [
            r#"{"counts":{"like":1.5,"laugh":0,"surprised":0,"angry":0,"sad":0},"mine":null}"#,
            r#"{"counts":{"like":-1,"laugh":0,"surprised":0,"angry":0,"sad":0},"mine":null}"#,
            r#"{"counts":{"like":0,"laugh":0,"surprised":0,"angry":0,"sad":0},"mine":"heart"}"#,
            r#"{"counts":{"like":0},"mine":null}"#,
            r#"[1,2,3]"#,
            r#""text""#,
        ] {
            assert!(from_js::<ReactionsView>(parse(bad)).is_err(), "{bad}");
        }
    }
}
