//! The issuer's signing keys in a hardware security module, over PKCS#11 (`cryptoki`).
//!
//! The operator chooses it in `issuer.toml` (`hsm_module`, the token, where the PIN is); the
//! sealed-key store of [`crate::keys`] stays the default. With an HSM, every new key (credential
//! and root, ES256 over P-256) is generated in the token as a private, sensitive,
//! non-extractable token object (`CKM_EC_KEY_PAIR_GEN`) and signs there: the issuer hashes the
//! JWS signing input with SHA-256 and the token signs the digest (`CKM_ECDSA`), whose `r || s`
//! output is already the JOSE form (RFC 7518 section 3.4). The database keeps only the key's
//! reference (an RFC 7512 `pkcs11:` URI with the token label and `CKA_ID`) and its public JWK.
//!
//! This file is the only one that speaks PKCS#11: the rest of the issuer signs through
//! [`crate::keys::IssuerKey`], a [`credential::jose::JwsSigner`]. The PIN is read from a file or
//! an environment variable (never a flag) when the session logs in, held in a zeroizing string
//! for that call only, and never printed.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use credential::jose::{Alg, JoseError, JwsSigner, PublicJwk};

/// DER of the named curve P-256 (`prime256v1`, OID 1.2.840.10045.3.1.7): `CKA_EC_PARAMS`.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Longest PIN read from a file or the environment.
const MAX_PIN_LEN: usize = 256;

/// The `hsm_*` settings of `issuer.toml`: which PKCS#11 module, which token, where the PIN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsmConfig {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token, by label (`token_label`) or by slot id (`slot`): exactly one.
    pub token_label: Option<String>,
    /// The slot id of the token.
    pub slot: Option<u64>,
    /// A file holding the user PIN (trailing newline ignored; keep it 0600).
    pub pin_file: Option<PathBuf>,
    /// The name of an environment variable holding the user PIN.
    pub pin_env: Option<String>,
}

impl HsmConfig {
    /// Checks that exactly one token selector and exactly one PIN source are set.
    ///
    /// # Errors
    /// [`HsmError::Config`] naming what is wrong.
    pub fn check(&self) -> Result<(), HsmError> {
        if self.token_label.is_some() == self.slot.is_some() {
            return Err(HsmError::Config {
                reason: "set exactly one of token_label and slot",
            });
        }
        if self.pin_file.is_some() == self.pin_env.is_some() {
            return Err(HsmError::Config {
                reason: "set exactly one of pin_file and pin_env",
            });
        }
        Ok(())
    }

    /// The token as the operator named it, for messages.
    fn token_name(&self) -> String {
        match (&self.token_label, self.slot) {
            (Some(label), _) => format!("label {label:?}"),
            (None, Some(slot)) => format!("slot {slot}"),
            (None, None) => "(none)".into(),
        }
    }

    /// Reads the PIN from its source, in a zeroizing string.
    fn read_pin(&self) -> Result<Zeroizing<String>, HsmError> {
        let text = match (&self.pin_file, &self.pin_env) {
            (Some(path), _) => {
                let bytes =
                    Zeroizing::new(std::fs::read(path).map_err(|_| HsmError::PinUnavailable {
                        origin: format!("pin_file {}", path.display()),
                    })?);
                let text = std::str::from_utf8(&bytes).map_err(|_| HsmError::PinUnavailable {
                    origin: format!("pin_file {} (not UTF-8)", path.display()),
                })?;
                Zeroizing::new(text.to_owned())
            }
            (None, Some(var)) => {
                Zeroizing::new(std::env::var(var).map_err(|_| HsmError::PinUnavailable {
                    origin: format!("environment variable {var}"),
                })?)
            }
            (None, None) => {
                return Err(HsmError::Config {
                    reason: "set exactly one of pin_file and pin_env",
                })
            }
        };
        let pin = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
        if pin.is_empty() || pin.len() > MAX_PIN_LEN {
            return Err(HsmError::PinUnavailable {
                origin: "the configured source (empty or longer than 256 bytes)".into(),
            });
        }
        Ok(pin)
    }
}

