//! Token Status List: index allocation, status changes, and the signed `statuslist+jwt` of each
//! shard (draft-ietf-oauth-status-list sections 4–5, 8).
//!
//! Every credential gets an entry at a random free index, drawn by the store's CSPRNG,
//! in the open shard (2^20 entries by default). `UNIQUE (status_shard, status_idx)` makes a
//! duplicate impossible even under a bug. A shard closes at three quarters full, so a random
//! probe finds a free index in a few tries and the index reveals little about issuance order;
//! the next shard opens.
//!
//! Changes apply to the whole batch: a credential's copies (one per holder key) share a
//! `batch_id`, and revoking one revokes all.

use serde_json::json;

use crate::domain::refusal::Refusal;
use crate::domain::status::{ShardLists, StatusChange};
use crate::domain::{Status, StatusAction};
use crate::error::IssuerError;
use crate::service::Issuer;
use crate::store::DbError;
use crate::store::{ShardEntries, StatusKey};
use credential::status_list::{Bits, StatusList, StatusListToken};

/// Which W3C Bitstring Status List projection of a shard (Bitstring Status List v1.0
/// section 2.1, `statusPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Bit set where the credential is revoked (2-bit value 1).
    Revocation,
    /// Bit set where the credential is suspended (2-bit value 2).
    Suspension,
}

impl Purpose {
    /// Parses the path segment `revocation` or `suspension`.
    pub fn parse(text: &str) -> Option<Purpose> {
        match text {
            "revocation" => Some(Purpose::Revocation),
            "suspension" => Some(Purpose::Suspension),
            _ => None,
        }
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }

    fn two_bit_value(self) -> i64 {
        match self {
            Purpose::Revocation => i64::from(Status::Revoked.bits()),
            Purpose::Suspension => i64::from(Status::Suspended.bits()),
        }
    }
}

/// Bitstring Status List v1.0 section 2.1: a list is at least 16 KB (131,072 entries) so that
/// small lists still give group privacy.
pub const BITSTRING_MIN_BITS: u64 = 131_072;

/// `encodedList` of Bitstring Status List v1.0 section 2.1: the bitstring (bit 0 is the most
/// significant bit of byte 0), GZIP-compressed, as multibase base64url without padding
/// (prefix `u`). `set` holds the indexes whose bit is 1.
///
/// # Errors
/// I/O errors of the in-memory compressor (not expected).
pub fn encode_bitstring(len_bits: u64, set: &[u64]) -> std::io::Result<String> {
    use std::io::Write as _;
    let bits = len_bits.max(BITSTRING_MIN_BITS);
    let mut bytes = vec![0u8; usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX)];
    for &idx in set {
        if let Some(b) = usize::try_from(idx / 8).ok().and_then(|i| bytes.get_mut(i)) {
            *b |= 0x80 >> (idx % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes)?;
    let compressed = gz.finish()?;
    Ok(format!("u{}", credential::b64::encode(compressed)))
}

/// The longest reason accepted when a citizen's revocation hold is lifted (characters).
pub const MAX_HOLD_REASON: usize = 500;

/// Which credentials a status change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One credential (and its batch) by id.
    Credential(String),
    /// One credential (and its batch) by its status entry.
    Entry {
        /// Shard.
        shard: i64,
        /// Index.
        idx: u32,
    },
    /// Every credential of the citizen with this `id_number`.
    Citizen(String),
}

impl Issuer {
    /// The status-list URI of `shard`.
    pub fn status_uri(&self, shard: i64) -> String {
        format!("{}/status/{shard}", self.url())
    }

    /// Applies `action` to the target's credentials and every copy in their batches.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] when nothing matches; [`Refusal::StatusTransition`] when no
    /// matched credential can take the change (revocation is final); storage errors.
    pub async fn change_status(
        &self,
        actor: &str,
        target: Target,
        action: StatusAction,
    ) -> Result<StatusChange, IssuerError> {
        let citizen = match &target {
            Target::Citizen(id_number) => Some(self.keys.citizen_id(id_number)),
            _ => None,
        };
        let key = match target {
            Target::Credential(id) => StatusKey::Credential(id),
            Target::Entry { shard, idx } => StatusKey::Entry { shard, idx },
            Target::Citizen(_) => match citizen {
                Some(c) => StatusKey::Citizen(c),
                None => return Err(IssuerError::Internal("citizen id not derived".into())),
            },
        };
        let (change, shards) = self
            .store
            .change_status(key, action, actor, self.now())
            .await?;
        self.status_cache.invalidate(&shards);
        tracing::info!(action = action.as_str(), count = change.changed.len(), actor = %actor, "status changed");
        self.metrics.status_changed(action, change.changed.len());
        Ok(change)
    }

