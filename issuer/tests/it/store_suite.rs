//! The storage conformance suite: one body per contract of `issuer::store::Store`, run against
//! each backend (`sqlite::NAME` on a temporary data directory, `postgres::NAME` on a fresh
//! database of `ISSUER_TEST_DATABASE_URL`; skipped with one line when it is not set, failing
//! under `CI_REQUIRE_POSTGRES=1`). The checks call the store directly, without HTTP: single use
//! of codes, nonces and proofs, the `tx_code` attempt count, citizen holds, status changes, the
//! signing keys' lifecycle, officers and platforms, the audit trail and the sweep.

use credential::citizen::Level;
use credential::jose::Alg;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

use issuer::config::DatabaseUrl;
use issuer::domain::audit::{AuditEvent, AuditFilter};
use issuer::domain::keys::{KeyPurpose, KeyState};
use issuer::domain::people::{OfficerInfo, PlatformInfo};
use issuer::domain::refusal::Refusal;
use issuer::domain::{ConfigId, StatusAction};
use issuer::secret::{domain, SecretDigest};
use issuer::store::{
    DatabaseTls, DirectRecord, IssueRecord, KeyRow, NewEnrolment, NewRefresh, Redemption,
    RefreshGrant, SharedStore, StatusKey, Store, StoreError, SweepStep,
};

use crate::client::{fresh_postgres_database, Backend};

/// A store under test and what keeps it alive.
struct Opened {
    store: SharedStore,
    _dir: tempfile::TempDir,
}

/// Opens `backend` as the issuer does (migrations included); `None` when it is PostgreSQL and
/// no server is configured.
async fn open(backend: Backend) -> Option<Opened> {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(DatabaseUrl::parse(&fresh_postgres_database().await?).unwrap()),
    };
    let store = issuer::store::open(
        dir.path(),
        url.as_ref(),
        &DatabaseTls::default(),
        4,
        ChaCha20Rng::seed_from_u64(3),
    )
    .await
    .unwrap();
    Some(Opened { store, _dir: dir })
}

/// Runs each named `async fn NAME(store: &dyn Store)` check on SQLite (`sqlite::NAME`) and on
/// PostgreSQL (`postgres::NAME`).
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::Backend::Sqlite, |s| Box::pin(super::$name(s))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let _gate = $crate::client::PG_GATE.read().await;
                    super::run(super::Backend::Postgres, |s| Box::pin(super::$name(s))).await;
                }
            )*
        }
    };
}

type Check = for<'a> fn(
    &'a dyn Store,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

