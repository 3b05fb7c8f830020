//! A status list answers only for its own issuer's credentials: it is used for a credential
//! only when signed by a key of the credential's issuer, its `iss` equals the credential's, and
//! its `sub` equals the URI the credential names. A verifier trusting the bureau and a second
//! issuer must not let the second issuer's list (with its own `iss`, or claiming the bureau's)
//! speak for a bureau credential, whatever order the lists arrive in.

use credential::citizen::{Format, Level};
use credential::jose::{Alg, SigningKey};
use credential::status_list::{Bits, StatusList, StatusListToken};
use verifier::{StatusError, StatusStore, TrustStore, TrustedKey, Verifier, VerifierError};

use crate::fixtures::*;

/// The second issuer the hotel also trusts.
const SECOND: &str = "https://second-issuer.example";

struct Fx {
    bureau: Keys,
    second: SigningKey,
    trust: TrustStore,
}

/// The bureau's key bound to the bureau, the second issuer's key bound to the second issuer.
fn fx() -> Fx {
    let bureau = Keys::new(Alg::Es256);
    let second = Keys::new(Alg::EdDsa).issuer;
    let mut trust = TrustStore::new();
    trust.add(TrustedKey {
        issuers: vec![ISSUER.into()],
        ..TrustedKey::new(bureau.issuer.public_jwk().clone())
    });
    trust.add(TrustedKey {
        issuers: vec![SECOND.into()],
        ..TrustedKey::new(second.public_jwk().clone())
    });
    Fx {
        bureau,
        second,
        trust,
    }
}

/// A list token for `sub` naming `iss`, signed with `key` at `iat`; `revoked` sets the
/// credential's entry to 1.
fn list(key: &SigningKey, iss: Option<&str>, sub: &str, iat: i64, revoked: bool) -> String {
    let mut list = StatusList::new(Bits::Two, LIST_LEN).unwrap();
    if revoked {
        list.set(IDX, 1).unwrap();
    }
    StatusListToken {
        sub: sub.to_owned(),
        iat,
        exp: Some(NOW + 86_400),
        ttl: None,
        iss: iss.map(str::to_owned),
        status_list: list,
    }
    .sign(key)
}

/// The bureau's genuine list: the credential is revoked.
fn genuine(f: &Fx, iat: i64) -> String {
    list(&f.bureau.issuer, Some(ISSUER), STATUS_URI, iat, true)
}

/// The second issuer's list for the bureau's URI, with its own `iss`: all valid.
fn foreign(f: &Fx, iat: i64) -> String {
    list(&f.second, Some(SECOND), STATUS_URI, iat, false)
}

/// Loads `tokens` in order (each must load) and verifies a bureau credential in `format`.
fn verify(f: &Fx, tokens: &[String], format: Format) -> Result<(), VerifierError> {
    let mut status = StatusStore::new();
    for t in tokens {
        assert_eq!(
            status.add_token(t, &f.trust, NOW),
            Ok(STATUS_URI.to_owned())
        );
    }
    let verifier = Verifier::new(f.trust.clone(), status, hotel_policy());
    let credential = credential(&f.bureau, &Spec::new(Level::Basic, format));
    verifier
        .verify(
            &hotel_presentation(&credential, &f.bureau, format),
            NONCE,
            AUD,
            NOW,
        )
        .map(|_| ())
}

#[test]
fn another_issuers_list_alone_leaves_the_status_unknown() {
    let f = fx();
    for format in FORMATS {
        let e = verify(&f, &[foreign(&f, NOW - 60)], format).unwrap_err();
        assert_eq!(e, VerifierError::Status(StatusError::Unknown), "{format:?}");
        assert_eq!(e.code(), "status_unknown");
    }
}

#[test]
fn another_issuers_newer_list_loaded_before_the_genuine_one_does_not_win() {
    let f = fx();
    genuine_revocation_decides(&f, &[foreign(&f, NOW - 60), genuine(&f, NOW - 3_600)]);
}

#[test]
fn another_issuers_newer_list_loaded_after_the_genuine_one_does_not_win() {
    let f = fx();
    genuine_revocation_decides(&f, &[genuine(&f, NOW - 3_600), foreign(&f, NOW - 60)]);
}