/// Why the HSM could not be used. Messages name the failed step, the module, token or key id,
/// never the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The `hsm_*` settings are incomplete or contradictory.
    #[error("hsm configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: &'static str,
    },
    /// The PKCS#11 module cannot be loaded (missing file, not a PKCS#11 library).
    #[error("pkcs#11 module {module} cannot be loaded")]
    ModuleMissing {
        /// The configured path.
        module: PathBuf,
    },
    /// No initialized token has the configured label or slot.
    #[error("hsm token not found: {token}")]
    TokenNotFound {
        /// The label or slot asked for.
        token: String,
    },
    /// The PIN could not be read from its configured source.
    #[error("hsm pin cannot be read from {origin}")]
    PinUnavailable {
        /// Where it was looked for (a path or a variable name, never the value).
        origin: String,
    },
    /// The token refused the login.
    #[error("hsm login failed: {reason}")]
    LoginFailed {
        /// `pin incorrect`, `pin locked`, ...
        reason: &'static str,
    },
    /// The token holds no private key with the recorded id, or it does not match the public
    /// key the database records.
    #[error("hsm key not found: {kid} ({reference})")]
    KeyNotFound {
        /// The key id (RFC 7638 thumbprint) the database records.
        kid: String,
        /// The recorded `pkcs11:` reference.
        reference: String,
    },
    /// The token lacks a mechanism the issuer needs (or the key algorithm is not ES256).
    #[error("hsm mechanism unsupported: {mechanism}")]
    MechanismUnsupported {
        /// The mechanism or algorithm.
        mechanism: &'static str,
    },
    /// The database records a key in an HSM but no `hsm_module` is configured.
    #[error("key {kid} is held in an hsm but issuer.toml sets no hsm_module")]
    NotConfigured {
        /// The key id.
        kid: String,
    },
    /// A PKCS#11 call failed otherwise.
    #[error("hsm {step} failed: {code}")]
    Device {
        /// Which call.
        step: &'static str,
        /// The PKCS#11 return value or library error, as text.
        code: String,
    },
}

impl HsmError {
    /// A stable snake_case name for logs and the command line.
    pub fn code(&self) -> &'static str {
        match self {
            HsmError::Config { .. } => "hsm_config",
            HsmError::ModuleMissing { .. } => "hsm_module_missing",
            HsmError::TokenNotFound { .. } => "hsm_token_not_found",
            HsmError::PinUnavailable { .. } => "hsm_pin_unavailable",
            HsmError::LoginFailed { .. } => "hsm_login_failed",
            HsmError::KeyNotFound { .. } => "hsm_key_not_found",
            HsmError::MechanismUnsupported { .. } => "hsm_mechanism_unsupported",
            HsmError::NotConfigured { .. } => "hsm_not_configured",
            HsmError::Device { .. } => "hsm_device",
        }
    }

    fn device(step: &'static str, e: &CkError) -> HsmError {
        HsmError::Device {
            step,
            code: match e {
                CkError::Pkcs11(rv, _) => format!("{rv:?}"),
                other => other.to_string(),
            },
        }
    }
}

/// The login error for a PKCS#11 return value of `C_Login`.
fn login_error(e: &CkError) -> HsmError {
    let reason = match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => "pin incorrect",
        CkError::Pkcs11(RvError::PinLocked, _) => "pin locked",
        CkError::Pkcs11(RvError::PinExpired, _) => "pin expired",
        CkError::Pkcs11(RvError::PinLenRange, _) => "pin length out of range",
        CkError::Pkcs11(RvError::UserPinNotInitialized, _) => "user pin not initialized",
        _ => return HsmError::device("login", e),
    };
    HsmError::LoginFailed { reason }
}

