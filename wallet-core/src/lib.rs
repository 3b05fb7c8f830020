//! The citizen's wallet without I/O: the protocols a wallet runs, for any host (the desktop CLI
//! in `wallet`, a messaging app's mini-program or a web page through WebAssembly).
//!
//! The core owns the protocol rules; the host owns the bytes' journeys:
//!
//! ```text
//!           ┌──────────────────────── wallet-core ──────────────────────────┐
//!  offer ──>│ resolve_offer · receive · refresh (OpenID4VCI 1.0)           │
//!           │ DCQL matching · consent summary · answers (VP2 compact form)  │
//!           │ https-only, no redirect, size limits · sealing · single use   │
//!           └──┬──────────────┬──────────────┬───────────────┬──────────────┘
//!   Transport::exchange   RecordStore     StorageKey      now, rng, HolderSigner
//!   (reqwest / fetch)     (SQLite /      (keystore /     (the host's clock and
//!                          IndexedDB)     Argon2id)       CryptoRngCore)
//! ```
//!
//! - **Transport** ([`transport::Transport`]): one `async fn exchange(HttpRequest) ->
//!   Result<HttpResponse, TransportError>`; the core builds every request and checks every
//!   answer (https off loopback, no `3xx`, at most [`transport::MAX_BODY`]).
//! - **Storage** ([`store::RecordStore`]): the records the host persists; values that carry a
//!   claim, a key or a token are sealed by the core ([`seal`]) under the host's [`StorageKey`].
//! - **Holder keys** ([`signer::HolderSigner`]): create a key, its public JWK, sign, by
//!   [`KeyHandle`]; [`SoftwareSigner`] (software keys from the host's random source, the
//!   handle being the private JWK, sealed at rest) is the default.
//! - **Storage as sealed bytes** ([`memory::MemoryStore::from_records`],
//!   [`memory::MemoryStore::take_changes`]): for a host that persists the records itself
//!   (IndexedDB, a mini-program's storage), opaque sealed records by key.
//! - **Passphrase** ([`kdf`]): Argon2id with fixed bounds, the same for every host.
//! - **Reports** ([`report`]): the JSON each operation reports, printed alike by every host.
//! - **Clock and randomness**: every operation takes `now` (Unix seconds) and a
//!   `rand_core::CryptoRngCore`; the core has no OS clock or random source, so it builds for
//!   `wasm32-unknown-unknown` with no `getrandom`.
//!
//! Async functions take the transport as a generic parameter and ask for no `Send` bound: a
//! browser's futures are not `Send`.

pub mod answer;
pub mod consent;
pub mod dcql;
pub mod kdf;
pub mod memory;
pub mod present;
pub mod receive;
pub mod refresh;
pub mod report;
pub mod seal;
pub mod signer;
pub mod store;
pub mod transport;

pub use answer::{answer, answer_with, begin_answer, send, Answer, Reuse, UnsignedAnswer};
pub use consent::{prepare, ConsentSummary, Preparation, Prepared};
pub use memory::{Changes, MemoryStore};
pub use present::{
    present, present_unbound, resolve_request, AuthorizationRequest, ClientIdentity, PresentError,
    PresentationError, ResponseMode,
};
pub use receive::{
    receive, resolve_offer, CredentialOffer, ReceiveError, ReceiveOptions, Received, TxCode,
};
pub use refresh::{refresh, RefreshError, Refreshed};
pub use seal::{Sealer, StorageKey};
pub use signer::{HolderSigner, KeyHandle, SignerError, SoftwareSigner, ToSign};
pub use store::{RecordStore, StoreError};
pub use transport::{Expect, HttpRequest, HttpResponse, Method, Transport, TransportError};