async fn run(backend: Backend, check: Check) {
    let Some(opened) = open(backend).await else {
        return;
    };
    check(&*opened.store).await;
    opened.store.close();
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn digest(domain: &str, text: &str) -> SecretDigest {
    SecretDigest::of(domain, text.as_bytes())
}

/// The configuration the test enrolments are offered (high level, `dc+sd-jwt`).
const HIGH: ConfigId = ConfigId::ALL[2];
/// The other configuration of a high offer (`vc+sd-jwt`).
const HIGH_VC: ConfigId = ConfigId::ALL[3];

/// A high enrolment `id` of `citizen` whose offer `id` has code `code-<id>` and `tx_code`
/// `tx-<id>`.
fn enrolment(id: &str, citizen: &str, attestation: Option<SecretDigest>) -> NewEnrolment {
    let t = now();
    NewEnrolment {
        id: id.into(),
        citizen_id: citizen.into(),
        level: Level::High,
        evidence: json!({"method": "test"}),
        sealed_claims: b"sealed".to_vec(),
        actor: "officer-1".into(),
        created_at: t,
        offer_id: id.into(),
        config_ids: json!([HIGH.as_str(), HIGH_VC.as_str()]).to_string(),
        code_hash: digest(domain::PRE_AUTH, &format!("code-{id}")),
        code_sealed: b"sealed code".to_vec(),
        tx_code_hash: digest("tx", &format!("tx-{id}")),
        expires_at: t + 600,
        attestation_nonce: attestation,
    }
}

/// Redeems offer `offer` with `tx_code` for access token `token` and refresh token
/// `refresh-<token>` (family `family-<offer>`).
fn redemption(offer: &str, tx_code: &str, token: &str) -> Redemption {
    Redemption {
        offer_id: offer.into(),
        code: digest(domain::PRE_AUTH, &format!("code-{offer}")),
        tx_code: digest("tx", tx_code),
        token_id: token.into(),
        token_hash: digest(domain::ACCESS, token),
        token_ttl: 300,
        max_attempts: 3,
        refresh: NewRefresh {
            id: format!("refresh-{token}"),
            digest: digest(domain::REFRESH, &format!("refresh-{token}")),
            family_id: format!("family-{offer}"),
            ttl: 3600,
        },
    }
}

/// A credential request on access token `token` for `config`: one proof with `c_nonce`
/// `nonce`, proof digest `proof` and holder key `holder`; credential id `cred-<holder>`.
fn record(token: &str, config: ConfigId, nonce: u8, proof: &str, holder: &str) -> IssueRecord {
    let t = now();
    IssueRecord {
        token_id: token.into(),
        token_hash: digest(domain::ACCESS, token),
        config,
        nonces: vec![([nonce; 32], t + 300)],
        replays: vec![digest("proof", proof)],
        proof_expiry: t + 300,
        holders: vec![holder.into()],
        ids: vec![format!("batch-{holder}"), format!("cred-{holder}")],
        kid: "kid-1".into(),
        validity: 86_400,
        shard_size: 16,
        now: t,
    }
}

/// Enrols `id` for `citizen` and redeems its offer for access token `token-<id>`.
async fn redeemed(s: &dyn Store, id: &str, citizen: &str) {
    s.enrol(enrolment(id, citizen, None)).await.unwrap();
    let token = format!("token-{id}");
    s.redeem_offer(redemption(id, &format!("tx-{id}"), &token))
        .await
        .unwrap();
}

fn key(kid: &str, purpose: KeyPurpose, not_before: i64) -> KeyRow {
    KeyRow {
        kid: kid.into(),
        alg: Alg::Es256,
        purpose,
        state: KeyState::Active,
        file: String::new(),
        sealed: Some(b"sealed jwk".to_vec()),
        hsm_key: None,
        public_jwk: None,
        not_before,
        not_after: None,
        last_credential_expiry: None,
    }
}

async fn count(s: &dyn Store, what: &str) -> i64 {
    s.count_rows(what).await.unwrap()
}

async fn events(s: &dyn Store, prefix: &str) -> Vec<String> {
    let filter = AuditFilter {
        event_prefix: Some(prefix.into()),
        limit: 1000,
        ..AuditFilter::default()
    };
    let list = s.audit_list(filter).await.unwrap();
    list.into_iter().map(|e| e.event).collect()
}

async fn the_schema_is_at_the_newest_version(s: &dyn Store) {
    assert_eq!(
        s.schema_version().await.unwrap(),
        issuer::store::migrations::SCHEMA_VERSION
    );
}

async fn a_pre_authorized_code_is_redeemed_once(s: &dyn Store) {
    redeemed(s, "o1", "citizen-1").await;
    let again = s.redeem_offer(redemption("o1", "tx-o1", "token-2")).await;
    assert!(
        matches!(again, Err(StoreError::Refused(Refusal::InvalidGrant { reason })) if reason.contains("already used")),
        "{again:?}"
    );
    assert_eq!(count(s, "access_tokens").await, 1);
    assert_eq!(events(s, "offer.").await, ["offer.redeemed"]);
    let unknown = s
        .redeem_offer(redemption("nope", "tx-nope", "token-3"))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Refused(Refusal::InvalidGrant { reason })) if reason.contains("unknown")),
        "{unknown:?}"
    );
}