/// One PKCS#11 module per path and process: `C_Initialize` once, never finalized (the spec
/// allows one initialization per process; several issuers in one process share it).
fn module(path: &Path) -> Result<Pkcs11, HsmError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let modules = MODULES.get_or_init(Mutex::default);
    let mut modules = match modules.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    if let Some(ctx) = modules.get(path) {
        return Ok(ctx.clone());
    }
    let missing = || HsmError::ModuleMissing {
        module: path.to_path_buf(),
    };
    if !path.is_file() {
        return Err(missing());
    }
    let ctx = Pkcs11::new(path).map_err(|_| missing())?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(HsmError::device("initialize", &e)),
    }
    modules.insert(path.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// A logged-in session with the configured token.
pub struct Hsm {
    config: HsmConfig,
    label: String,
    ctx: Pkcs11,
    slot: Slot,
    session: Mutex<Session>,
}

impl fmt::Debug for Hsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hsm")
            .field("module", &self.config.module)
            .field("token", &self.label)
            .finish_non_exhaustive()
    }
}

impl Hsm {
    /// Loads the module, finds the token, checks it has `CKM_EC_KEY_PAIR_GEN` and `CKM_ECDSA`,
    /// opens a read-write session and logs in with the PIN from its source.
    ///
    /// # Errors
    /// [`HsmError::Config`], [`HsmError::ModuleMissing`], [`HsmError::TokenNotFound`],
    /// [`HsmError::MechanismUnsupported`], [`HsmError::PinUnavailable`],
    /// [`HsmError::LoginFailed`], or [`HsmError::Device`] for other PKCS#11 failures.
    pub fn open(config: &HsmConfig) -> Result<Hsm, HsmError> {
        config.check()?;
        let ctx = module(&config.module)?;
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(|e| HsmError::device("slot list", &e))?;
        let mut found = None;
        for slot in slots {
            let info = ctx
                .get_token_info(slot)
                .map_err(|e| HsmError::device("token info", &e))?;
            let label = info.label().trim_end().to_owned();
            let hit = match (&config.token_label, config.slot) {
                (Some(want), _) => *want == label,
                (None, Some(id)) => slot.id() == id,
                (None, None) => false,
            };
            if hit {
                found = Some((slot, label));
                break;
            }
        }
        let Some((slot, label)) = found else {
            return Err(HsmError::TokenNotFound {
                token: config.token_name(),
            });
        };
        check_mechanisms(&ctx, slot)?;
        let session = log_in(&ctx, slot, config)?;
        Ok(Hsm {
            config: config.clone(),
            label,
            ctx,
            slot,
            session: Mutex::new(session),
        })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        lock(&self.session)
    }

    /// The handle of the private key with `CKA_ID` `id`, when the token holds exactly one.
    fn find_private(session: &Session, id: &[u8]) -> Result<Option<ObjectHandle>, HsmError> {
        let handles = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(id.to_vec()),
            ])
            .map_err(|e| HsmError::device("find key", &e))?;
        Ok(match handles[..] {
            [handle] => Some(handle),
            _ => None,
        })
    }

    /// The `pkcs11:` URI (RFC 7512) of the key with `CKA_ID` `id` in this token.
    fn reference(&self, id: &[u8]) -> String {
        let mut uri = String::from("pkcs11:token=");
        for b in self.label.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                uri.push(char::from(b));
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
        uri.push_str(";id=");
        for b in id {
            uri.push_str(&format!("%{b:02X}"));
        }
        uri.push_str(";type=private");
        uri
    }

    /// Generates an ES256 key pair in the token: the private key a private, sensitive,
    /// non-extractable token object that can only sign. `label` names it (`CKA_LABEL`); its
    /// `CKA_ID` is 16 random bytes.
    ///
    /// # Errors
    /// [`HsmError::MechanismUnsupported`] for `alg` other than ES256; [`HsmError::Device`].
    pub fn generate(
        self: &Arc<Self>,
        alg: Alg,
        label: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<HsmKey, HsmError> {
        if alg != Alg::Es256 {
            return Err(HsmError::MechanismUnsupported {
                mechanism: "EdDSA (the hsm backend signs ES256 only)",
            });
        }
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let private_template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let session = self.session();
        let (public, private) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(|e| HsmError::device("generate key pair", &e))?;
        let point = session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(|e| HsmError::device("read public key", &e))?;
        drop(session);
        let jwk = point
            .iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => public_jwk_of_point(p),
                _ => None,
            })
            .ok_or(HsmError::Device {
                step: "read public key",
                code: "CKA_EC_POINT is not an uncompressed P-256 point".into(),
            })?;
        let key = HsmKey {
            hsm: Arc::clone(self),
            id: id.to_vec(),
            handle: Mutex::new(private),
            reference: self.reference(&id),
            public: jwk,
        };
        key.check_protected()?;
        Ok(key)
    }

    /// Finds the private key `reference` names (its `CKA_ID`) and checks that it signs for
    /// `public` (the public key the database records): one signature, verified.
    ///
    /// # Errors
    /// [`HsmError::KeyNotFound`] when the token has no such key, or it does not match
    /// `public`; [`HsmError::Device`].
    pub fn find(self: &Arc<Self>, reference: &str, public: PublicJwk) -> Result<HsmKey, HsmError> {
        let kid = public.thumbprint().to_owned();
        let not_found = || HsmError::KeyNotFound {
            kid: kid.clone(),
            reference: reference.to_owned(),
        };
        let id = reference_id(reference).ok_or_else(not_found)?;
        let handle = Hsm::find_private(&self.session(), &id)?.ok_or_else(not_found)?;
        let key = HsmKey {
            hsm: Arc::clone(self),
            id,
            handle: Mutex::new(handle),
            reference: reference.to_owned(),
            public,
        };
        let probe = b"issuer hsm key check";
        let signature = key.sign_digest(probe).map_err(|_| not_found())?;
        key.public
            .verify(Alg::Es256, probe, &signature)
            .map_err(|_| not_found())?;
        key.check_protected()?;
        Ok(key)
    }
}

