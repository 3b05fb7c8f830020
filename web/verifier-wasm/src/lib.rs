//! The citizen-ID verifier for the hotel desk page, as WebAssembly (`web/build.sh`).
//!
//! A thin wasm-bindgen layer over [`desk`], which holds the `verifier` library's state and
//! calls its functions; nothing here verifies anything itself. The page keeps the state
//! (`Desk.save()`, IndexedDB), fetches the trust bundle and deltas, passes the time, and keeps
//! each request's nonce until [`Verdict::consume`](desk::Verdict) says to forget it.
//!
//! Errors are thrown as JavaScript `Error`s with a `code` property naming the failed check
//! (the `verifier` library's codes: `bundle_bad_signature`, `delta_base_mismatch`, ...).
//! No threads, no exported globals: state lives in `Desk` objects the page owns.

pub mod desk;

use wasm_bindgen::prelude::*;

pub use desk::{Desk as DeskCore, DeskError, Pending, Verdict};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A request the page keeps until answered or expired; its nonce is used once. */
export interface PendingRequest {
  nonce: string;
  client_id: string;
  profile: "hotel" | "bank";
  /** Unix seconds. */
  expires_at: number;
}

/** A request to show: the URI, its QR code (SVG) and what to keep. */
export interface MadeRequest {
  uri: string;
  svg: string;
  pending: PendingRequest;
}

/** What a sync took. */
export interface SyncReport {
  kind: "full" | "delta" | "withdrawals";
  unchanged: boolean;
  issuer: string;
  issued_at: number;
  next_update?: number;
  keys?: number;
  status_lists?: number;
  status_seq?: number;
  entries?: number;
  /** Key-withdrawal notice: keys it lists, and how many became withdrawn here. */
  withdrawn_keys?: number;
  newly_withdrawn?: number;
}

/** A credential signing key the bureau withdrew. */
export interface WithdrawnKey {
  kid: string;
  /** Credentials issued from this time on are refused; null: all of them. */
  since: number | null;
}

/** What the desk holds. */
export interface DeskInfo {
  fingerprint: string;
  synced: boolean;
  issuer?: string;
  issued_at?: number;
  /** Seconds since the trust state was issued. */
  age_seconds?: number;
  next_update?: number;
  status_seq?: number | null;
  keys?: number;
  status_lists?: number;
  deltas?: number;
  withdrawn_keys?: WithdrawnKey[];
}

/** One disclosed claim. */
export interface DisclosedClaim {
  path: string;
  value: unknown;
}

/** The outcome of verifying an answer. */
export interface Verdict {
  accepted: boolean;
  /** The failed check's code, when rejected. */
  error: string | null;
  message: string | null;
  profile: string | null;
  /** The nonce the page must forget now. */
  consume: string | null;
  credentials: { issuer: string; type: string | null; level: string | null }[];
  claims: DisclosedClaim[];
  state_issued_at: number | null;
  /** How old the revocation state behind this answer is, in seconds. */
  revocation_age_seconds: number | null;
}
"#;

/// A JavaScript `Error` whose `code` names the failed check.
fn js_error(e: &DeskError) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// JSON to a JavaScript value (parsed by the engine).
fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL)
}

/// The RFC 7638 fingerprint of a root public JWK (to compare with the bureau's).
///
/// # Errors
/// `root_invalid`.
#[wasm_bindgen(js_name = rootFingerprint)]
pub fn root_fingerprint(root_jwk: &str) -> Result<String, JsValue> {
    desk::parse_root(root_jwk)
        .map(|k| k.thumbprint().to_owned())
        .map_err(|e| js_error(&e))
}

/// Makes a request for a built-in profile (`hotel`, `bank`) at `now` (Unix seconds).
///
/// # Errors
/// `unknown_profile`, `qr_too_long`.
#[wasm_bindgen(js_name = makeRequest, unchecked_return_type = "MadeRequest")]
pub fn make_request(profile: &str, now: f64) -> Result<JsValue, JsValue> {
    desk::Desk::request(profile, secs(now))
        .map(|r| to_js(&r))
        .map_err(|e| js_error(&e))
}

