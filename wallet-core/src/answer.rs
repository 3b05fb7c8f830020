//! Answering a consented request: one fresh copy per credential, exactly the consented
//! disclosures, a KB-JWT per key-bound credential signed by the holder key, every copy used
//! marked shown in the same change; then the answer is shown (a QR code, offline) or posted
//! (`direct_post`).
//!
//! ```text
//! Prepared ── begin_answer ──> UnsignedAnswer ── to_sign() ──> holder keys (HolderSigner)
//!                                   └── finish(store, signatures) ──> Answer (copies marked shown)
//! Answer ── to_text() (VP2:, offline) | send() (direct_post, once, no redirect)
//! ```

use credential::jose::PublicJwk;
use serde_json::{Map, Value};

use crate::consent::Prepared;
use crate::present::{
    exchange_error, invalid, key_binding, select_disclosures, PresentError, PresentationError,
    ResponseMode, REQUEST_CLOCK_SKEW,
};
use crate::signer::{software_key, HolderSigner, ToSign};
use crate::store::{RecordStore, StoreError};
use crate::transport::{checked_exchange, HttpRequest, Transport};

/// What the host allows when every copy of a credential was shown before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Refuse with [`PresentationError::AllCopiesShown`].
    Refuse,
    /// Reuse the least-shown copy (the citizen was told verifiers could link it).
    Allow,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `vp_token`: `{"<credential query id>": ["<sd-jwt+kb>"]}` (section 8.1).
    pub vp_token: Value,
    /// The request's `state`, echoed.
    pub state: Option<String>,
    /// Where it goes.
    pub response_mode: ResponseMode,
    /// Copies used (`<batch>-<index>`), now marked shown.
    pub copies_used: Vec<String>,
    /// Batches whose copy was reused (every copy had been shown).
    pub reused: Vec<String>,
}

impl Answer {
    /// The answer as text for a QR code (offline): the dense compact form of the `vp_token`
    /// JSON (`VP2:`, [`credential::compact::v2`]: raw bytes for the random parts, deflate with
    /// the stack's preset dictionary, base45), which a QR code carries in alphanumeric mode.
    /// The verifier reads it, `VP1:` and the plain JSON alike.
    pub fn to_text(&self) -> String {
        credential::compact::encode_v2(&self.to_json_text())
    }

    /// The `vp_token` JSON, compact (what `direct_post` sends; larger as a QR code).
    pub fn to_json_text(&self) -> String {
        self.vp_token.to_string()
    }
}

/// An answer built but not yet signed (sans-IO): each key-bound presentation waits for its
/// KB-JWT signature by the copy's holder key. [`answer_with`] signs it with a
/// [`HolderSigner`]; a host may also sign [`UnsignedAnswer::to_sign`] itself and call
/// [`UnsignedAnswer::finish`].
#[derive(Debug)]
pub struct UnsignedAnswer {
    parts: Vec<UnsignedPart>,
    state: Option<String>,
    response_mode: ResponseMode,
    reused: Vec<String>,
}

#[derive(Debug)]
struct UnsignedPart {
    query_id: String,
    copy_id: String,
    presentation: String,
    /// The KB-JWT to sign and the key the credential is bound to (`cnf.jwk`).
    binding: Option<(ToSign, PublicJwk)>,
}

/// Picks one copy per credential of a consented request (a fresh one when left), selects
/// exactly the consented claims and prepares each KB-JWT with the request's nonce and `aud` =
/// `client_id` at time `now`. Nothing is marked shown yet.
///
/// # Errors
/// [`PresentationError::RequestExpired`] past a signed request's `exp`;
/// [`PresentationError::AllCopiesShown`] when reuse is refused and needed; store and
/// presentation errors.
pub fn begin_answer(
    store: &impl RecordStore,
    prepared: &Prepared,
    reuse: Reuse,
    now: i64,
) -> Result<UnsignedAnswer, PresentationError> {
    let request = &prepared.request;
    if let Some(exp) = request.expires_at {
        if now > exp.saturating_add(REQUEST_CLOCK_SKEW) {
            return Err(PresentationError::RequestExpired { expired_at: exp });
        }
    }
    let mut parts = Vec::new();
    let mut reused = Vec::new();
    for s in &prepared.selections {
        let copies = store.copies(&s.batch_id)?;
        let copy = match copies.iter().find(|c| c.shown_count == 0) {
            Some(c) => c,
            None => {
                if reuse == Reuse::Refuse {
                    return Err(PresentationError::AllCopiesShown {
                        batch_id: s.batch_id.clone(),
                    });
                }
                reused.push(s.batch_id.clone());
                copies
                    .iter()
                    .min_by_key(|c| (c.shown_count, c.copy_index))
                    .ok_or_else(|| StoreError::NotFound {
                        id: s.batch_id.clone(),
                    })?
            }
        };
        let opened = store.open_copy(&copy.id)?;
        let (presentation, cnf) = select_disclosures(&opened.sd_jwt, &s.claims)?;
        let binding = s.key_binding.then(|| {
            let kb = key_binding(
                &presentation,
                opened.holder_key,
                cnf.alg(),
                &request.nonce,
                &request.client_id,
                now,
            );
            (kb, cnf)
        });
        parts.push(UnsignedPart {
            query_id: s.query_id.clone(),
            copy_id: copy.id.clone(),
            presentation,
            binding,
        });
    }
    Ok(UnsignedAnswer {
        parts,
        state: request.state.clone(),
        response_mode: request.response_mode.clone(),
        reused,
    })
}

impl UnsignedAnswer {
    /// The KB-JWTs to sign, in order.
    pub fn to_sign(&self) -> impl Iterator<Item = &ToSign> {
        self.parts
            .iter()
            .filter_map(|p| p.binding.as_ref().map(|(kb, _)| kb))
    }

