//! The trust bundle delta (`trust-bundle-delta+jwt`): arbitrary text to `VerifiedDelta::verify`
//! and `peek_typ`, and arbitrary payload bytes signed by the pinned root (so the change sets
//! are decoded), then applied to a state made from a small genuine bundle. The first byte
//! picks the mode.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use verifier::bundle::{BundleLimits, VerifiedBundle};
use verifier::delta::{DeltaLimits, VerifiedDelta};
use verifier::trust_state::TrustState;

static BASE: LazyLock<TrustState> = LazyLock::new(|| {
    let payload = serde_json::json!({
        "iss": "https://bureau.example",
        "issued_at": common::NOW - 3600,
        "next_update": common::NOW + 86_400,
        "keys": [],
        "status_lists": [],
        "status_seq": 0,
    });
    let text = common::signed(verifier::bundle::TYP, payload.to_string().as_bytes());
    match VerifiedBundle::verify(
        &text,
        common::root_public(),
        common::NOW,
        &BundleLimits::default(),
    ) {
        Ok(bundle) => TrustState::from_bundle(bundle),
        Err(e) => panic!("the base bundle verifies: {e}"),
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = common::text(*mode, verifier::delta::TYP, rest) else {
        return;
    };
    let _ = verifier::delta::peek_typ(&text);
    if let Ok(delta) = VerifiedDelta::verify(
        &text,
        common::root_public(),
        common::NOW,
        &DeltaLimits::default(),
    ) {
        let _ = delta.entries();
        let mut state = BASE.clone();
        let _ = state.apply(&delta);
    }
});