async fn a_wrong_tx_code_is_counted_and_kills_the_code_at_the_limit(s: &dyn Store) {
    s.enrol(enrolment("o1", "citizen-1", None)).await.unwrap();
    for attempt in 1..=3 {
        let wrong = s.redeem_offer(redemption("o1", "wrong", "t")).await;
        assert!(
            matches!(
                wrong,
                Err(StoreError::Refused(Refusal::InvalidGrant {
                    reason: "tx_code is wrong"
                }))
            ),
            "{wrong:?}"
        );
        // The attempt is committed although the request failed.
        let counted = format!("offers WHERE attempts = {attempt}");
        assert_eq!(count(s, &counted).await, 1);
    }
    assert_eq!(count(s, "offers WHERE state = 'dead'").await, 1);
    assert_eq!(events(s, "offer.").await, ["offer.dead"]);
    // Dead: the right tx_code no longer helps.
    let right = s.redeem_offer(redemption("o1", "tx-o1", "t")).await;
    assert!(
        matches!(right, Err(StoreError::Refused(Refusal::InvalidGrant { reason })) if reason.contains("dead")),
        "{right:?}"
    );
    assert_eq!(count(s, "access_tokens").await, 0);
}

async fn an_attestation_nonce_is_consumed_once(s: &dyn Store) {
    let nonce = digest(domain::ATTESTATION_NONCE, "n1");
    s.insert_attestation_nonce(nonce, now() + 300)
        .await
        .unwrap();
    s.enrol(enrolment("e1", "citizen-1", Some(nonce)))
        .await
        .unwrap();
    let again = s.enrol(enrolment("e2", "citizen-2", Some(nonce))).await;
    assert!(
        matches!(
            again,
            Err(StoreError::Refused(Refusal::InvalidAttestation { .. }))
        ),
        "{again:?}"
    );
    // The refused enrolment left nothing behind.
    assert_eq!(count(s, "enrolments").await, 1);
    assert_eq!(count(s, "offers").await, 1);
}

async fn a_c_nonce_a_proof_and_a_configuration_are_used_once(s: &dyn Store) {
    redeemed(s, "o1", "citizen-1").await;
    let issued = s
        .issue(record("token-o1", HIGH, 1, "p1", "h1"))
        .await
        .unwrap();
    assert_eq!(issued.entries.len(), 1);
    assert_eq!(issued.entries[0].0, "cred-h1");
    assert_eq!(issued.level, Level::High);
    // The same configuration again on this token.
    let again = s.issue(record("token-o1", HIGH, 2, "p2", "h2")).await;
    assert!(
        matches!(again, Err(StoreError::Refused(Refusal::CredentialRequestDenied { reason })) if reason.contains("already issued")),
        "{again:?}"
    );
    // The other configuration with a used c_nonce, then with a used proof.
    let nonce = s.issue(record("token-o1", HIGH_VC, 1, "p3", "h3")).await;
    assert!(
        matches!(nonce, Err(StoreError::Refused(Refusal::InvalidNonce))),
        "{nonce:?}"
    );
    let proof = s.issue(record("token-o1", HIGH_VC, 4, "p1", "h4")).await;
    assert!(
        matches!(
            proof,
            Err(StoreError::Refused(Refusal::InvalidProof { index: 0, .. }))
        ),
        "{proof:?}"
    );
    // A holder key already bound to a credential.
    let holder = s.issue(record("token-o1", HIGH_VC, 5, "p5", "h1")).await;
    assert!(
        matches!(&holder, Err(StoreError::Refused(Refusal::InvalidProof { index: 0, reason })) if reason.contains("holder key")),
        "{holder:?}"
    );
    // Each refusal rolled back whole: nothing used, nothing issued.
    assert_eq!(count(s, "credentials").await, 1);
    assert_eq!(count(s, "c_nonces").await, 1);
    assert_eq!(count(s, "used_proofs").await, 1);
    s.issue(record("token-o1", HIGH_VC, 6, "p6", "h6"))
        .await
        .unwrap();
    assert_eq!(count(s, "credentials").await, 2);
    let unknown = s.issue(record("token-nope", HIGH, 7, "p7", "h7")).await;
    assert!(
        matches!(
            unknown,
            Err(StoreError::Refused(Refusal::InvalidToken { .. }))
        ),
        "{unknown:?}"
    );
}

