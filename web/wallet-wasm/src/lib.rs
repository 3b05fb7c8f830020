//! The citizen's wallet as WebAssembly (`web/build.sh`), for a messaging app's mini-program,
//! the wallet page and the Node host (`web/wallet/host-node.mjs`).
//!
//! A thin wasm-bindgen layer over `wallet-core`: [`session::Session`] makes the core calls;
//! this file turns the JavaScript `Host` object into the core's transport, signer, clock and
//! record persistence, and the core's errors into JavaScript `Error`s with a stable `code`
//! ([`error::WalletError::code`]). No protocol rule is written here. The API is in
//! `web/wallet-wasm/README.md`.
//!
//! No threads and no exported globals: the state lives in `Wallet` objects the host owns;
//! calls on one wallet run one at a time (a second call while one runs fails with `busy`).

pub mod error;
pub mod session;

use std::cell::RefCell;
use std::rc::Rc;

use credential::jose::{Alg, PublicJwk};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use wallet_core::memory::Changes;
use wallet_core::signer::SoftwareSigner;
use wallet_core::{
    HolderSigner, HttpRequest, HttpResponse, KeyHandle, SignerError, StorageKey, Transport,
    TransportError,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::WalletError;
use crate::session::{ReceiveArgs, Session};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** What the wallet needs from its host (the Node CLI or the page). */
export interface Host {
  /** One HTTP exchange, following no redirect (fetch with redirect: "manual"; a browser's
   *  opaque redirect is reported as status 302). The core checks the answer. */
  exchange(req: { method: "GET" | "POST"; url: string; headers: [string, string][]; body?: Uint8Array; maxResponseBytes: number })
    : Promise<{ status: number; headers: [string, string][]; body: Uint8Array; url?: string }>;
  /** Persists one call's changes atomically: sealed records (opaque bytes) by key. */
  persist(changes: { put: [string, Uint8Array][]; delete: string[] }): Promise<void>;
  /** Unix seconds. */
  now(): number;
  /** Holder keys when opened with signer "host": ES256 (P-256) keys by handle. */
  createKey?(): Promise<string>;
  publicJwk?(handle: string): Promise<{ kty: "EC"; crv: "P-256"; x: string; y: string }>;
  /** ES256 signature, raw r || s (64 bytes). */
  sign?(handle: string, data: Uint8Array): Promise<Uint8Array>;
}

export interface OpenOptions { signer: "software" | "host" }

export interface ReceiveOptions {
  /** Copies per credential (capped at the issuer's batch size). */
  copies?: number;
  /** Only these offered configurations; default all. */
  configurations?: string[];
}

export interface OfferSummary {
  credential_issuer: string;
  credential_configuration_ids: string[];
  tx_code: { length: number | null; input_mode: string | null; description: string | null } | null;
}

/** What `wallet receive --json` prints. */
export interface ReceiveReport {
  issuer: string;
  batches: { configuration: string; vct: string; level: "basic" | "high" | null; format: string; copies: number; batch_id: string }[];
}

/** One entry of what `wallet list --json` prints. */
export interface BatchInfo {
  batch_id: string; issuer: string; vct: string; level: "basic" | "high" | null; format: string;
  copies: number; unused: number; received_at: number; refreshable: boolean;
}

/** What `wallet show --json` prints. */
export interface ShowReport {
  credential: {
    id: string; batch_id: string; copy_index: number; issuer: string; vct: string;
    level: "basic" | "high" | null; format: string; shown_count: number; received_at: number;
    last_shown_at: number | null;
  };
  claims: Record<string, unknown>;
}

export interface ConsentClaim { path: string; label: string | null; label_zh: string | null; value: unknown }

export interface ConsentItem {
  query_id: string; purpose: string | null; batch_id: string; credential_type: string;
  level: "basic" | "high" | null; format: string; issuer: string; claims: ConsentClaim[];
  unused_copies: number; copies: number; refreshable: boolean; holder_binding: boolean;
  issuer_trust_unchecked: boolean;
}

/** The consent screen: who asks, what would be disclosed, where the answer goes. */
export interface Consent {
  client_id: string;
  client_identity: { kind: "unverified" } | { kind: "redirect_uri"; uri: string }
    | { kind: "did"; did: string; key_thumbprint: string };
  response_uri: string | null;
  items: ConsentItem[];
  /** Some credential has no unused copy left: answer({ reuse: true }) or refresh first. */
  needs_reuse: boolean;
  response_mode: "direct_post" | "offline";
}

/** What `wallet present --json` prints for an answer sent by direct_post. */
export interface SentReport {
  consent: Consent; sent_to: string; status: number; redirect_uri: string | null; copies_used: string[];
}

/** What `wallet present --json` prints for an offline answer (its text goes into a QR code). */
export interface OfflineReport {
  consent: Consent; answer: string; bytes: number; answer_json_bytes: number;
  qr_version: number | null; copies_used: string[];
}

/** What `wallet refresh --json` prints. */
export interface Refreshed { batch_id: string; configuration: string; copies: number; retried: boolean }

/** Every error the package throws: an Error with a stable code. */
export interface WalletError extends Error { code: string; details?: unknown }
"#;

#[wasm_bindgen]
extern "C" {
    /// The host object (TypeScript `Host`).
    #[wasm_bindgen(typescript_type = "Host")]
    #[derive(Clone)]
    pub type Host;

    #[wasm_bindgen(method, catch, js_name = exchange)]
    fn js_exchange(this: &Host, request: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = persist)]
    fn js_persist(this: &Host, changes: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = now)]
    fn js_now(this: &Host) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = createKey)]
    fn js_create_key(this: &Host) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = publicJwk)]
    fn js_public_jwk(this: &Host, handle: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = sign)]
    fn js_sign(this: &Host, handle: &str, data: &[u8]) -> Result<JsValue, JsValue>;

    /// `crypto.getRandomValues` (Node 20 and every browser).
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
}

