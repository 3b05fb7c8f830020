//! Every failure the package reports, and its stable `code` (snake case): the core's error
//! variants one to one, plus the glue's own (a bad argument, the host failing, a call while
//! another runs). JavaScript sees an `Error` with this `code` and the message, which names
//! the failed check and carries no claim, code or token.

use wallet_core::kdf::KdfError;
use wallet_core::report::ShowError;
use wallet_core::{
    PresentError, PresentationError, ReceiveError, RefreshError, SignerError, StoreError,
};

/// A failure of one call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// Receiving (offer, token, credential, verification).
    #[error(transparent)]
    Receive(#[from] ReceiveError),
    /// Opening a request or answering it.
    #[error(transparent)]
    Presentation(#[from] PresentationError),
    /// Refreshing a batch.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// The records.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Showing a card.
    #[error(transparent)]
    Show(#[from] ShowError),
    /// Deriving the storage key.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// The wallet holds nothing that answers the request (`details`: who asked, what is
    /// missing).
    #[error("cannot satisfy the request of {client_id}")]
    CannotSatisfy {
        /// Who asked.
        client_id: String,
    },
    /// `answer` without a request opened by `openRequest`.
    #[error("no request is open: call openRequest first")]
    NoOpenRequest,
    /// An argument is not what the API takes.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The host's `persist` failed: nothing of this call is on disk; the wallet keeps the
    /// changes and writes them with the next call.
    #[error("the host could not persist the records: {reason}")]
    Persist {
        /// The host's message.
        reason: String,
    },
    /// The host object lacks a function the call needs, or it returned the wrong shape.
    #[error("the host {what}")]
    Host {
        /// What is wrong.
        what: String,
    },
    /// Another call on this wallet has not finished (calls run one at a time).
    #[error("another call on this wallet is still running")]
    Busy,
}

impl WalletError {
    /// The stable code JavaScript sees.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::Receive(e) => receive_code(e),
            WalletError::Presentation(e) => presentation_code(e),
            WalletError::Refresh(e) => refresh_code(e),
            WalletError::Store(e) => store_code(e),
            WalletError::Show(ShowError::Store(e)) => store_code(e),
            WalletError::Show(ShowError::Parse { .. } | ShowError::Process { .. }) => {
                "stored_credential_unreadable"
            }
            WalletError::Show(_) => "show_failed",
            WalletError::Kdf(_) => "key_derivation",
            WalletError::CannotSatisfy { .. } => "cannot_satisfy",
            WalletError::NoOpenRequest => "no_open_request",
            WalletError::InvalidArgument { .. } => "invalid_argument",
            WalletError::Persist { .. } => "persist_failed",
            WalletError::Host { .. } => "host_failed",
            WalletError::Busy => "busy",
        }
    }
}

fn store_code(e: &StoreError) -> &'static str {
    match e {
        StoreError::WrongKey => "wrong_key",
        StoreError::Corrupted { .. } => "corrupted",
        StoreError::NotFound { .. } => "not_found",
        StoreError::SchemaTooNew { .. } => "schema_too_new",
        StoreError::TooLarge { .. } => "records_too_large",
        _ => "store_failed",
    }
}

fn signer_code(e: &SignerError) -> &'static str {
    match e {
        SignerError::NotFound => "holder_key_not_found",
        SignerError::UnsupportedAlg { .. } => "holder_key_unsupported_alg",
        _ => "signer_failed",
    }
}

fn receive_code(e: &ReceiveError) -> &'static str {
    match e {
        ReceiveError::InvalidOfferUri { .. } => "invalid_offer_uri",
        ReceiveError::InvalidOffer { .. } | ReceiveError::InvalidOfferMember { .. } => {
            "invalid_offer"
        }
        ReceiveError::InsecureUrl { .. } => "insecure_url",
        ReceiveError::Redirected { .. } => "redirected",
        ReceiveError::UnsupportedGrant => "unsupported_grant",
        ReceiveError::TxCodeRequired => "tx_code_required",
        ReceiveError::Http { .. } => "http",
        ReceiveError::Refused { .. } => "issuer_refused",
        ReceiveError::Metadata { .. } => "issuer_metadata",
        ReceiveError::IssuerKeys { .. } => "issuer_keys",
        ReceiveError::WrongCount { .. } => "wrong_count",
        ReceiveError::NotVerified { .. } => "credential_not_verified",
        ReceiveError::HolderKeyMismatch { .. } => "holder_key_mismatch",
        ReceiveError::Signer(s) => signer_code(s),
        ReceiveError::NotAsOffered { .. } => "credential_not_as_offered",
        _ => "receive_failed",
    }
}