async fn an_offer_is_shown_only_while_open_and_unexpired(s: &dyn Store) {
    s.enrol(enrolment("o1", "citizen-1", None)).await.unwrap();
    let (configs, sealed) = s.open_offer("o1", now()).await.unwrap().unwrap();
    assert_eq!(sealed, b"sealed code");
    assert!(configs.contains(HIGH.as_str()));
    assert!(s.open_offer("o1", now() + 601).await.unwrap().is_none());
    assert!(s.open_offer("nope", now()).await.unwrap().is_none());
    s.redeem_offer(redemption("o1", "tx-o1", "t1"))
        .await
        .unwrap();
    assert!(s.open_offer("o1", now()).await.unwrap().is_none());
}

async fn a_direct_credential_gets_an_entry_and_its_changes_are_logged(s: &dyn Store) {
    let (shard, idx) = s
        .record_direct(DirectRecord {
            id: "d1".into(),
            level: Level::Basic,
            config: ConfigId::ALL[0],
            kid: "kid-1".into(),
            holder: "holder-d1".into(),
            now: now(),
            validity: 86_400,
            shard_size: 16,
        })
        .await
        .unwrap();
    let before = s.status_high_water().await.unwrap();
    s.change_status(
        StatusKey::Entry { shard, idx },
        StatusAction::Revoke,
        "admin",
        now(),
    )
    .await
    .unwrap();
    let upto = s.status_high_water().await.unwrap();
    assert!(upto > before);
    let (changes, _) = s.status_log_between(before, upto).await.unwrap();
    let logged: Vec<(i64, i64, i64)> = changes.iter().map(|c| (c.shard, c.idx, c.status)).collect();
    assert_eq!(logged, [(shard, i64::from(idx), 1)]);
    let bounds = s.status_log_bounds(before).await.unwrap();
    assert_eq!(bounds.latest, upto);
}

async fn a_status_change_reaches_the_batch_and_revocation_is_final(s: &dyn Store) {
    redeemed(s, "o1", "citizen-1").await;
    let issued = s
        .issue(record("token-o1", HIGH, 1, "p1", "h1"))
        .await
        .unwrap();
    let (_, shard, idx) = issued.entries[0].clone();
    let before = s.shard_version(shard).await.unwrap().unwrap();
    let high_water = s.status_high_water().await.unwrap();
    let (change, shards) = s
        .change_status(
            StatusKey::Entry { shard, idx },
            StatusAction::Suspend,
            "admin",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(change.changed, ["cred-h1"]);
    assert_eq!(change.status, "suspended");
    assert_eq!(shards, [shard]);
    assert!(s.shard_version(shard).await.unwrap().unwrap() > before);
    assert!(s.status_high_water().await.unwrap() > high_water);
    let entries = s.shard_entries(shard).await.unwrap().unwrap();
    assert_eq!(entries.entries, [(i64::from(idx), 2)]);
    assert!(s.shards().await.unwrap().contains(&shard));
    s.change_status(
        StatusKey::Credential("cred-h1".into()),
        StatusAction::Revoke,
        "admin",
        now(),
    )
    .await
    .unwrap();
    for action in [StatusAction::Revoke, StatusAction::Reinstate] {
        let refused = s
            .change_status(
                StatusKey::Credential("cred-h1".into()),
                action,
                "admin",
                now(),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Refused(Refusal::StatusTransition {
                    from: "revoked",
                    ..
                }))
            ),
            "{refused:?}"
        );
    }
    let unknown = s
        .change_status(
            StatusKey::Credential("nope".into()),
            StatusAction::Revoke,
            "admin",
            now(),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Refused(Refusal::NotFound { .. }))),
        "{unknown:?}"
    );
    assert_eq!(
        events(s, "status.").await,
        ["status.suspend", "status.revoke"]
    );
}