/// A JavaScript `Error` whose `code` names the failed check; `details` when given.
fn js_error(e: &WalletError, details: Option<&Value>) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    if let Some(details) = details {
        let _ = Reflect::set(&err, &"details".into(), &to_js(details));
    }
    err.into()
}

/// JSON to a JavaScript value (parsed by the engine).
fn to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

/// A JavaScript value to JSON (through the engine's `JSON.stringify`).
fn from_js(value: &JsValue) -> Option<Value> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
}

/// The host's rejection as a short message (its `message`, at most 200 characters).
fn reason(value: &JsValue) -> String {
    let text = Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "failed".into());
    text.chars().take(200).collect()
}

/// Awaits what a host function returned (a promise or a plain value).
async fn settle(returned: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::resolve(&returned?)).await
}

fn get(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn host_now(host: &Host) -> Result<i64, WalletError> {
    let now = host.js_now().map_err(|e| WalletError::Host {
        what: format!("now() failed: {}", reason(&e)),
    })?;
    let now = now.as_f64().ok_or_else(|| WalletError::Host {
        what: "now() did not return a number".into(),
    })?;
    // `as` saturates and maps NaN to 0.
    Ok(now.floor() as i64)
}

/// `crypto.getRandomValues` as the core's random source. A host without it cannot open a
/// wallet (`Wallet.open` checks it), so a failure here means the engine withdrew it.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsRng;

fn check_random() -> Result<(), WalletError> {
    get_random_values(&mut [0u8; 16]).map_err(|_| WalletError::Host {
        what: "has no crypto.getRandomValues".into(),
    })
}

impl rand_core::RngCore for JsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.try_fill_bytes(dest).is_err() {
            // No randomness: never go on with predictable keys or nonces.
            wasm_bindgen::throw_str("crypto.getRandomValues failed");
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        // getRandomValues fills at most 65536 bytes a call.
        for chunk in dest.chunks_mut(65536) {
            get_random_values(chunk).map_err(|_| {
                rand_core::Error::from(
                    std::num::NonZeroU32::new(rand_core::Error::CUSTOM_START)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )
            })?;
        }
        Ok(())
    }
}

impl rand_core::CryptoRng for JsRng {}

/// The host's `exchange` as the core's transport.
struct JsTransport<'a>(&'a Host);

fn transport_failure(e: &JsValue) -> TransportError {
    match Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
    {
        Some(n) if n == "TimeoutError" || n == "AbortError" => TransportError::Timeout,
        Some(n) if n == "TypeError" => TransportError::Connect,
        _ => TransportError::Failed,
    }
}

