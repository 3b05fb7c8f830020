//! The request bodies of the issuer's endpoints, decoded and checked as the handlers do before
//! they reach the database: the token form, the credential request JSON with its proof JWTs,
//! and the officer and admin JSON bodies. For the fuzz targets in `fuzz/` (and tests), without
//! a server or a database. Each returns `Ok(())` or the [`ApiError`] the endpoint would answer;
//! the body types stay private to the server.
//!
//! The decoding is the handlers' own (the same `Deserialize` types, the same
//! `serde_urlencoded` / `serde_json` calls and error mapping); the checks after it are those
//! that need no state.

use credential::citizen::{CitizenClaims, Level};
use credential::jose::{Jws, PublicJwk};
use serde::de::DeserializeOwned;

use credential::oid4vci::{CredentialRequest, TokenRequest, TokenRequestError};

use super::{extract, BasicEnrolment, CitizenTarget, HighEnrolment, RotateBody};
use crate::domain::{ConfigId, StatusAction};
use crate::error::ApiError;

/// `POST /token` (`application/x-www-form-urlencoded`): the form, then the grant's parameters.
///
/// # Errors
/// As the endpoint: `invalid_request`, `unsupported_grant_type`.
pub fn token_form(body: &[u8]) -> Result<(), ApiError> {
    let form: TokenRequest = serde_urlencoded::from_bytes(body)
        .map_err(|_| ApiError::invalid_request("malformed form body"))?;
    form.grant().map(|_| ()).map_err(grant_refused)
}

/// The token endpoint's answer to a form that names no usable grant: `unsupported_grant_type`
/// for an unknown grant type, else `invalid_request` naming the missing parameter.
pub fn grant_refused(e: TokenRequestError) -> ApiError {
    match e {
        TokenRequestError::UnsupportedGrantType => ApiError::UnsupportedGrantType,
        missing => ApiError::invalid_request(missing.to_string()),
    }
}

/// `POST /credential` (JSON): the request, its configuration id, and each proof JWT decoded
/// (compact JWS with an allowed `alg`, the header `jwk`, the signature, a JSON object payload).
///
/// # Errors
/// As the endpoint: `invalid_credential_request`, `unknown_credential_configuration`,
/// `invalid_proof`.
pub fn credential_request(body: &[u8]) -> Result<(), ApiError> {
    let req: CredentialRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidCredentialRequest {
            reason: extract::json_problem(&e),
        })?;
    let config = req
        .credential_configuration_id
        .ok_or(ApiError::InvalidCredentialRequest {
            reason: "credential_configuration_id missing".into(),
        })?;
    ConfigId::parse(&config).ok_or(ApiError::UnknownCredentialConfiguration)?;
    let proofs = req.proofs.ok_or(ApiError::InvalidProof {
        index: 0,
        reason: "proofs missing".into(),
    })?;
    for (index, proof) in proofs.jwt.iter().enumerate() {
        let bad = |reason: &str| ApiError::proof(index, reason);
        if proof.len() > 4096 {
            return Err(bad("too large"));
        }
        let jws = Jws::parse(proof).map_err(|_| bad("not a compact jws"))?;
        let jwk = jws
            .header()
            .members
            .get("jwk")
            .ok_or_else(|| bad("jwk header missing"))?;
        let holder = PublicJwk::from_value(jwk).map_err(|_| bad("jwk"))?;
        jws.verify(&holder).map_err(|_| bad("signature"))?;
        jws.payload_object().map_err(|_| bad("payload"))?;
    }
    Ok(())
}

/// `POST /enrol/basic` (JSON): the body, then the claims at basic level.
///
/// # Errors
/// `invalid_request`, `invalid_claims`.
pub fn enrol_basic(body: &[u8]) -> Result<(), ApiError> {
    let body: BasicEnrolment = json(body)?;
    CitizenClaims::from_value(&body.claims, Level::Basic)?;
    Ok(())
}

/// `POST /enrol/high` (JSON): the body, then the claims at high level.
///
/// # Errors
/// `invalid_request`, `invalid_claims`.
pub fn enrol_high(body: &[u8]) -> Result<(), ApiError> {
    let body: HighEnrolment = json(body)?;
    CitizenClaims::from_value(&body.claims, Level::High)?;
    Ok(())
}

/// `POST /admin/citizens/{action}` (JSON `{"id_number"}`), with the action from the path.
///
/// # Errors
/// `invalid_request`.
pub fn admin_citizen(action: &str, body: &[u8]) -> Result<(), ApiError> {
    let _: CitizenTarget = json(body)?;
    super::action(action)?;
    Ok(())
}

/// `POST /admin/keys/rotate` (JSON `{"alg"}`).
///
/// # Errors
/// `invalid_request`.
pub fn admin_rotate(body: &[u8]) -> Result<(), ApiError> {
    let body: RotateBody = json(body)?;
    if let Some(alg) = body.alg {
        credential::jose::Alg::parse(&alg)
            .map_err(|_| ApiError::invalid_request("alg must be ES256 or EdDSA"))?;
    }
    Ok(())
}

/// A status action as the admin paths name it (`revoke`, `suspend`, `reinstate`).
///
/// # Errors
/// `invalid_request`.
pub fn status_action(text: &str) -> Result<(), ApiError> {
    StatusAction::parse(text)
        .map(|_| ())
        .ok_or_else(|| ApiError::invalid_request("action must be revoke, suspend or reinstate"))
}

/// The JSON body decoding of the `ApiJson` extractor.
fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("body: {}", extract::json_problem(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_form_needs_a_known_grant_and_its_code() {
        assert!(token_form(
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x"
        )
        .is_ok());
        assert!(matches!(
            token_form(b"grant_type=password"),
            Err(ApiError::UnsupportedGrantType)
        ));
        assert!(token_form(b"grant_type=refresh_token").is_err());
        assert!(token_form(b"%zz=\xff").is_err());
    }

    #[test]
    fn a_credential_request_names_a_configuration_and_carries_proofs() {
        assert!(matches!(
            credential_request(br#"{"credential_configuration_id":"nope","proofs":{"jwt":[]}}"#),
            Err(ApiError::UnknownCredentialConfiguration)
        ));
        assert!(matches!(
            credential_request(br#"{"unknown":1}"#),
            Err(ApiError::InvalidCredentialRequest { .. })
        ));
    }

    #[test]
    fn admin_bodies_refuse_unknown_fields() {
        assert!(admin_citizen("revoke", br#"{"id_number":"x"}"#).is_ok());
        assert!(admin_citizen("revoke", br#"{"id_number":"x","more":1}"#).is_err());
        assert!(admin_citizen("explode", br#"{"id_number":"x"}"#).is_err());
        assert!(admin_rotate(br#"{"alg":"none"}"#).is_err());
        assert!(admin_rotate(br#"{}"#).is_ok());
    }
}