async fn a_citizen_hold_stops_new_enrolments_and_pending_offers_until_lifted(s: &dyn Store) {
    // Enrolled, offer pending, no credential yet: the hold alone changes.
    s.enrol(enrolment("o1", "citizen-1", None)).await.unwrap();
    let (change, _) = s
        .change_status(
            StatusKey::Citizen("citizen-1".into()),
            StatusAction::Revoke,
            "admin",
            now(),
        )
        .await
        .unwrap();
    assert!(change.changed.is_empty());
    let pending = s.redeem_offer(redemption("o1", "tx-o1", "t1")).await;
    assert!(
        matches!(
            pending,
            Err(StoreError::Refused(Refusal::InvalidGrant { .. }))
        ),
        "{pending:?}"
    );
    let held = s.enrol(enrolment("o2", "citizen-1", None)).await;
    assert!(
        matches!(
            held,
            Err(StoreError::Refused(Refusal::CitizenOnHold {
                status: "revoked"
            }))
        ),
        "{held:?}"
    );
    s.lift_citizen_hold("citizen-1", "admin", "investigated", now())
        .await
        .unwrap();
    s.enrol(enrolment("o3", "citizen-1", None)).await.unwrap();
    let again = s
        .lift_citizen_hold("citizen-1", "admin", "twice", now())
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Refused(Refusal::NoRevocationHold {
                status: "not on hold"
            }))
        ),
        "{again:?}"
    );
    let unknown = s.lift_citizen_hold("nobody", "admin", "x", now()).await;
    assert!(
        matches!(unknown, Err(StoreError::Refused(Refusal::NotFound { .. }))),
        "{unknown:?}"
    );
    assert_eq!(
        events(s, "citizen.").await,
        ["citizen.revoke", "citizen.lift-hold"]
    );
}

async fn a_refresh_token_is_spent_once_and_its_reuse_revokes_the_family(s: &dyn Store) {
    redeemed(s, "o1", "citizen-1").await;
    let grant = |presented: &str, next: &str| RefreshGrant {
        presented_id: presented.into(),
        presented_hash: digest(domain::REFRESH, presented),
        access_id: format!("access-{next}"),
        access_hash: digest(domain::ACCESS, &format!("access-{next}")),
        access_ttl: 300,
        next: NewRefresh {
            id: next.into(),
            digest: digest(domain::REFRESH, next),
            family_id: String::new(),
            ttl: 3600,
        },
        grace: 0,
        min_interval: 0,
    };
    s.refresh_grant(grant("refresh-token-o1", "r2"))
        .await
        .unwrap();
    let reuse = s.refresh_grant(grant("refresh-token-o1", "r3")).await;
    assert!(
        matches!(reuse, Err(StoreError::Refused(Refusal::InvalidGrant { reason })) if reason.contains("already used")),
        "{reuse:?}"
    );
    // The reuse revoked the family, the live successor included (committed first).
    let successor = s.refresh_grant(grant("r2", "r4")).await;
    assert!(
        matches!(successor, Err(StoreError::Refused(Refusal::InvalidGrant { reason })) if reason.contains("revoked")),
        "{successor:?}"
    );
    assert_eq!(
        count(s, "refresh_tokens WHERE state = 'revoked'").await,
        2,
        "the whole family: the spent token and its live successor"
    );
    assert_eq!(count(s, "refreshed_access_tokens").await, 1);
}

