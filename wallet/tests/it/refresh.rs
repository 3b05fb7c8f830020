//! Refreshing a batch over loopback against the real issuer: after every copy was shown, after
//! a revocation, with nothing to refresh with, and with the token endpoint's answer lost (a
//! TCP proxy that cuts the connection after the issuer answered).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use issuer::domain::StatusAction;
use issuer::service::status::Target;
use serde_json::json;
use wallet::consent::Preparation;
use wallet::{RefreshError, Reuse, Store};

use crate::support::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

async fn received(
    t: &TestIssuer,
    serial: u32,
    copies: usize,
) -> (Store, tempfile::TempDir, String) {
    let offer = t.enrol_high(&high_claims(serial)).await;
    let http = reqwest::Client::new();
    let received = receive_offer(&http, &offer, &receive_options(Some(CONFIG), copies)).await;
    assert!(received.refreshable());
    assert!(format!("{received:?}").contains("refreshable: true"));
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    let ids = received.store(&mut store).unwrap();
    (store, dir, ids[0].clone())
}

fn hotel_request() -> wallet::AuthorizationRequest {
    let dcql = json!({"credentials": [{"id": "hotel", "format": "dc+sd-jwt",
        "claims": [{"path": ["family_name"]}, {"path": ["id_number"]}]}]});
    let uri = vp_request("x509_san_dns:hotel.example", "n-refresh", &dcql);
    match wallet::AuthorizationRequest::parse_uri(&uri).unwrap() {
        wallet::present::RequestRef::ByValue(r) => *r,
        _ => panic!("by value"),
    }
}

fn prepared(store: &Store) -> Box<wallet::Prepared> {
    match wallet::prepare(store, &hotel_request()).unwrap() {
        Preparation::Ready(p) => p,
        other => panic!("{other:?}"),
    }
}

fn holder_kids(store: &Store, batch: &str) -> BTreeSet<String> {
    store
        .copies(batch)
        .unwrap()
        .iter()
        .map(|c| store.open_copy(&c.id).unwrap().holder_key.kid().to_owned())
        .collect()
}

/// `wallet::refresh` of `batch` for `copies` new copies, keys from `rng`.
async fn refresh_copies(
    http: &reqwest::Client,
    store: &mut Store,
    batch: &str,
    copies: usize,
    rng: &mut (impl rand_core::CryptoRngCore + Send),
) -> Result<wallet::Refreshed, wallet::RefreshError> {
    wallet::refresh(
        http,
        store,
        batch,
        &receive_options(None, copies),
        rng,
        now(),
    )
    .await
}

