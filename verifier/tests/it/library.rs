//! `Verifier::verify` on real credentials: both forms, both algorithms, the hotel and bank
//! policies, every status outcome, every way of loading trust, and the key-binding rules.
//! Each rejection asserts the exact variant and its code.

use credential::citizen::{Format, Level};
use credential::jose::{sign_compact, Alg, Jws, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, RngSalts, SdJwt, SdJwtBuilder, VerifyError};
use credential::status_list::StatusListError;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Map, Value};
use verifier::{
    Policy, StatusError, StatusOutcome, StatusStore, TrustStore, TrustedKey, VerifiedPresentation,
    Verifier, VerifierError,
};

use crate::fixtures::*;

fn trust(keys: &Keys) -> TrustStore {
    let mut store = TrustStore::new();
    store.add(TrustedKey::new(keys.issuer.public_jwk().clone()));
    store
}

/// A store holding the shard's token, signed by the issuer at `NOW - 3600`, with `entries`.
fn status(keys: &Keys, trust: &TrustStore, entries: &[(u64, u8)]) -> StatusStore {
    let mut store = StatusStore::new();
    let token = status_token(
        &keys.issuer,
        STATUS_URI,
        NOW - 3_600,
        Some(NOW + 86_400),
        entries,
    );
    assert_eq!(store.add_token(&token, trust, NOW).unwrap(), STATUS_URI);
    store
}

fn verifier(keys: &Keys, policy: Policy, entries: &[(u64, u8)]) -> Verifier {
    let trust = trust(keys);
    let status = status(keys, &trust, entries);
    Verifier::new(trust, status, policy)
}

/// The subject's claims: the payload (dc) or its `credentialSubject` (vc).
fn subject(v: &VerifiedPresentation) -> Map<String, Value> {
    match v.format {
        verifier::Format::VcSdJwt => v.claims["credentialSubject"].as_object().cloned().unwrap(),
        _ => v.claims.clone(),
    }
}

fn reject(verifier: &Verifier, presentation: &str) -> VerifierError {
    verifier
        .verify(presentation, NONCE, AUD, NOW)
        .expect_err("presentation must be rejected")
}

fn contains_key_anywhere(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == key || contains_key_anywhere(v, key)),
        Value::Array(items) => items.iter().any(|v| contains_key_anywhere(v, key)),
        _ => false,
    }
}

#[test]
fn hotel_accepts_a_basic_presentation_in_both_forms_and_algorithms() {
    for alg in Alg::ALL {
        let keys = Keys::new(alg);
        let verifier = verifier(&keys, hotel_policy(), &[]);
        for format in FORMATS {
            let credential = credential(&keys, &Spec::new(Level::Basic, format));
            let presentation = hotel_presentation(&credential, &keys, format);
            let v = verifier
                .verify(&presentation, NONCE, AUD, NOW)
                .unwrap_or_else(|e| panic!("{alg:?} {format:?}: {e}"));
            assert_eq!(v.issuer, ISSUER);
            assert_eq!(v.credential_type.as_deref(), Some(Level::Basic.vct()));
            assert_eq!(v.level, Some(Level::Basic));
            assert_eq!(
                v.format,
                match format {
                    Format::DcSdJwt => verifier::Format::DcSdJwt,
                    _ => verifier::Format::VcSdJwt,
                }
            );
            assert_eq!(
                v.status,
                StatusOutcome::Valid {
                    uri: STATUS_URI.into(),
                    idx: IDX,
                    list_issued_at: NOW - 3_600
                }
            );
            assert_eq!(v.disclosed, paths(format, HOTEL_CLAIMS));
            assert_eq!(v.holder_key.as_ref(), Some(keys.holder.public_jwk()));
            let kb = v.key_binding.as_ref().unwrap();
            assert_eq!((kb.nonce.as_str(), kb.aud.as_str()), (NONCE, AUD));
            assert_eq!(kb.iat, NOW - 10);

            let subject = subject(&v);
            let names: Vec<&str> = subject
                .keys()
                .map(String::as_str)
                .filter(|k| HOTEL_CLAIMS.contains(k))
                .collect();
            assert_eq!(names.len(), 3, "{subject:?}");
            assert_eq!(subject["family_name"], "李");
            assert_eq!(subject["given_name"], "雪梅");
            assert_eq!(subject["id_number"], "110105199205179985");
            for hidden in ["birthdate", "sex", "nationality", "age_equal_or_over"] {
                assert!(!subject.contains_key(hidden), "{hidden} leaked");
            }
            let all = Value::Object(v.claims.clone());
            for marker in ["_sd", "_sd_alg", "..."] {
                assert!(!contains_key_anywhere(&all, marker), "{marker} left in");
            }
        }
    }
}

