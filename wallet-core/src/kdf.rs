//! The passphrase key derivation of the desktop host: Argon2id (RFC 9106) parameters read from
//! `kdf.json` in the wallet directory, checked against fixed bounds before any memory is
//! allocated, then the 32-byte [`StorageKey`].
//!
//! `kdf.json` sits in clear beside the store, so anyone who can write the directory can edit it.
//! An edited file must be refused with a [`KdfError`], never abort the process: Argon2 allocates
//! `m_cost` KiB up front, and `m_cost = 4294967295` asks for 4 TiB.
//!
//! | parameter | accepted | written by `wallet init` |
//! | --- | --- | --- |
//! | `m_cost` (KiB) | [`MIN_M_COST`]..=[`MAX_M_COST`] (8 MiB to 256 MiB) | 19456 (19 MiB) |
//! | `t_cost` (passes) | 1..=[`MAX_T_COST`] | 2 |
//! | `p_cost` (lanes) | 1..=[`MAX_P_COST`] | 1 |
//! | `salt` (base64url) | 8..=64 bytes | 16 random bytes |
//! | file | at most [`MAX_KDF_FILE`] bytes | |

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::seal::StorageKey;

/// The file name inside the wallet directory.
pub const KDF_FILE: &str = "kdf.json";

/// The largest `kdf.json` read (bytes); checked before parsing.
pub const MAX_KDF_FILE: usize = 4096;

/// The least memory cost accepted (KiB): 8 MiB.
pub const MIN_M_COST: u32 = 8 * 1024;
/// The largest memory cost accepted (KiB): 256 MiB, what a phone can spare for a moment.
pub const MAX_M_COST: u32 = 256 * 1024;
/// The largest number of passes accepted.
pub const MAX_T_COST: u32 = 16;
/// The largest number of lanes accepted.
pub const MAX_P_COST: u32 = 8;
/// The shortest salt accepted (bytes; RFC 9106 recommends 16).
pub const MIN_SALT: usize = 8;
/// The longest salt accepted (bytes).
pub const MAX_SALT: usize = 64;

/// Why `kdf.json` was refused or the key could not be derived. Messages name the failed check
/// and carry no passphrase, salt or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KdfError {
    /// The file is larger than [`MAX_KDF_FILE`].
    #[error("kdf.json is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The file is not a JSON object.
    #[error("kdf.json is not a json object")]
    NotJson,
    /// `alg` is not `argon2id`.
    #[error("kdf.json: alg is not argon2id")]
    UnsupportedAlg,
    /// A cost parameter is absent or not a whole number.
    #[error("kdf.json: {name} is missing or not a whole number")]
    MissingParameter {
        /// `m_cost`, `t_cost` or `p_cost`.
        name: &'static str,
    },
    /// A cost parameter lies outside the accepted bounds.
    #[error("kdf.json: {name} = {value} is outside the accepted {min}..={max}")]
    OutOfBounds {
        /// `m_cost`, `t_cost` or `p_cost`.
        name: &'static str,
        /// The value found.
        value: u64,
        /// The least accepted.
        min: u32,
        /// The largest accepted.
        max: u32,
    },
    /// `salt` is absent or not base64url.
    #[error("kdf.json: salt is missing or not base64url")]
    InvalidSalt,
    /// The salt's length lies outside [`MIN_SALT`]..=[`MAX_SALT`].
    #[error("kdf.json: salt is {len} bytes, outside the accepted {MIN_SALT}..={MAX_SALT}")]
    SaltLength {
        /// The salt's length in bytes.
        len: usize,
    },
    /// Argon2 refused the parameters (cannot happen within the bounds).
    #[error("key derivation failed")]
    Derivation,
}

/// Argon2id parameters within the bounds, with the salt. `Debug` omits the salt.
#[derive(Clone, PartialEq, Eq)]
pub struct KdfParams {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: Vec<u8>,
}

impl std::fmt::Debug for KdfParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdfParams")
            .field("m_cost", &self.m_cost)
            .field("t_cost", &self.t_cost)
            .field("p_cost", &self.p_cost)
            .finish_non_exhaustive()
    }
}

impl KdfParams {
    /// The parameters `wallet init` writes: 19 MiB, 2 passes, 1 lane (the OWASP minimum for
    /// Argon2id), with the given salt.
    ///
    /// # Errors
    /// [`KdfError::SaltLength`] for a salt outside the bounds.
    pub fn recommended(salt: &[u8]) -> Result<KdfParams, KdfError> {
        check_salt(salt)?;
        Ok(KdfParams {
            m_cost: 19456,
            t_cost: 2,
            p_cost: 1,
            salt: salt.to_vec(),
        })
    }

