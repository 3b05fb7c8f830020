//! The hotel desk's verifier state and operations, in plain Rust (no JavaScript types), so the
//! host tests run them natively. Everything is the `verifier` library's: this module only
//! holds the pinned root, the signed trust material the page stores, and the state verified
//! from it. No I/O: the page fetches, stores, and passes the time.

use credential::jose::PublicJwk;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verifier::answer::{self, AnswerError};
use verifier::bundle::KeyState;
use verifier::bundle::{BundleError, BundleLimits, VerifiedBundle};
use verifier::delta::{self, DeltaError, DeltaLimits, VerifiedDelta};
use verifier::request::{new_nonce, query_ids, PresentationRequest, ResponseMode};
use verifier::withdrawal::{self, VerifiedWithdrawals, WithdrawalError, WithdrawalLimits};
use verifier::{Policy, StatusOutcome, TrustState, VerifiedPresentation, Verifier, VerifierError};

/// The built-in hotel profile (the same file the `verifier` CLI uses).
pub const HOTEL: &str = include_str!("../../../verifier/profiles/hotel.toml");
/// The built-in bank profile.
pub const BANK: &str = include_str!("../../../verifier/profiles/bank.toml");

/// A root JWK larger than this is refused before parsing.
pub const MAX_ROOT_BYTES: usize = 16 * 1024;

/// A saved desk state larger than this is refused before parsing.
pub const MAX_SAVED_BYTES: usize = 1 << 30;

/// A camera frame with more pixels than this is refused (4096 x 4096).
pub const MAX_FRAME_PIXELS: usize = 1 << 24;

/// Version of the saved state's JSON.
const SAVED_VERSION: u64 = 1;

/// Why a desk operation failed. [`DeskError::code`] names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeskError {
    /// The root is not a public JWK (or is too large).
    #[error("root key is not a public jwk")]
    RootInvalid,
    /// The saved state is not what [`Desk::save`] wrote.
    #[error("saved desk state is malformed")]
    SavedMalformed,
    /// The saved state was made for another root than the one given.
    #[error("saved desk state belongs to another root key")]
    SavedOtherRoot,
    /// A trust bundle was refused.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A trust-bundle delta was refused.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// A key-withdrawal notice was refused (or a stored one does not fit the state).
    #[error(transparent)]
    Withdrawals(#[from] WithdrawalError),
    /// Nothing synced yet: no issuer keys, no revocation state.
    #[error("no trust bundle synced yet")]
    NoTrustState,
    /// A profile other than the built-in ones.
    #[error("unknown profile (expected hotel or bank)")]
    UnknownProfile,
    /// The text is too long for a QR code.
    #[error("text of {len} bytes does not fit a qr code")]
    QrTooLong {
        /// Its length.
        len: usize,
    },
    /// A camera frame whose pixel buffer does not match its size.
    #[error("frame of {width}x{height} does not match its {len} pixels")]
    FrameSize {
        /// Width.
        width: usize,
        /// Height.
        height: usize,
        /// Bytes given.
        len: usize,
    },
    /// A camera frame too large to scan.
    #[error("frame larger than {MAX_FRAME_PIXELS} pixels")]
    FrameTooLarge,
}

impl DeskError {
    /// A stable snake_case name of the failed check (the bundle's and delta's own codes).
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::RootInvalid => "root_invalid",
            DeskError::SavedMalformed => "saved_state_malformed",
            DeskError::SavedOtherRoot => "saved_state_other_root",
            DeskError::Bundle(e) => e.code(),
            DeskError::Delta(e) => e.code(),
            DeskError::Withdrawals(e) => e.code(),
            DeskError::NoTrustState => "no_trust_state",
            DeskError::UnknownProfile => "unknown_profile",
            DeskError::QrTooLong { .. } => "qr_too_long",
            DeskError::FrameSize { .. } => "frame_size_mismatch",
            DeskError::FrameTooLarge => "frame_too_large",
        }
    }
}

/// Reads a root public JWK.
///
/// # Errors
/// [`DeskError::RootInvalid`].
pub fn parse_root(text: &str) -> Result<PublicJwk, DeskError> {
    if text.len() > MAX_ROOT_BYTES {
        return Err(DeskError::RootInvalid);
    }
    PublicJwk::from_json(text.trim()).map_err(|_| DeskError::RootInvalid)
}