#[test]
fn bank_rejects_basic_with_level_too_low_and_accepts_high() {
    for alg in Alg::ALL {
        let keys = Keys::new(alg);
        let verifier = verifier(&keys, bank_policy(), &[]);
        for format in FORMATS {
            let basic = credential(&keys, &Spec::new(Level::Basic, format));
            let e = reject(&verifier, &hotel_presentation(&basic, &keys, format));
            assert_eq!(
                e,
                VerifierError::LevelTooLow {
                    found: Level::Basic,
                    required: Level::High
                }
            );
            assert_eq!(e.code(), "level_too_low");

            let high = credential(&keys, &Spec::new(Level::High, format));
            let v = verifier
                .verify(&hotel_presentation(&high, &keys, format), NONCE, AUD, NOW)
                .unwrap_or_else(|e| panic!("{alg:?} {format:?}: {e}"));
            assert_eq!(v.level, Some(Level::High));
            assert_eq!(v.credential_type.as_deref(), Some(Level::High.vct()));
            // Only what was asked for, even from a high credential.
            let subject = subject(&v);
            assert!(!subject.contains_key("address"));
            assert!(!subject.contains_key("portrait"));
        }
    }
}

#[test]
fn missing_required_claim() {
    let keys = Keys::new(Alg::Es256);
    let verifier = verifier(&keys, hotel_policy(), &[]);
    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::Basic, format));
        let presentation = present_at(
            &credential,
            &keys,
            format,
            &["family_name", "given_name"],
            NONCE,
            AUD,
            NOW - 10,
        );
        let e = reject(&verifier, &presentation);
        assert_eq!(
            e,
            VerifierError::MissingRequiredClaim {
                path: "id_number".into()
            }
        );
        assert_eq!(e.code(), "missing_required_claim");
    }
}

#[test]
fn nested_required_claim() {
    let keys = Keys::new(Alg::Es256);
    let policy = Policy::from_toml(
        "min_level = \"high\"\nrequired_claims = [\"id_number\", \"address.locality\"]\n",
    )
    .unwrap();
    let verifier = verifier(&keys, policy, &[]);
    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::High, format));
        let with = present_at(
            &credential,
            &keys,
            format,
            &["id_number", "address.locality"],
            NONCE,
            AUD,
            NOW - 10,
        );
        let v = verifier.verify(&with, NONCE, AUD, NOW).unwrap();
        // The address object holds the one member asked for.
        assert_eq!(subject(&v)["address"], json!({"locality": "朝阳区"}));
        let without = present_at(
            &credential,
            &keys,
            format,
            &["id_number", "address.region"],
            NONCE,
            AUD,
            NOW - 10,
        );
        assert_eq!(
            reject(&verifier, &without),
            VerifierError::MissingRequiredClaim {
                path: "address.locality".into()
            }
        );
    }
}

/// A library card issued with the generic builder: `typ: dc+sd-jwt`, another `vct`.
fn library_card(keys: &Keys) -> String {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let claims = json!({
        "iss": ISSUER,
        "iat": IAT,
        "exp": EXP,
        "vct": "urn:example:library-card:1",
        "cnf": {"jwk": keys.holder.public_jwk().to_bare_value()},
        "member_name": "李雪梅",
        "card_number": "LIB-0042",
    });
    let issued = SdJwtBuilder::new(claims.as_object().cloned().unwrap())
        .typ("dc+sd-jwt")
        .disclosable(&ClaimPath::keys(["member_name"]))
        .disclosable(&ClaimPath::keys(["card_number"]))
        .decoys(2, 2)
        .issue(&keys.issuer, &mut RngSalts(&mut rng))
        .unwrap();
    let selected = SdJwt::parse(&issued.to_compact(), &Default::default())
        .unwrap()
        .select(&[ClaimPath::keys(["member_name"])])
        .unwrap();
    add_key_binding(&selected, &keys.holder, NONCE, AUD, NOW - 10)
}

