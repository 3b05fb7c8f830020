//! One open wallet, host-agnostic: the core's records ([`MemoryStore`] of sealed records), a
//! holder-key signer, the offer and the request in progress, and the core calls each
//! JavaScript method makes. Generic over the transport, signer and random source, so the
//! same code runs natively in the tests (reqwest, software keys) and in WebAssembly (the JS
//! host). It reports what the desktop CLI prints ([`wallet_core::report`]).
//!
//! Every operation leaves its record changes in the store; the caller takes them
//! ([`Session::take_changes`]) and hands them to the host in one write, after the operation
//! whether it failed or not (a refresh that failed late has already stored the rotated token).

use rand_core::CryptoRngCore;
use serde_json::{json, Value};
use wallet_core::consent::{prepare, Preparation, Prepared};
use wallet_core::memory::Changes;
use wallet_core::report::{self, CannotSatisfyReport, OfflineReport, SentReport};
use wallet_core::store::RecordStore as _;
use wallet_core::{
    Answer, CredentialOffer, HolderSigner, MemoryStore, ReceiveOptions, ResponseMode, Reuse,
    StorageKey, Transport, TxCode,
};

use crate::error::WalletError;

/// The options of `receive` (the CLI's `--copies` and `--configuration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveArgs {
    /// Copies per credential (capped at the issuer's batch size); default the core's.
    pub copies: Option<usize>,
    /// Only these offered configurations; default all.
    #[serde(default)]
    pub configurations: Vec<String>,
}

impl ReceiveArgs {
    fn options(&self) -> ReceiveOptions {
        let mut options = ReceiveOptions::default();
        if let Some(copies) = self.copies {
            options.copies = copies;
        }
        options.configurations.clone_from(&self.configurations);
        options
    }
}

/// An open wallet.
pub struct Session<S, R> {
    store: MemoryStore<R>,
    signer: S,
    offer: Option<(String, CredentialOffer)>,
    prepared: Option<Box<Prepared>>,
}

impl<S, R> std::fmt::Debug for Session<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("store", &self.store)
            .field("request_open", &self.prepared.is_some())
            .finish_non_exhaustive()
    }
}

