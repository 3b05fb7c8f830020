//! The citizen-ID journey as a library, shared by the `demo` binary and the workspace-level
//! end-to-end tests in `tests/`: the bureau's issuer running in-process on a loopback port, a
//! small OpenID4VCI/OpenID4VP wallet client over HTTP, and relying-party desks built on the
//! `verifier` library.
//!
//! ```text
//!  Bureau (issuer::server on 127.0.0.1:0) ──offer + tx_code──► DemoWallet::receive (HTTP)
//!  Desk::request ──openid4vp:// QR──► DemoWallet::answer ──vp_token QR──► Desk::check
//!  Desk::sync (jwt-vc-issuer + /status/{shard}, then offline)
//! ```

pub mod demo;