    /// Completes the answer with the signatures of [`UnsignedAnswer::to_sign`], in order, and
    /// marks every copy used shown at `now`, in one change, before the answer is returned
    /// (single use).
    ///
    /// # Errors
    /// [`PresentError::Unsigned`] when a signature is missing; the store's errors (then
    /// nothing is marked).
    pub fn finish(
        self,
        store: &mut impl RecordStore,
        signatures: Vec<Vec<u8>>,
        now: i64,
    ) -> Result<Answer, PresentationError> {
        let mut signatures = signatures.into_iter();
        let mut vp_token = Map::new();
        let mut used = Vec::new();
        for part in self.parts {
            let presentation = match part.binding {
                None => part.presentation,
                Some((kb, _)) => {
                    let signature = signatures.next().ok_or(PresentError::Unsigned)?;
                    format!("{}{}", part.presentation, kb.finish(&signature))
                }
            };
            // One array per credential query; several entries when it allows `multiple`.
            match vp_token
                .entry(part.query_id)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items.push(Value::String(presentation)),
                other => *other = Value::Array(vec![Value::String(presentation)]),
            }
            used.push(part.copy_id);
        }
        // Single use: every copy of this answer is marked shown in one change, before the
        // answer leaves the core.
        store.mark_shown(&used, now)?;
        Ok(Answer {
            vp_token: Value::Object(vp_token),
            state: self.state,
            response_mode: self.response_mode,
            copies_used: used,
            reused: self.reused,
        })
    }
}

/// Builds, signs (with `signer`, the holder keys' keeper) and completes the answer to a
/// consented request: [`begin_answer`], each KB-JWT signed after checking that the signer's key
/// is the credential's `cnf` key, then [`UnsignedAnswer::finish`].
///
/// # Errors
/// As [`begin_answer`]; [`PresentError::WrongHolderKey`] when the handle's key is not the
/// credential's; [`PresentationError::Signer`]. Nothing is marked shown on error.
pub async fn answer_with<S: HolderSigner>(
    store: &mut impl RecordStore,
    signer: &S,
    prepared: &Prepared,
    reuse: Reuse,
    now: i64,
) -> Result<Answer, PresentationError> {
    let unsigned = begin_answer(store, prepared, reuse, now)?;
    let mut signatures = Vec::new();
    for (kb, cnf) in unsigned.parts.iter().filter_map(|p| p.binding.as_ref()) {
        if signer.public_jwk(&kb.handle).await? != *cnf {
            return Err(PresentError::WrongHolderKey.into());
        }
        signatures.push(signer.sign(&kb.handle, kb.signing_input.as_bytes()).await?);
    }
    unsigned.finish(store, signatures, now)
}

/// Builds the `vp_token` for a consented request with software holder keys (the desktop host,
/// whose handles are private JWKs): one fresh copy per credential (marked shown), disclosing
/// exactly the consented claims, KB-JWT with the request's nonce and `aud` = `client_id` at
/// time `now`. [`answer_with`] is the same for any [`HolderSigner`].
///
/// # Errors
/// [`PresentationError::RequestExpired`] past a signed request's `exp`;
/// [`PresentationError::AllCopiesShown`] when reuse is refused and needed; store and
/// presentation errors. Nothing is marked shown on error.
pub fn answer(
    store: &mut impl RecordStore,
    prepared: &Prepared,
    reuse: Reuse,
    now: i64,
) -> Result<Answer, PresentationError> {
    let unsigned = begin_answer(store, prepared, reuse, now)?;
    let mut signatures = Vec::new();
    for (kb, cnf) in unsigned.parts.iter().filter_map(|p| p.binding.as_ref()) {
        let key = software_key(&kb.handle)?;
        if key.public_jwk() != cnf {
            return Err(PresentError::WrongHolderKey.into());
        }
        signatures.push(key.sign(kb.signing_input.as_bytes()));
    }
    unsigned.finish(store, signatures, now)
}

/// What the verifier said to a `direct_post`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectPostOutcome {
    /// HTTP status (2xx).
    pub status: u16,
    /// `redirect_uri` from the JSON answer, when given (section 8.2).
    pub redirect_uri: Option<String>,
}

/// Sends an online answer: `vp_token` (and `state`) form-encoded to `response_uri`, once.
///
/// `http` must follow no redirect: a `3xx` is
/// [`PresentationError::Redirected`] and the answer is not re-sent anywhere (OpenID4VP 1.0
/// section 8.2).
///
/// # Errors
/// [`PresentationError::InvalidRequest`] for an offline answer,
/// [`PresentationError::InsecureUrl`] for plain http off loopback (nothing sent),
/// [`PresentationError::Redirected`], [`PresentationError::Http`],
/// [`PresentationError::Rejected`].
pub async fn send<T: Transport>(
    http: &T,
    answer: &Answer,
) -> Result<DirectPostOutcome, PresentationError> {
    let ResponseMode::DirectPost { response_uri } = &answer.response_mode else {
        return Err(invalid("offline answers are shown, not sent"));
    };
    let vp_token = answer.vp_token.to_string();
    let mut form = vec![("vp_token", vp_token.as_str())];
    if let Some(state) = &answer.state {
        form.push(("state", state.as_str()));
    }
    let (response, _) = checked_exchange(http, HttpRequest::post(response_uri).form(&form))
        .await
        .map_err(|e| exchange_error("response_uri", e))?;
    let status = response.status;
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    if !(200..300).contains(&status) {
        return Err(PresentationError::Rejected {
            status,
            error: json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    Ok(DirectPostOutcome {
        status,
        redirect_uri: json
            .as_ref()
            .and_then(|j| j.get("redirect_uri"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