#[tokio::test]
async fn exhausted_batch_is_refreshed_with_new_keys_and_answers_again() {
    let t = start_issuer().await;
    let (mut store, _dir, batch) = received(&t, 40, 2).await;
    let old_kids = holder_kids(&store, &batch);
    for _ in 0..2 {
        let p = prepared(&store);
        wallet::answer(&mut store, &p, Reuse::Refuse, now()).unwrap();
    }
    let p = prepared(&store);
    assert!(p.consent.needs_reuse());
    assert!(p.consent.items[0].refreshable);
    assert_eq!(p.consent.exhausted().len(), 1);

    let http = reqwest::Client::new();
    // A real host passes OsRng; the test seeds another stream than the first batch's.
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(99);
    let done = refresh_copies(&http, &mut store, &batch, 3, &mut rng)
        .await
        .unwrap();
    assert_eq!(done.batch_id, batch);
    assert_eq!(done.configuration, CONFIG);
    assert_eq!(done.copies, 3);
    let copies = store.copies(&batch).unwrap();
    assert_eq!(copies.len(), 3);
    assert!(copies.iter().all(|c| c.shown_count == 0));
    let new_kids = holder_kids(&store, &batch);
    assert_eq!(new_kids.len(), 3);
    assert!(new_kids.is_disjoint(&old_kids), "fresh holder keys");
    // The new copies verify and answer.
    let p = prepared(&store);
    assert!(!p.consent.needs_reuse());
    let answer = wallet::answer(&mut store, &p, Reuse::Refuse, now()).unwrap();
    let presentation = answer.vp_token["hotel"][0].as_str().unwrap();
    let trust = verifier::TrustStore::from_json(&t.jwt_vc_issuer().await).unwrap();
    credential::sd_jwt::SdJwt::parse(presentation, &credential::sd_jwt::Limits::default())
        .unwrap()
        .verify(
            &trust,
            &credential::sd_jwt::VerifyOptions::new(
                now(),
                credential::sd_jwt::KeyBinding::NotRequired,
            ),
        )
        .unwrap();
    // The rotated token was stored: a second refresh works too.
    refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap();
    assert_eq!(store.copies(&batch).unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn revoked_citizen_is_refused_and_the_token_forgotten() {
    let t = start_issuer().await;
    let (mut store, _dir, batch) = received(&t, 41, 1).await;
    let p = prepared(&store);
    wallet::answer(&mut store, &p, Reuse::Refuse, now()).unwrap();
    t.issuer
        .change_status("test", Target::Citizen(id_number(41)), StatusAction::Revoke)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let before: Vec<_> = store.copies(&batch).unwrap();
    let err = refresh_copies(&http, &mut store, &batch, 2, &mut holder_rng())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RefreshError::Refused { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    // The old copies stay as they were; the token is gone, so the batch is no longer
    // refreshable and a second try does not reach the issuer.
    assert_eq!(store.copies(&batch).unwrap(), before);
    assert!(!store.batches().unwrap()[0].refreshable);
    let err = refresh_copies(&http, &mut store, &batch, 2, &mut holder_rng())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RefreshError::NotRefreshable {
            batch_id: batch.clone()
        }
    );
    t.stop().await;
}

#[tokio::test]
async fn a_rate_limited_refresh_keeps_the_token_and_the_copies() {
    let t = start_issuer_with(|c| c.refresh_min_interval = 3600).await;
    let (mut store, _dir, batch) = received(&t, 44, 1).await;
    let http = reqwest::Client::new();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(96);
    // The first refresh after the token request is not limited.
    refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap();
    let before: Vec<_> = store.copies(&batch).unwrap();
    let err = refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap_err();
    // The issuer's `Retry-After` reaches the host as data: most of the hour is left.
    assert!(
        matches!(&err, RefreshError::RateLimited { retry_after: Some(s) } if *s > 3500 && *s <= 3600),
        "{err:?}"
    );
    // `slow_down` is not `invalid_grant`: the token is kept for a later try.
    assert_eq!(store.copies(&batch).unwrap(), before);
    assert!(store.batches().unwrap()[0].refreshable);
    t.stop().await;
}

#[tokio::test]
async fn unknown_batch_and_deleted_grant() {
    let t = start_issuer().await;
    let (mut store, _dir, batch) = received(&t, 42, 1).await;
    let http = reqwest::Client::new();
    let err = refresh_copies(&http, &mut store, "nope", 1, &mut holder_rng())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RefreshError::Store(wallet::StoreError::NotFound { .. })
    ));
    // Deleting the batch deletes its refresh token with it.
    store.delete(&batch).unwrap();
    assert_eq!(grant_rows(store.path()), 0);
    t.stop().await;
}

/// Grant rows in the store's file, read directly.
fn grant_rows(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM grants", [], |r| r.get(0))
        .unwrap()
}

/// A TCP proxy in front of the issuer. It passes everything on, except that for the first
/// `drops` connections that carry a refresh-token request it waits for the issuer's answer
/// (sent only after the issuer committed) and then closes the wallet's connection instead of
/// passing the answer on: the token is spent, the wallet never hears so. Counts the answers it
/// swallowed.
async fn lossy_proxy(
    listener: TcpListener,
    upstream: SocketAddr,
    drops: usize,
) -> Arc<AtomicUsize> {
    let budget = Arc::new(AtomicUsize::new(drops));
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(pipe(client, upstream, budget.clone(), counter.clone()));
        }
    });
    dropped
}

