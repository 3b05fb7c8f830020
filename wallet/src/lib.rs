//! The citizen's wallet, as a library a messaging app embeds: it holds citizen-ID credentials
//! and answers presentation requests by disclosing only the claims asked for.
//!
//! The library does no terminal I/O; the host app owns the screens and the device keystore.
//! This version offers the stateless presentation step; storage and the OpenID4VCI/VP flows
//! build on it.
//!
//! ```text
//! credential (jwt~d1~...~dn~) + holder key + claim paths + nonce + aud
//!     -> present() -> jwt~d_i~...~kb-jwt
//! ```

pub mod present;

pub use present::{present, PresentError};
