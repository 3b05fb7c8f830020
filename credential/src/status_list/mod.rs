//! The IETF Token Status List (draft-ietf-oauth-status-list), JSON and JWT forms.
//!
//! Section numbers cite the 2026 editor's copy of the draft, the text the test vectors were
//! taken from (see `credential/tests/vectors/README.md`). The CBOR and CWT forms (sections 4.3,
//! 5.2, 6.3) are not implemented.
//!
//! - [`StatusList`] is the bit-packed array (section 4.1) with entries of [`Bits`] 1, 2, 4 or
//!   8, read as typed [`Status`] values (section 7.1). Its JSON form (section 4.2) is
//!   `{"bits", "lst"}`, `lst` being base64url(ZLIB(bytes)).
//! - Decoding is bounded by [`Limits`]: the token length and the compressed size are checked
//!   before parsing, and inflation stops at `max_decompressed_bytes`, so a ZLIB bomb is a
//!   [`StatusListError::DecompressionLimit`], never an allocation.
//! - [`StatusListToken`] is the JWT of section 5.1 (`typ: statuslist+jwt`). `sign` makes one;
//!   `verify` checks it against a caller-chosen key, expected `sub`, clock and skew and returns
//!   a [`VerifiedStatusListToken`]; `parse_unverified` is for display only.
//! - [`StatusReference`] is the Referenced Token's `status.status_list` claim (section 6.2).
//!
//! Like the rest of the crate this module does no I/O and reads no clock: fetching the token
//! (section 8.1) and the freshness policy (`iat`, `ttl`; section 8.3 step 4) are the caller's.
//!
//! ```text
//!  issuer                                   verifier
//!  ------                                   --------
//!  StatusList::new(Bits::Two, 1 << 20)      StatusReference::from_payload(referenced token)
//!    .set(idx, Status::Invalid.into())        -> { idx, uri }
//!  StatusListToken { sub: uri, .. }         StatusListToken::verify(jwt, key,
//!    .sign(key) -> "eyJ..." (published)         Validation::new(uri, now))
//!                                             -> VerifiedStatusListToken
//!                                                .status_of(&reference) -> Status
//! ```

mod encoding;
mod error;
mod limits;
mod list;
mod reference;
mod status;
mod token;

pub use encoding::{inflate_bounded, zlib_compress};
pub use error::StatusListError;
pub use limits::Limits;
pub use list::StatusList;
pub use reference::StatusReference;
pub use status::{Bits, Status};
pub use token::{
    StatusListToken, UnverifiedStatusListToken, Validation, VerifiedStatusListToken,
    DEFAULT_SKEW_SECS, MEDIA_TYPE, TYP,
};
