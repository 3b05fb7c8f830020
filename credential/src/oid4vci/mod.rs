//! The OpenID4VCI 1.0 messages of the pre-authorized code flow, as serde types shared by the
//! issuer (which serializes them) and the wallet (which reads them).
//!
//! ```text
//!  wallet                                           issuer
//!  openid-credential-offer://?credential_offer= ◄── CredentialOffer                  (section 4.1.1)
//!  GET /.well-known/openid-credential-issuer    ◄── CredentialIssuerMetadata         (section 12.2.4)
//!  GET /.well-known/oauth-authorization-server  ◄── AuthorizationServerMetadata      (RFC 8414; 12.3)
//!  POST /token       TokenRequest (form)        ──► TokenResponse                    (section 6)
//!  POST /nonce                                  ──► NonceResponse                    (section 7)
//!  POST /credential  CredentialRequest          ──► CredentialResponse               (section 8)
//!  any refusal                                  ◄── ErrorResponse                    (RFC 6749 5.2; 8.3.1)
//! ```
//!
//! Reading: every type ignores members it does not know (the specification lets issuers and
//! wallets add extensions), except [`Proofs`], which holds exactly one proof type (section
//! 8.2). Writing: optional members that are `None` are left out, so the JSON on the wire holds
//! only what was set. Members are written in the order of the struct's fields.
//!
//! Secrets (the pre-authorized code, `tx_code`, access and refresh tokens) are [`Secret`]s:
//! zeroized on drop, `Debug` redacted. Size limits belong to whoever reads the bytes (the
//! issuer and the wallet cap bodies before parsing); these types do no I/O.

mod issuance;
mod metadata;
mod offer;
mod secret;
mod token;

pub use issuance::{
    CredentialRequest, CredentialResponse, ErrorResponse, IssuedCredential, NonceResponse, Proofs,
};
pub use metadata::{
    AuthorizationServerMetadata, BatchIssuance, ClaimDescription, ClaimPathElement,
    ConfigurationMap, CredentialConfiguration, CredentialDefinition, CredentialIssuerMetadata,
    CredentialMetadata, Display, Image, ProofTypeMetadata, SigningAlg,
};
pub use offer::{
    AuthorizationCodeGrant, CredentialOffer, Grants, PreAuthorizedCodeGrant, TxCodeSpec,
};
pub use secret::Secret;
pub use token::{
    Grant, TokenRequest, TokenRequestError, TokenResponse, PRE_AUTH_GRANT, REFRESH_GRANT,
};

/// The proof JWT's `typ` (appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Where the credential issuer metadata is published, below the issuer URL (section 12.2.2).
pub const ISSUER_METADATA_PATH: &str = "/.well-known/openid-credential-issuer";

/// Where the authorization-server metadata is published, below its URL (RFC 8414 section 3).
pub const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