    /// Reads `kdf.json`: size first, then JSON, then every bound. Nothing is allocated for the
    /// derivation here.
    ///
    /// # Errors
    /// [`KdfError`] naming the first check that failed.
    pub fn from_json(text: &[u8]) -> Result<KdfParams, KdfError> {
        if text.len() > MAX_KDF_FILE {
            return Err(KdfError::TooLarge { max: MAX_KDF_FILE });
        }
        let value: Value = serde_json::from_slice(text).map_err(|_| KdfError::NotJson)?;
        let object = value.as_object().ok_or(KdfError::NotJson)?;
        if object.get("alg").and_then(Value::as_str) != Some("argon2id") {
            return Err(KdfError::UnsupportedAlg);
        }
        let cost = |name: &'static str, min: u32, max: u32| -> Result<u32, KdfError> {
            let value = object
                .get(name)
                .and_then(Value::as_u64)
                .ok_or(KdfError::MissingParameter { name })?;
            match u32::try_from(value) {
                Ok(v) if (min..=max).contains(&v) => Ok(v),
                _ => Err(KdfError::OutOfBounds {
                    name,
                    value,
                    min,
                    max,
                }),
            }
        };
        let m_cost = cost("m_cost", MIN_M_COST, MAX_M_COST)?;
        let t_cost = cost("t_cost", 1, MAX_T_COST)?;
        let p_cost = cost("p_cost", 1, MAX_P_COST)?;
        let salt = object
            .get("salt")
            .and_then(Value::as_str)
            .filter(|s| s.len() <= 2 * MAX_SALT)
            .and_then(|s| credential::b64::decode(s).ok())
            .ok_or(KdfError::InvalidSalt)?;
        check_salt(&salt)?;
        Ok(KdfParams {
            m_cost,
            t_cost,
            p_cost,
            salt,
        })
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let value = json!({
            "alg": "argon2id",
            "m_cost": self.m_cost,
            "t_cost": self.t_cost,
            "p_cost": self.p_cost,
            "salt": credential::b64::encode(&self.salt),
        });
        format!("{value:#}\n")
    }

    /// The memory cost in KiB.
    pub fn m_cost(&self) -> u32 {
        self.m_cost
    }

    /// Derives the storage key from the passphrase.
    ///
    /// # Errors
    /// [`KdfError::Derivation`] (cannot happen within the bounds).
    pub fn derive(&self, passphrase: &[u8]) -> Result<StorageKey, KdfError> {
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|_| KdfError::Derivation)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &self.salt, &mut out[..])
            .map_err(|_| KdfError::Derivation)?;
        Ok(StorageKey::from_bytes(*out))
    }
}

fn check_salt(salt: &[u8]) -> Result<(), KdfError> {
    if (MIN_SALT..=MAX_SALT).contains(&salt.len()) {
        Ok(())
    } else {
        Err(KdfError::SaltLength { len: salt.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(m: u64, t: u64, p: u64) -> Vec<u8> {
        json!({"alg": "argon2id", "m_cost": m, "t_cost": t, "p_cost": p,
               "salt": credential::b64::encode([7u8; 16])})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn what_init_writes_reads_back() {
        let params = KdfParams::recommended(&[7u8; 16]).unwrap();
        assert_eq!(
            KdfParams::from_json(params.to_json().as_bytes()),
            Ok(params)
        );
    }

    #[test]
    fn a_huge_memory_cost_is_refused_before_allocating() {
        assert_eq!(
            KdfParams::from_json(&file(4_294_967_295, 2, 1)),
            Err(KdfError::OutOfBounds {
                name: "m_cost",
                value: 4_294_967_295,
                min: MIN_M_COST,
                max: MAX_M_COST
            })
        );
    }

    #[test]
    fn a_memory_cost_past_u32_is_out_of_bounds_not_missing() {
        assert!(matches!(
            KdfParams::from_json(&file(1 << 40, 2, 1)),
            Err(KdfError::OutOfBounds { name: "m_cost", .. })
        ));
    }

    #[test]
    fn a_huge_time_cost_is_refused() {
        assert!(matches!(
            KdfParams::from_json(&file(19456, 4_000_000_000, 1)),
            Err(KdfError::OutOfBounds { name: "t_cost", .. })
        ));
    }

    #[test]
    fn a_huge_parallelism_is_refused() {
        assert!(matches!(
            KdfParams::from_json(&file(19456, 2, 16_777_215)),
            Err(KdfError::OutOfBounds { name: "p_cost", .. })
        ));
    }

    #[test]
    fn a_zero_cost_is_refused() {
        assert!(matches!(
            KdfParams::from_json(&file(19456, 0, 1)),
            Err(KdfError::OutOfBounds { name: "t_cost", .. })
        ));
    }

    #[test]
    fn a_cost_that_is_not_a_number_is_missing() {
        let text =
            br#"{"alg":"argon2id","m_cost":"19456","t_cost":2,"p_cost":1,"salt":"AAAAAAAAAAA"}"#;
        assert_eq!(
            KdfParams::from_json(text),
            Err(KdfError::MissingParameter { name: "m_cost" })
        );
    }

    #[test]
    fn another_alg_is_refused() {
        let text = br#"{"alg":"scrypt","m_cost":19456,"t_cost":2,"p_cost":1,"salt":"AAAAAAAAAAA"}"#;
        assert_eq!(KdfParams::from_json(text), Err(KdfError::UnsupportedAlg));
    }

    #[test]
    fn a_short_salt_is_refused() {
        let text = br#"{"alg":"argon2id","m_cost":19456,"t_cost":2,"p_cost":1,"salt":"AAAA"}"#;
        assert_eq!(
            KdfParams::from_json(text),
            Err(KdfError::SaltLength { len: 3 })
        );
    }

    #[test]
    fn a_salt_that_is_not_base64url_is_refused() {
        let text = br#"{"alg":"argon2id","m_cost":19456,"t_cost":2,"p_cost":1,"salt":"!!"}"#;
        assert_eq!(KdfParams::from_json(text), Err(KdfError::InvalidSalt));
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let text = vec![b' '; MAX_KDF_FILE + 1];
        assert_eq!(
            KdfParams::from_json(&text),
            Err(KdfError::TooLarge { max: MAX_KDF_FILE })
        );
    }

    #[test]
    fn not_json_is_refused() {
        assert_eq!(KdfParams::from_json(b"[1,2]"), Err(KdfError::NotJson));
        assert_eq!(KdfParams::from_json(b"{"), Err(KdfError::NotJson));
    }
}