fn presentation_code(e: &PresentationError) -> &'static str {
    match e {
        PresentationError::InvalidRequest { .. } => "invalid_request",
        PresentationError::InvalidRequestObject { .. } => "invalid_request_object",
        PresentationError::UnsupportedClientIdPrefix { .. } => "unsupported_client_id_prefix",
        PresentationError::Dcql(_) => "invalid_dcql_query",
        PresentationError::TransactionDataUnsupported => "transaction_data_unsupported",
        PresentationError::UnsignedRequestObject => "unsigned_request_object",
        PresentationError::InsecureUrl { .. } => "insecure_url",
        PresentationError::Redirected { .. } => "redirected",
        PresentationError::RequestExpired { .. } => "request_expired",
        PresentationError::AllCopiesShown { .. } => "all_copies_shown",
        PresentationError::Store(s) => store_code(s),
        PresentationError::Present(PresentError::WrongHolderKey) => "wrong_holder_key",
        PresentationError::Present(_) => "presentation_failed",
        PresentationError::Signer(s) => signer_code(s),
        PresentationError::Http { .. } => "http",
        PresentationError::Rejected { .. } => "verifier_rejected",
        _ => "presentation_failed",
    }
}

fn refresh_code(e: &RefreshError) -> &'static str {
    match e {
        RefreshError::NotRefreshable { .. } => "not_refreshable",
        RefreshError::Refused { .. } => "refresh_refused",
        RefreshError::RateLimited { .. } => "rate_limited",
        RefreshError::Receive(r) => receive_code(r),
        RefreshError::Store(s) => store_code(s),
        _ => "refresh_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::dcql::DcqlError;

    /// Every code the package maps, from the error that gives it: a code is an API, so a
    /// change here is a change JavaScript sees.
    #[test]
    fn each_error_has_its_stable_code() {
        let s = String::new;
        let cases: Vec<(WalletError, &str)> = vec![
            (StoreError::WrongKey.into(), "wrong_key"),
            (StoreError::Corrupted { id: s() }.into(), "corrupted"),
            (StoreError::NotFound { id: s() }.into(), "not_found"),
            (
                StoreError::SchemaTooNew {
                    found: 2,
                    supported: 1,
                }
                .into(),
                "schema_too_new",
            ),
            (
                StoreError::TooLarge { reason: s() }.into(),
                "records_too_large",
            ),
            (StoreError::Io { reason: s() }.into(), "store_failed"),
            (
                ShowError::Parse { reason: s() }.into(),
                "stored_credential_unreadable",
            ),
            (
                ShowError::Process { reason: s() }.into(),
                "stored_credential_unreadable",
            ),
            (
                ShowError::Store(StoreError::NotFound { id: s() }).into(),
                "not_found",
            ),
            (KdfError::SaltLength { len: 1 }.into(), "key_derivation"),
            (
                WalletError::CannotSatisfy { client_id: s() },
                "cannot_satisfy",
            ),
            (WalletError::NoOpenRequest, "no_open_request"),
            (
                WalletError::InvalidArgument {
                    name: "opts",
                    reason: s(),
                },
                "invalid_argument",
            ),
            (WalletError::Persist { reason: s() }, "persist_failed"),
            (WalletError::Host { what: s() }, "host_failed"),
            (WalletError::Busy, "busy"),
            (
                ReceiveError::InvalidOfferUri { reason: "x" }.into(),
                "invalid_offer_uri",
            ),
            (
                ReceiveError::InvalidOffer { reason: "x" }.into(),
                "invalid_offer",
            ),
            (
                ReceiveError::InvalidOfferMember { path: s() }.into(),
                "invalid_offer",
            ),
            (
                ReceiveError::InsecureUrl {
                    endpoint: s(),
                    origin: s(),
                }
                .into(),
                "insecure_url",
            ),
            (
                ReceiveError::Redirected {
                    endpoint: s(),
                    status: 302,
                }
                .into(),
                "redirected",
            ),
            (ReceiveError::UnsupportedGrant.into(), "unsupported_grant"),
            (ReceiveError::TxCodeRequired.into(), "tx_code_required"),
            (
                ReceiveError::Http {
                    endpoint: s(),
                    url: None,
                    reason: s(),
                }
                .into(),
                "http",
            ),
            (
                ReceiveError::Refused {
                    endpoint: s(),
                    status: 400,
                    error: "invalid_grant".into(),
                    description: None,
                    retry_after: None,
                }
                .into(),
                "issuer_refused",
            ),
            (
                ReceiveError::Metadata { reason: s() }.into(),
                "issuer_metadata",
            ),
            (
                ReceiveError::IssuerKeys { reason: s() }.into(),
                "issuer_keys",
            ),
            (
                ReceiveError::WrongCount {
                    expected: 2,
                    got: 1,
                }
                .into(),
                "wrong_count",
            ),
            (
                ReceiveError::NotVerified {
                    configuration: s(),
                    index: 0,
                    code: s(),
                }
                .into(),
                "credential_not_verified",
            ),
            (
                ReceiveError::HolderKeyMismatch {
                    configuration: s(),
                    index: 0,
                }
                .into(),
                "holder_key_mismatch",
            ),
            (
                ReceiveError::NotAsOffered {
                    configuration: s(),
                    index: 0,
                    what: "vct",
                }
                .into(),
                "credential_not_as_offered",
            ),
            (
                ReceiveError::Signer(SignerError::NotFound).into(),
                "holder_key_not_found",
            ),
            (
                ReceiveError::Signer(SignerError::UnsupportedAlg { alg: s() }).into(),
                "holder_key_unsupported_alg",
            ),
            (
                ReceiveError::Signer(SignerError::Failed { reason: s() }).into(),
                "signer_failed",
            ),
            (
                PresentationError::InvalidRequest { reason: s() }.into(),
                "invalid_request",
            ),
            (
                PresentationError::InvalidRequestObject { reason: "x" }.into(),
                "invalid_request_object",
            ),
            (
                PresentationError::UnsupportedClientIdPrefix { prefix: s() }.into(),
                "unsupported_client_id_prefix",
            ),
            (
                PresentationError::Dcql(DcqlError::Malformed { reason: s() }).into(),
                "invalid_dcql_query",
            ),
            (
                PresentationError::TransactionDataUnsupported.into(),
                "transaction_data_unsupported",
            ),
            (
                PresentationError::UnsignedRequestObject.into(),
                "unsigned_request_object",
            ),
            (
                PresentationError::InsecureUrl {
                    endpoint: "response_uri",
                    origin: s(),
                }
                .into(),
                "insecure_url",
            ),
            (
                PresentationError::Redirected {
                    endpoint: "response_uri",
                    status: 307,
                }
                .into(),
                "redirected",
            ),
            (
                PresentationError::RequestExpired { expired_at: 1 }.into(),
                "request_expired",
            ),
            (
                PresentationError::AllCopiesShown { batch_id: s() }.into(),
                "all_copies_shown",
            ),
            (
                PresentationError::Store(StoreError::WrongKey).into(),
                "wrong_key",
            ),
            (
                PresentationError::Present(PresentError::WrongHolderKey).into(),
                "wrong_holder_key",
            ),
            (
                PresentationError::Present(PresentError::NoHolderKey).into(),
                "presentation_failed",
            ),
            (
                PresentationError::Signer(SignerError::NotFound).into(),
                "holder_key_not_found",
            ),
            (
                PresentationError::Http {
                    endpoint: s(),
                    reason: s(),
                }
                .into(),
                "http",
            ),
            (
                PresentationError::Rejected {
                    status: 400,
                    error: None,
                }
                .into(),
                "verifier_rejected",
            ),
            (
                RefreshError::NotRefreshable { batch_id: s() }.into(),
                "not_refreshable",
            ),
            (
                RefreshError::Refused {
                    error: s(),
                    description: None,
                }
                .into(),
                "refresh_refused",
            ),
            (
                RefreshError::RateLimited { retry_after: None }.into(),
                "rate_limited",
            ),
            (
                RefreshError::Receive(ReceiveError::TxCodeRequired).into(),
                "tx_code_required",
            ),
            (
                RefreshError::Store(StoreError::NotFound { id: s() }).into(),
                "not_found",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error:?}");
        }
    }
}