fn pairs(value: &JsValue) -> Vec<(String, String)> {
    if !Array::is_array(value) {
        return Vec::new();
    }
    Array::from(value)
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

impl Transport for JsTransport<'_> {
    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let req = Object::new();
        let headers = Array::new();
        for (name, value) in &request.headers {
            headers.push(&Array::of2(&name.into(), &value.as_str().into()));
        }
        let set = |k: &str, v: &JsValue| Reflect::set(&req, &k.into(), v).map(|_| ());
        set("method", &request.method.as_str().into()).map_err(|_| TransportError::Failed)?;
        set("url", &request.url.as_str().into()).map_err(|_| TransportError::Failed)?;
        set("headers", &headers).map_err(|_| TransportError::Failed)?;
        set(
            "maxResponseBytes",
            &(request.max_response_bytes as f64).into(),
        )
        .map_err(|_| TransportError::Failed)?;
        if !request.body.is_empty() {
            set("body", &Uint8Array::from(&request.body[..]))
                .map_err(|_| TransportError::Failed)?;
        }
        let response = settle(self.0.js_exchange(&req))
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = get(&response, "status")
            .as_f64()
            .filter(|s| (100.0..=599.0).contains(s))
            .ok_or(TransportError::Failed)? as u16;
        let body = get(&response, "body");
        let body = if body.is_instance_of::<Uint8Array>()
            || body.is_instance_of::<js_sys::ArrayBuffer>()
        {
            Uint8Array::new(&body)
        } else if body.is_undefined() || body.is_null() {
            Uint8Array::new_with_length(0)
        } else {
            return Err(TransportError::Body);
        };
        let limit = request.max_response_bytes;
        if body.length() as usize > limit {
            return Err(TransportError::TooLarge { limit });
        }
        Ok(HttpResponse {
            status,
            headers: pairs(&get(&response, "headers")),
            body: body.to_vec(),
            url: get(&response, "url").as_string().filter(|u| !u.is_empty()),
        })
    }
}

/// The host's WebCrypto (or keystore) keys behind the core's signer interface.
struct HostSigner(Host);

fn signer_failed(e: &JsValue) -> SignerError {
    SignerError::Failed { reason: reason(e) }
}

impl HolderSigner for HostSigner {
    async fn create(&mut self, alg: Alg) -> Result<KeyHandle, SignerError> {
        if alg != Alg::Es256 {
            return Err(SignerError::UnsupportedAlg {
                alg: alg.as_str().into(),
            });
        }
        let handle = settle(self.0.js_create_key())
            .await
            .map_err(|e| signer_failed(&e))?;
        handle
            .as_string()
            .map(KeyHandle::new)
            .ok_or(SignerError::Failed {
                reason: "createKey() did not return a string handle".into(),
            })
    }

    async fn public_jwk(&self, handle: &KeyHandle) -> Result<PublicJwk, SignerError> {
        let jwk = settle(self.0.js_public_jwk(handle.as_str()))
            .await
            .map_err(|e| signer_failed(&e))?;
        let jwk = from_js(&jwk).ok_or(SignerError::NotFound)?;
        // Only the public members: a host's JWK export may carry key_ops or ext.
        let bare =
            serde_json::json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]});
        PublicJwk::from_value(&bare).map_err(|_| SignerError::Failed {
            reason: "publicJwk() did not return a P-256 public JWK".into(),
        })
    }

    async fn sign(&self, handle: &KeyHandle, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let signature = settle(self.0.js_sign(handle.as_str(), message))
            .await
            .map_err(|e| signer_failed(&e))?;
        if !(signature.is_instance_of::<Uint8Array>()
            || signature.is_instance_of::<js_sys::ArrayBuffer>())
        {
            return Err(SignerError::Failed {
                reason: "sign() did not return bytes".into(),
            });
        }
        let bytes = Uint8Array::new(&signature).to_vec();
        if bytes.len() != 64 {
            return Err(SignerError::Failed {
                reason: "sign() did not return a 64-byte r || s signature".into(),
            });
        }
        Ok(bytes)
    }
}

/// The software signer or the host's.
enum AnySigner {
    Software(SoftwareSigner<JsRng>),
    Host(HostSigner),
}

