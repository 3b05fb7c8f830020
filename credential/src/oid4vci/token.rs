//! The token endpoint (section 6; RFC 6749 sections 4.1.3, 5.1 and 6): the form the wallet
//! posts and the answer.

use serde::{Deserialize, Serialize};

use super::{Secret, PRE_AUTH_GRANT, REFRESH_GRANT};

/// A token request (`application/x-www-form-urlencoded`): every parameter of the two grants
/// this issuer supports. Unknown parameters are ignored (RFC 6749 section 3.2). Which grant it
/// is, with its required parameters, is [`TokenRequest::grant`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenRequest {
    /// [`PRE_AUTH_GRANT`] or [`REFRESH_GRANT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// The offer's pre-authorized code.
    #[serde(
        rename = "pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<Secret>,
    /// The transaction code the user typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<Secret>,
    /// The refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

/// A token request's grant, with the parameters it requires.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    /// The pre-authorized code grant (section 6.1).
    PreAuthorized {
        /// `pre-authorized_code`.
        code: &'a Secret,
        /// `tx_code`, when sent.
        tx_code: Option<&'a Secret>,
    },
    /// The refresh grant (RFC 6749 section 6).
    Refresh {
        /// `refresh_token`.
        refresh_token: &'a Secret,
    },
}

/// Why a token request names no usable grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRequestError {
    /// No `grant_type`.
    #[error("grant_type missing")]
    GrantTypeMissing,
    /// A pre-authorized code grant without its code.
    #[error("pre-authorized_code missing")]
    PreAuthorizedCodeMissing,
    /// A refresh grant without its token.
    #[error("refresh_token missing")]
    RefreshTokenMissing,
    /// A grant type other than the two supported.
    #[error("grant_type is not supported")]
    UnsupportedGrantType,
}

impl TokenRequest {
    /// The pre-authorized code grant's form.
    pub fn pre_authorized(code: Secret, tx_code: Option<Secret>) -> TokenRequest {
        TokenRequest {
            grant_type: Some(PRE_AUTH_GRANT.to_owned()),
            pre_authorized_code: Some(code),
            tx_code,
            refresh_token: None,
        }
    }

    /// The refresh grant's form.
    pub fn refresh(refresh_token: Secret) -> TokenRequest {
        TokenRequest {
            grant_type: Some(REFRESH_GRANT.to_owned()),
            refresh_token: Some(refresh_token),
            ..TokenRequest::default()
        }
    }

    /// The grant this request asks for, with its required parameter.
    ///
    /// # Errors
    /// [`TokenRequestError`] naming the missing parameter or the unsupported grant type.
    pub fn grant(&self) -> Result<Grant<'_>, TokenRequestError> {
        match self.grant_type.as_deref() {
            None => Err(TokenRequestError::GrantTypeMissing),
            Some(PRE_AUTH_GRANT) => Ok(Grant::PreAuthorized {
                code: self
                    .pre_authorized_code
                    .as_ref()
                    .ok_or(TokenRequestError::PreAuthorizedCodeMissing)?,
                tx_code: self.tx_code.as_ref(),
            }),
            Some(REFRESH_GRANT) => Ok(Grant::Refresh {
                refresh_token: self
                    .refresh_token
                    .as_ref()
                    .ok_or(TokenRequestError::RefreshTokenMissing)?,
            }),
            Some(_) => Err(TokenRequestError::UnsupportedGrantType),
        }
    }
}

/// A successful token response (RFC 6749 section 5.1; OpenID4VCI section 6.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token for the credential endpoint.
    pub access_token: Secret,
    /// `Bearer` (or `DPoP`).
    pub token_type: String,
    /// Lifetime of the access token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// A refresh token, for a later batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

impl TokenResponse {
    /// A bearer token answer: `{access_token, token_type: "Bearer", expires_in, refresh_token}`.
    pub fn bearer(
        access_token: Secret,
        expires_in: i64,
        refresh_token: Option<Secret>,
    ) -> TokenResponse {
        TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: Some(expires_in),
            refresh_token,
        }
    }
}
