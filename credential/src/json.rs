//! Small readers of JSON members shared by the parsers of JWKs, SD-JWTs and status lists.

use serde_json::{Map, Value};

/// The optional string member `key` of `obj`: `None` when absent, `err` when present but not a
/// string.
pub(crate) fn optional_string<E>(
    obj: &Map<String, Value>,
    key: &str,
    err: E,
) -> Result<Option<String>, E> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err),
    }
}
