//! The desk's operations on the host, with real keys: a root-signed trust bundle, a credential
//! issued by `credential::citizen::issue`, the wallet's answer with a KB-JWT for the desk's
//! request. One test per rejection path, asserting the exact code.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt};
use credential::status_list::StatusReference;
use issuer::domain::keys::KeyWithdrawal;
use issuer::service::trust::{sign_trust_bundle, BundleContents};
use issuer::service::withdraw::sign_key_withdrawals;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use testkit::{now, status_token};
use verifier::request::PresentationRequest;
use verifier_wasm::desk::{self, Desk, DeskError, Pending};

const ISS: &str = "https://bureau.example.cn";
const STATUS_URI: &str = "https://bureau.example.cn/status/0";
const CLAIMS: &str = include_str!("../../../examples/claims/citizen-high.json");

struct Bureau {
    root: SigningKey,
    key: SigningKey,
    holder: SigningKey,
    credential: String,
}

impl Bureau {
    fn new() -> Bureau {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let root = SigningKey::generate(Alg::Es256, &mut rng);
        let key = SigningKey::generate(Alg::Es256, &mut rng);
        let holder = SigningKey::generate(Alg::Es256, &mut rng);
        let claims = CitizenClaims::from_json(CLAIMS, Level::High).unwrap();
        let t = now();
        let credential = issue(
            &IssueRequest {
                claims: &claims,
                level: Level::High,
                format: Format::DcSdJwt,
                issuer: ISS,
                holder: holder.public_jwk(),
                status: Some(&StatusReference {
                    idx: 77,
                    uri: STATUS_URI.into(),
                }),
                issued_at: t,
                expires_at: t + 86_400,
            },
            &key,
            &mut rng,
        )
        .unwrap();
        Bureau {
            root,
            key,
            holder,
            credential,
        }
    }

    fn root_jwk(&self) -> String {
        self.root.public_jwk().to_bare_value().to_string()
    }

    /// A bundle issued at `issued_at`, entry 77 revoked or not.
    fn bundle(&self, issued_at: i64, revoked: bool) -> String {
        let token = status_token(
            &self.key,
            (STATUS_URI, ISS),
            (issued_at, issued_at + 86_400),
            77,
            revoked,
        );
        let keys = [
            json!({"kid": self.key.kid(), "alg": "ES256", "state": "active",
            "not_before": issued_at - 86_400, "not_after": null, "last_credential_expiry": null,
            "jwk": self.key.public_jwk().to_value()}),
        ];
        sign_trust_bundle(
            &self.root,
            &BundleContents {
                iss: ISS,
                issued_at,
                next_update: issued_at + 3600,
                keys: &keys,
                status_lists: &[(0, STATUS_URI.into(), token)],
                status_seq: None,
            },
        )
    }

    /// The root-signed notice withdrawing the credential key (every credential it signed).
    fn withdrawal(&self, issued_at: i64) -> String {
        let entry = KeyWithdrawal {
            kid: self.key.kid().to_owned(),
            since: None,
            withdrawn_at: issued_at,
        };
        sign_key_withdrawals(&self.root, ISS, issued_at, &[entry])
    }

    /// The wallet's answer to `uri`: the requested claims with a KB-JWT for it.
    fn answer(&self, uri: &str) -> String {
        let request = PresentationRequest::from_uri(uri).unwrap();
        let paths: Vec<ClaimPath> = request.dcql_query["credentials"][0]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| ClaimPath::from_json(&c["path"]).unwrap())
            .collect();
        let selected = SdJwt::parse(&self.credential, &Limits::default())
            .unwrap()
            .select(&paths)
            .unwrap();
        add_key_binding(
            &selected,
            &self.holder,
            &request.nonce,
            &request.client_id,
            now(),
        )
    }
}

fn synced(b: &Bureau, revoked: bool) -> Desk {
    let mut desk = Desk::pin(desk::parse_root(&b.root_jwk()).unwrap());
    desk.sync(&b.bundle(now() - 60, revoked), now()).unwrap();
    desk
}