/// The QR code of `text` as an SVG document.
///
/// # Errors
/// `qr_too_long`.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsValue> {
    desk::qr_svg(text).map_err(|e| js_error(&e))
}

/// The text of the first QR code in a grayscale camera frame (`width * height` bytes), or
/// `undefined`.
///
/// # Errors
/// `frame_size_mismatch`, `frame_too_large`.
#[wasm_bindgen(js_name = decodeQr)]
pub fn decode_qr(gray: &[u8], width: u32, height: u32) -> Result<Option<String>, JsValue> {
    let (w, h) = (width as usize, height as usize);
    desk::decode_qr(gray, w, h).map_err(|e| js_error(&e))
}

/// Unix seconds from JavaScript's number (whole seconds; NaN is 0).
fn secs(now: f64) -> i64 {
    // `as` saturates and maps NaN to 0.
    now.floor() as i64
}

/// The desk's verifier: a pinned root and the trust state synced under it.
#[wasm_bindgen]
pub struct Desk {
    inner: desk::Desk,
}

#[wasm_bindgen]
impl Desk {
    /// A desk with this root public JWK pinned and nothing synced.
    ///
    /// # Errors
    /// `root_invalid`.
    pub fn pin(root_jwk: &str) -> Result<Desk, JsValue> {
        let root = desk::parse_root(root_jwk).map_err(|e| js_error(&e))?;
        Ok(Desk {
            inner: desk::Desk::pin(root),
        })
    }

    /// The desk saved by `save()`, verified again against its root as of `now`.
    ///
    /// # Errors
    /// `saved_state_malformed`, or the bundle's or a delta's code.
    pub fn restore(saved: &str, now: f64) -> Result<Desk, JsValue> {
        desk::Desk::restore(saved, secs(now))
            .map(|inner| Desk { inner })
            .map_err(|e| js_error(&e))
    }

    /// The state to store (JSON text: the root and the signed bundle and deltas).
    pub fn save(&self) -> String {
        self.inner.save()
    }

    /// The pinned root's RFC 7638 fingerprint.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_owned()
    }

    /// The `since` of the next delta to fetch (`undefined`: fetch the full bundle).
    #[wasm_bindgen(getter, js_name = statusSeq)]
    pub fn status_seq(&self) -> Option<f64> {
        // Sequence numbers stay far below 2^53.
        self.inner.status_seq().map(|s| s as f64)
    }

    /// Takes a trust bundle, delta or key-withdrawal notice (text as served by the bureau),
    /// verified against the pinned root as of `now`. On error the state is unchanged.
    ///
    /// # Errors
    /// The bundle's, delta's or notice's code (`bundle_bad_signature`, `delta_base_mismatch`,
    /// `withdrawals_bad_signature`, ...).
    #[wasm_bindgen(unchecked_return_type = "SyncReport")]
    pub fn sync(&mut self, text: &str, now: f64) -> Result<JsValue, JsValue> {
        self.inner
            .sync(text, secs(now))
            .map(|r| to_js(&r))
            .map_err(|e| js_error(&e))
    }

    /// What the desk holds, and how old its revocation state is at `now`.
    #[wasm_bindgen(unchecked_return_type = "DeskInfo")]
    pub fn info(&self, now: f64) -> JsValue {
        to_js(&self.inner.info(secs(now)))
    }

    /// Verifies an answer offline against the pending requests. Never throws: a rejection is
    /// a verdict with its code. Forget `verdict.consume` when it is set.
    #[wasm_bindgen(unchecked_return_type = "Verdict")]
    pub fn verify(
        &self,
        answer: &str,
        #[wasm_bindgen(unchecked_param_type = "PendingRequest[]")] pending: JsValue,
        now: f64,
    ) -> JsValue {
        let pending: Vec<Pending> = js_sys::JSON::stringify(&pending)
            .ok()
            .and_then(|s| s.as_string())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        to_js(&self.inner.verify(answer, &pending, secs(now)))
    }
}
