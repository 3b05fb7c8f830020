//! Selective Disclosure for JWTs (RFC 9901): issuance, holder selection, key binding and
//! verification.
//!
//! ```text
//! SdJwtBuilder::new(claims).disclosable(path)...issue(key, salts)   -> Issued (jwt + disclosures)
//! SdJwt::parse(text, limits)                                          -> SdJwt (unverified)
//!   .select(paths) + add_key_binding(..)                              -> presentation (holder)
//!   .verify(issuer_keys, options)                                     -> VerifiedSdJwt (verifier)
//! ```
//!
//! Digests are computed over the disclosures' base64url text as received and `sd_hash` over the
//! presentation text up to its last `~`; nothing is re-serialized before hashing.

mod disclosure;
mod error;
mod issue;
mod limits;
mod parse;
mod path;
mod present;
mod process;
mod verify;

pub use disclosure::{Disclosure, DisclosureKind, SdAlg};
pub use error::{IssueError, VerifyError};
pub use issue::{Issued, RngSalts, SaltSource, SdJwtBuilder};
pub use limits::Limits;
pub use parse::{SdJwt, Serialization};
pub use path::{ClaimPath, PathSegment};
pub use present::{add_key_binding, HolderView};
pub use verify::{
    IssuerKeys, KbClaims, KeyBinding, TypPolicy, VerifiedSdJwt, VerifyOptions, OTHER_JWT_KINDS,
    SD_JWT_VC_RESERVED,
};