/// Opens a read-write session with the token in `slot` and logs in as the user with the PIN
/// from its source; the PIN is held only for the call.
fn log_in(ctx: &Pkcs11, slot: Slot, config: &HsmConfig) -> Result<Session, HsmError> {
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| HsmError::device("open session", &e))?;
    let pin = config.read_pin()?;
    match session.login(UserType::User, Some(&AuthPin::from(pin.as_str()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(login_error(&e)),
    }
}

/// Locks a mutex, a poisoned one included (the values it guards stay valid).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Refuses a token without the two mechanisms the issuer uses.
fn check_mechanisms(ctx: &Pkcs11, slot: Slot) -> Result<(), HsmError> {
    let list = ctx
        .get_mechanism_list(slot)
        .map_err(|e| HsmError::device("mechanism list", &e))?;
    for (needed, name) in [
        (MechanismType::ECC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"),
        (MechanismType::ECDSA, "CKM_ECDSA"),
    ] {
        if !list.contains(&needed) {
            return Err(HsmError::MechanismUnsupported { mechanism: name });
        }
    }
    Ok(())
}

/// The `CKA_ID` of a `pkcs11:` URI made by [`Hsm::reference`] (`id=` percent-encoded bytes).
fn reference_id(reference: &str) -> Option<Vec<u8>> {
    let path = reference.strip_prefix("pkcs11:")?;
    let id = path.split(';').find_map(|a| a.strip_prefix("id="))?;
    let bytes = id.as_bytes();
    if bytes.is_empty() || bytes.len() > 3 * 64 || bytes.len() % 3 != 0 {
        return None;
    }
    bytes
        .chunks(3)
        .map(|c| {
            if c[0] != b'%' {
                return None;
            }
            let hex = std::str::from_utf8(&c[1..]).ok()?;
            u8::from_str_radix(hex, 16).ok()
        })
        .collect()
}

/// The public JWK of a `CKA_EC_POINT`: the uncompressed point `04 || x || y`, DER-wrapped in
/// an OCTET STRING (PKCS#11 2.40) or, from some modules, raw.
fn public_jwk_of_point(point: &[u8]) -> Option<PublicJwk> {
    let raw = match point {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        raw if raw.len() == 65 => raw,
        _ => return None,
    };
    if raw[0] != 0x04 {
        return None;
    }
    let value = serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": credential::b64::encode(&raw[1..33]),
        "y": credential::b64::encode(&raw[33..65]),
    });
    let jwk = PublicJwk::from_value(&value).ok()?;
    let kid = jwk.thumbprint().to_owned();
    Some(jwk.with_kid(kid))
}