#[test]
fn unaccepted_type_and_the_generic_policy() {
    let keys = Keys::new(Alg::Es256);
    let presentation = library_card(&keys);

    let hotel = verifier(&keys, hotel_policy(), &[]);
    let e = reject(&hotel, &presentation);
    assert_eq!(
        e,
        VerifierError::UnacceptedType {
            found: Some("urn:example:library-card:1".into())
        }
    );
    assert_eq!(e.code(), "unaccepted_type");

    let generic = verifier(
        &keys,
        Policy {
            generic: true,
            ..Policy::default()
        },
        &[],
    );
    let v = generic.verify(&presentation, NONCE, AUD, NOW).unwrap();
    assert_eq!(
        v.credential_type.as_deref(),
        Some("urn:example:library-card:1")
    );
    assert_eq!(v.level, None);
    assert_eq!(v.format, verifier::Format::DcSdJwt);
    assert_eq!(v.status, StatusOutcome::NoStatus);
    assert_eq!(v.claims["member_name"], "李雪梅");
    assert!(!v.claims.contains_key("card_number"));
}

#[test]
fn status_values_in_both_forms() {
    for alg in Alg::ALL {
        let keys = Keys::new(alg);
        for format in FORMATS {
            let credential = credential(&keys, &Spec::new(Level::Basic, format));
            let presentation = hotel_presentation(&credential, &keys, format);
            // The vc form's two BitstringStatusListEntry map onto the same shard token.
            let revoked = verifier(&keys, hotel_policy(), &[(IDX, 1)]);
            let e = reject(&revoked, &presentation);
            assert_eq!(e, VerifierError::Status(StatusError::Revoked { idx: IDX }));
            assert_eq!(e.code(), "revoked");

            let suspended = verifier(&keys, hotel_policy(), &[(IDX, 2)]);
            let e = reject(&suspended, &presentation);
            assert_eq!(
                e,
                VerifierError::Status(StatusError::Suspended { idx: IDX })
            );
            assert_eq!(e.code(), "suspended");

            let other = verifier(&keys, hotel_policy(), &[(IDX, 3)]);
            let e = reject(&other, &presentation);
            assert_eq!(
                e,
                VerifierError::Status(StatusError::NotValid { idx: IDX, value: 3 })
            );
            assert_eq!(e.code(), "status_not_valid");

            // Neighbours revoked, this entry 0: valid.
            let valid = verifier(&keys, hotel_policy(), &[(IDX - 1, 1), (IDX + 1, 2)]);
            let v = valid.verify(&presentation, NONCE, AUD, NOW).unwrap();
            assert!(matches!(v.status, StatusOutcome::Valid { idx: IDX, .. }));
        }
    }
}

#[test]
fn status_list_older_than_policy_is_too_old() {
    let keys = Keys::new(Alg::Es256);
    let trust = trust(&keys);
    let mut status = StatusStore::new();
    let five_hours = 5 * 3_600;
    let token = status_token(&keys.issuer, STATUS_URI, NOW - five_hours, None, &[]);
    status.add_token(&token, &trust, NOW).unwrap();
    let verifier = Verifier::new(trust, status, bank_policy());
    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::High, format));
        let e = reject(&verifier, &hotel_presentation(&credential, &keys, format));
        assert_eq!(
            e,
            VerifierError::Status(StatusError::TooOld {
                age_seconds: five_hours,
                max_seconds: 14_400
            })
        );
        assert_eq!(e.code(), "status_too_old");
    }
}