/// What the page stores (IndexedDB) between visits: the pinned root and the signed trust
/// material, which is re-verified against the root whenever it is loaded.
#[derive(Serialize, Deserialize)]
struct Saved {
    version: u64,
    root: Value,
    bundle: Option<String>,
    deltas: Vec<String>,
    /// Key-withdrawal notices (absent in states saved before the desk read them).
    #[serde(default)]
    withdrawals: Vec<String>,
}

/// The desk: a pinned root and, once synced, the verified trust state.
pub struct Desk {
    root: PublicJwk,
    bundle: Option<String>,
    deltas: Vec<String>,
    /// The bureau's key-withdrawal notices, applied on top of every state (never undone).
    withdrawals: Vec<VerifiedWithdrawals>,
    state: Option<TrustState>,
}

/// A pending request as the page keeps it until answered or expired.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// The request's nonce.
    pub nonce: String,
    /// Its client id (the KB-JWT audience).
    pub client_id: String,
    /// The profile's name (`hotel`, `bank`).
    pub profile: String,
    /// Unix seconds after which an answer is refused.
    pub expires_at: i64,
}

/// A request made for the page to show.
#[derive(Debug, Clone, Serialize)]
pub struct MadeRequest {
    /// The `openid4vp://` URI.
    pub uri: String,
    /// The QR code of `uri`, as an SVG document.
    pub svg: String,
    /// What the page keeps until the answer (its nonce is used once).
    pub pending: Pending,
}

impl Desk {
    /// A desk with `root` pinned and nothing synced.
    pub fn pin(root: PublicJwk) -> Desk {
        Desk {
            root,
            bundle: None,
            deltas: Vec::new(),
            withdrawals: Vec::new(),
            state: None,
        }
    }

    /// The pinned root's RFC 7638 fingerprint (base64url SHA-256).
    pub fn fingerprint(&self) -> &str {
        self.root.thumbprint()
    }

    /// The desk saved by [`Desk::save`], its bundle and every delta verified again against the
    /// root as of `now`.
    ///
    /// # Errors
    /// [`DeskError::SavedMalformed`], or the bundle's or a delta's error.
    pub fn restore(saved: &str, now: i64) -> Result<Desk, DeskError> {
        if saved.len() > MAX_SAVED_BYTES {
            return Err(DeskError::SavedMalformed);
        }
        let saved: Saved = serde_json::from_str(saved).map_err(|_| DeskError::SavedMalformed)?;
        if saved.version != SAVED_VERSION {
            return Err(DeskError::SavedMalformed);
        }
        let root = PublicJwk::from_value(&saved.root).map_err(|_| DeskError::SavedMalformed)?;
        let mut desk = Desk::pin(root);
        for w in &saved.withdrawals {
            desk.sync_withdrawals(w, now)?;
        }
        if let Some(bundle) = &saved.bundle {
            desk.sync(bundle, now)?;
            for d in &saved.deltas {
                desk.sync(d, now)?;
            }
        }
        Ok(desk)
    }

