//! A [`RecordStore`] in memory, every credential, holder-key handle and refresh token sealed
//! under the host's [`StorageKey`]: for a host that keeps the wallet's records in memory while
//! it runs (a page, a mini-program), and for the core's own tests of consent and single use.
//!
//! Copy ids are `<batch id>-<copy index>`, batch and grant ids 5 random bytes in hex, as the
//! desktop store's; sealed values carry `<copy id>:sd_jwt`, `<copy id>:holder_key` and
//! `grant:<id>:refresh_token` as associated data.
//!
//! # Sealed records
//!
//! A host that persists the wallet itself (IndexedDB, a mini-program's storage, files) keeps
//! it as sealed records: opaque bytes by key, nothing in clear. [`MemoryStore::from_records`]
//! opens them; after each operation [`MemoryStore::take_changes`] gives what to write and
//! delete, in one [`Changes`] the host applies atomically.
//!
//! | key | sealed value (associated data: the key) |
//! | --- | --- |
//! | `meta:key_check` | [`crate::seal::KEY_CHECK`]: a wrong key is refused before anything is read |
//! | `copy:<copy id>` | JSON: the listing data, grant, configuration, and the credential and holder-key handle (each sealed again as above) |
//! | `grant:<grant id>` | JSON: the issuer and the refresh token (sealed again) |

use std::collections::BTreeSet;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::seal::{Sealer, StorageKey, KEY_CHECK};
use crate::signer::KeyHandle;
use crate::store::{
    batches_of, BatchInfo, CredentialInfo, NewCopy, NewGrant, OpenedCopy, RecordStore,
    RefreshGrant, StoreError,
};