#[test]
fn status_list_expired_after_it_was_loaded() {
    let keys = Keys::new(Alg::Es256);
    let trust = trust(&keys);
    let mut status = StatusStore::new();
    let token = status_token(&keys.issuer, STATUS_URI, NOW - 600, Some(NOW + 600), &[]);
    status.add_token(&token, &trust, NOW).unwrap();
    let verifier = Verifier::new(trust, status, hotel_policy());
    let later = NOW + 3_600;
    let credential = credential(&keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let presentation = present_at(
        &credential,
        &keys,
        Format::DcSdJwt,
        HOTEL_CLAIMS,
        NONCE,
        AUD,
        later - 10,
    );
    let e = verifier
        .verify(&presentation, NONCE, AUD, later)
        .unwrap_err();
    assert_eq!(e, VerifierError::Status(StatusError::ListExpired));
    assert_eq!(e.code(), "status_list_expired");
    // An already expired token is refused when loading.
    let mut fresh = StatusStore::new();
    assert!(matches!(
        fresh.add_token(&token, &verifier.trust, later),
        Err(StatusError::List(StatusListError::Expired { .. }))
    ));
}

#[test]
fn unknown_status_list_fails_closed_unless_policy_allows() {
    let keys = Keys::new(Alg::Es256);
    for format in FORMATS {
        let mut spec = Spec::new(Level::Basic, format);
        spec.status = Some(("https://citizen-id.example/status/9".into(), 5));
        let credential = credential(&keys, &spec);
        let presentation = hotel_presentation(&credential, &keys, format);

        let strict = verifier(&keys, hotel_policy(), &[]);
        let e = reject(&strict, &presentation);
        assert_eq!(e, VerifierError::Status(StatusError::Unknown));
        assert_eq!(e.code(), "status_unknown");

        let lenient = verifier(
            &keys,
            Policy {
                require_status: false,
                ..hotel_policy()
            },
            &[],
        );
        let v = lenient.verify(&presentation, NONCE, AUD, NOW).unwrap();
        assert_eq!(
            v.status,
            StatusOutcome::Unchecked {
                uri: "https://citizen-id.example/status/9".into()
            }
        );
    }
}

/// A credential without a status reference, valid from `days_before` days before `NOW` for
/// `days` days, shown to the hotel.
fn unrevocable(keys: &Keys, format: Format, days_before: i64, days: i64) -> String {
    let mut spec = Spec::new(Level::Basic, format);
    spec.status = None;
    spec.issued_at = NOW - days_before * 86_400;
    spec.expires_at = spec.issued_at + days * 86_400;
    hotel_presentation(&credential(keys, &spec), keys, format)
}

/// The hotel policy, accepting short-lived credentials without a status reference.
fn short_lived_policy() -> Policy {
    Policy {
        accept_short_lived_without_status: true,
        ..hotel_policy()
    }
}

#[test]
fn a_credential_that_can_never_be_revoked_is_refused_when_status_is_required() {
    let keys = Keys::new(Alg::Es256);
    let verifier = verifier(&keys, hotel_policy(), &[]);
    for format in FORMATS {
        // Five years without a status reference.
        let mut spec = Spec::new(Level::Basic, format);
        spec.status = None;
        let credential = credential(&keys, &spec);
        let e = reject(&verifier, &hotel_presentation(&credential, &keys, format));
        assert_eq!(e, VerifierError::Status(StatusError::ReferenceMissing));
        assert_eq!(e.code(), "status_reference_missing");
        // Short-lived too: this policy does not accept those without status.
        let e = reject(&verifier, &unrevocable(&keys, format, 1, 3));
        assert_eq!(e, VerifierError::Status(StatusError::ReferenceMissing));
    }
}

#[test]
fn a_short_lived_credential_without_status_passes_a_policy_that_accepts_them() {
    let keys = Keys::new(Alg::Es256);
    let verifier = verifier(&keys, short_lived_policy(), &[]);
    for format in FORMATS {
        let v = verifier
            .verify(&unrevocable(&keys, format, 1, 3), NONCE, AUD, NOW)
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(v.status, StatusOutcome::NoStatus);
    }
}

#[test]
fn a_credential_without_status_valid_past_72_hours_is_not_short_lived() {
    let keys = Keys::new(Alg::Es256);
    let verifier = verifier(&keys, short_lived_policy(), &[]);
    for format in FORMATS {
        let e = reject(&verifier, &unrevocable(&keys, format, 1, 4));
        assert_eq!(
            e,
            VerifierError::Status(StatusError::NotShortLived {
                validity_seconds: 4 * 86_400,
                max_seconds: 72 * 3_600
            })
        );
        assert_eq!(e.code(), "status_reference_missing_not_short_lived");
    }
}

#[test]
fn policies_without_required_status_or_generic_accept_a_credential_without_status() {
    let keys = Keys::new(Alg::Es256);
    for policy in [
        Policy {
            require_status: false,
            ..hotel_policy()
        },
        Policy {
            generic: true,
            ..hotel_policy()
        },
    ] {
        let verifier = verifier(&keys, policy, &[]);
        let v = verifier
            .verify(
                &unrevocable(&keys, Format::DcSdJwt, 30, 1_000),
                NONCE,
                AUD,
                NOW,
            )
            .unwrap();
        assert_eq!(v.status, StatusOutcome::NoStatus);
    }
}

#[test]
fn the_shipped_hotel_profile_accepts_short_lived_credentials_and_the_bank_profile_does_not() {
    let load = |name: &str| {
        let path = root().join(format!("verifier/profiles/{name}.toml"));
        Policy::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (hotel, bank) = (load("hotel"), load("bank"));
    assert!(hotel.require_status && hotel.accept_short_lived_without_status);
    assert_eq!(
        hotel.short_lived_max_validity,
        std::time::Duration::from_secs(72 * 3_600)
    );
    assert!(bank.require_status && !bank.accept_short_lived_without_status);
}

#[test]
fn status_index_out_of_range() {
    let keys = Keys::new(Alg::Es256);
    let verifier = verifier(&keys, hotel_policy(), &[]);
    for format in FORMATS {
        let mut spec = Spec::new(Level::Basic, format);
        spec.status = Some((STATUS_URI.into(), LIST_LEN));
        let credential = credential(&keys, &spec);
        let e = reject(&verifier, &hotel_presentation(&credential, &keys, format));
        assert_eq!(
            e,
            VerifierError::Status(StatusError::List(StatusListError::IndexOutOfRange {
                idx: LIST_LEN,
                len: LIST_LEN
            }))
        );
        assert_eq!(e.code(), "index_out_of_range");
    }
}

#[test]
fn status_token_signed_by_an_untrusted_key_is_refused() {
    let keys = Keys::new(Alg::Es256);
    let other = Keys::new(Alg::EdDsa);
    let token = status_token(&other.issuer, STATUS_URI, NOW - 60, None, &[]);
    let mut store = StatusStore::new();
    let e = store.add_token(&token, &trust(&keys), NOW).unwrap_err();
    assert_eq!(e, StatusError::UnknownListKey);
    assert_eq!(e.code(), "status_list_unknown_key");
}

#[test]
fn status_token_key_is_bound_to_its_issuer_and_window() {
    let keys = Keys::new(Alg::Es256);
    let did = TrustStore::from_json(&did_document(&keys).to_string()).unwrap();
    let signed = |sub: &str, iss: Option<&str>, iat: i64| {
        let mut token = credential::status_list::StatusListToken {
            sub: sub.into(),
            iat,
            exp: None,
            ttl: None,
            iss: iss.map(str::to_owned),
            status_list: credential::status_list::StatusList::new(
                credential::status_list::Bits::Two,
                LIST_LEN,
            )
            .unwrap(),
        };
        token.status_list.set(IDX, 1).unwrap();
        token.sign(&keys.issuer)
    };
    // Naming an issuer the key is bound to: loaded, wherever the list lives.
    for (sub, iss) in [
        (STATUS_URI, "did:web:citizen-id.example"),
        (STATUS_URI, ISSUER),
        ("https://cdn.example/lists/3", ISSUER),
    ] {
        let mut store = StatusStore::new();
        assert_eq!(
            store.add_token(&signed(sub, Some(iss), NOW - 60), &did, NOW),
            Ok(sub.to_owned()),
            "{sub} {iss:?}"
        );
    }
    // Naming another issuer: not this key's to sign, whatever the URI.
    for sub in [STATUS_URI, "https://bank.example/status/3"] {
        let mut store = StatusStore::new();
        assert_eq!(
            store.add_token(
                &signed(sub, Some("https://bank.example"), NOW - 60),
                &did,
                NOW
            ),
            Err(StatusError::UnknownListKey),
            "{sub}"
        );
    }
    // A key retired before the list was issued does not vouch for it.
    let mut retired = TrustStore::new();
    retired.add(TrustedKey {
        not_after: Some(NOW - 3_600),
        ..TrustedKey::new(keys.issuer.public_jwk().clone())
    });
    let mut store = StatusStore::new();
    assert_eq!(
        store.add_token(&signed(STATUS_URI, Some(ISSUER), NOW - 60), &retired, NOW),
        Err(StatusError::UnknownListKey)
    );
    assert_eq!(
        store.add_token(
            &signed(STATUS_URI, Some(ISSUER), NOW - 7_200),
            &retired,
            NOW
        ),
        Ok(STATUS_URI.to_owned())
    );
}

#[test]
fn unknown_issuer_key() {
    let keys = Keys::new(Alg::Es256);
    let stranger = Keys::new(Alg::EdDsa);
    let verifier = verifier(&keys, hotel_policy(), &[]);
    for format in FORMATS {
        let credential = credential(&stranger, &Spec::new(Level::Basic, format));
        let e = reject(
            &verifier,
            &hotel_presentation(&credential, &stranger, format),
        );
        assert_eq!(e, VerifierError::Credential(VerifyError::UnknownIssuerKey));
        assert_eq!(e.code(), "unknown_issuer_key");
    }
}

/// The credential re-signed with another `kid` in its header (same payload, same disclosures).
fn with_kid(credential: &str, key: &SigningKey, kid: &str) -> String {
    let (jwt, rest) = credential.split_once('~').unwrap();
    let jws = Jws::parse(jwt).unwrap();
    let mut header = Map::new();
    header.insert("typ".into(), json!(jws.header().typ.clone().unwrap()));
    header.insert("kid".into(), json!(kid));
    format!("{}~{rest}", sign_compact(header, jws.payload(), key))
}

fn did_document(keys: &Keys) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": "did:web:citizen-id.example",
        "verificationMethod": [
            {
                "id": "did:web:citizen-id.example#old",
                "type": "JsonWebKey2020",
                "controller": "did:web:citizen-id.example",
                "publicKeyJwk": Keys::new(Alg::EdDsa).issuer.public_jwk().to_bare_value()
            },
            {
                "id": "did:web:citizen-id.example#key-1",
                "type": "JsonWebKey2020",
                "controller": "did:web:citizen-id.example",
                "publicKeyJwk": keys.issuer.public_jwk().to_bare_value()
            }
        ],
        "assertionMethod": ["did:web:citizen-id.example#key-1"]
    })
}