/// An ES256 private key in the token: a handle, its reference and its public JWK. Signing
/// sends a SHA-256 digest to the token.
pub struct HsmKey {
    hsm: Arc<Hsm>,
    /// `CKA_ID`: finds the key again after the session is re-established.
    id: Vec<u8>,
    handle: Mutex<ObjectHandle>,
    reference: String,
    public: PublicJwk,
}

impl fmt::Debug for HsmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HsmKey")
            .field("kid", &self.public.thumbprint())
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl HsmKey {
    fn handle(&self) -> ObjectHandle {
        *lock(&self.handle)
    }

    /// The `pkcs11:` URI the database records.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The public key, `kid` set to its thumbprint.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// `CKM_ECDSA` over SHA-256 of `message`: the 64-byte `r || s`.
    fn sign_digest(&self, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        let digest = Sha256::digest(message);
        let mut session = self.hsm.session();
        let signature = match session.sign(&Mechanism::Ecdsa, self.handle(), &digest) {
            Ok(signature) => signature,
            // The token lost the session or the login (removed and put back, restarted, a
            // network HSM reconnected): log in again, find the key again by its id, retry once.
            Err(CkError::Pkcs11(
                RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid,
                _,
            )) => {
                tracing::warn!(token = %self.hsm.label, kid = %self.public.thumbprint(), "hsm session lost; logging in again");
                *session = log_in(&self.hsm.ctx, self.hsm.slot, &self.hsm.config)?;
                let handle = Hsm::find_private(&session, &self.id)?.ok_or_else(|| {
                    HsmError::KeyNotFound {
                        kid: self.public.thumbprint().to_owned(),
                        reference: self.reference.clone(),
                    }
                })?;
                *lock(&self.handle) = handle;
                session
                    .sign(&Mechanism::Ecdsa, handle, &digest)
                    .map_err(|e| HsmError::device("sign", &e))?
            }
            Err(e) => return Err(HsmError::device("sign", &e)),
        };
        drop(session);
        if signature.len() != 64 {
            return Err(HsmError::Device {
                step: "sign",
                code: format!("signature of {} bytes, not 64", signature.len()),
            });
        }
        Ok(signature)
    }

    /// Refuses a private key the token would let out: it must be sensitive, not extractable,
    /// and never have been otherwise.
    fn check_protected(&self) -> Result<(), HsmError> {
        let attrs = self
            .hsm
            .session()
            .get_attributes(
                self.handle(),
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                ],
            )
            .map_err(|e| HsmError::device("read key attributes", &e))?;
        let protected = attrs.len() == 4
            && attrs.iter().all(|a| match a {
                Attribute::Sensitive(v)
                | Attribute::AlwaysSensitive(v)
                | Attribute::NeverExtractable(v) => *v,
                Attribute::Extractable(v) => !*v,
                _ => false,
            });
        if protected {
            Ok(())
        } else {
            Err(HsmError::Device {
                step: "key attributes",
                code: "the private key is extractable or not sensitive".into(),
            })
        }
    }
}

