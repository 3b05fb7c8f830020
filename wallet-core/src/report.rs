//! What a wallet reports after each operation, as the JSON both hosts print: the desktop
//! `wallet ... --json` and the WebAssembly package's return values are these shapes, written
//! in one place so a script that reads one reads the other.
//!
//! | operation | shape |
//! | --- | --- |
//! | receive | [`ReceiveReport`] `{issuer, batches: [{configuration, vct, level, format, copies, batch_id}]}` |
//! | list | `[BatchInfo]` ([`crate::store::BatchInfo`]) |
//! | show | [`ShowReport`] `{credential, claims}` |
//! | present, sent | [`SentReport`] `{consent, sent_to, status, redirect_uri, copies_used}` |
//! | present, offline | [`OfflineReport`] `{consent, answer, bytes, answer_json_bytes, qr_version, copies_used}` |
//! | present, cannot satisfy | [`CannotSatisfyReport`] `{client_id, cannot_satisfy}` |
//! | refresh | [`crate::Refreshed`] `{batch_id, configuration, copies, retried}` |

use credential::citizen::Level;
use credential::sd_jwt::{Limits, SdJwt};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::answer::{Answer, DirectPostOutcome};
use crate::consent::ConsentSummary;
use crate::dcql::Unmet;
use crate::receive::Received;
use crate::store::{CredentialInfo, RecordStore, StoreError};

/// One stored batch of a receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedBatchReport {
    /// The credential configuration it was issued under.
    pub configuration: String,
    /// The credential type.
    pub vct: String,
    /// The assurance level, for citizen-ID types.
    pub level: Option<Level>,
    /// `dc+sd-jwt` or `vc+sd-jwt`.
    pub format: String,
    /// Copies stored.
    pub copies: usize,
    /// The new batch id.
    pub batch_id: String,
}

/// What a receive stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiveReport {
    /// The issuer.
    pub issuer: String,
    /// The batches stored, in the offer's order.
    pub batches: Vec<ReceivedBatchReport>,
}

/// Stores `received` (with its grant, all or nothing) and reports what was stored.
///
/// # Errors
/// The store's.
pub fn store_received(
    received: Received,
    store: &mut impl RecordStore,
) -> Result<ReceiveReport, StoreError> {
    let issuer = received.issuer.clone();
    let summary: Vec<(String, String, Option<Level>, String, usize)> = received
        .batches
        .iter()
        .map(|b| {
            (
                b.configuration.clone(),
                b.vct.clone(),
                b.level,
                b.format.as_str().to_owned(),
                b.len(),
            )
        })
        .collect();
    let ids = received.store(store)?;
    let batches = summary
        .into_iter()
        .zip(ids)
        .map(
            |((configuration, vct, level, format, copies), batch_id)| ReceivedBatchReport {
                configuration,
                vct,
                level,
                format,
                copies,
                batch_id,
            },
        )
        .collect();
    Ok(ReceiveReport { issuer, batches })
}

/// Why a stored credential could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShowError {
    /// The store failed (no such batch or copy, or it does not open).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored credential is not an SD-JWT.
    #[error("stored credential does not parse: {reason}")]
    Parse {
        /// The parser's reason (no claim value).
        reason: String,
    },
    /// The stored credential's disclosures do not process.
    #[error("stored credential does not process: {reason}")]
    Process {
        /// The processor's reason (no claim value).
        reason: String,
    },
}

/// One card: the listing data of its first copy and every claim the holder holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowReport {
    /// The copy shown (the batch's first).
    pub credential: CredentialInfo,
    /// The claims, disclosures applied.
    pub claims: Map<String, Value>,
    /// Every copy of the batch (not printed in the JSON; the CLI's card counts them).
    #[serde(skip)]
    pub copies: Vec<CredentialInfo>,
}

/// The card of batch `id` (or of the copy `id`).
///
/// # Errors
/// [`ShowError`].
pub fn show(store: &impl RecordStore, id: &str) -> Result<ShowReport, ShowError> {
    let copies = store.copies(id)?;
    let copy_id = copies
        .first()
        .map(|c| c.id.clone())
        .unwrap_or_else(|| id.to_owned());
    let opened = store.open_copy(&copy_id)?;
    let sd_jwt =
        SdJwt::parse(&opened.sd_jwt, &Limits::default()).map_err(|e| ShowError::Parse {
            reason: e.to_string(),
        })?;
    let claims = sd_jwt
        .holder_view()
        .map_err(|e| ShowError::Process {
            reason: e.to_string(),
        })?
        .claims;
    Ok(ShowReport {
        credential: opened.info.clone(),
        claims,
        copies,
    })
}

/// An answer sent by `direct_post`.
#[derive(Debug, Clone, Serialize)]
pub struct SentReport<'a> {
    /// What the citizen consented to.
    pub consent: &'a ConsentSummary,
    /// Where the answer went.
    pub sent_to: &'a str,
    /// The verifier's HTTP status.
    pub status: u16,
    /// Where the verifier asks the citizen to continue, if anywhere.
    pub redirect_uri: Option<&'a str>,
    /// The copies shown.
    pub copies_used: &'a [String],
}

impl<'a> SentReport<'a> {
    /// The report of `answer`, sent to `sent_to` with `outcome`.
    pub fn new(
        consent: &'a ConsentSummary,
        sent_to: &'a str,
        outcome: &'a DirectPostOutcome,
        answer: &'a Answer,
    ) -> SentReport<'a> {
        SentReport {
            consent,
            sent_to,
            status: outcome.status,
            redirect_uri: outcome.redirect_uri.as_deref(),
            copies_used: &answer.copies_used,
        }
    }
}

/// An answer shown offline (its text goes into a QR code).
#[derive(Debug, Clone, Serialize)]
pub struct OfflineReport<'a> {
    /// What the citizen consented to.
    pub consent: &'a ConsentSummary,
    /// The answer's text (`VP2:` compact form).
    pub answer: String,
    /// Its length in bytes.
    pub bytes: usize,
    /// The length of the same answer as JSON text, for comparison.
    pub answer_json_bytes: usize,
    /// The QR version (1..=40) the text needs, when the host computed it (`None`: too long).
    pub qr_version: Option<i16>,
    /// The copies shown.
    pub copies_used: &'a [String],
}

impl<'a> OfflineReport<'a> {
    /// The report of the offline `answer`; `qr_version` from the host's QR encoder.
    pub fn new(
        consent: &'a ConsentSummary,
        answer: &'a Answer,
        qr_version: impl FnOnce(&str) -> Option<i16>,
    ) -> OfflineReport<'a> {
        let text = answer.to_text();
        OfflineReport {
            consent,
            bytes: text.len(),
            answer_json_bytes: answer.to_json_text().len(),
            qr_version: qr_version(&text),
            answer: text,
            copies_used: &answer.copies_used,
        }
    }
}

/// A request the wallet cannot answer: who asked, and what is missing.
#[derive(Debug, Clone, Serialize)]
pub struct CannotSatisfyReport<'a> {
    /// Who asked.
    pub client_id: &'a str,
    /// What is missing, per credential query.
    pub cannot_satisfy: &'a [Unmet],
}