#[test]
fn trust_from_a_did_web_document() {
    let keys = Keys::new(Alg::Es256);
    let trust = TrustStore::from_json(&did_document(&keys).to_string()).unwrap();
    assert_eq!(trust.keys().len(), 2);
    assert_eq!(trust.keys()[1].jwk.kid(), Some("key-1"));
    assert_eq!(
        trust.keys()[1].issuers,
        vec![
            "did:web:citizen-id.example".to_owned(),
            "https://citizen-id.example".to_owned()
        ]
    );
    // The shard's token, signed by the same key (its kid is the thumbprint), loads.
    let mut status = StatusStore::new();
    let token = status_token(&keys.issuer, STATUS_URI, NOW - 60, None, &[(IDX, 1)]);
    status.add_token(&token, &trust, NOW).unwrap();
    let verifier = Verifier::new(trust, status, hotel_policy());

    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::Basic, format));
        let mut unrevoked = Spec::new(Level::Basic, format);
        unrevoked.status = Some((STATUS_URI.into(), IDX + 1));
        let good = crate::fixtures::credential(&keys, &unrevoked);
        // kid = the RFC 7638 thumbprint (what the issuer writes).
        verifier
            .verify(&hotel_presentation(&good, &keys, format), NONCE, AUD, NOW)
            .unwrap();
        // kid = the DID URL of the verification method.
        let by_did_url = with_kid(&good, &keys.issuer, "did:web:citizen-id.example#key-1");
        let v = verifier
            .verify(
                &hotel_presentation(&by_did_url, &keys, format),
                NONCE,
                AUD,
                NOW,
            )
            .unwrap();
        assert_eq!(v.issuer, ISSUER);
        // A kid naming the other method finds a key that did not sign.
        let wrong = with_kid(&good, &keys.issuer, "did:web:citizen-id.example#old");
        assert_eq!(
            reject(&verifier, &hotel_presentation(&wrong, &keys, format)),
            VerifierError::Credential(VerifyError::IssuerSignature)
        );
        // A kid naming no method.
        let nowhere = with_kid(&good, &keys.issuer, "did:web:citizen-id.example#key-9");
        assert_eq!(
            reject(&verifier, &hotel_presentation(&nowhere, &keys, format)),
            VerifierError::Credential(VerifyError::UnknownIssuerKey)
        );
        // The revocation in the token is seen through DID trust.
        assert_eq!(
            reject(&verifier, &hotel_presentation(&credential, &keys, format)),
            VerifierError::Status(StatusError::Revoked { idx: IDX })
        );
    }
}