/// With `tokens` loaded in this order, the genuine list decides, in every format: revoked.
fn genuine_revocation_decides(f: &Fx, tokens: &[String]) {
    for format in FORMATS {
        let e = verify(f, tokens, format).unwrap_err();
        assert_eq!(e, VerifierError::Status(StatusError::Revoked { idx: IDX }));
        assert_eq!(e.code(), "revoked");
    }
}

#[test]
fn another_issuers_list_of_the_same_age_next_to_the_genuine_one_does_not_win() {
    let f = fx();
    for tokens in [
        [genuine(&f, NOW - 60), foreign(&f, NOW - 60)],
        [foreign(&f, NOW - 60), genuine(&f, NOW - 60)],
    ] {
        let e = verify(&f, &tokens, Format::DcSdJwt).unwrap_err();
        assert_eq!(e, VerifierError::Status(StatusError::Revoked { idx: IDX }));
    }
}

#[test]
fn a_list_for_another_uri_is_not_used() {
    let f = fx();
    let elsewhere = "https://citizen-id.example/status/4";
    let token = list(&f.bureau.issuer, Some(ISSUER), elsewhere, NOW - 60, false);
    let mut status = StatusStore::new();
    assert_eq!(
        status.add_token(&token, &f.trust, NOW),
        Ok(elsewhere.to_owned())
    );
    let verifier = Verifier::new(f.trust.clone(), status, hotel_policy());
    let credential = credential(&f.bureau, &Spec::new(Level::Basic, Format::DcSdJwt));
    let e = verifier
        .verify(
            &hotel_presentation(&credential, &f.bureau, Format::DcSdJwt),
            NONCE,
            AUD,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e, VerifierError::Status(StatusError::Unknown));
}

#[test]
fn a_list_signed_by_another_issuers_key_claiming_the_bureaus_iss_is_refused() {
    let f = fx();
    let forged = list(&f.second, Some(ISSUER), STATUS_URI, NOW - 60, false);
    let mut status = StatusStore::new();
    let e = status.add_token(&forged, &f.trust, NOW).unwrap_err();
    assert_eq!(e, StatusError::UnknownListKey);
    assert_eq!(e.code(), "status_list_unknown_key");
    assert!(status.lists().is_empty());
    // Next to the genuine list it changes nothing either.
    let e = verify(&f, &[genuine(&f, NOW - 3_600)], Format::DcSdJwt).unwrap_err();
    assert_eq!(e, VerifierError::Status(StatusError::Revoked { idx: IDX }));
}

#[test]
fn a_list_naming_no_issuer_is_refused() {
    let f = fx();
    let anonymous = list(&f.bureau.issuer, None, STATUS_URI, NOW - 60, false);
    let mut status = StatusStore::new();
    let e = status.add_token(&anonymous, &f.trust, NOW).unwrap_err();
    assert_eq!(e, StatusError::ListIssuerMissing);
    assert_eq!(e.code(), "status_list_issuer_missing");
}

#[test]
fn the_verifier_binary_uses_only_the_credentials_issuers_list_from_status_files() {
    let f = fx();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    // Each issuer's keys bound to it, as JWT VC issuer metadata.
    let metadata = |iss: &str, key: &SigningKey| {
        serde_json::json!({"issuer": iss, "jwks": {"keys": [key.public_jwk().to_value()]}})
            .to_string()
    };
    let bureau = write("bureau.json", &metadata(ISSUER, &f.bureau.issuer));
    let second = write("second.json", &metadata(SECOND, &f.second));
    let genuine = write("genuine.jwt", &genuine(&f, NOW - 3_600));
    let foreign = write("foreign.jwt", &foreign(&f, NOW - 60));
    let policy = write(
        "hotel.toml",
        "required_claims = [\"family_name\", \"given_name\", \"id_number\"]\n",
    );
    let credential = credential(&f.bureau, &Spec::new(Level::Basic, Format::DcSdJwt));
    let presentation = write(
        "presentation.txt",
        &hotel_presentation(&credential, &f.bureau, Format::DcSdJwt),
    );
    let now = NOW.to_string();
    for statuses in [[&foreign, &genuine], [&genuine, &foreign]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(["verify", "--trust", &bureau, "--trust", &second])
            .args(["--status", statuses[0], "--status", statuses[1]])
            .args(["--policy", &policy, "--nonce", NONCE, "--aud", AUD])
            .args(["--now", &now, &presentation])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("rejected: revoked: "), "{stderr}");
    }
}
