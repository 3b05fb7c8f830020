//! Claims fixtures: valid id numbers and the citizen claims enrolled with them.

use serde_json::{json, Value};

/// The basic-level example claims of `examples/claims/citizen-basic.json`.
pub const BASIC_EXAMPLE: &str = include_str!("../../examples/claims/citizen-basic.json");

/// The high-level example claims of `examples/claims/citizen-high.json`.
pub const HIGH_EXAMPLE: &str = include_str!("../../examples/claims/citizen-high.json");

/// An 18-character id number with a valid check digit, born 1990-01-01, odd sequence (male).
pub fn id_number(serial: u32) -> String {
    let body = format!("11010519900101{:03}", (serial * 2 + 1) % 1000);
    let check = credential::citizen::IdNumber::check_character_for(&body).unwrap();
    format!("{body}{check}")
}

/// Basic-level claims of citizen `serial` (a male born 1990-01-01).
pub fn basic_claims(serial: u32) -> Value {
    json!({
        "family_name": "王",
        "given_name": "小明",
        "birthdate": "1990-01-01",
        "sex": 1,
        "nationality": "CN",
        "id_number": id_number(serial),
    })
}

/// High-level claims of citizen `serial`: [`basic_claims`] with the address, ethnicity,
/// portrait and id card of the example.
pub fn high_claims(serial: u32) -> Value {
    let example: Value = serde_json::from_str(HIGH_EXAMPLE).unwrap();
    let mut c = basic_claims(serial);
    for k in ["address", "ethnicity", "portrait", "id_card"] {
        c[k] = example[k].clone();
    }
    c
}