#[test]
fn did_key_is_bound_to_its_issuer() {
    let keys = Keys::new(Alg::Es256);
    let trust = TrustStore::from_json(&did_document(&keys).to_string()).unwrap();
    let verifier = Verifier::new(
        trust,
        StatusStore::new(),
        Policy {
            require_status: false,
            ..hotel_policy()
        },
    );
    // Same key, but the credential claims another issuer: the DID does not vouch for it.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let claims = claims(Level::Basic);
    let request = credential::citizen::IssueRequest {
        claims: &claims,
        level: Level::Basic,
        format: Format::DcSdJwt,
        issuer: "https://impostor.example",
        holder: keys.holder.public_jwk(),
        status: None,
        issued_at: IAT,
        expires_at: EXP,
    };
    let credential = credential::citizen::issue(&request, &keys.issuer, &mut rng).unwrap();
    let e = reject(
        &verifier,
        &hotel_presentation(&credential, &keys, Format::DcSdJwt),
    );
    assert_eq!(e, VerifierError::Credential(VerifyError::UnknownIssuerKey));
}

#[test]
fn trust_from_a_jwks_and_from_issuer_metadata() {
    let keys = Keys::new(Alg::EdDsa);
    let decoy = Keys::new(Alg::Es256);
    let jwks = json!({"keys": [
        decoy.issuer.public_jwk().to_value(),
        keys.issuer.public_jwk().to_value(),
    ]});
    let metadata = json!({"issuer": ISSUER, "jwks": jwks.clone()});
    for document in [jwks, metadata] {
        let trust = TrustStore::from_json(&document.to_string()).unwrap();
        assert_eq!(trust.keys().len(), 2);
        let mut status = StatusStore::new();
        let token = status_token(&keys.issuer, STATUS_URI, NOW - 60, None, &[]);
        status.add_token(&token, &trust, NOW).unwrap();
        let verifier = Verifier::new(trust, status, hotel_policy());
        for format in FORMATS {
            let credential = credential(&keys, &Spec::new(Level::Basic, format));
            let v = verifier
                .verify(
                    &hotel_presentation(&credential, &keys, format),
                    NONCE,
                    AUD,
                    NOW,
                )
                .unwrap_or_else(|e| panic!("{document} {format:?}: {e}"));
            assert!(matches!(v.status, StatusOutcome::Valid { .. }));
        }
    }
}