async fn pipe(
    client: TcpStream,
    upstream: SocketAddr,
    budget: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
) {
    const MARK: &[u8] = b"grant_type=refresh_token";
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut from_wallet, mut to_wallet) = client.into_split();
    let (mut from_issuer, mut to_issuer) = server.into_split();
    let mut seen: Vec<u8> = Vec::new();
    let mut cutting = false;
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = from_wallet.read(&mut up) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                seen.extend_from_slice(&up[..n]);
                if seen.windows(MARK.len()).any(|w| w == MARK) {
                    seen.clear();
                    cutting = cutting
                        || budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1)).is_ok();
                } else if seen.len() > MARK.len() {
                    seen.drain(..seen.len() - MARK.len());
                }
                if to_issuer.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            read = from_issuer.read(&mut down) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if cutting {
                    // The issuer answered: drop both connections without passing it on.
                    dropped.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if to_wallet.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// An issuer behind the lossy proxy of [`behind_lossy_proxy`] with its drop counter, a wallet
/// (store, directory, batch id) holding one refreshable copy for citizen `serial`, and the
/// client it refreshes with.
async fn lossy(
    drops: usize,
    grace: i64,
    serial: u32,
) -> (
    TestIssuer,
    Arc<AtomicUsize>,
    Store,
    tempfile::TempDir,
    String,
    reqwest::Client,
) {
    let (t, dropped) = behind_lossy_proxy(drops, grace).await;
    let (store, dir, batch) = received(&t, serial, 1).await;
    (t, dropped, store, dir, batch, reqwest::Client::new())
}

/// An issuer whose public URL is a [`lossy_proxy`] swallowing `drops` refresh answers.
async fn behind_lossy_proxy(drops: usize, grace: i64) -> (TestIssuer, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let t = start_issuer_with(|c| {
        c.public_url = public;
        c.refresh_reuse_grace = grace;
    })
    .await;
    let dropped = lossy_proxy(listener, t.addr, drops).await;
    (t, dropped)
}

async fn issuer_count(t: &TestIssuer, what: &str) -> i64 {
    t.issuer.store.count_rows(what).await.unwrap()
}

#[tokio::test]
async fn a_lost_refresh_answer_is_retried_with_the_same_token_and_the_family_survives() {
    let (t, dropped, mut store, _dir, batch, http) = lossy(1, 60, 43).await;
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(98);
    let done = refresh_copies(&http, &mut store, &batch, 2, &mut rng)
        .await
        .unwrap();
    assert!(done.retried);
    assert_eq!(done.copies, 2);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the first answer was cut"
    );
    // The issuer spent the token for the lost answer, then answered the retry within its grace
    // window: one live successor, one batch, nothing revoked.
    assert_eq!(
        issuer_count(&t, "audit WHERE event = 'refresh.used'").await,
        1
    );
    assert_eq!(
        issuer_count(&t, "audit WHERE event = 'refresh.grace'").await,
        1
    );
    assert_eq!(
        issuer_count(&t, "audit WHERE event = 'refresh.refused'").await,
        0
    );
    assert_eq!(
        issuer_count(&t, "refresh_tokens WHERE state = 'active'").await,
        1
    );
    assert_eq!(issuer_count(&t, "refreshed_issuances").await, 1);
    // The wallet stored the live successor: the next refresh goes through at once.
    let again = refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap();
    assert!(!again.retried);
    assert_eq!(store.copies(&batch).unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn without_the_issuers_grace_window_the_retry_is_reuse() {
    let (t, dropped, mut store, _dir, batch, http) = lossy(1, 0, 44).await;
    let before = store.copies(&batch).unwrap();
    let err = refresh_copies(&http, &mut store, &batch, 1, &mut holder_rng())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RefreshError::Refused { error, description }
            if error == "invalid_grant" && description.as_deref().is_some_and(|d| d.contains("already used"))),
        "{err:?}"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(
        issuer_count(&t, "refresh_tokens WHERE state = 'active'").await,
        0
    );
    assert_eq!(store.copies(&batch).unwrap(), before);
    assert!(!store.batches().unwrap()[0].refreshable);
    t.stop().await;
}

#[tokio::test]
async fn both_answers_lost_keeps_the_token_for_a_retry_within_the_window() {
    let (t, dropped, mut store, _dir, batch, http) = lossy(2, 60, 45).await;
    let before = store.copies(&batch).unwrap();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(97);
    let err = refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RefreshError::Receive(wallet::receive::ReceiveError::Http { endpoint, .. }) if endpoint == "token"),
        "{err:?}"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    // Nothing changed in the wallet; the host tries again a little later.
    assert_eq!(store.copies(&batch).unwrap(), before);
    assert!(store.batches().unwrap()[0].refreshable);
    let done = refresh_copies(&http, &mut store, &batch, 1, &mut rng)
        .await
        .unwrap();
    assert!(!done.retried);
    assert_eq!(
        issuer_count(&t, "audit WHERE event = 'refresh.grace'").await,
        2
    );
    assert_eq!(
        issuer_count(&t, "refresh_tokens WHERE state = 'active'").await,
        1
    );
    assert_eq!(issuer_count(&t, "refreshed_issuances").await, 1);
    t.stop().await;
}
