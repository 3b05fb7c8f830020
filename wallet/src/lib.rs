//! The citizen's wallet, as a library a messaging app embeds: it receives citizen-ID credentials
//! over OpenID4VCI 1.0, keeps them encrypted at rest, and answers OpenID4VP 1.0 (DCQL) requests
//! by disclosing only the claims asked for, after the citizen consents.
//!
//! The protocols are `wallet_core`'s (no I/O, also built for WebAssembly); this crate is their
//! desktop and CLI host: the reqwest transport ([`transport::Reqwest`]), the SQLite store
//! ([`Store`], the core's `RecordStore`), software holder keys (`SoftwareSigner`), the Argon2id
//! passphrase ([`kdf`]) and the `wallet` command line (docs/wallet.md, "The core and its
//! hosts").
//!
//! The host app owns the screens, the prompts and the device keystore; the library owns the
//! protocols, the holder keys and the storage. It does no terminal I/O: the `tx_code` and the
//! storage key come in as values, the consent summary goes out as data.
//!
//! ```text
//! offer URI ──resolve_offer──> CredentialOffer ──receive(tx_code)──> Received (all verified)
//!                                                                       │ .store()
//!                               StorageKey ──Store::open(dir)──> Store <┘  (encrypted SQLite)
//! request URI ──resolve_request──> AuthorizationRequest
//!        └─ prepare(&store) ──> Preparation::Ready(Prepared { consent, .. })  ── host asks ──┐
//!                             | Preparation::CannotSatisfy { unmet }                          │
//!        answer(&mut store, &prepared, Reuse) ──> Answer ── send() (direct_post)  <───────────┘
//!                                                       └─ to_text() (offline, QR)
//! ```
//!
//! Every copy of a batch is bound to its own holder key and shown once when a fresh copy is
//! left ([`Reuse`] decides otherwise), so two verifiers cannot link the citizen by signature.
//! When all were shown, [`refresh()`] asks the issuer for a new batch with the refresh token
//! stored (sealed) beside it.
//!
//! # Embedding
//!
//! Inputs and outputs are owned values (`String`, `Vec`, plain structs and enums) and every
//! failure is a typed error enum ([`StoreError`], [`ReceiveError`], [`PresentationError`],
//! [`RefreshError`]), so
//! the API can be exported through UniFFI (or a C surface) without change; the async functions
//! take a `reqwest::Client` and run on the host's runtime.
//!
//! # Example
//!
//! ```
//! use wallet::{AuthorizationRequest, Preparation, Reuse, StorageKey, Store};
//! use wallet::present::RequestRef;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path();
//! // The storage key comes from the device keystore (the CLI derives it with Argon2id).
//! let key = StorageKey::from_bytes([0x42; 32]);
//! let mut store = Store::open(dir, &key)?;
//! for batch in store.batches()? {
//!     println!("{} {:?} {}/{} unused", batch.vct, batch.level, batch.unused, batch.copies);
//! }
//!
//! // A hotel's offline request, by value (a QR code the app scanned).
//! let dcql = r#"{"credentials":[{"id":"hotel","format":"dc+sd-jwt",
//!   "meta":{"vct_values":["urn:cn:citizen-id:basic:1","urn:cn:citizen-id:high:1"]},
//!   "claims":[{"path":["family_name"]},{"path":["given_name"]},{"path":["id_number"]}]}]}"#;
//! let uri = format!(
//!     "openid4vp://?{}",
//!     serde_urlencoded::to_string([
//!         ("client_id", "x509_san_dns:hotel.example"),
//!         ("nonce", "n-8f2c"),
//!         ("response_type", "vp_token"),
//!         ("dcql_query", dcql),
//!     ])?
//! );
//! let RequestRef::ByValue(request) = AuthorizationRequest::parse_uri(&uri)? else {
//!     unreachable!("by value")
//! };
//! match wallet::prepare(&store, &request)? {
//!     Preparation::Ready(prepared) => {
//!         // Show prepared.consent (client id, credential, level, exact claims); on "yes":
//!         let now = 1_760_000_000;
//!         let answer = wallet::answer(&mut store, &prepared, Reuse::Refuse, now)?;
//!         let qr_text = answer.to_text(); // offline; or wallet::send() for direct_post
//!         # let _ = qr_text;
//!     }
//!     Preparation::CannotSatisfy { unmet, .. } => {
//!         // This new wallet holds nothing yet.
//!         assert_eq!(unmet.len(), 1);
//!     }
//!     _ => {}
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Receiving (needs an issuer, so not run here):
//!
//! ```no_run
//! # async fn demo(store: &mut wallet::Store, offer_uri: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use wallet::{ReceiveOptions, TxCode};
//! let http = reqwest::Client::new();
//! let offer = wallet::resolve_offer(&http, offer_uri).await?;
//! // offer.tx_code describes the PIN to ask for; the host asks, the library never prompts.
//! let tx_code = TxCode::new("493027");
//! let now = 1_760_000_000;
//! let received = wallet::receive(
//!     &http, &offer, Some(&tx_code), &ReceiveOptions::default(), &mut rand_core::OsRng, now,
//! ).await?; // every copy verified against the issuer's published keys, or an error
//! let batch_ids = received.store(store)?; // with the refresh token, sealed
//!
//! // Later, when every copy of a batch was shown (ConsentSummary::needs_reuse), ask for a
//! // fresh batch instead of reusing one:
//! let refreshed = wallet::refresh(
//!     &http, store, &batch_ids[0], &ReceiveOptions::default(), &mut rand_core::OsRng, now,
//! ).await?; // Err(RefreshError::Refused { .. }) when the issuer revoked the citizen
//! # let _ = refreshed;
//! # Ok(())
//! # }
//! ```

pub use wallet_core::consent;
pub use wallet_core::dcql;
pub use wallet_core::kdf;
pub mod present;
pub mod receive;
pub mod refresh;
pub mod store;
pub mod transport;

pub use consent::{prepare, ConsentSummary, Preparation, Prepared};
pub use present::{
    answer, present, present_unbound, resolve_request, send, Answer, AuthorizationRequest,
    ClientIdentity, PresentError, PresentationError, ResponseMode, Reuse,
};
pub use receive::{
    receive, resolve_offer, CredentialOffer, ReceiveError, ReceiveOptions, Received, TxCode,
};
pub use refresh::{refresh, RefreshError, Refreshed};
pub use store::{StorageKey, Store, StoreError};
pub use transport::http_client;
