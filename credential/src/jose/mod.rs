//! JOSE for the two algorithms this stack speaks: ES256 (P-256, RFC 7518 section 3.4) and
//! EdDSA over Ed25519 (RFC 8037).
//!
//! - [`Alg`] is closed: `none`, every HMAC and anything else is an error at parse time.
//! - [`PublicJwk`] is a validated public key (the point is on its curve) with its RFC 7638
//!   thumbprint; it never holds private material.
//! - [`SigningKey`] holds a private key. It zeroizes on drop, prints only its key id in
//!   `Debug`, implements no `Serialize`, and exports its private JWK only through
//!   [`SigningKey::to_private_jwk`], which returns a zeroizing string.
//! - [`JwsSigner`] is what signs when the key may be held elsewhere (an HSM); a `SigningKey`
//!   is one, and [`try_sign_compact`] signs with any.
//! - [`Jws`] is a parsed compact JWS that keeps the exact bytes its signature covers.

mod alg;
mod error;
mod jwk;
mod jws;
mod key;
mod signer;

pub use alg::Alg;
pub use error::JoseError;
pub use jwk::{PublicJwk, PublicKey};
pub use jws::{sign_compact, Header, Jws};
pub use key::SigningKey;
pub use signer::{try_sign_compact, JwsSigner};
