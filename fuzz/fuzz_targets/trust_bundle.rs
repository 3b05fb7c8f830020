//! The trust bundle (`trust-bundle+jwt`): arbitrary text to `VerifiedBundle::verify`, and
//! arbitrary payload bytes signed by the pinned root (so the payload, key and status-list
//! checks after the signature are reached). The first byte picks the mode.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use verifier::bundle::{BundleLimits, VerifiedBundle};

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let limits = BundleLimits::default();
    let Some(text) = common::text(*mode, verifier::bundle::TYP, rest) else {
        return;
    };
    if let Ok(bundle) = VerifiedBundle::verify(&text, common::root_public(), common::NOW, &limits) {
        let _ = bundle.check_newer(None);
        let _ = bundle.trust_store();
        let _ = bundle.status_store();
    }
});
