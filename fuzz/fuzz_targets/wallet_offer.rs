//! The wallet's credential offer parser: arbitrary text as an offer URI
//! (`openid-credential-offer://?credential_offer=...|credential_offer_uri=...`, or a bare URL)
//! and arbitrary bytes as the offer JSON a `credential_offer_uri` returns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet::receive::{parse_offer_uri, CredentialOffer};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_offer_uri(text);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = CredentialOffer::from_value(&value);
    }
});