    /// Lifts the revocation hold of the citizen with `id_number`, so that they can be enrolled
    /// again (a deliberate re-enrolment after investigation). Their credentials stay revoked:
    /// status lists never un-revoke. `reason` (required, at most [`MAX_HOLD_REASON`]
    /// characters, no control characters) is recorded in the audit event `citizen.lift-hold`.
    ///
    /// # Errors
    /// An invalid-request error for a missing or unusable reason; [`Refusal::NotFound`] for a
    /// citizen never enrolled; [`Refusal::NoRevocationHold`] for a suspended citizen
    /// (reinstate ends a suspension) or one not on hold; storage errors.
    pub async fn lift_citizen_hold(
        &self,
        actor: &str,
        id_number: &str,
        reason: &str,
    ) -> Result<(), IssuerError> {
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > MAX_HOLD_REASON
            || reason.chars().any(char::is_control)
        {
            return Err(Refusal::invalid_request(format!(
                "reason must be 1 to {MAX_HOLD_REASON} characters without control characters"
            ))
            .into());
        }
        let citizen = self.keys.citizen_id(id_number);
        self.store
            .lift_citizen_hold(&citizen, actor, reason, self.now())
            .await?;
        tracing::warn!(actor = %actor, "citizen revocation hold lifted");
        Ok(())
    }

    /// The signed status-list token of `shard`, from the cache when fresh.
    ///
    /// # Errors
    /// [`Refusal::NotFound`] for an unknown shard; storage errors.
    pub async fn status_token(&self, shard: i64) -> Result<String, IssuerError> {
        Ok(self.shard_lists(shard).await?.token)
    }

    /// The W3C `BitstringStatusListCredential` (a `vc+jwt`) of `shard` for `purpose`, built
    /// with the status-list token from the same read of the shard's state.
    ///
    /// # Errors
    /// As [`Issuer::status_token`].
    pub async fn bitstring_credential(
        &self,
        shard: i64,
        purpose: Purpose,
    ) -> Result<String, IssuerError> {
        let lists = self.shard_lists(shard).await?;
        Ok(match purpose {
            Purpose::Revocation => lists.revocation,
            Purpose::Suspension => lists.suspension,
        })
    }

