//! Parses and verifies arbitrary bytes as an SD-JWT (compact or JSON) under both key-binding
//! policies. The property is the absence of panics, aborts, hangs and unbounded allocation;
//! every input must end in `Ok` or a `VerifyError`.
#![no_main]

use std::sync::LazyLock;

use credential::jose::{PublicJwk, SigningKey};
use credential::sd_jwt::{KeyBinding, SdJwt, TypPolicy, VerifyOptions, SD_JWT_VC_RESERVED};
use libfuzzer_sys::fuzz_target;

/// The issuer key of RFC 9901's examples, so inputs seeded from those examples get past the
/// signature check.
const ISSUER_JWK: &str = r#"{"kty":"EC","crv":"P-256","d":"Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}"#;

static ISSUER: LazyLock<PublicJwk> =
    LazyLock::new(|| match SigningKey::from_private_jwk(ISSUER_JWK) {
        Ok(key) => key.public_jwk().clone(),
        Err(e) => panic!("the constant issuer key parses: {e}"),
    });

static OPTIONS: LazyLock<[VerifyOptions; 2]> = LazyLock::new(|| {
    // RFC 9901's examples are bound at this time with this nonce and audience.
    let now = 1_748_537_243;
    let mut required = VerifyOptions::new(
        now,
        KeyBinding::Required {
            nonce: "1234567890".into(),
            aud: "https://verifier.example.org".into(),
            max_age: 300,
        },
    );
    required.reserved_claims = SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect();
    let mut plain = VerifyOptions::new(now, KeyBinding::NotRequired);
    plain.typ = TypPolicy::AnyCredential;
    [required, plain]
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for options in OPTIONS.iter() {
        if let Ok(sd_jwt) = SdJwt::parse(text, &options.limits) {
            let _ = sd_jwt.verify(&*ISSUER, options);
            let _ = sd_jwt.holder_view();
        }
    }
});
