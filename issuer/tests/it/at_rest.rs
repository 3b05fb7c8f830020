//! A copy of the data directory does not reveal offers: the directory is owner-only, the
//! database and its `-wal`/`-shm` files and the key files are 0600, and the stored `tx_code`
//! digest is keyed with a secret that is not in the database.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

use issuer::secret::SecretDigest;
use issuer::Issuer;

use crate::client::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

async fn open_and_close(data: &Path) {
    let cfg = config(data, "127.0.0.1:9".parse().unwrap());
    let issuer = Issuer::connect_with_rng(cfg, ChaCha20Rng::seed_from_u64(3))
        .await
        .unwrap();
    // Modes are checked while the database is open, so its -wal and -shm files exist.
    assert_eq!(mode(data), 0o700);
    for file in ["issuer.sqlite3", "issuer.sqlite3-wal", "issuer.sqlite3-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&data.join("keys")), 0o700);
    assert_eq!(mode(&data.join("keys/master.secret")), 0o600);
    issuer.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_owner_only_after_first_start() {
    let root = tempfile::tempdir().unwrap();
    open_and_close(&root.path().join("fresh")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_data_directory_with_loose_modes_is_tightened() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("old");
    open_and_close(&data).await;
    let loosen =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    loosen(&data, 0o755);
    loosen(&data.join("issuer.sqlite3"), 0o644);
    loosen(&data.join("keys/master.secret"), 0o644);
    open_and_close(&data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_tx_code_digest_cannot_be_tested_without_the_key() {
    let t = TestIssuer::start_on(Backend::Sqlite).await.unwrap();
    let offer = t.enrol_high(&high_claims(80)).await;
    let offer_id = offer["offer_id"].as_str().unwrap().to_owned();
    let db = rusqlite::Connection::open_with_flags(
        t.data_dir().join("issuer.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let stored: Vec<u8> = db
        .query_row(
            "SELECT tx_code_hash FROM offers WHERE id = ?1",
            [&offer_id],
            |r| r.get(0),
        )
        .unwrap();
    // What a database reader can compute: the digest over the offer id and each of the 10^6
    // codes (the scheme before keying). None matches, the right code included.
    let unkeyed =
        |code: u32| SecretDigest::of("tx_code", format!("{offer_id}:{code:06}").as_bytes());
    let right: u32 = offer["tx_code"].as_str().unwrap().parse().unwrap();
    assert!(!unkeyed(right).matches(&stored));
    assert!((0..1_000_000).all(|code| !unkeyed(code).matches(&stored)));
    // The issuer, holding the key, still redeems the offer.
    Wallet::new(80).redeem_offer(&offer).await;
    t.stop().await;
}