    /// All published forms of `shard`, from the cache when fresh, else from one read.
    ///
    /// # Errors
    /// As [`Issuer::status_token`].
    pub async fn shard_lists(&self, shard: i64) -> Result<ShardLists, IssuerError> {
        let t = self.now();
        // Re-sign at least every minute (fresh `iat`); a status change anywhere (another
        // replica, the CLI) bumps the shard's version and forces a rebuild at once.
        let fresh_after = t - self.config.status_ttl.min(60);
        // The shard's version changes with every status change, on any replica or the CLI, so
        // a cached list is used only while it is still current.
        let version = self
            .store
            .shard_version(shard)
            .await?
            .ok_or(Refusal::NotFound {
                what: "status list",
            })?;
        if let Some(lists) = self.status_cache.get(shard, fresh_after, version) {
            return Ok(lists);
        }
        let ShardEntries {
            size,
            version,
            entries: rows,
            status_seq,
        } = self
            .store
            .shard_entries(shard)
            .await?
            .ok_or(Refusal::NotFound {
                what: "status list",
            })?;
        let corrupt = |_| DbError::Corrupt {
            what: "status entry",
        };
        let size = u64::try_from(size).unwrap_or(0);
        let mut list = StatusList::new(Bits::Two, size).map_err(corrupt)?;
        let mut entries = Vec::with_capacity(rows.len());
        for (idx, bits) in rows {
            let idx = u64::try_from(idx).map_err(|_| DbError::Corrupt {
                what: "status index",
            })?;
            let value = u8::try_from(bits).map_err(|_| DbError::Corrupt { what: "status" })?;
            list.set(idx, value).map_err(corrupt)?;
            entries.push((idx, bits));
        }
        let key = self.signer().await?;
        let token = StatusListToken {
            sub: self.status_uri(shard),
            iat: t,
            exp: Some(t + self.config.status_validity),
            ttl: u64::try_from(self.config.status_ttl)
                .ok()
                .and_then(std::num::NonZeroU64::new),
            iss: Some(self.url().to_owned()),
            status_list: list,
        }
        .try_sign(&*key)
        .map_err(crate::keys::signing_failed)?;
        let bitstring = |purpose: Purpose| -> Result<String, IssuerError> {
            let set: Vec<u64> = entries
                .iter()
                .filter(|(_, v)| *v == purpose.two_bit_value())
                .map(|(i, _)| *i)
                .collect();
            let encoded = encode_bitstring(size, &set)
                .map_err(|e| IssuerError::Internal(format!("gzip: {e}")))?;
            self.sign_bitstring_credential(shard, purpose, &encoded, t, &key)
        };
        let lists = ShardLists {
            token,
            revocation: bitstring(Purpose::Revocation)?,
            suspension: bitstring(Purpose::Suspension)?,
            status_seq,
        };
        self.status_cache.put(shard, lists.clone(), t, version);
        Ok(lists)
    }

    /// A `BitstringStatusListCredential` (Bitstring Status List v1.0 section 2.2) secured as a
    /// compact JWS with `typ: vc+jwt` (VC-JOSE-COSE section 3.1.1): the payload is the
    /// credential itself.
    fn sign_bitstring_credential(
        &self,
        shard: i64,
        purpose: Purpose,
        encoded_list: &str,
        t: i64,
        key: &crate::keys::IssuerKey,
    ) -> Result<String, IssuerError> {
        let id = format!("{}/{}", self.status_uri(shard), purpose.as_str());
        let rfc3339 = |secs: i64| {
            time::OffsetDateTime::from_unix_timestamp(secs)
                .ok()
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default()
        };
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": id,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.url(),
            "validFrom": rfc3339(t),
            "validUntil": rfc3339(t + self.config.status_validity),
            "credentialSubject": {
                "id": format!("{id}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": purpose.as_str(),
                "encodedList": encoded_list,
                // Milliseconds (section 2.2).
                "ttl": self.config.status_ttl.saturating_mul(1000),
            },
            "iat": t,
            "exp": t + self.config.status_validity,
        });
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("vc+jwt"));
        header.insert("cty".into(), json!("vc"));
        header.insert("kid".into(), json!(key.kid()));
        credential::jose::try_sign_compact(header, credential.to_string().as_bytes(), key)
            .map_err(crate::keys::signing_failed)
    }

    /// Ids of shards that exist.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn shards(&self) -> Result<Vec<i64>, IssuerError> {
        Ok(self.store.shards().await?)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn decode(encoded: &str) -> Vec<u8> {
        let gz = credential::b64::decode(encoded.strip_prefix('u').unwrap()).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn bitstring_is_msb_first_gzip_multibase_and_at_least_16_kb() {
        let bytes = decode(&encode_bitstring(1024, &[0, 9, 1023]).unwrap());
        assert_eq!(bytes.len(), 16 * 1024);
        assert_eq!(bytes[0], 0b1000_0000);
        assert_eq!(bytes[1], 0b0100_0000);
        assert_eq!(bytes[127], 0b0000_0001);
        assert!(bytes[128..].iter().all(|b| *b == 0));
        let big = decode(&encode_bitstring(1 << 20, &[(1 << 20) - 1]).unwrap());
        assert_eq!(big.len(), (1 << 20) / 8);
        assert_eq!(big[big.len() - 1], 1);
    }

    #[test]
    fn purposes_parse() {
        assert_eq!(Purpose::parse("revocation"), Some(Purpose::Revocation));
        assert_eq!(Purpose::parse("suspension"), Some(Purpose::Suspension));
        assert_eq!(Purpose::parse("refresh"), None);
    }
}