async fn signing_keys_are_created_once_and_rotated_one_at_a_time(s: &dyn Store) {
    let t = now();
    assert!(s
        .create_first_key(key("k1", KeyPurpose::Credential, t))
        .await
        .unwrap());
    assert!(!s
        .create_first_key(key("k2", KeyPurpose::Credential, t))
        .await
        .unwrap());
    assert!(s
        .create_first_key(key("root", KeyPurpose::Root, t))
        .await
        .unwrap());
    assert_eq!(
        s.active_kid(KeyPurpose::Credential)
            .await
            .unwrap()
            .as_deref(),
        Some("k1")
    );
    let retired = s
        .rotate_key("admin", key("k3", KeyPurpose::Credential, t + 1), 86_400)
        .await
        .unwrap();
    assert_eq!(retired, "k1");
    assert_eq!(
        s.active_kid(KeyPurpose::Credential)
            .await
            .unwrap()
            .as_deref(),
        Some("k3")
    );
    let rows = s.key_rows().await.unwrap();
    let states: Vec<(&str, KeyPurpose, KeyState, Alg)> = rows
        .iter()
        .map(|r| (r.kid.as_str(), r.purpose, r.state, r.alg))
        .collect();
    assert_eq!(
        states,
        [
            ("k1", KeyPurpose::Credential, KeyState::Retired, Alg::Es256),
            ("root", KeyPurpose::Root, KeyState::Active, Alg::Es256),
            ("k3", KeyPurpose::Credential, KeyState::Active, Alg::Es256),
        ]
    );
    // It signs until its successor starts, and is published until the longest validity it
    // may have signed has passed.
    assert_eq!(rows[0].not_after, Some(t + 1));
    assert_eq!(rows[0].last_credential_expiry, Some(t + 1 + 86_400));
    assert_eq!(rows[0].sealed.as_deref(), Some(&b"sealed jwk"[..]));
    assert_eq!(
        events(s, "key.").await,
        ["key.created", "key.created", "key.rotated"]
    );
}

async fn a_key_withdrawn_twice_keeps_the_strictest_withdrawal(s: &dyn Store) {
    for (at, since) in [(10, Some(500)), (20, Some(100)), (30, None), (40, Some(50))] {
        s.record_key_withdrawal(at, "admin", "k1", since, json!({"since": since}))
            .await
            .unwrap();
    }
    let withdrawn = s.key_withdrawals(10).await.unwrap();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(
        (
            withdrawn[0].kid.as_str(),
            withdrawn[0].since,
            withdrawn[0].withdrawn_at
        ),
        ("k1", None, 10)
    );
    assert_eq!(events(s, "key.withdrawn").await.len(), 4);
}

