//! Making a presentation: selecting disclosures and binding them to the verifier's nonce.

use credential::jose::SigningKey;
use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt, VerifyError};

/// Why a presentation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The stored credential does not parse or its disclosures do not process.
    #[error("credential: {0}")]
    Credential(#[from] VerifyError),
    /// The credential carries no holder key (`cnf.jwk`), so it cannot be key-bound.
    #[error("credential has no holder key (cnf.jwk)")]
    NoHolderKey,
    /// The given holder key is not the credential's `cnf` key.
    #[error("holder key does not match the credential's cnf key")]
    WrongHolderKey,
    /// A requested claim is not in the credential.
    #[error("claim {path} is not in the credential")]
    ClaimNotFound {
        /// The claim path.
        path: String,
    },
}

/// Presents `credential` disclosing the claims at `disclose` (and what lies beneath them),
/// with a KB-JWT signed by `holder_key` for `nonce` and `aud` at time `iat`.
///
/// # Errors
/// [`PresentError`] when the credential is malformed, the key is not its holder key, or a
/// requested claim is absent.
pub fn present(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
    nonce: &str,
    aud: &str,
    iat: i64,
) -> Result<String, PresentError> {
    let sd_jwt = SdJwt::parse(credential, &Limits::default())?;
    let view = sd_jwt.holder_view()?;
    let cnf = view
        .claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .ok_or(PresentError::NoHolderKey)?;
    let cnf =
        credential::jose::PublicJwk::from_value(cnf).map_err(|_| PresentError::NoHolderKey)?;
    if &cnf != holder_key.public_jwk() {
        return Err(PresentError::WrongHolderKey);
    }
    let all = serde_json::Value::Object(view.claims.clone());
    for path in disclose {
        if path.lookup(&all).is_empty() {
            return Err(PresentError::ClaimNotFound {
                path: path.to_string(),
            });
        }
    }
    let selected = sd_jwt.select(disclose)?;
    Ok(add_key_binding(&selected, holder_key, nonce, aud, iat))
}