fn claim(v: &desk::Verdict, path: &str) -> Value {
    v.claims
        .iter()
        .find(|c| c["path"] == path)
        .map(|c| c["value"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn an_answer_to_the_desks_request_is_accepted_once() {
    let b = Bureau::new();
    let desk = synced(&b, false);
    let made = Desk::request("hotel", now()).unwrap();
    assert!(made.svg.starts_with("<?xml") || made.svg.starts_with("<svg"));
    let answer = b.answer(&made.uri);
    let mut pending = vec![made.pending.clone()];
    let v = desk.verify(&answer, &pending, now());
    assert!(v.accepted, "{:?}", v.error);
    assert_eq!(v.consume.as_deref(), Some(made.pending.nonce.as_str()));
    assert_eq!(claim(&v, "id_number"), json!("110105199205179985"));
    assert_eq!(claim(&v, "family_name"), json!("李"));
    assert!(v.revocation_age_seconds.unwrap() >= 60);
    assert_eq!(v.credentials[0]["level"], "high");

    pending.retain(|p| Some(&p.nonce) != v.consume.as_ref());
    let again = desk.verify(&answer, &pending, now());
    assert!(!again.accepted);
    assert_eq!(again.error.as_deref(), Some(desk::NONCE_UNKNOWN));
}

#[test]
fn a_revoked_credential_is_refused_and_the_nonce_used_up() {
    let b = Bureau::new();
    let desk = synced(&b, true);
    let made = Desk::request("hotel", now()).unwrap();
    let v = desk.verify(
        &b.answer(&made.uri),
        std::slice::from_ref(&made.pending),
        now(),
    );
    assert!(!v.accepted);
    assert_eq!(v.error.as_deref(), Some("revoked"));
    assert_eq!(v.consume.as_deref(), Some(made.pending.nonce.as_str()));
}

#[test]
fn an_answer_after_the_request_expired_is_refused_and_forgotten() {
    let b = Bureau::new();
    let desk = synced(&b, false);
    let made = Desk::request("hotel", now()).unwrap();
    let late = Pending {
        expires_at: now() - 1,
        ..made.pending.clone()
    };
    let v = desk.verify(&b.answer(&made.uri), &[late], now());
    assert_eq!(v.error.as_deref(), Some("request_expired"));
    assert_eq!(v.consume.as_deref(), Some(made.pending.nonce.as_str()));
}

#[test]
fn a_forged_answer_is_refused_and_leaves_the_request_open() {
    let b = Bureau::new();
    let desk = synced(&b, false);
    let made = Desk::request("hotel", now()).unwrap();
    let answer = b.answer(&made.uri);
    // Another key signs the KB-JWT: someone who saw the QR code, not the holder.
    let thief = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(7));
    let selected = &answer[..=answer.rfind('~').unwrap()];
    let forged = add_key_binding(
        selected,
        &thief,
        &made.pending.nonce,
        &made.pending.client_id,
        now(),
    );
    let v = desk.verify(&forged, std::slice::from_ref(&made.pending), now());
    assert_eq!(v.error.as_deref(), Some("kb_signature"));
    assert_eq!(v.consume, None);
}

#[test]
fn verifying_before_any_sync_is_refused() {
    let b = Bureau::new();
    let desk = Desk::pin(desk::parse_root(&b.root_jwk()).unwrap());
    let made = Desk::request("hotel", now()).unwrap();
    let v = desk.verify(&b.answer(&made.uri), &[made.pending], now());
    assert_eq!(v.error.as_deref(), Some("no_trust_state"));
}

#[test]
fn a_bundle_signed_by_another_root_is_refused_and_the_state_kept() {
    let b = Bureau::new();
    let mut desk = synced(&b, false);
    let t = now();
    let before = desk.info(t);
    let other = Bureau {
        root: SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(99)),
        key: SigningKey::from_private_jwk(&b.key.to_private_jwk()).unwrap(),
        holder: SigningKey::from_private_jwk(&b.holder.to_private_jwk()).unwrap(),
        credential: b.credential.clone(),
    };
    let err = desk.sync(&other.bundle(now(), true), now()).unwrap_err();
    assert_eq!(err.code(), "bundle_wrong_root");
    assert_eq!(desk.info(t), before);
}

#[test]
fn an_older_bundle_is_refused_as_a_replay() {
    let b = Bureau::new();
    let mut desk = synced(&b, false);
    let err = desk.sync(&b.bundle(now() - 7200, true), now()).unwrap_err();
    assert_eq!(err.code(), "bundle_replayed");
}

#[test]
fn the_saved_desk_restores_to_the_same_state() {
    let b = Bureau::new();
    let desk = synced(&b, false);
    let t = now();
    let restored = Desk::restore(&desk.save(), t).unwrap();
    assert_eq!(restored.info(t), desk.info(t));
    assert_eq!(restored.fingerprint(), b.root.public_jwk().thumbprint());
}

#[test]
fn a_malformed_saved_desk_is_refused() {
    for saved in [
        "",
        "{}",
        "{\"version\":2,\"root\":{},\"bundle\":null,\"deltas\":[]}",
    ] {
        assert_eq!(
            Desk::restore(saved, now()).err(),
            Some(DeskError::SavedMalformed),
            "{saved}"
        );
    }
}

#[test]
fn a_root_that_is_not_a_public_jwk_is_refused() {
    assert_eq!(
        desk::parse_root("{not json").err(),
        Some(DeskError::RootInvalid)
    );
    assert_eq!(
        desk::parse_root(&"x".repeat(desk::MAX_ROOT_BYTES + 1)).err(),
        Some(DeskError::RootInvalid)
    );
}

#[test]
fn an_unknown_profile_is_refused() {
    assert_eq!(
        Desk::request("casino", now()).err(),
        Some(DeskError::UnknownProfile)
    );
}

/// A QR code drawn as a grayscale frame, 4 pixels a module, with a quiet zone.
fn frame(text: &str) -> (Vec<u8>, usize) {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width();
    let side = (n + 8) * 4;
    let mut gray = vec![255u8; side * side];
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n + 4, i / n + 4);
            for dy in 0..4 {
                for dx in 0..4 {
                    gray[(y * 4 + dy) * side + x * 4 + dx] = 0;
                }
            }
        }
    }
    (gray, side)
}