async fn officers_and_platforms_are_added_listed_and_removed(s: &dyn Store) {
    let t = now();
    let officer = OfficerInfo {
        id: "off-1".into(),
        name: "Officer".into(),
        role: "officer",
        created_at: t,
    };
    s.add_officer("cli:test", officer, digest(domain::OFFICER, "secret"))
        .await
        .unwrap();
    let listed = s.list_officers().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|o| (o.id.as_str(), o.role))
            .collect::<Vec<_>>(),
        [("off-1", "officer")]
    );
    let (role, hash) = s.officer_secret("off-1").await.unwrap().unwrap();
    assert_eq!(role, "officer");
    assert!(digest(domain::OFFICER, "secret").matches(&hash));
    s.remove_officer("cli:test", "off-1", t).await.unwrap();
    assert!(s.officer_secret("off-1").await.unwrap().is_none());
    assert!(s.list_officers().await.unwrap().is_empty());
    let twice = s.remove_officer("cli:test", "off-1", t).await;
    assert!(
        matches!(twice, Err(StoreError::Refused(Refusal::NotFound { .. }))),
        "{twice:?}"
    );

    let platform = || PlatformInfo {
        id: "plat-1".into(),
        name: "Kiosk".into(),
        kid: "pk-1".into(),
        created_at: t,
    };
    s.add_platform("cli:test", platform(), r#"{"kty":"EC"}"#.into())
        .await
        .unwrap();
    let duplicate = s
        .add_platform("cli:test", platform(), r#"{"kty":"EC"}"#.into())
        .await;
    assert!(
        matches!(
            duplicate,
            Err(StoreError::Refused(Refusal::InvalidRequest { .. }))
        ),
        "{duplicate:?}"
    );
    assert_eq!(
        s.platform_key("pk-1").await.unwrap(),
        Some(("plat-1".into(), r#"{"kty":"EC"}"#.into()))
    );
    assert_eq!(s.list_platforms().await.unwrap().len(), 1);
    s.remove_platform("cli:test", "pk-1", t).await.unwrap();
    assert!(s.platform_key("pk-1").await.unwrap().is_none());
    assert_eq!(
        events(s, "officer.").await,
        ["officer.added", "officer.removed"]
    );
    assert_eq!(
        events(s, "platform.").await,
        ["platform.added", "platform.removed"]
    );
}

async fn the_audit_listing_filters_and_lists_oldest_first(s: &dyn Store) {
    for (at, actor, event) in [
        (100, "a", AuditEvent::KeyCreated),
        (200, "b", AuditEvent::KeyRotated),
        (300, "a", AuditEvent::OfficerAdded),
        (400, "b", AuditEvent::KeyWithdrawn),
    ] {
        s.append_audit(at, actor, event, Some("s"), json!({"n": at}))
            .await
            .unwrap();
    }
    let list = |f: AuditFilter| async move {
        s.audit_list(f)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect::<Vec<_>>()
    };
    let all = |limit| AuditFilter {
        until: Some(1000),
        limit,
        ..AuditFilter::default()
    };
    assert_eq!(
        list(all(100)).await,
        [
            "key.created",
            "key.rotated",
            "officer.added",
            "key.withdrawn"
        ]
    );
    // The newest N, still oldest first.
    assert_eq!(list(all(2)).await, ["officer.added", "key.withdrawn"]);
    let window = AuditFilter {
        since: Some(150),
        until: Some(300),
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(list(window).await, ["key.rotated", "officer.added"]);
    let prefix = |p: &str| AuditFilter {
        event_prefix: Some(p.into()),
        until: Some(1000),
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(
        list(prefix("key.")).await,
        ["key.created", "key.rotated", "key.withdrawn"]
    );
    // The prefix is literal text, not a pattern.
    assert!(list(prefix("%")).await.is_empty());
    assert!(list(prefix("key_")).await.is_empty());
    let by_a = AuditFilter {
        actor: Some("a".into()),
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(list(by_a).await, ["key.created", "officer.added"]);
    let recent = s.audit_recent(10).await.unwrap();
    assert_eq!(recent.len(), 4);
    assert!(
        recent.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    let last = &recent[0];
    assert_eq!(
        (last.at, last.actor.as_str(), last.subject.as_deref()),
        (400, "b", Some("s"))
    );
    assert_eq!(last.detail.as_deref(), Some(r#"{"n":400}"#));
}

async fn a_sweep_deletes_what_expired_under_its_lock(s: &dyn Store) {
    let t = now();
    s.insert_c_nonce(SecretDigest([1; 32]), t - 10)
        .await
        .unwrap();
    s.insert_c_nonce(SecretDigest([2; 32]), t + 300)
        .await
        .unwrap();
    let lock = s.sweep_lock().await.unwrap().unwrap();
    assert_eq!(
        s.sweep_chunk(&lock, SweepStep::CNonces, t, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.sweep_chunk(&lock, SweepStep::CNonces, t, 100)
            .await
            .unwrap(),
        0
    );
    s.sweep_audit(&lock, t, "system", json!({"c_nonces": 1}))
        .await
        .unwrap();
    lock.release().await;
    assert_eq!(count(s, "c_nonces").await, 1);
    assert_eq!(events(s, "housekeeping.").await, ["housekeeping.sweep"]);
}

store_suite!(
    the_schema_is_at_the_newest_version,
    a_pre_authorized_code_is_redeemed_once,
    a_wrong_tx_code_is_counted_and_kills_the_code_at_the_limit,
    an_attestation_nonce_is_consumed_once,
    an_offer_is_shown_only_while_open_and_unexpired,
    a_direct_credential_gets_an_entry_and_its_changes_are_logged,
    a_c_nonce_a_proof_and_a_configuration_are_used_once,
    a_status_change_reaches_the_batch_and_revocation_is_final,
    a_citizen_hold_stops_new_enrolments_and_pending_offers_until_lifted,
    a_refresh_token_is_spent_once_and_its_reuse_revokes_the_family,
    signing_keys_are_created_once_and_rotated_one_at_a_time,
    a_key_withdrawn_twice_keeps_the_strictest_withdrawal,
    officers_and_platforms_are_added_listed_and_removed,
    the_audit_listing_filters_and_lists_oldest_first,
    a_sweep_deletes_what_expired_under_its_lock,
);
