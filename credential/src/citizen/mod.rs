//! The citizen-ID credential's typed claims: the resident identity number, the two assurance
//! levels and the claims of each level.
//!
//! ```text
//!  enrolment / claims file (JSON, our input format)
//!        |  CitizenClaims::from_json(text, level)       size limit, no duplicate keys,
//!        v                                               no unknown or computed members
//!  CitizenClaims  (valid id_number; birthdate and sex agree with it; high-only claims iff high)
//!        |  disclosable_claims(today)                    adds age_equal_or_over
//!        v
//!  personal claims -> SD-JWT issuance, every one selectively disclosable
//!  (dc+sd-jwt: top level beside vct; vc+sd-jwt: under credentialSubject)
//! ```
//!
//! The payload layouts, what is disclosable and what is always visible are specified in
//! `docs/credential-format.md`; the JSON Schemas and SD-JWT VC type metadata in `schemas/`
//! describe the processed payloads.
//!
//! Nothing here prints personal data: [`IdNumber`]'s `Debug` masks all but four characters,
//! [`CitizenClaims`]' `Debug` shows only the level and that masked number, and no error carries a
//! claim value.

mod claims;
mod error;
mod id_number;
mod issue;
mod level;
mod portrait;
mod value;

pub use claims::{
    age_in_years, Address, CardValidity, CitizenClaims, HighClaims, IdCard, ADDRESS_MEMBERS,
    AGE_THRESHOLDS, BASIC_CLAIMS, HIGH_ONLY_CLAIMS, ID_CARD_MEMBERS, LONG_TERM,
    MAX_CLAIMS_JSON_BYTES,
};
pub use error::ClaimsError;
pub use id_number::{IdNumber, IdNumberError, Sex, ID_NUMBER_LEN};
pub use issue::{issue, Format, IssueError, IssueRequest};
pub use level::{Level, LevelError, VCT_BASIC, VCT_HIGH};
pub use portrait::Portrait;

/// The W3C VCDM 2.0 base context, first in every `@context` of the `vc+sd-jwt` form.
pub const VCDM_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// The W3C `type` entry common to both levels of the `vc+sd-jwt` form. The `type` array is
/// `["VerifiableCredential", "CitizenIdCredential", <vct of the level>]`.
pub const VC_TYPE: &str = "CitizenIdCredential";