    /// The desk as JSON for the page to store: root, bundle and deltas (signed texts).
    pub fn save(&self) -> String {
        json!({
            "version": SAVED_VERSION,
            "root": self.root.to_bare_value(),
            "bundle": self.bundle,
            "deltas": self.deltas,
            "withdrawals": self.withdrawals.iter().map(VerifiedWithdrawals::as_str).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// The issuer's status-change high-water mark: the `since` of the next delta to fetch
    /// (`None`: fetch the full bundle).
    pub fn status_seq(&self) -> Option<i64> {
        self.state.as_ref().and_then(|s| s.status_seq)
    }

    /// Takes a trust bundle, a delta or a key-withdrawal notice (told apart by its `typ`),
    /// verified against the pinned root as of `now`. A bundle must be newer than the state (or
    /// the same bytes); a delta must apply on the state; a notice is kept and applied on top
    /// of every state from now on. On error the state is unchanged.
    ///
    /// # Errors
    /// [`DeskError::Bundle`], [`DeskError::Delta`], [`DeskError::Withdrawals`].
    pub fn sync(&mut self, text: &str, now: i64) -> Result<Value, DeskError> {
        let text = text.trim();
        match delta::peek_typ(text).as_deref() {
            Some(delta::TYP) => self.sync_delta(text, now),
            Some(withdrawal::TYP) => self.sync_withdrawals(text, now),
            _ => self.sync_bundle(text, now),
        }
    }

    /// Verifies a key-withdrawal notice, applies it to the state (if any) and keeps it, so it
    /// is applied again on top of every bundle and delta taken later. A kept notice the new
    /// one covers is dropped; a notice that adds nothing is not kept twice.
    fn sync_withdrawals(&mut self, text: &str, now: i64) -> Result<Value, DeskError> {
        let notice =
            VerifiedWithdrawals::verify(text, &self.root, now, &WithdrawalLimits::default())?;
        let mut changed = 0;
        if let Some(state) = &self.state {
            let mut next = state.clone();
            changed = next.apply_withdrawals(&notice)?;
            self.state = Some(next);
        }
        let report = json!({
            "kind": "withdrawals",
            "unchanged": changed == 0,
            "issuer": notice.iss,
            "issued_at": notice.issued_at,
            "withdrawn_keys": notice.withdrawals.len(),
            "newly_withdrawn": changed,
        });
        if !self.withdrawals.iter().any(|old| old.covers(&notice)) {
            self.withdrawals.retain(|old| !notice.covers(old));
            self.withdrawals.push(notice);
        }
        Ok(report)
    }

    /// `state` with every kept withdrawal notice applied (a withdrawal is never undone by an
    /// older bundle or a delta).
    fn with_withdrawals(&self, mut state: TrustState) -> Result<TrustState, DeskError> {
        for notice in &self.withdrawals {
            state.apply_withdrawals(notice)?;
        }
        Ok(state)
    }

    fn sync_bundle(&mut self, text: &str, now: i64) -> Result<Value, DeskError> {
        let bundle = VerifiedBundle::verify(text, &self.root, now, &BundleLimits::default())?;
        let unchanged = match &self.state {
            None => false,
            Some(s) => match bundle.issued_at.cmp(&s.issued_at) {
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Less => {
                    return Err(BundleError::Replayed {
                        stored: s.issued_at,
                        found: bundle.issued_at,
                    }
                    .into())
                }
                std::cmp::Ordering::Equal => {
                    if !(self.deltas.is_empty() && self.bundle.as_deref() == Some(text)) {
                        return Err(BundleError::Conflicting {
                            issued_at: bundle.issued_at,
                        }
                        .into());
                    }
                    true
                }
            },
        };
        let report = json!({
            "kind": "full",
            "unchanged": unchanged,
            "issuer": bundle.iss,
            "issued_at": bundle.issued_at,
            "next_update": bundle.next_update,
            "keys": bundle.keys.len(),
            "status_lists": bundle.lists.len(),
        });
        if !unchanged {
            let state = self.with_withdrawals(TrustState::from_bundle(bundle))?;
            self.bundle = Some(text.to_owned());
            self.deltas.clear();
            self.state = Some(state);
        }
        Ok(report)
    }

    fn sync_delta(&mut self, text: &str, now: i64) -> Result<Value, DeskError> {
        let delta = VerifiedDelta::verify(text, &self.root, now, &DeltaLimits::default())?;
        let Some(state) = &self.state else {
            return Err(DeltaError::BaseMismatch {
                stored: None,
                base: delta.base_status_seq,
            }
            .into());
        };
        // The same state again within the same second (nothing changed): already current.
        let unchanged = state.already_holds(&delta);
        if !unchanged {
            let mut next = state.clone();
            next.apply(&delta)?;
            self.state = Some(self.with_withdrawals(next)?);
            self.deltas.push(text.to_owned());
        }
        Ok(json!({
            "kind": "delta",
            "unchanged": unchanged,
            "issuer": delta.iss,
            "issued_at": delta.issued_at,
            "next_update": delta.next_update,
            "status_seq": delta.status_seq,
            "entries": delta.entries(),
        }))
    }

    /// What the desk holds, for the page: root fingerprint, issuer, key and list counts, and
    /// how old the revocation state is at `now`.
    pub fn info(&self, now: i64) -> Value {
        match &self.state {
            None => json!({"fingerprint": self.fingerprint(), "synced": false}),
            Some(s) => json!({
                "withdrawn_keys": s.keys.iter().filter(|k| k.state == KeyState::Withdrawn)
                    .map(|k| json!({"kid": k.kid, "since": k.withdrawn_since}))
                    .collect::<Vec<_>>(),
                "fingerprint": self.fingerprint(),
                "synced": true,
                "issuer": s.iss,
                "issued_at": s.issued_at,
                "age_seconds": now.saturating_sub(s.issued_at),
                "next_update": s.next_update,
                "status_seq": s.status_seq,
                "keys": s.keys.len(),
                "status_lists": s.lists.len(),
                "deltas": self.deltas.len(),
            }),
        }
    }

    /// A request for the built-in `profile` (`hotel`, `bank`) made at `now`, answered by a QR
    /// code the wallet shows (no `response_uri`): a fresh nonce, the URI and its QR code.
    ///
    /// # Errors
    /// [`DeskError::UnknownProfile`], [`DeskError::QrTooLong`].
    pub fn request(profile: &str, now: i64) -> Result<MadeRequest, DeskError> {
        let policy = profile_policy(profile)?;
        let desk = policy
            .request
            .client_id
            .clone()
            .ok_or(DeskError::UnknownProfile)?;
        // OpenID4VP 1.0's offline desk: direct_post to https://offline.invalid/<desk>, the
        // client id its redirect_uri: (docs/relying-party.md).
        let client_id = verifier::request::redirect_uri_client_id(
            &verifier::request::offline_response_uri(&desk),
        );
        let nonce = new_nonce(&mut OsRng);
        let request =
            PresentationRequest::for_policy(&policy, &client_id, &nonce, ResponseMode::Shown);
        let uri = request.to_uri();
        let validity = i64::try_from(policy.request.validity.as_secs()).unwrap_or(600);
        Ok(MadeRequest {
            svg: qr_svg(&uri)?,
            uri,
            pending: Pending {
                nonce,
                client_id,
                profile: policy.name.clone(),
                expires_at: now.saturating_add(validity),
            },
        })
    }

    /// Verifies an answer (the `VP1:` text of the wallet's QR code, a `vp_token` JSON object,
    /// a direct_post body or a bare SD-JWT+KB) offline against the state, for the pending
    /// request whose nonce its KB-JWT carries. The result says which nonce to forget
    /// (`consume`): the holder answered, or the request expired.
    pub fn verify(&self, text: &str, pending: &[Pending], now: i64) -> Verdict {
        let Some(state) = &self.state else {
            return Verdict::reject(DeskError::NoTrustState.code(), "no trust bundle synced yet");
        };
        let age = now.saturating_sub(state.issued_at);
        let mut verdict = self.check(state, text, pending, now);
        verdict.state_issued_at = Some(state.issued_at);
        if verdict.revocation_age_seconds.is_none() {
            verdict.revocation_age_seconds = Some(age);
        }
        verdict
    }

    fn check(&self, state: &TrustState, text: &str, pending: &[Pending], now: i64) -> Verdict {
        let answer = match answer::parse(text) {
            Ok(a) => a,
            Err(e) => return Verdict::reject(e.code(), &e.to_string()),
        };
        let unknown = || {
            Verdict::reject(
                NONCE_UNKNOWN,
                "the answer's nonce matches no pending request (unknown, expired or already answered)",
            )
        };
        let Some(nonce) = answer.nonce_hint() else {
            return unknown();
        };
        // The nonce is the page's lookup key, not a secret compared for authentication; the
        // KB-JWT check compares it again in constant time.
        let Some(request) = pending.iter().find(|p| p.nonce == nonce) else {
            return unknown();
        };
        if request.expires_at < now {
            let mut v = Verdict::reject("request_expired", "the request this answers has expired");
            v.consume = Some(request.nonce.clone());
            return v;
        }
        let policy = match profile_policy(&request.profile) {
            Ok(p) => p,
            Err(e) => return Verdict::reject(e.code(), &e.to_string()),
        };
        let presentation_request = PresentationRequest::for_policy(
            &policy,
            &request.client_id,
            &request.nonce,
            ResponseMode::Shown,
        );
        if let Err(e) = answer.check_query_ids(&query_ids(&presentation_request.dcql_query)) {
            return Verdict::reject(e.code(), &e.to_string());
        }
        let (trust, status) = (state.trust_store(), state.status_store());
        let verifier = Verifier::new(trust, status, policy);
        let checked = match answer::verify_answer(&verifier, &answer, &presentation_request, now) {
            Ok(c) => c,
            Err(e) => return answer_rejected(&e),
        };
        let mut verdict = match checked.accepted() {
            Ok(presentations) => Verdict::accept(&presentations, now),
            Err(e) => Verdict::rejected(e),
        };
        verdict.profile = Some(request.profile.clone());
        if checked.holder_answered {
            verdict.consume = Some(request.nonce.clone());
        }
        verdict
    }
}

/// The code of an answer whose nonce is no pending request's.
pub const NONCE_UNKNOWN: &str = "nonce_unknown_or_used";

fn answer_rejected(e: &AnswerError) -> Verdict {
    Verdict::reject(e.code(), &e.to_string())
}

fn profile_policy(profile: &str) -> Result<Policy, DeskError> {
    let text = match profile {
        "hotel" => HOTEL,
        "bank" => BANK,
        _ => return Err(DeskError::UnknownProfile),
    };
    Policy::from_toml(text).map_err(|_| DeskError::UnknownProfile)
}

/// The outcome of [`Desk::verify`], as the page shows it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Verdict {
    /// Accepted.
    pub accepted: bool,
    /// The failed check's code, when rejected.
    pub error: Option<String>,
    /// The failed check in words (English, for logs; the page words it from `error`).
    pub message: Option<String>,
    /// The profile the request was made for.
    pub profile: Option<String>,
    /// The nonce the page must forget now (used once).
    pub consume: Option<String>,
    /// Issuer, type and level of each accepted credential.
    pub credentials: Vec<Value>,
    /// The disclosed claims: `{path, value}` in disclosure order.
    pub claims: Vec<Value>,
    /// When the trust state was issued (Unix seconds).
    pub state_issued_at: Option<i64>,
    /// How old the revocation state behind the answer is (the status list's, else the
    /// state's), in seconds.
    pub revocation_age_seconds: Option<i64>,
}

impl Verdict {
    fn reject(code: &str, message: &str) -> Verdict {
        Verdict {
            error: Some(code.to_owned()),
            message: Some(message.to_owned()),
            ..Verdict::default()
        }
    }

    fn rejected(e: &VerifierError) -> Verdict {
        Verdict::reject(e.code(), &e.to_string())
    }

    fn accept(presentations: &[&VerifiedPresentation], now: i64) -> Verdict {
        let mut v = Verdict {
            accepted: true,
            ..Verdict::default()
        };
        for p in presentations {
            v.credentials.push(json!({
                "issuer": p.issuer,
                "type": p.credential_type,
                "level": p.level.map(|l| l.as_str()),
            }));
            let claims = Value::Object(p.claims.clone());
            for path in &p.disclosed {
                let value = path.lookup(&claims).first().map(|v| (*v).clone());
                v.claims
                    .push(json!({"path": path.to_string(), "value": value}));
            }
            if let StatusOutcome::Valid { list_issued_at, .. } = &p.status {
                let age = now.saturating_sub(*list_issued_at);
                v.revocation_age_seconds =
                    Some(v.revocation_age_seconds.map_or(age, |a| a.max(age)));
            }
        }
        v
    }
}

/// The QR code of `text` as an SVG document (error correction L, as the CLI's).
///
/// # Errors
/// [`DeskError::QrTooLong`].
pub fn qr_svg(text: &str) -> Result<String, DeskError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|_| DeskError::QrTooLong { len: text.len() })?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build())
}

/// The text of the first QR code in a grayscale frame (`width * height` bytes, row by row),
/// or `None` when none decodes.
///
/// # Errors
/// [`DeskError::FrameSize`], [`DeskError::FrameTooLarge`].
pub fn decode_qr(gray: &[u8], width: usize, height: usize) -> Result<Option<String>, DeskError> {
    let pixels = width.checked_mul(height).ok_or(DeskError::FrameTooLarge)?;
    if pixels > MAX_FRAME_PIXELS {
        return Err(DeskError::FrameTooLarge);
    }
    if pixels != gray.len() {
        return Err(DeskError::FrameSize {
            width,
            height,
            len: gray.len(),
        });
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| gray[y * width + x]);
    Ok(img
        .detect_grids()
        .iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text)))
}