#[test]
fn a_qr_code_in_a_camera_frame_is_read() {
    let (gray, side) = frame("VP1:HELLO DESK");
    assert_eq!(
        desk::decode_qr(&gray, side, side).unwrap().as_deref(),
        Some("VP1:HELLO DESK")
    );
    assert_eq!(desk::decode_qr(&vec![255; 64 * 64], 64, 64).unwrap(), None);
}

#[test]
fn a_frame_whose_pixels_do_not_match_its_size_is_refused() {
    assert_eq!(
        desk::decode_qr(&[0u8; 10], 4, 4).err().map(|e| e.code()),
        Some("frame_size_mismatch")
    );
    assert_eq!(
        desk::decode_qr(&[], 1 << 13, 1 << 13).err(),
        Some(DeskError::FrameTooLarge)
    );
}

#[test]
fn a_synced_key_withdrawal_refuses_the_keys_credentials_and_is_shown() {
    let b = Bureau::new();
    let mut desk = synced(&b, false);
    let report = desk.sync(&b.withdrawal(now() - 10), now()).unwrap();
    assert_eq!(report["kind"], "withdrawals");
    assert_eq!(report["newly_withdrawn"], 1);
    let info = desk.info(now());
    assert_eq!(info["withdrawn_keys"][0]["kid"], b.key.kid());
    let made = Desk::request("hotel", now()).unwrap();
    let v = desk.verify(&b.answer(&made.uri), &[made.pending], now());
    assert!(!v.accepted);
    assert_eq!(v.error.as_deref(), Some("issuer_key_withdrawn"));
}

#[test]
fn a_key_withdrawal_outlives_a_later_bundle_and_a_restore() {
    let b = Bureau::new();
    let mut desk = Desk::pin(desk::parse_root(&b.root_jwk()).unwrap());
    // Received before any bundle: kept, and applied to the bundle that comes after.
    desk.sync(&b.withdrawal(now() - 100), now()).unwrap();
    desk.sync(&b.bundle(now() - 60, false), now()).unwrap();
    assert_eq!(desk.info(now())["withdrawn_keys"][0]["kid"], b.key.kid());
    // A newer bundle that still lists the key as active does not bring it back.
    desk.sync(&b.bundle(now() - 30, false), now()).unwrap();
    let restored = Desk::restore(&desk.save(), now()).unwrap();
    let made = Desk::request("hotel", now()).unwrap();
    let v = restored.verify(&b.answer(&made.uri), &[made.pending], now());
    assert_eq!(v.error.as_deref(), Some("issuer_key_withdrawn"));
}

#[test]
fn a_key_withdrawal_signed_by_another_root_is_refused_and_nothing_kept() {
    let b = Bureau::new();
    let mut desk = synced(&b, false);
    let before = desk.save();
    let stranger = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(98));
    let entry = KeyWithdrawal {
        kid: b.key.kid().to_owned(),
        since: None,
        withdrawn_at: now(),
    };
    let forged = sign_key_withdrawals(&stranger, ISS, now(), &[entry]);
    let err = desk.sync(&forged, now()).unwrap_err();
    assert_eq!(err.code(), "withdrawals_wrong_root");
    assert_eq!(desk.save(), before);
    let made = Desk::request("hotel", now()).unwrap();
    assert!(
        desk.verify(&b.answer(&made.uri), &[made.pending], now())
            .accepted
    );
}