#[test]
fn retired_key_window_against_issuance_time() {
    for alg in Alg::ALL {
        let keys = Keys::new(alg);
        for format in FORMATS {
            let credential = credential(&keys, &Spec::new(Level::Basic, format));
            let presentation = hotel_presentation(&credential, &keys, format);
            let with_window = |not_before: Option<i64>, not_after: Option<i64>| {
                let mut trust = TrustStore::new();
                trust.add(TrustedKey {
                    not_before,
                    not_after,
                    ..TrustedKey::new(keys.issuer.public_jwk().clone())
                });
                let mut status = StatusStore::new();
                let token = status_token(&keys.issuer, STATUS_URI, NOW - 60, None, &[]);
                // The list is checked against its own iat; keep that inside the window.
                let _ = status.add_token(&token, &trust, NOW);
                Verifier::new(
                    trust,
                    status,
                    Policy {
                        require_status: false,
                        ..hotel_policy()
                    },
                )
            };
            // Retired the second before this credential was issued.
            let retired = with_window(Some(IAT - 1_000 * 86_400), Some(IAT - 1));
            let e = reject(&retired, &presentation);
            assert_eq!(
                e,
                VerifierError::Credential(VerifyError::IssuerKeyNotValidAtIssuance),
                "{alg:?} {format:?}"
            );
            assert_eq!(e.code(), "issuer_key_not_valid");
            // Not yet in service when it was issued.
            let future = with_window(Some(IAT + 1), None);
            assert_eq!(
                reject(&future, &presentation),
                VerifierError::Credential(VerifyError::IssuerKeyNotValidAtIssuance),
                "{alg:?} {format:?}"
            );
            // Retired since, but the credential was issued inside the window: still valid.
            let since = with_window(Some(IAT - 86_400), Some(IAT));
            since
                .verify(&presentation, NONCE, AUD, NOW)
                .unwrap_or_else(|e| panic!("{alg:?} {format:?}: {e}"));
        }
    }
}