impl HolderSigner for AnySigner {
    async fn create(&mut self, alg: Alg) -> Result<KeyHandle, SignerError> {
        match self {
            AnySigner::Software(s) => s.create(alg).await,
            AnySigner::Host(h) => h.create(alg).await,
        }
    }
    async fn public_jwk(&self, handle: &KeyHandle) -> Result<PublicJwk, SignerError> {
        match self {
            AnySigner::Software(s) => s.public_jwk(handle).await,
            AnySigner::Host(h) => h.public_jwk(handle).await,
        }
    }
    async fn sign(&self, handle: &KeyHandle, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self {
            AnySigner::Software(s) => s.sign(handle, message).await,
            AnySigner::Host(h) => h.sign(handle, message).await,
        }
    }
}

type Inner = Session<AnySigner, JsRng>;

/// The records the host passed: `[key, bytes][]`.
fn records_of(value: &JsValue) -> Result<Vec<(String, Vec<u8>)>, WalletError> {
    let bad = |reason: &str| WalletError::InvalidArgument {
        name: "records",
        reason: reason.into(),
    };
    if !Array::is_array(value) {
        return Err(bad("not an array of [key, bytes] pairs"));
    }
    let array = Array::from(value);
    if array.length() as usize > wallet_core::memory::MAX_RECORDS {
        return Err(WalletError::Store(wallet_core::StoreError::TooLarge {
            reason: format!("more than {} records", wallet_core::memory::MAX_RECORDS),
        }));
    }
    array
        .iter()
        .map(|pair| {
            if !Array::is_array(&pair) {
                return Err(bad("an entry is not a [key, bytes] pair"));
            }
            let pair = Array::from(&pair);
            let key = pair
                .get(0)
                .as_string()
                .ok_or_else(|| bad("a key is not a string"))?;
            let bytes = pair.get(1);
            if !bytes.is_instance_of::<Uint8Array>() {
                return Err(bad("a value is not a Uint8Array"));
            }
            Ok((key, Uint8Array::new(&bytes).to_vec()))
        })
        .collect()
}

/// Hands the changes of the last call to `host.persist`; on failure keeps them for the next.
async fn persist(host: &Host, session: &mut Inner) -> Result<(), WalletError> {
    let changes: Changes = session.take_changes();
    if changes.is_empty() {
        return Ok(());
    }
    let put = Array::new();
    for (key, bytes) in &changes.put {
        put.push(&Array::of2(&key.into(), &Uint8Array::from(&bytes[..])));
    }
    let delete = Array::new();
    for key in &changes.delete {
        delete.push(&key.into());
    }
    let object = Object::new();
    let _ = Reflect::set(&object, &"put".into(), &put);
    let _ = Reflect::set(&object, &"delete".into(), &delete);
    match settle(host.js_persist(&object)).await {
        Ok(_) => Ok(()),
        Err(e) => {
            session.restore_changes(&changes);
            Err(WalletError::Persist { reason: reason(&e) })
        }
    }
}

/// Derives the 32-byte storage key from a passphrase: Argon2id with the Rust wallet's
/// parameters (19 MiB, 2 passes, 1 lane; `wallet_core::kdf`). The salt is 8 to 64 bytes
/// (16 random bytes recommended), kept beside the records.
///
/// # Errors
/// `key_derivation` for a salt outside the bounds.
#[wasm_bindgen(js_name = deriveStorageKey)]
pub fn derive_storage_key(passphrase: &str, salt: &[u8]) -> Result<Vec<u8>, JsValue> {
    wallet_core::kdf::KdfParams::recommended(salt)
        .and_then(|p| p.derive(passphrase.as_bytes()))
        .map(|key| key.to_bytes().to_vec())
        .map_err(|e| js_error(&e.into(), None))
}

/// The QR code of `text` (an offline answer) as an SVG document.
///
/// # Errors
/// `invalid_argument` when the text does not fit a QR code.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsValue> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|_| {
            js_error(
                &WalletError::InvalidArgument {
                    name: "text",
                    reason: format!("{} bytes do not fit a qr code", text.len()),
                },
                None,
            )
        })?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// An open wallet: the records in memory, sealed; every call's changes go to `host.persist`.
#[wasm_bindgen]
pub struct Wallet {
    host: Host,
    inner: Rc<RefCell<Inner>>,
}

impl Wallet {
    /// Runs `f` on the session, or `busy` while another call holds it.
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> Result<T, WalletError>) -> Result<T, JsValue> {
        let mut inner = self
            .inner
            .try_borrow_mut()
            .map_err(|_| js_error(&WalletError::Busy, None))?;
        f(&mut inner).map_err(|e| js_error(&e, None))
    }
}

