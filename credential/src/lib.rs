//! The citizen-ID credential engine: SD-JWT (RFC 9901) issuance, presentation and
//! verification, key-binding JWTs, JWS and JWK for ES256 and EdDSA, the two payload forms of the
//! citizen-ID credential (IETF SD-JWT VC `dc+sd-jwt` and W3C VCDM 2.0 `vc+sd-jwt`), and the IETF
//! Token Status List.
//!
//! [`citizen`] holds the typed claims of the citizen-ID credential (the resident identity
//! number, the two assurance levels, validated claims per level); `docs/credential-format.md`
//! specifies the payload of both forms and `schemas/` describes them as JSON Schemas.
//!
//! [`oid4vci`] holds the OpenID4VCI 1.0 messages (offer, metadata, token, nonce, credential
//! request and response, error body) as serde types shared by the issuer and the wallet.
//!
//! This crate does no I/O: no network, no database, no async runtime, no clock and no ambient
//! randomness. Callers pass bytes, keys, the current time and a CSPRNG, and receive typed values
//! or typed errors.
//!
//! ```text
//!  issuer                      holder                          verifier
//!  ------                      ------                          --------
//!  claims + SdPolicy           SdJwt::parse(issued)            SdJwt::parse(presentation)
//!    -> SdJwtBuilder::issue      -> select disclosures           -> verify(issuer key, now, ...)
//!    -> "jwt~d1~d2~...~"         -> KbJwt over sd_hash           -> VerifiedSdJwt { claims, cnf, .. }
//!                                -> "jwt~d1~kb-jwt"
//! ```

pub mod b64;
pub mod citizen;
pub mod compact;
pub mod jose;
mod json;
pub mod oid4vci;
#[cfg(feature = "qr")]
pub mod qr;
pub mod sd_jwt;
mod sha256;
pub mod size;
pub mod status_list;
pub mod timestamp;