#[test]
fn key_binding_is_required_by_policy_not_by_presence() {
    let keys = Keys::new(Alg::Es256);
    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::Basic, format));
        let no_kb = select(&credential, format, HOTEL_CLAIMS);

        let hotel = verifier(&keys, hotel_policy(), &[]);
        let e = reject(&hotel, &no_kb);
        assert_eq!(e, VerifierError::Credential(VerifyError::KeyBindingMissing));
        assert_eq!(e.code(), "key_binding_missing");

        let relaxed = verifier(
            &keys,
            Policy {
                key_binding: false,
                ..hotel_policy()
            },
            &[],
        );
        let v = relaxed.verify(&no_kb, "", "", NOW).unwrap();
        assert_eq!(v.key_binding, None);
        assert_eq!(v.holder_key.as_ref(), Some(keys.holder.public_jwk()));
        assert_eq!(subject(&v)["id_number"], "110105199205179985");

        // A KB-JWT stripped from a presentation (the trailing `~` kept) is missing too.
        let full = hotel_presentation(&credential, &keys, format);
        let stripped = &full[..=full.rfind('~').unwrap()];
        assert_eq!(
            reject(&hotel, stripped),
            VerifierError::Credential(VerifyError::KeyBindingMissing)
        );
    }
}

#[test]
fn wrong_nonce_audience_and_stale_key_binding() {
    let keys = Keys::new(Alg::EdDsa);
    let verifier = verifier(&keys, hotel_policy(), &[]);
    for format in FORMATS {
        let credential = credential(&keys, &Spec::new(Level::Basic, format));
        let presentation = hotel_presentation(&credential, &keys, format);

        let e = verifier
            .verify(&presentation, "n-other", AUD, NOW)
            .unwrap_err();
        assert_eq!(e, VerifierError::Credential(VerifyError::NonceMismatch));
        assert_eq!(e.code(), "nonce_mismatch");

        let e = verifier
            .verify(&presentation, NONCE, "https://bank.example", NOW)
            .unwrap_err();
        assert_eq!(e, VerifierError::Credential(VerifyError::AudienceMismatch));
        assert_eq!(e.code(), "audience_mismatch");

        let old = present_at(
            &credential,
            &keys,
            format,
            HOTEL_CLAIMS,
            NONCE,
            AUD,
            NOW - 3_600,
        );
        let e = reject(&verifier, &old);
        assert_eq!(e, VerifierError::Credential(VerifyError::KbStale));
        assert_eq!(e.code(), "kb_stale");
    }
}

#[test]
fn expired_credential_and_audit_time() {
    let keys = Keys::new(Alg::Es256);
    for format in FORMATS {
        let mut spec = Spec::new(Level::Basic, format);
        spec.expires_at = IAT + 30 * 86_400;
        let credential = credential(&keys, &spec);
        let presentation = hotel_presentation(&credential, &keys, format);
        let verifier = verifier(&keys, hotel_policy(), &[]);
        let e = reject(&verifier, &presentation);
        assert_eq!(e, VerifierError::Credential(VerifyError::Expired));
        assert_eq!(e.code(), "expired");
    }
}

#[test]
fn a_retired_key_window_published_in_jwt_vc_issuer_metadata_is_honoured() {
    let keys = Keys::new(Alg::Es256);
    let mut jwk = keys.issuer.public_jwk().to_value();
    jwk["not_before"] = json!(IAT - 86_400);
    jwk["not_after"] = json!(IAT + 3_600);
    jwk["last_credential_expiry"] = json!(NOW + 30 * 86_400);
    let metadata = json!({"issuer": ISSUER, "jwks": {"keys": [jwk]}});
    let trust = TrustStore::from_json(&metadata.to_string()).unwrap();
    let policy = Policy {
        require_status: false,
        ..hotel_policy()
    };
    let verifier = Verifier::new(trust, StatusStore::new(), policy);
    // Expiring by the key's last credential expiry: the key's own.
    let mut spec = Spec::new(Level::Basic, Format::DcSdJwt);
    spec.expires_at = NOW + 10 * 86_400;
    let ok = credential(&keys, &spec);
    verifier
        .verify(
            &hotel_presentation(&ok, &keys, Format::DcSdJwt),
            NONCE,
            AUD,
            NOW,
        )
        .unwrap();
    // Dated inside the window but expiring in 2031: a forgery with the retired key.
    let forged = credential(&keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let e = reject(
        &verifier,
        &hotel_presentation(&forged, &keys, Format::DcSdJwt),
    );
    assert_eq!(
        e,
        VerifierError::OutlivesKey {
            last_credential_expiry: NOW + 30 * 86_400
        }
    );
    assert_eq!(e.code(), "credential_outlives_key");
}