/// A call's failure: the error, and the details to attach (`cannot_satisfy`'s report).
struct Failure(WalletError, Option<Value>);

impl From<WalletError> for Failure {
    fn from(e: WalletError) -> Failure {
        Failure(e, None)
    }
}

impl From<(WalletError, Option<Value>)> for Failure {
    fn from((e, details): (WalletError, Option<Value>)) -> Failure {
        Failure(e, details)
    }
}

/// Runs an async call on the session, then persists its changes (also after an error: a
/// late failure may follow stored changes), as a `Promise`.
fn call<F>(wallet: &Wallet, f: F) -> Promise
where
    F: for<'a> FnOnce(
            &'a Host,
            &'a mut Inner,
            i64,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Value, Failure>> + 'a>,
        > + 'static,
{
    let host = wallet.host.clone();
    let inner = wallet.inner.clone();
    // Deliberate: the borrow is held for the whole call, so that a second call made before
    // this one settles finds it taken (`busy`) instead of interleaving with it.
    #[allow(clippy::await_holding_refcell_ref)]
    wasm_bindgen_futures::future_to_promise(async move {
        let Ok(mut session) = inner.try_borrow_mut() else {
            return Err(js_error(&WalletError::Busy, None));
        };
        let now = host_now(&host).map_err(|e| js_error(&e, None))?;
        let result = f(&host, &mut session, now).await;
        let persisted = persist(&host, &mut session).await;
        match (result, persisted) {
            (Ok(value), Ok(())) => Ok(to_js(&value)),
            (Err(Failure(e, details)), _) => Err(js_error(&e, details.as_ref())),
            (Ok(_), Err(e)) => Err(js_error(&e, None)),
        }
    })
}

