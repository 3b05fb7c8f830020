//! The citizen's wallet, as a library a messaging app embeds: it holds citizen-ID credentials
//! and answers presentation requests by disclosing only the claims asked for.

pub mod consent;
pub mod dcql;
pub mod present;
pub mod receive;
pub mod store;

pub use consent::{prepare, ConsentSummary, Preparation, Prepared};
pub use present::{
    answer, present, resolve_request, send, Answer, AuthorizationRequest, PresentError,
    PresentationError, ResponseMode, Reuse,
};
pub use receive::{receive, resolve_offer, CredentialOffer, ReceiveError, ReceiveOptions, TxCode};
pub use store::{StorageKey, Store, StoreError};