impl JwsSigner for HsmKey {
    fn alg(&self) -> Alg {
        Alg::Es256
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.sign_digest(message).map_err(|e| {
            tracing::error!(kid = %self.public.thumbprint(), code = e.code(), error = %e, "hsm signing failed");
            JoseError::SignerFailed {
                reason: "the hsm did not sign",
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_gives_back_its_key_id() {
        let id = [0u8, 1, 0xab, 0xff];
        let mut uri = String::from("pkcs11:token=bureau%20one;id=");
        for b in id {
            uri.push_str(&format!("%{b:02X}"));
        }
        uri.push_str(";type=private");
        assert_eq!(reference_id(&uri), Some(id.to_vec()));
        assert_eq!(reference_id("pkcs11:token=x"), None);
        assert_eq!(reference_id("pkcs11:id=%zz"), None);
        assert_eq!(reference_id("file:id=%00"), None);
    }

    #[test]
    fn a_config_needs_one_token_and_one_pin_source() {
        let mut c = HsmConfig {
            module: "/nonexistent/libpkcs11.so".into(),
            token_label: Some("bureau".into()),
            slot: None,
            pin_file: None,
            pin_env: Some("ISSUER_HSM_PIN".into()),
        };
        assert_eq!(c.check(), Ok(()));
        c.slot = Some(0);
        assert!(matches!(c.check(), Err(HsmError::Config { .. })));
        c.slot = None;
        c.pin_file = Some("/x".into());
        assert!(matches!(c.check(), Err(HsmError::Config { .. })));
    }

    #[test]
    fn a_missing_module_is_module_missing() {
        let c = HsmConfig {
            module: "/nonexistent/libpkcs11.so".into(),
            token_label: Some("bureau".into()),
            slot: None,
            pin_file: None,
            pin_env: Some("ISSUER_HSM_PIN".into()),
        };
        let e = Hsm::open(&c).unwrap_err();
        assert_eq!(
            e,
            HsmError::ModuleMissing {
                module: "/nonexistent/libpkcs11.so".into()
            }
        );
        assert_eq!(e.code(), "hsm_module_missing");
    }

    /// The one test of this binary that loads SoftHSM2 (`SOFTHSM2_CONF` is read once per
    /// process): a token in a temporary directory. `None` when SoftHSM2 is not installed,
    /// unless `CI_REQUIRE_HSM=1`.
    fn softhsm_token(dir: &Path, pin: &str) -> Option<HsmConfig> {
        let module = [
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
        let conf = dir.join("softhsm2.conf");
        std::fs::create_dir(dir.join("tokens")).unwrap();
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let init = std::process::Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", "unit"])
            .args(["--so-pin", "so-pin-1", "--pin", pin])
            .env("SOFTHSM2_CONF", &conf)
            .output();
        let (Some(module), Ok(out)) = (module, init) else {
            assert!(
                std::env::var("CI_REQUIRE_HSM").as_deref() != Ok("1"),
                "CI_REQUIRE_HSM=1 but softhsm2 is not installed"
            );
            eprintln!("skipping: softhsm2 is not installed (apt-get install softhsm2)");
            return None;
        };
        assert!(out.status.success());
        std::env::set_var("SOFTHSM2_CONF", &conf);
        std::fs::write(dir.join("pin"), format!("{pin}\n")).unwrap();
        Some(HsmConfig {
            module,
            token_label: Some("unit".into()),
            slot: None,
            pin_file: Some(dir.join("pin")),
            pin_env: None,
        })
    }

    #[test]
    fn a_lost_login_is_restored_and_the_key_signs_again() {
        let dir = tempfile::tempdir().unwrap();
        let Some(config) = softhsm_token(dir.path(), "unit-pin-77") else {
            return;
        };
        let hsm = Arc::new(Hsm::open(&config).unwrap());
        let mut rng =
            <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(8);
        let key = hsm.generate(Alg::Es256, "unit key", &mut rng).unwrap();
        // The token forgets the login (as after a restart): the next signature logs in again.
        hsm.session().logout().unwrap();
        let signature = key.try_sign(b"after the loss").unwrap();
        key.public_jwk()
            .verify(Alg::Es256, b"after the loss", &signature)
            .unwrap();
        // And a key found again by its reference signs too.
        let again = hsm.find(key.reference(), key.public_jwk().clone()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert!(!format!("{hsm:?}{key:?}{config:?}").contains("unit-pin-77"));
    }

    #[test]
    fn an_ec_point_in_der_or_raw_gives_the_same_jwk() {
        use rand_chacha::rand_core::SeedableRng as _;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let key = credential::jose::SigningKey::generate(Alg::Es256, &mut rng);
        let v = key.public_jwk().to_value();
        let mut raw = vec![0x04];
        raw.extend(credential::b64::decode(v["x"].as_str().unwrap()).unwrap());
        raw.extend(credential::b64::decode(v["y"].as_str().unwrap()).unwrap());
        let mut der = vec![0x04, 0x41];
        der.extend(&raw);
        assert_eq!(public_jwk_of_point(&raw).as_ref(), Some(key.public_jwk()));
        assert_eq!(public_jwk_of_point(&der).as_ref(), Some(key.public_jwk()));
        assert_eq!(public_jwk_of_point(&raw[1..]), None);
    }
}