#[wasm_bindgen]
impl Wallet {
    /// Opens the wallet whose sealed records the host holds (none: a new wallet) under the
    /// 32-byte storage key. `opts.signer`: `"software"` (holder keys made by the core, sealed
    /// in the records) or `"host"` (the host's `createKey`/`publicJwk`/`sign`).
    ///
    /// # Errors
    /// `wrong_key`, `corrupted`, `records_too_large`, `invalid_argument`, `host_failed`.
    pub fn open(
        host: Host,
        #[wasm_bindgen(js_name = storageKey)] storage_key: &[u8],
        #[wasm_bindgen(unchecked_param_type = "[string, Uint8Array][]")] records: JsValue,
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] opts: JsValue,
    ) -> Result<Wallet, JsValue> {
        let opened = (|| {
            let key: [u8; 32] =
                storage_key
                    .try_into()
                    .map_err(|_| WalletError::InvalidArgument {
                        name: "storageKey",
                        reason: format!("{} bytes, not 32", storage_key.len()),
                    })?;
            let key = StorageKey::from_bytes(key);
            let signer = match get(&opts, "signer").as_string().as_deref() {
                Some("software") => AnySigner::Software(SoftwareSigner::new(JsRng)),
                Some("host") => {
                    for name in ["createKey", "publicJwk", "sign"] {
                        if !get(&host, name).is_function() {
                            return Err(WalletError::Host {
                                what: format!("has no {name}() for signer \"host\""),
                            });
                        }
                    }
                    AnySigner::Host(HostSigner(host.clone()))
                }
                _ => {
                    return Err(WalletError::InvalidArgument {
                        name: "opts.signer",
                        reason: "not \"software\" or \"host\"".into(),
                    })
                }
            };
            for name in ["exchange", "persist", "now"] {
                if !get(&host, name).is_function() {
                    return Err(WalletError::Host {
                        what: format!("has no {name}()"),
                    });
                }
            }
            check_random()?;
            let now = host_now(&host)?;
            Session::open(&key, records_of(&records)?, signer, JsRng, now)
        })()
        .map_err(|e| js_error(&e, None))?;
        Ok(Wallet {
            host,
            inner: Rc::new(RefCell::new(opened)),
        })
    }

    /// What the offer is: issuer, credential configurations, whether a tx_code is asked.
    #[wasm_bindgen(js_name = resolveOffer, unchecked_return_type = "Promise<OfferSummary>")]
    pub fn resolve_offer(&self, offer: String) -> Promise {
        call(self, move |host, session, _| {
            Box::pin(async move { Ok(session.resolve_offer(&JsTransport(host), &offer).await?) })
        })
    }

    /// OpenID4VCI receive: what `wallet receive --json` prints.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceiveReport>")]
    pub fn receive(
        &self,
        offer: String,
        #[wasm_bindgen(js_name = txCode)] tx_code: Option<String>,
        #[wasm_bindgen(unchecked_param_type = "ReceiveOptions | undefined")] opts: JsValue,
    ) -> Promise {
        call(self, move |host, session, now| {
            Box::pin(async move {
                let args = receive_args(&opts)?;
                let http = JsTransport(host);
                Ok(session
                    .receive(&http, &offer, tx_code.as_deref(), &args, now)
                    .await?)
            })
        })
    }

    /// The batches: what `wallet list --json` prints.
    ///
    /// # Errors
    /// `corrupted`, `busy`.
    #[wasm_bindgen(unchecked_return_type = "BatchInfo[]")]
    pub fn list(&self) -> Result<JsValue, JsValue> {
        self.with(|s| s.list()).map(|v| to_js(&v))
    }

    /// One card: what `wallet show --json` prints.
    ///
    /// # Errors
    /// `not_found`, `corrupted`, `stored_credential_unreadable`, `busy`.
    #[wasm_bindgen(unchecked_return_type = "ShowReport")]
    pub fn show(
        &self,
        #[wasm_bindgen(js_name = batchId)] batch_id: &str,
    ) -> Result<JsValue, JsValue> {
        self.with(|s| s.show(batch_id)).map(|v| to_js(&v))
    }

    /// Opens an OpenID4VP request (an `openid4vp://` URI, by value or with `request_uri`):
    /// the consent summary. Kept for `answer()`. A wallet that cannot answer throws
    /// `cannot_satisfy` with `details` = what `wallet present --json` prints then.
    #[wasm_bindgen(js_name = openRequest, unchecked_return_type = "Promise<Consent>")]
    pub fn open_request(&self, request: String) -> Promise {
        call(self, move |host, session, _| {
            Box::pin(async move { Ok(session.open_request(&JsTransport(host), &request).await?) })
        })
    }

    /// Answers the opened request: signs the key bindings, marks the copies shown (persisted
    /// before anything is sent), then sends by direct_post (`SentReport`) or returns the
    /// offline answer's text (`OfflineReport`).
    #[wasm_bindgen(unchecked_return_type = "Promise<SentReport | OfflineReport>")]
    pub fn answer(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ reuse?: boolean } | undefined")] opts: JsValue,
    ) -> Promise {
        let reuse = get(&opts, "reuse").as_bool().unwrap_or(false);
        call(self, move |host, session, now| {
            Box::pin(async move {
                let answer = session.answer(reuse, now).await?;
                // Single use: the copies are on disk as shown before the verifier sees them.
                persist(host, session).await?;
                Ok(session.deliver(&JsTransport(host), &answer).await?)
            })
        })
    }

    /// Refreshes a batch (what `wallet refresh --json` prints), or without `batchId` every
    /// refreshable batch whose copies were all shown (an array).
    #[wasm_bindgen(unchecked_return_type = "Promise<Refreshed | Refreshed[]>")]
    pub fn refresh(
        &self,
        #[wasm_bindgen(js_name = batchId)] batch_id: Option<String>,
        #[wasm_bindgen(unchecked_param_type = "ReceiveOptions | undefined")] opts: JsValue,
    ) -> Promise {
        call(self, move |host, session, now| {
            Box::pin(async move {
                let args = receive_args(&opts)?;
                let http = JsTransport(host);
                Ok(session
                    .refresh(&http, batch_id.as_deref(), &args, now)
                    .await?)
            })
        })
    }
}

fn receive_args(opts: &JsValue) -> Result<ReceiveArgs, WalletError> {
    if opts.is_undefined() || opts.is_null() {
        return Ok(ReceiveArgs::default());
    }
    let value = from_js(opts).ok_or_else(|| WalletError::InvalidArgument {
        name: "opts",
        reason: "not a plain object".into(),
    })?;
    serde_json::from_value(value).map_err(|e| WalletError::InvalidArgument {
        name: "opts",
        reason: e.to_string(),
    })
}