#[derive(Serialize, Deserialize)]
struct CopyRecord {
    info: CredentialInfo,
    grant_id: Option<String>,
    configuration: Option<String>,
    #[serde(with = "b64_bytes")]
    sd_jwt: Vec<u8>,
    #[serde(with = "b64_bytes")]
    holder_key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct GrantRecord {
    id: String,
    #[serde(with = "b64_opt_bytes")]
    refresh_token: Option<Vec<u8>>,
    issuer: String,
}

/// What one operation changed, for the host to persist in one atomic write: sealed records to
/// put (by key) and keys to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Records to write (key, sealed bytes), replacing any of the same key.
    pub put: Vec<(String, Vec<u8>)>,
    /// Keys to delete.
    pub delete: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// The key of the store's key check record.
pub const KEY_CHECK_RECORD: &str = "meta:key_check";
/// The most records [`MemoryStore::from_records`] accepts (a wallet of 10,000 credentials of
/// 10 copies each).
pub const MAX_RECORDS: usize = 100_000;
/// The largest record [`MemoryStore::from_records`] accepts, bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

fn copy_key(id: &str) -> String {
    format!("copy:{id}")
}

fn grant_key(id: &str) -> String {
    format!("grant:{id}")
}

mod b64_bytes {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&credential::b64::encode(v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        credential::b64::decode(&text).map_err(|_| serde::de::Error::custom("not base64url"))
    }
}

mod b64_opt_bytes {
    pub fn serialize<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::b64_bytes::serialize(v, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = serde::Deserialize::deserialize(d)?;
        text.map(|t| {
            credential::b64::decode(&t).map_err(|_| serde::de::Error::custom("not base64url"))
        })
        .transpose()
    }
}

/// The wallet's records in memory, sealed. `R` makes the nonces and ids; `now` is the time
/// stamped on what is stored ([`MemoryStore::set_now`]).
pub struct MemoryStore<R> {
    sealer: Sealer,
    rng: R,
    now: i64,
    copies: Vec<CopyRecord>,
    grants: Vec<GrantRecord>,
    /// Record keys written since the last [`MemoryStore::take_changes`].
    changed: BTreeSet<String>,
    /// Record keys removed since then.
    removed: BTreeSet<String>,
}

impl<R> std::fmt::Debug for MemoryStore<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("copies", &self.copies.len())
            .field("grants", &self.grants.len())
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRngCore> MemoryStore<R> {
    /// An empty store sealing under `key`, at time `now`.
    pub fn new(key: &StorageKey, rng: R, now: i64) -> MemoryStore<R> {
        MemoryStore {
            sealer: key.sealer(),
            rng,
            now,
            copies: Vec::new(),
            grants: Vec::new(),
            changed: BTreeSet::from([KEY_CHECK_RECORD.to_owned()]),
            removed: BTreeSet::new(),
        }
    }

    /// Opens the sealed records a host persisted (from [`MemoryStore::take_changes`]). An
    /// empty set is a new wallet, whose key check is written with the first changes.
    ///
    /// # Errors
    /// [`StoreError::WrongKey`] when `key` does not open the key check (nothing else is read),
    /// [`StoreError::Corrupted`] for a record that does not open or decode, an unknown key, or
    /// a set of records without a key check, [`StoreError::TooLarge`] past [`MAX_RECORDS`] or
    /// [`MAX_RECORD_BYTES`].
    pub fn from_records(
        key: &StorageKey,
        records: Vec<(String, Vec<u8>)>,
        rng: R,
        now: i64,
    ) -> Result<MemoryStore<R>, StoreError> {
        let mut store = MemoryStore::new(key, rng, now);
        if records.is_empty() {
            return Ok(store);
        }
        if records.len() > MAX_RECORDS {
            return Err(StoreError::TooLarge {
                reason: format!("more than {MAX_RECORDS} records"),
            });
        }
        if let Some((id, _)) = records.iter().find(|(_, v)| v.len() > MAX_RECORD_BYTES) {
            return Err(StoreError::TooLarge {
                reason: format!("record {id} is larger than {MAX_RECORD_BYTES} bytes"),
            });
        }
        let check = records
            .iter()
            .find(|(k, _)| k == KEY_CHECK_RECORD)
            .ok_or_else(|| StoreError::Corrupted {
                id: KEY_CHECK_RECORD.to_owned(),
            })?;
        if !store.sealer.opens_key_check(&check.1, KEY_CHECK_RECORD) {
            return Err(StoreError::WrongKey);
        }
        store.changed.clear();
        for (id, sealed) in &records {
            let corrupted = || StoreError::Corrupted { id: id.clone() };
            if id == KEY_CHECK_RECORD {
                continue;
            }
            let plain = store.sealer.open(sealed, id).ok_or_else(corrupted)?;
            if let Some(copy_id) = id.strip_prefix("copy:") {
                let record: CopyRecord = serde_json::from_slice(&plain).map_err(|_| corrupted())?;
                if record.info.id != copy_id {
                    return Err(corrupted());
                }
                store.copies.push(record);
            } else if let Some(grant_id) = id.strip_prefix("grant:") {
                let record: GrantRecord =
                    serde_json::from_slice(&plain).map_err(|_| corrupted())?;
                if record.id != grant_id {
                    return Err(corrupted());
                }
                store.grants.push(record);
            } else {
                return Err(corrupted());
            }
        }
        Ok(store)
    }

    /// The records changed since the last call (or since [`MemoryStore::new`]), sealed, for
    /// the host to persist in one atomic write.
    pub fn take_changes(&mut self) -> Changes {
        let mut changes = Changes::default();
        for key in std::mem::take(&mut self.changed) {
            let plain = if key == KEY_CHECK_RECORD {
                Some(Zeroizing::new(KEY_CHECK.to_vec()))
            } else if let Some(id) = key.strip_prefix("copy:") {
                self.copies
                    .iter()
                    .find(|c| c.info.id == id)
                    .and_then(|c| serde_json::to_vec(c).ok())
                    .map(Zeroizing::new)
            } else {
                let id = key.strip_prefix("grant:").unwrap_or_default();
                self.grants
                    .iter()
                    .find(|g| g.id == id)
                    .and_then(|g| serde_json::to_vec(g).ok())
                    .map(Zeroizing::new)
            };
            match plain {
                Some(plain) => {
                    let sealed = self.sealer.seal(&plain, &key, &mut self.rng);
                    changes.put.push((key, sealed));
                }
                None => changes.delete.push(key),
            }
        }
        for key in std::mem::take(&mut self.removed) {
            if !changes.put.iter().any(|(k, _)| *k == key) && !changes.delete.contains(&key) {
                changes.delete.push(key);
            }
        }
        changes
    }

    /// Gives back changes the host could not persist: the next [`MemoryStore::take_changes`]
    /// returns them again (sealed afresh).
    pub fn restore_changes(&mut self, changes: &Changes) {
        self.changed
            .extend(changes.put.iter().map(|(key, _)| key.clone()));
        self.removed.extend(changes.delete.iter().cloned());
    }

    /// Sets the time stamped on what is stored next (Unix seconds).
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    fn new_id(&mut self) -> String {
        let mut b = [0u8; 5];
        self.rng.fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn push_copies(
        &mut self,
        batch_id: &str,
        grant_id: Option<&str>,
        configuration: Option<&str>,
        copies: Vec<NewCopy>,
    ) {
        for (i, copy) in copies.into_iter().enumerate() {
            let id = format!("{batch_id}-{i}");
            let sd_jwt = self.sealer.seal(
                copy.sd_jwt.as_bytes(),
                &format!("{id}:sd_jwt"),
                &mut self.rng,
            );
            let holder_key = self.sealer.seal(
                copy.holder_key.as_str().as_bytes(),
                &format!("{id}:holder_key"),
                &mut self.rng,
            );
            self.changed.insert(copy_key(&id));
            self.copies.push(CopyRecord {
                info: CredentialInfo {
                    id,
                    batch_id: batch_id.to_owned(),
                    copy_index: u32::try_from(i).unwrap_or(u32::MAX),
                    issuer: copy.issuer,
                    vct: copy.vct,
                    level: copy.level,
                    format: copy.format.as_str().to_owned(),
                    shown_count: 0,
                    received_at: self.now,
                    last_shown_at: None,
                },
                grant_id: grant_id.map(str::to_owned),
                configuration: configuration.map(str::to_owned),
                sd_jwt,
                holder_key,
            });
        }
    }
}

fn grant_aad(grant_id: &str) -> String {
    format!("grant:{grant_id}:refresh_token")
}

impl<R: CryptoRngCore> RecordStore for MemoryStore<R> {
    fn batches(&self) -> Result<Vec<BatchInfo>, StoreError> {
        let refreshable = |batch_id: &str| {
            self.copies.iter().any(|c| {
                c.info.batch_id == batch_id
                    && c.grant_id.as_ref().is_some_and(|g| {
                        self.grants
                            .iter()
                            .any(|r| r.id == *g && r.refresh_token.is_some())
                    })
            })
        };
        Ok(batches_of(
            self.copies.iter().map(|c| c.info.clone()).collect(),
            refreshable,
        ))
    }

    fn copies(&self, batch_id: &str) -> Result<Vec<CredentialInfo>, StoreError> {
        let mut out: Vec<CredentialInfo> = self
            .copies
            .iter()
            .filter(|c| c.info.batch_id == batch_id)
            .map(|c| c.info.clone())
            .collect();
        out.sort_by_key(|c| c.copy_index);
        Ok(out)
    }

    fn open_copy(&self, id: &str) -> Result<OpenedCopy, StoreError> {
        let record = self
            .copies
            .iter()
            .find(|c| c.info.id == id)
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        let corrupted = || StoreError::Corrupted { id: id.to_owned() };
        let open = |sealed: &[u8], column: &str| {
            let plain = self
                .sealer
                .open(sealed, &format!("{id}:{column}"))
                .ok_or_else(corrupted)?;
            std::str::from_utf8(&plain)
                .map(|s| Zeroizing::new(s.to_owned()))
                .map_err(|_| corrupted())
        };
        Ok(OpenedCopy {
            info: record.info.clone(),
            sd_jwt: open(&record.sd_jwt, "sd_jwt")?,
            holder_key: KeyHandle::new(open(&record.holder_key, "holder_key")?.as_str()),
        })
    }

    fn mark_shown(&mut self, ids: &[String], at: i64) -> Result<(), StoreError> {
        // All or nothing: every id is checked before any copy is marked.
        if let Some(missing) = ids
            .iter()
            .find(|id| !self.copies.iter().any(|c| c.info.id == **id))
        {
            return Err(StoreError::NotFound {
                id: missing.clone(),
            });
        }
        for record in &mut self.copies {
            let times = ids.iter().filter(|id| **id == record.info.id).count();
            if times > 0 {
                self.changed.insert(copy_key(&record.info.id));
                record.info.shown_count += u32::try_from(times).unwrap_or(u32::MAX);
                record.info.last_shown_at = Some(at);
            }
        }
        Ok(())
    }

    fn insert_granted(
        &mut self,
        grant: Option<NewGrant>,
        batches: Vec<(Option<String>, Vec<NewCopy>)>,
    ) -> Result<Vec<String>, StoreError> {
        let grant_id = match grant {
            None => None,
            Some(g) => {
                let id = self.new_id();
                let sealed =
                    self.sealer
                        .seal(g.refresh_token.as_bytes(), &grant_aad(&id), &mut self.rng);
                self.changed.insert(grant_key(&id));
                self.grants.push(GrantRecord {
                    id: id.clone(),
                    refresh_token: Some(sealed),
                    issuer: g.issuer,
                });
                Some(id)
            }
        };
        let mut ids = Vec::new();
        for (configuration, copies) in batches {
            let batch_id = self.new_id();
            self.push_copies(
                &batch_id,
                grant_id.as_deref(),
                configuration.as_deref(),
                copies,
            );
            ids.push(batch_id);
        }
        Ok(ids)
    }

    fn refresh_grant(&self, batch_id: &str) -> Result<Option<RefreshGrant>, StoreError> {
        let record = self
            .copies
            .iter()
            .find(|c| c.info.batch_id == batch_id)
            .ok_or_else(|| StoreError::NotFound {
                id: batch_id.to_owned(),
            })?;
        let (Some(grant_id), Some(configuration)) = (&record.grant_id, &record.configuration)
        else {
            return Ok(None);
        };
        let Some(grant) = self.grants.iter().find(|g| g.id == *grant_id) else {
            return Ok(None);
        };
        let Some(sealed) = &grant.refresh_token else {
            return Ok(None);
        };
        let corrupted = || StoreError::Corrupted {
            id: format!("grant:{grant_id}"),
        };
        let plain = self
            .sealer
            .open(sealed, &grant_aad(grant_id))
            .ok_or_else(corrupted)?;
        let token = std::str::from_utf8(&plain).map_err(|_| corrupted())?;
        Ok(Some(RefreshGrant {
            batch_id: batch_id.to_owned(),
            grant_id: grant_id.clone(),
            issuer: grant.issuer.clone(),
            configuration: configuration.clone(),
            refresh_token: Zeroizing::new(token.to_owned()),
        }))
    }

    fn set_refresh_token(&mut self, grant_id: &str, token: Option<&str>) -> Result<(), StoreError> {
        let sealed = token.map(|t| {
            self.sealer
                .seal(t.as_bytes(), &grant_aad(grant_id), &mut self.rng)
        });
        let grant = self
            .grants
            .iter_mut()
            .find(|g| g.id == grant_id)
            .ok_or_else(|| StoreError::NotFound {
                id: grant_id.to_owned(),
            })?;
        grant.refresh_token = sealed;
        self.changed.insert(grant_key(grant_id));
        Ok(())
    }

    fn replace_batch(
        &mut self,
        grant: &RefreshGrant,
        copies: Vec<NewCopy>,
    ) -> Result<usize, StoreError> {
        let before = self.copies.len();
        for c in self
            .copies
            .iter()
            .filter(|c| c.info.batch_id == grant.batch_id)
        {
            self.removed.insert(copy_key(&c.info.id));
        }
        self.copies.retain(|c| c.info.batch_id != grant.batch_id);
        if self.copies.len() == before {
            return Err(StoreError::NotFound {
                id: grant.batch_id.clone(),
            });
        }
        let n = copies.len();
        self.push_copies(
            &grant.batch_id,
            Some(&grant.grant_id),
            Some(&grant.configuration),
            copies,
        );
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::answer::{answer, answer_with, Reuse};
    use crate::consent::{prepare, Preparation, Prepared};
    use crate::present::{AuthorizationRequest, PresentError, PresentationError, RequestRef};
    use crate::signer::{software_handle, HolderSigner, SoftwareSigner};
    use credential::citizen::{Format, Level, VCT_HIGH};
    use credential::jose::{Alg, SigningKey};
    use credential::sd_jwt::{ClaimPath, Limits, RngSalts, SdJwt, SdJwtBuilder};
    use rand_chacha::rand_core::SeedableRng as _;
    use rand_chacha::ChaCha20Rng;
    use serde_json::json;

    const NOW: i64 = 1_760_000_000;
    const ISSUER: &str = "https://id.example.cn";

    fn run<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("nothing here waits"),
        }
    }

    /// A citizen-ID credential signed by a real issuer key, bound to `holder`.
    fn credential(holder: &SigningKey, rng: &mut ChaCha20Rng) -> String {
        let issuer = SigningKey::generate(Alg::Es256, rng);
        let claims = json!({
            "iss": ISSUER, "vct": VCT_HIGH, "iat": NOW - 60, "exp": NOW + 3600,
            "cnf": {"jwk": holder.public_jwk().to_bare_value()},
            "given_name": "小明", "family_name": "王", "id_number": "110101199003071234",
        });
        SdJwtBuilder::new(claims.as_object().unwrap().clone())
            .typ("dc+sd-jwt")
            .disclosable(&ClaimPath::keys(["given_name"]))
            .disclosable(&ClaimPath::keys(["family_name"]))
            .disclosable(&ClaimPath::keys(["id_number"]))
            .issue(&issuer, &mut RngSalts(rng))
            .unwrap()
            .to_compact()
    }

    /// A copy bound to a fresh holder key.
    fn new_copy(rng: &mut ChaCha20Rng) -> NewCopy {
        let holder = SigningKey::generate(Alg::Es256, rng);
        NewCopy {
            issuer: ISSUER.into(),
            vct: VCT_HIGH.into(),
            level: Some(Level::High),
            format: Format::DcSdJwt,
            sd_jwt: credential(&holder, rng),
            holder_key: software_handle(&holder),
        }
    }

    /// A store holding one batch of `n` copies, each bound to its own key.
    fn store_with_batch(n: usize) -> (MemoryStore<ChaCha20Rng>, String) {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let copies = (0..n).map(|_| new_copy(&mut rng)).collect();
        let key = StorageKey::from_bytes([9; 32]);
        let mut store = MemoryStore::new(&key, ChaCha20Rng::seed_from_u64(8), NOW);
        let ids = store.insert_granted(None, vec![(None, copies)]).unwrap();
        (store, ids[0].clone())
    }

    fn hotel_request() -> AuthorizationRequest {
        let dcql = r#"{"credentials":[{"id":"hotel","format":"dc+sd-jwt",
          "meta":{"vct_values":["urn:cn:citizen-id:high:1"]},
          "claims":[{"path":["family_name"]},{"path":["given_name"]}]}]}"#;
        let uri = format!(
            "openid4vp://?{}",
            serde_urlencoded::to_string([
                ("client_id", "x509_san_dns:hotel.example"),
                ("nonce", "n-8f2c"),
                ("response_type", "vp_token"),
                ("dcql_query", dcql),
            ])
            .unwrap()
        );
        match AuthorizationRequest::parse_uri(&uri).unwrap() {
            RequestRef::ByValue(r) => *r,
            RequestRef::ByReference { .. } => panic!("by value"),
        }
    }

    fn ready(store: &MemoryStore<ChaCha20Rng>) -> Prepared {
        match prepare(store, &hotel_request()).unwrap() {
            Preparation::Ready(p) => *p,
            other => panic!("cannot answer: {other:?}"),
        }
    }

    #[test]
    fn consent_names_exactly_the_requested_claims_with_their_values() {
        let (store, batch) = store_with_batch(2);
        let prepared = ready(&store);
        let item = &prepared.consent.items[0];
        assert_eq!(item.batch_id, batch);
        assert_eq!(item.level, Some(Level::High));
        assert_eq!((item.unused_copies, item.copies), (2, 2));
        let claims: Vec<(&str, &serde_json::Value)> = item
            .claims
            .iter()
            .map(|c| (c.path.as_str(), &c.value))
            .collect();
        assert_eq!(
            claims,
            [
                ("family_name", &json!("王")),
                ("given_name", &json!("小明"))
            ]
        );
        assert!(item.holder_binding);
    }

    #[test]
    fn each_copy_answers_once_then_reuse_is_refused_unless_allowed() {
        let (mut store, batch) = store_with_batch(2);
        let prepared = ready(&store);
        let first = answer(&mut store, &prepared, Reuse::Refuse, NOW).unwrap();
        let second = answer(&mut store, &prepared, Reuse::Refuse, NOW).unwrap();
        assert_ne!(first.copies_used, second.copies_used);
        // The answer discloses the consented claims only, with a KB-JWT for this verifier.
        let shown = first.vp_token["hotel"][0].as_str().unwrap();
        let parsed = SdJwt::parse(shown, &Limits::default()).unwrap();
        assert!(parsed.kb_jwt().is_some());
        assert!(!shown.contains(&credential::b64::encode("110101199003071234")));
        // Every copy was shown: single use refuses a third answer and marks nothing.
        assert_eq!(
            answer(&mut store, &prepared, Reuse::Refuse, NOW).unwrap_err(),
            PresentationError::AllCopiesShown {
                batch_id: batch.clone()
            }
        );
        let shown: Vec<u32> = store
            .copies(&batch)
            .unwrap()
            .iter()
            .map(|c| c.shown_count)
            .collect();
        assert_eq!(shown, [1, 1]);
        let reused = answer(&mut store, &prepared, Reuse::Allow, NOW).unwrap();
        assert_eq!(reused.reused, [batch]);
    }

    #[test]
    fn a_signer_whose_key_is_not_the_credentials_is_refused_and_nothing_is_marked() {
        let (mut store, batch) = store_with_batch(1);
        let prepared = ready(&store);
        // A signer that signs every handle with one key of its own.
        struct Stranger(SigningKey);
        impl HolderSigner for Stranger {
            async fn create(&mut self, _: Alg) -> Result<KeyHandle, crate::SignerError> {
                Ok(software_handle(&self.0))
            }
            async fn public_jwk(
                &self,
                _: &KeyHandle,
            ) -> Result<credential::jose::PublicJwk, crate::SignerError> {
                Ok(self.0.public_jwk().clone())
            }
            async fn sign(&self, _: &KeyHandle, m: &[u8]) -> Result<Vec<u8>, crate::SignerError> {
                Ok(self.0.sign(m))
            }
        }
        let stranger = Stranger(SigningKey::generate(
            Alg::Es256,
            &mut ChaCha20Rng::seed_from_u64(99),
        ));
        let err = run(answer_with(
            &mut store,
            &stranger,
            &prepared,
            Reuse::Refuse,
            NOW,
        ));
        assert_eq!(
            err.unwrap_err(),
            PresentationError::Present(PresentError::WrongHolderKey)
        );
        assert_eq!(store.copies(&batch).unwrap()[0].shown_count, 0);
        // The software signer holds the right key: the same request answers.
        let signer = SoftwareSigner::new(ChaCha20Rng::seed_from_u64(5));
        let ok = run(answer_with(
            &mut store,
            &signer,
            &prepared,
            Reuse::Refuse,
            NOW,
        ))
        .unwrap();
        assert_eq!(ok.copies_used, [format!("{batch}-0")]);
        assert_eq!(store.copies(&batch).unwrap()[0].shown_count, 1);
    }

    #[test]
    fn records_are_sealed_and_a_moved_value_does_not_open() {
        let (mut store, batch) = store_with_batch(2);
        for record in &store.copies {
            assert!(!record.sd_jwt.windows(3).any(|w| w == "王".as_bytes()));
            assert!(!record.holder_key.windows(5).any(|w| w == b"\"d\":\""));
        }
        let moved = store.copies[0].sd_jwt.clone();
        store.copies[1].sd_jwt = moved;
        assert_eq!(
            store.open_copy(&format!("{batch}-1")).unwrap_err(),
            StoreError::Corrupted {
                id: format!("{batch}-1")
            }
        );
    }

    fn reopen(store: &mut MemoryStore<ChaCha20Rng>, held: &mut Vec<(String, Vec<u8>)>) {
        let changes = store.take_changes();
        held.retain(|(k, _)| {
            !changes.delete.contains(k) && !changes.put.iter().any(|(p, _)| p == k)
        });
        held.extend(changes.put);
    }

    #[test]
    fn sealed_records_reopen_to_the_same_wallet_and_carry_nothing_in_clear() {
        let (mut store, batch) = store_with_batch(2);
        let mut held = Vec::new();
        reopen(&mut store, &mut held);
        // The key check and one record per copy.
        assert_eq!(held.len(), 3);
        for (_, sealed) in &held {
            assert!(!sealed.windows(3).any(|w| w == "王".as_bytes()));
            assert!(!sealed.windows(ISSUER.len()).any(|w| w == ISSUER.as_bytes()));
        }
        let key = StorageKey::from_bytes([9; 32]);
        let mut again =
            MemoryStore::from_records(&key, held.clone(), ChaCha20Rng::seed_from_u64(3), NOW)
                .unwrap();
        assert_eq!(again.batches().unwrap(), store.batches().unwrap());
        assert_eq!(
            again.open_copy(&format!("{batch}-1")).unwrap().sd_jwt,
            store.open_copy(&format!("{batch}-1")).unwrap().sd_jwt
        );
        assert!(again.take_changes().is_empty());
        // Marking one copy shown rewrites that copy's record only.
        let prepared = ready(&again);
        let shown = answer(&mut again, &prepared, Reuse::Refuse, NOW).unwrap();
        let changes = again.take_changes();
        let keys: Vec<&str> = changes.put.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, [format!("copy:{}", shown.copies_used[0])]);
        held.retain(|(k, _)| *k != keys[0]);
        held.extend(changes.put.clone());
        let third =
            MemoryStore::from_records(&key, held, ChaCha20Rng::seed_from_u64(4), NOW).unwrap();
        let counts: Vec<u32> = third
            .copies(&batch)
            .unwrap()
            .iter()
            .map(|c| c.shown_count)
            .collect();
        assert_eq!(counts.iter().sum::<u32>(), 1);
    }

    #[test]
    fn sealed_records_under_another_key_are_refused_as_a_wrong_key() {
        let (mut store, _) = store_with_batch(1);
        let held = store.take_changes().put;
        let other = StorageKey::from_bytes([10; 32]);
        assert_eq!(
            MemoryStore::from_records(&other, held, ChaCha20Rng::seed_from_u64(1), NOW)
                .unwrap_err(),
            StoreError::WrongKey
        );
    }

    #[test]
    fn a_tampered_or_renamed_record_is_refused_as_corrupted() {
        let (mut store, batch) = store_with_batch(2);
        let held = store.take_changes().put;
        let key = StorageKey::from_bytes([9; 32]);
        let first = format!("copy:{batch}-0");
        let mut flipped = held.clone();
        for (k, v) in &mut flipped {
            if *k == first {
                v[30] ^= 1;
            }
        }
        assert_eq!(
            MemoryStore::from_records(&key, flipped, ChaCha20Rng::seed_from_u64(1), NOW)
                .unwrap_err(),
            StoreError::Corrupted { id: first.clone() }
        );
        // A record moved to another key does not open there.
        let mut renamed: Vec<(String, Vec<u8>)> =
            held.iter().filter(|(k, _)| *k != first).cloned().collect();
        let second = held
            .iter()
            .find(|(k, _)| *k == format!("copy:{batch}-1"))
            .unwrap();
        renamed.push((first.clone(), second.1.clone()));
        assert_eq!(
            MemoryStore::from_records(&key, renamed, ChaCha20Rng::seed_from_u64(1), NOW)
                .unwrap_err(),
            StoreError::Corrupted { id: first }
        );
        // Records without their key check are refused.
        let unchecked: Vec<(String, Vec<u8>)> = held
            .into_iter()
            .filter(|(k, _)| k != KEY_CHECK_RECORD)
            .collect();
        assert_eq!(
            MemoryStore::from_records(&key, unchecked, ChaCha20Rng::seed_from_u64(1), NOW)
                .unwrap_err(),
            StoreError::Corrupted {
                id: KEY_CHECK_RECORD.into()
            }
        );
    }

    #[test]
    fn a_replaced_batch_deletes_the_records_of_copies_it_no_longer_has() {
        let (mut store, batch) = store_with_batch(3);
        let _ = store.take_changes();
        let grant = RefreshGrant {
            batch_id: batch.clone(),
            grant_id: "g".into(),
            issuer: ISSUER.into(),
            configuration: "c".into(),
            refresh_token: Zeroizing::new("t".into()),
        };
        let copy = new_copy(&mut ChaCha20Rng::seed_from_u64(11));
        assert_eq!(store.replace_batch(&grant, vec![copy]).unwrap(), 1);
        let changes = store.take_changes();
        let put: Vec<&str> = changes.put.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(put, [format!("copy:{batch}-0")]);
        assert_eq!(
            changes.delete,
            [format!("copy:{batch}-1"), format!("copy:{batch}-2")]
        );
        // Changes the host could not persist come back with the next take.
        store.restore_changes(&changes);
        let again = store.take_changes();
        assert_eq!(again.delete, changes.delete);
        assert_eq!(again.put.len(), 1);
    }
}
