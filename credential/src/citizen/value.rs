//! Small value rules shared by the claim types: text, country codes, dates, and a JSON reader
//! that rejects duplicate keys.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use time::{Date, Month};

/// Longest text claim, in characters (Unicode scalar values, as JSON Schema `maxLength` counts).
pub(crate) const MAX_TEXT_CHARS: usize = 200;

/// What a text claim must look like; the `expected` of its errors.
pub(crate) const TEXT_EXPECTED: &str =
    "non-empty text of at most 200 characters, without control characters or surrounding whitespace";
/// What a date claim must look like.
pub(crate) const DATE_EXPECTED: &str = "a calendar date YYYY-MM-DD";
/// What a country claim must look like.
pub(crate) const COUNTRY_EXPECTED: &str = "an ISO 3166-1 alpha-2 code, two uppercase letters";

/// Text rule: 1..=200 characters, no control character (Unicode `Cc`), no whitespace (or
/// U+FEFF, which JSON Schema's `\s` also matches) at either end.
pub(crate) fn is_text(s: &str) -> bool {
    let edge = |c: char| c.is_whitespace() || c == '\u{feff}' || c.is_control();
    let count = s.chars().count();
    (1..=MAX_TEXT_CHARS).contains(&count)
        && !s.chars().any(char::is_control)
        && !s.starts_with(edge)
        && !s.ends_with(edge)
}

/// ISO 3166-1 alpha-2 shape: two ASCII uppercase letters. The list of assigned codes is not
/// checked.
pub(crate) fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parses exactly `YYYY-MM-DD` (ASCII digits, four-digit year) into a calendar date.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Formats a date as `YYYY-MM-DD`. Dates here come from [`parse_date`] or an id number, so the
/// year has four digits.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Why [`parse_json_strict`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON, or trailing data, at this place.
    Malformed { line: usize, column: usize },
    /// An object repeats a key; the place is just after the repeated member.
    DuplicateKey { line: usize, column: usize },
}

/// Parses JSON text into a [`Value`], rejecting any object that repeats a key (serde_json keeps
/// the last one silently, which would let an input carry two values for one claim).
pub(crate) fn parse_json_strict(text: &str) -> Result<Value, JsonError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = StrictValue {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    result.map_err(|e| {
        let (line, column) = (e.line(), e.column());
        if duplicate.get() {
            JsonError::DuplicateKey { line, column }
        } else {
            JsonError::Malformed { line, column }
        }
    })
}

#[derive(Clone, Copy)]
struct StrictValue<'a> {
    duplicate: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity; `from_f64` fails only for those.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if out.insert(key, value).is_some() {
                self.duplicate.set(true);
                return Err(serde::de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn text_rule() {
        let longest = "字".repeat(MAX_TEXT_CHARS);
        for good in [
            "李",
            "Anne-Marie O'Neil",
            "阿依古丽·买买提",
            longest.as_str(),
        ] {
            assert!(is_text(good), "{good:?}");
        }
        let too_long = "字".repeat(MAX_TEXT_CHARS + 1);
        for bad in [
            too_long.as_str(),
            "",
            " 李",
            "李 ",
            "\u{3000}李", // ideographic space
            "\u{feff}李",
            "李\n雪",
            "李\u{7}",
            "李\u{85}雪",
        ] {
            assert!(!is_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn country_rule() {
        assert!(is_country_code("CN"));
        for bad in ["cn", "CHN", "C", "ＣＮ"] {
            assert!(!is_country_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1992-05-17"), Some(date!(1992 - 05 - 17)));
        assert_eq!(parse_date("2000-02-29"), Some(date!(2000 - 02 - 29)));
        assert_eq!(parse_date("1900-02-29"), None);
        assert_eq!(parse_date("1992-5-17"), None);
        assert_eq!(parse_date("1992-05-17T00:00:00Z"), None);
        assert_eq!(parse_date("+992-05-17"), None);
        assert_eq!(parse_date("1992/05/17"), None);
        assert_eq!(parse_date("1992-13-01"), None);
        assert_eq!(parse_date("１９９２-05-17"), None);
        assert_eq!(format_date(date!(1992 - 05 - 07)), "1992-05-07");
        assert_eq!(format_date(date!(0999 - 01 - 01)), "0999-01-01");
    }

    #[test]
    fn strict_json() {
        assert_eq!(
            parse_json_strict(r#"{"a": [1, {"b": null}], "c": 1.5}"#).unwrap(),
            serde_json::json!({"a": [1, {"b": null}], "c": 1.5})
        );
        assert!(matches!(
            parse_json_strict(r#"{"a": 1, "a": 2}"#),
            Err(JsonError::DuplicateKey { line: 1, .. })
        ));
        assert!(matches!(
            parse_json_strict(r#"{"x": {"a": 1, "a": 1}}"#),
            Err(JsonError::DuplicateKey { .. })
        ));
        assert!(matches!(
            parse_json_strict(r#"{"a": 1} x"#),
            Err(JsonError::Malformed { .. })
        ));
        assert!(matches!(
            parse_json_strict("{\n\"a\": }"),
            Err(JsonError::Malformed { line: 2, .. })
        ));
    }
}