/// The QR version (1..=40) `text` needs at the answer QR's error correction (L), as the CLI
/// reports it; `None` when it does not fit.
pub fn qr_version(text: &str) -> Option<i16> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    match code.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Some(v),
    }
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl<S: HolderSigner, R: CryptoRngCore> Session<S, R> {
    /// Opens the records the host holds under `key` (none: a new wallet).
    ///
    /// # Errors
    /// `wrong_key`, `corrupted`, `records_too_large`.
    pub fn open(
        key: &StorageKey,
        records: Vec<(String, Vec<u8>)>,
        signer: S,
        rng: R,
        now: i64,
    ) -> Result<Session<S, R>, WalletError> {
        Ok(Session {
            store: MemoryStore::from_records(key, records, rng, now)?,
            signer,
            offer: None,
            prepared: None,
        })
    }

    /// The sealed records changed since the last call, for the host to persist.
    pub fn take_changes(&mut self) -> Changes {
        self.store.take_changes()
    }

    /// Gives back changes the host could not persist (written with the next call).
    pub fn restore_changes(&mut self, changes: &Changes) {
        self.store.restore_changes(changes);
    }

    async fn offer<T: Transport>(
        &mut self,
        http: &T,
        offer: &str,
    ) -> Result<&CredentialOffer, WalletError> {
        // An offer by reference is fetched once: receive() after resolveOffer() of the same
        // text uses the offer resolved.
        if self.offer.as_ref().is_none_or(|(text, _)| text != offer) {
            self.offer = None;
            let resolved = wallet_core::resolve_offer(http, offer).await?;
            self.offer = Some((offer.to_owned(), resolved));
        }
        self.offer
            .as_ref()
            .map(|(_, o)| o)
            .ok_or(WalletError::Host {
                what: "lost the offer".into(),
            })
    }

    /// What the offer is: `{credential_issuer, credential_configuration_ids, tx_code}`
    /// (`tx_code`: `{length, input_mode, description}` or null).
    ///
    /// # Errors
    /// The core's receive codes (`invalid_offer_uri`, `insecure_url`, `http`, ...).
    pub async fn resolve_offer<T: Transport>(
        &mut self,
        http: &T,
        offer: &str,
    ) -> Result<Value, WalletError> {
        let offer = self.offer(http, offer).await?;
        Ok(json!({
            "credential_issuer": offer.credential_issuer,
            "credential_configuration_ids": offer.credential_configuration_ids,
            "tx_code": offer.tx_code.as_ref().map(|t| json!({
                "length": t.length,
                "input_mode": t.input_mode,
                "description": t.description,
            })),
        }))
    }

    /// Receives the offer (OpenID4VCI pre-authorized code flow), verifies every copy and
    /// stores them: what `wallet receive --json` prints.
    ///
    /// # Errors
    /// The core's receive codes; nothing is stored on error.
    pub async fn receive<T: Transport>(
        &mut self,
        http: &T,
        offer: &str,
        tx_code: Option<&str>,
        args: &ReceiveArgs,
        now: i64,
    ) -> Result<Value, WalletError> {
        let offer = self.offer(http, offer).await?.clone();
        let tx_code = tx_code.map(TxCode::new);
        let received = wallet_core::receive(
            http,
            &mut self.signer,
            &offer,
            tx_code.as_ref(),
            &args.options(),
            now,
        )
        .await?;
        self.offer = None;
        self.store.set_now(now);
        Ok(to_value(&report::store_received(
            received,
            &mut self.store,
        )?))
    }

    /// The batches: what `wallet list --json` prints.
    ///
    /// # Errors
    /// `corrupted`.
    pub fn list(&self) -> Result<Value, WalletError> {
        Ok(to_value(&self.store.batches()?))
    }

    /// One card: what `wallet show --json` prints.
    ///
    /// # Errors
    /// `not_found`, `corrupted`, `stored_credential_unreadable`.
    pub fn show(&self, id: &str) -> Result<Value, WalletError> {
        Ok(to_value(&report::show(&self.store, id)?))
    }

    /// Opens a request (URI, or fetched by `request_uri`) and matches it against the wallet:
    /// the consent summary, with `needs_reuse` and `response_mode` (`direct_post` or
    /// `offline`). Kept for [`Session::answer`].
    ///
    /// # Errors
    /// The core's presentation codes; `cannot_satisfy` (with the CLI's report as details)
    /// when the wallet holds nothing that answers.
    pub async fn open_request<T: Transport>(
        &mut self,
        http: &T,
        request: &str,
    ) -> Result<Value, (WalletError, Option<Value>)> {
        self.prepared = None;
        let request = wallet_core::resolve_request(http, request)
            .await
            .map_err(|e| (e.into(), None))?;
        match prepare(&self.store, &request).map_err(|e| (e.into(), None))? {
            Preparation::Ready(prepared) => {
                let mut out = to_value(&prepared.consent);
                if let Value::Object(o) = &mut out {
                    o.insert(
                        "needs_reuse".into(),
                        Value::Bool(prepared.consent.needs_reuse()),
                    );
                    let mode = match prepared.request.response_mode {
                        ResponseMode::DirectPost { .. } => "direct_post",
                        _ => "offline",
                    };
                    o.insert("response_mode".into(), Value::String(mode.into()));
                }
                self.prepared = Some(prepared);
                Ok(out)
            }
            Preparation::CannotSatisfy { client_id, unmet } => {
                let details = to_value(&CannotSatisfyReport {
                    client_id: &client_id,
                    cannot_satisfy: &unmet,
                });
                Err((WalletError::CannotSatisfy { client_id }, Some(details)))
            }
            _ => Err((
                WalletError::Host {
                    what: "got an unknown preparation".into(),
                },
                None,
            )),
        }
    }

    /// Answers the open request: signs the key bindings and marks the copies shown (the
    /// caller persists that before delivering). The request stays open on error.
    ///
    /// # Errors
    /// `no_open_request`, `all_copies_shown` (unless `reuse`), `request_expired`,
    /// `wrong_holder_key`, the signer's codes.
    pub async fn answer(&mut self, reuse: bool, now: i64) -> Result<Answer, WalletError> {
        let prepared = self.prepared.as_ref().ok_or(WalletError::NoOpenRequest)?;
        let reuse = if reuse { Reuse::Allow } else { Reuse::Refuse };
        Ok(wallet_core::answer_with(&mut self.store, &self.signer, prepared, reuse, now).await?)
    }

    /// Delivers an answer of the open request, which is then closed: sent by `direct_post`
    /// (what `wallet present --json` prints for a sent answer) or the offline report with
    /// the `VP2:` text for the answer QR code.
    ///
    /// # Errors
    /// `no_open_request`; for `direct_post`: `insecure_url`, `redirected`, `http`,
    /// `verifier_rejected` (the copies stay marked shown: the verifier may have seen them).
    pub async fn deliver<T: Transport>(
        &mut self,
        http: &T,
        answer: &Answer,
    ) -> Result<Value, WalletError> {
        let prepared = self.prepared.take().ok_or(WalletError::NoOpenRequest)?;
        match &answer.response_mode {
            ResponseMode::DirectPost { response_uri } => {
                let outcome = wallet_core::send(http, answer).await?;
                Ok(to_value(&SentReport::new(
                    &prepared.consent,
                    response_uri,
                    &outcome,
                    answer,
                )))
            }
            _ => Ok(to_value(&OfflineReport::new(
                &prepared.consent,
                answer,
                qr_version,
            ))),
        }
    }

    /// Refreshes `batch_id` (what `wallet refresh --json` prints), or, without one, every
    /// refreshable batch whose copies were all shown (an array of those).
    ///
    /// # Errors
    /// `not_refreshable`, `refresh_refused`, `rate_limited`, the receive codes.
    pub async fn refresh<T: Transport>(
        &mut self,
        http: &T,
        batch_id: Option<&str>,
        args: &ReceiveArgs,
        now: i64,
    ) -> Result<Value, WalletError> {
        self.store.set_now(now);
        let options = args.options();
        if let Some(id) = batch_id {
            let done =
                wallet_core::refresh(http, &mut self.signer, &mut self.store, id, &options, now)
                    .await?;
            return Ok(to_value(&done));
        }
        let due: Vec<String> = self
            .store
            .batches()?
            .into_iter()
            .filter(|b| b.refreshable && b.unused == 0)
            .map(|b| b.batch_id)
            .collect();
        let mut out = Vec::new();
        for id in due {
            let done =
                wallet_core::refresh(http, &mut self.signer, &mut self.store, &id, &options, now)
                    .await?;
            out.push(to_value(&done));
        }
        Ok(Value::Array(out))
    }
}
