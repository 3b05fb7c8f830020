use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::error::VerifyError;
use super::parse::SdJwt;
use super::path::ClaimPath;
use super::process::process;
use crate::jose::{sign_compact, SigningKey};

/// The holder's view of a credential: every disclosure with the path of the claim it
/// discloses.
#[derive(Debug, Clone)]
pub struct HolderView {
    /// All claims with everything disclosed (what the holder can show).
    pub claims: Map<String, Value>,
    /// Each disclosure's claim path, parallel to [`SdJwt::disclosures`].
    pub paths: Vec<ClaimPath>,
}

/// The nesting bound of the holder's processing, which runs without a verifier's `Limits`:
/// serde_json's own limit for one JSON text. It was unbounded, and a chain of disclosures, each
/// within the parse limits, assembles to thousands of levels and overflowed the stack (found by
/// `deep_disclosure_chain_is_rejected_not_overflowed` in `tests/it/mutations.rs`).
const HOLDER_MAX_DEPTH: usize = 128;

impl SdJwt {
    /// Processes the holder's own credential without checking the signature (the wallet
    /// verifies a credential once, when it receives it).
    ///
    /// # Errors
    /// The disclosure-processing errors of [`SdJwt::verify`], and [`VerifyError::TooDeep`] when
    /// the disclosed claims nest deeper than 128 levels.
    pub fn holder_view(&self) -> Result<HolderView, VerifyError> {
        let processed = process(
            self.payload.clone(),
            self.disclosures.clone(),
            &[],
            HOLDER_MAX_DEPTH,
        )?;
        Ok(HolderView {
            claims: processed.claims,
            paths: processed.paths,
        })
    }

    /// Selects the disclosures a verifier gets for the requested claim paths: each requested
    /// claim with everything below it, and the disclosures on the way to it (RFC 9901
    /// section 5.1). Returns the presentation without KB-JWT, `<jwt>~<d>~...~`, in compact form.
    ///
    /// # Errors
    /// The disclosure-processing errors of [`SdJwt::verify`].
    pub fn select(&self, requested: &[ClaimPath]) -> Result<String, VerifyError> {
        let view = self.holder_view()?;
        let mut out = self.issuer_jwt_compact();
        out.push('~');
        for (d, path) in self.disclosures.iter().zip(&view.paths) {
            let wanted = requested
                .iter()
                .any(|r| r.is_prefix_of(&path.0) || r.has_prefix(&path.0));
            if wanted {
                out.push_str(d.as_str());
                out.push('~');
            }
        }
        Ok(out)
    }

    /// The issuer-signed JWT in compact form (from the first signature for JSON forms).
    pub fn issuer_jwt_compact(&self) -> String {
        self.jws().to_compact()
    }

    /// The disclosures whose claim path lies at or below one of `requested`, or on the way.
    ///
    /// # Errors
    /// The disclosure-processing errors of [`SdJwt::verify`].
    pub fn disclosures_for(
        &self,
        requested: &[ClaimPath],
    ) -> Result<Vec<&Disclosure>, VerifyError> {
        let view = self.holder_view()?;
        Ok(self
            .disclosures
            .iter()
            .zip(&view.paths)
            .filter(|(_, path)| {
                requested
                    .iter()
                    .any(|r| r.is_prefix_of(&path.0) || r.has_prefix(&path.0))
            })
            .map(|(d, _)| d)
            .collect())
    }
}

/// Creates a KB-JWT (RFC 9901 section 4.3) over `presentation` (the SD-JWT ending in `~`) and
/// returns the SD-JWT+KB: `presentation` followed by the KB-JWT.
pub fn add_key_binding(
    presentation: &str,
    holder_key: &SigningKey,
    nonce: &str,
    aud: &str,
    iat: i64,
) -> String {
    let sd_hash = super::disclosure::SdAlg::Sha256.digest(presentation);
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("kb+jwt".into()));
    let mut claims = Map::new();
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("aud".into(), Value::String(aud.to_owned()));
    claims.insert("nonce".into(), Value::String(nonce.to_owned()));
    claims.insert("sd_hash".into(), Value::String(sd_hash));
    let kb = sign_compact(
        header,
        Value::Object(claims).to_string().as_bytes(),
        holder_key,
    );
    format!("{presentation}{kb}")
}
