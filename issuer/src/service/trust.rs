//! Published metadata and trust material: credential issuer metadata (OpenID4VCI 1.0 section
//! 12.2), authorization-server metadata (RFC 8414), SD-JWT VC issuer metadata
//! (`/.well-known/jwt-vc-issuer`), the did:web document, and the root-signed trust bundle.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::domain::ConfigId;
use crate::error::IssuerError;
use crate::keys::root_header;
use crate::service::Issuer;
use credential::citizen::{Format, Level};
use credential::jose::{sign_compact, try_sign_compact, Alg, JoseError, JwsSigner, SigningKey};
use credential::oid4vci::{
    AuthorizationServerMetadata, BatchIssuance, ClaimDescription, CredentialConfiguration,
    CredentialDefinition, CredentialIssuerMetadata, CredentialMetadata, Display, ProofTypeMetadata,
    SigningAlg, PRE_AUTH_GRANT, REFRESH_GRANT,
};

/// The trust bundle's `typ`.
pub const TRUST_BUNDLE_TYP: &str = "trust-bundle+jwt";

/// A name in Chinese and in English.
fn names(zh: &str, en: &str) -> Vec<Display> {
    vec![Display::named(zh, "zh-CN"), Display::named(en, "en")]
}

fn display(level: Level) -> Vec<Display> {
    match level {
        Level::Basic => names("居民身份电子凭证（轻量版）", "Citizen ID (basic)"),
        _ => names("居民身份电子凭证（增强版）", "Citizen ID (high)"),
    }
}

fn claims(level: Level) -> Vec<ClaimDescription> {
    let mut c = vec![
        ("family_name", "姓", "Family name"),
        ("given_name", "名", "Given name"),
        ("birthdate", "出生日期", "Date of birth"),
        ("sex", "性别", "Sex"),
        ("nationality", "国籍", "Nationality"),
        ("id_number", "公民身份号码", "ID number"),
        ("age_equal_or_over", "年龄证明", "Age over"),
    ];
    if level == Level::High {
        c.extend([
            ("address", "住址", "Address"),
            ("ethnicity", "民族", "Ethnicity"),
            ("portrait", "照片", "Portrait"),
            ("id_card", "身份证", "ID card"),
        ]);
    }
    c.into_iter()
        .map(|(name, zh, en)| ClaimDescription::top_level(name, names(zh, en)))
        .collect()
}

fn algs() -> Vec<SigningAlg> {
    Alg::ALL
        .iter()
        .map(|a| SigningAlg::Name(a.as_str().to_owned()))
        .collect()
}

fn configuration(c: ConfigId) -> CredentialConfiguration {
    let (vct, credential_definition) = match c.format {
        Format::DcSdJwt => (Some(c.level.vct().to_owned()), None),
        _ => (
            None,
            Some(CredentialDefinition {
                context: None,
                types: vec![
                    "VerifiableCredential".to_owned(),
                    credential::citizen::VC_TYPE.to_owned(),
                    c.level.vct().to_owned(),
                ],
            }),
        ),
    };
    let jwt = ProofTypeMetadata {
        proof_signing_alg_values_supported: algs(),
        key_attestations_required: None,
    };
    CredentialConfiguration {
        format: c.format.as_str().to_owned(),
        scope: None,
        cryptographic_binding_methods_supported: Some(vec!["jwk".to_owned()]),
        credential_signing_alg_values_supported: Some(algs()),
        proof_types_supported: Some(BTreeMap::from([("jwt".to_owned(), jwt)])),
        credential_metadata: Some(CredentialMetadata {
            display: Some(display(c.level)),
            claims: Some(claims(c.level)),
        }),
        vct,
        credential_definition,
        doctype: None,
    }
}

/// `did:web` for a URL: host (port as `%3A`), then path segments joined by `:`.
pub fn did_web(url: &str) -> String {
    let rest = url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut parts = rest.split('/');
    let host = parts.next().unwrap_or_default().replace(':', "%3A");
    let mut did = format!("did:web:{host}");
    for p in parts.filter(|p| !p.is_empty()) {
        did.push(':');
        did.push_str(p);
    }
    did
}

impl Issuer {
    /// Credential issuer metadata (section 12.2.4).
    pub fn issuer_metadata(&self) -> CredentialIssuerMetadata {
        let url = self.url();
        CredentialIssuerMetadata {
            credential_issuer: url.to_owned(),
            authorization_servers: None,
            credential_endpoint: format!("{url}/credential"),
            nonce_endpoint: Some(format!("{url}/nonce")),
            deferred_credential_endpoint: None,
            notification_endpoint: None,
            batch_credential_issuance: Some(BatchIssuance {
                batch_size: self.config.batch_size as u64,
            }),
            display: Some(names(
                "公安局 居民身份电子凭证签发服务",
                "Public Security Bureau citizen-ID issuer",
            )),
            credential_configurations_supported: ConfigId::ALL
                .iter()
                .map(|c| (c.as_str().to_owned(), configuration(*c)))
                .collect(),
        }
    }

    /// Authorization-server metadata (RFC 8414; OpenID4VCI section 12.3).
    pub fn as_metadata(&self) -> AuthorizationServerMetadata {
        let url = self.url();
        AuthorizationServerMetadata {
            issuer: url.to_owned(),
            authorization_endpoint: None,
            token_endpoint: format!("{url}/token"),
            jwks_uri: None,
            grant_types_supported: Some(vec![PRE_AUTH_GRANT.to_owned(), REFRESH_GRANT.to_owned()]),
            pre_authorized_grant_anonymous_access_supported: Some(true),
            response_types_supported: Some(Vec::new()),
            token_endpoint_auth_methods_supported: Some(vec!["none".to_owned()]),
        }
    }

    fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .published_online(self.now())
            .into_iter()
            .map(|r| {
                let mut jwk = r.jwk.clone().with_kid(r.kid.clone()).to_value();
                jwk["alg"] = json!(r.alg.as_str());
                jwk["use"] = json!("sig");
                // The key's window, as in the trust bundle (extra JWK members, RFC 7517
                // section 4: ignored by clients that do not know them): a verifier trusting
                // this document refuses what a retired key could not have signed.
                jwk["not_before"] = json!(r.not_before);
                jwk["not_after"] = json!(r.not_after);
                jwk["last_credential_expiry"] = json!(r.last_credential_expiry);
                jwk
            })
            .collect();
        json!({"keys": keys})
    }

    /// SD-JWT VC issuer metadata (`/.well-known/jwt-vc-issuer`).
    pub fn jwt_vc_issuer(&self) -> Value {
        json!({"issuer": self.url(), "jwks": self.jwks()})
    }

    /// The did:web DID document: every published credential key as a verification method.
    pub fn did_document(&self) -> Value {
        let did = did_web(self.url());
        let methods: Vec<Value> = self
            .keys
            .published_online(self.now())
            .into_iter()
            .map(|r| {
                json!({
                    "id": format!("{did}#{}", r.kid),
                    "type": "JsonWebKey",
                    "controller": did,
                    "publicKeyJwk": r.jwk.to_bare_value(),
                })
            })
            .collect();
        let refs: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
        json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
            "id": did,
            "verificationMethod": methods,
            "assertionMethod": refs,
        })
    }

    /// The RFC 7638 thumbprint of the root key: what verifiers pin.
    pub fn root_fingerprint(&self) -> String {
        self.keys.root().kid().to_owned()
    }

    /// The trust bundle, signed by the root key (`typ: trust-bundle+jwt`): current and retired
    /// credential keys with validity windows, the latest status-list token of every shard,
    /// `issued_at` and `next_update` (format: `docs/trust-model.md`).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn trust_bundle(&self) -> Result<String, IssuerError> {
        // Pick up a rotation made by another replica before publishing the keys.
        self.signer().await?;
        let t = self.now();
        // The high-water mark is read before the shards are listed and each shard's lists
        // carry the mark read before their state: the bundle reflects every change up to the
        // smallest of them, so a delta from it (which re-applies final values) misses nothing.
        let mut status_seq = self.store.status_high_water().await?;
        let mut lists = Vec::new();
        for shard in self.shards().await? {
            let l = self.shard_lists(shard).await?;
            status_seq = status_seq.min(l.status_seq);
            lists.push((shard, self.status_uri(shard), l.token));
        }
        let keys =
            crate::service::withdraw::keys_json(&self.keys.published(t), &self.keys.withdrawals());
        try_sign_trust_bundle(
            &self.keys.root(),
            &BundleContents {
                iss: self.url(),
                issued_at: t,
                next_update: t + self.config.status_ttl,
                keys: &keys,
                status_lists: &lists,
                status_seq: Some(status_seq),
            },
        )
        .map_err(crate::keys::signing_failed)
    }
}

/// The trust bundle format version (`bundle_version`).
pub const TRUST_BUNDLE_VERSION: u32 = 1;

/// What a trust bundle says, before signing.
#[derive(Debug)]
pub struct BundleContents<'a> {
    /// The issuer identifier (`iss` of its credentials).
    pub iss: &'a str,
    /// When the bundle was built (Unix seconds); a verifier refuses one older than it has.
    pub issued_at: i64,
    /// When the issuer will publish the next one.
    pub next_update: i64,
    /// Credential keys as [`crate::keys::KeyRecord::to_json`].
    pub keys: &'a [Value],
    /// `(shard, uri, statuslist+jwt)` of every status shard.
    pub status_lists: &'a [(i64, String, String)],
    /// The status-change log's high-water mark the lists reflect (a delta's base); `None`
    /// for bundles built outside an issuer's storage (no delta can follow them).
    pub status_seq: Option<i64>,
}

/// Signs a trust bundle with the root key: a compact JWS with header `typ: trust-bundle+jwt`,
/// the root's `kid` (RFC 7638 thumbprint) and public `jwk`.
pub fn sign_trust_bundle(root: &SigningKey, c: &BundleContents<'_>) -> String {
    let payload = trust_bundle_payload(c).to_string();
    sign_compact(
        root_header(TRUST_BUNDLE_TYP, root),
        payload.as_bytes(),
        root,
    )
}

/// [`sign_trust_bundle`] with any signer, such as the issuer's root key in an HSM
/// ([`crate::keys::IssuerKey`]).
///
/// # Errors
/// [`JoseError::SignerFailed`] when the key does not sign.
pub fn try_sign_trust_bundle(
    root: &(impl JwsSigner + ?Sized),
    c: &BundleContents<'_>,
) -> Result<String, JoseError> {
    let payload = trust_bundle_payload(c).to_string();
    try_sign_compact(
        root_header(TRUST_BUNDLE_TYP, root),
        payload.as_bytes(),
        root,
    )
}

/// The claims of a trust bundle.
fn trust_bundle_payload(c: &BundleContents<'_>) -> Value {
    let lists: Vec<Value> = c
        .status_lists
        .iter()
        .map(|(shard, uri, token)| json!({"shard": shard, "uri": uri, "token": token}))
        .collect();
    let mut payload = json!({
        "bundle_version": TRUST_BUNDLE_VERSION,
        "iss": c.iss,
        "issued_at": c.issued_at,
        "iat": c.issued_at,
        "next_update": c.next_update,
        "keys": c.keys,
        "status_lists": lists,
    });
    if let Some(seq) = c.status_seq {
        payload["status_seq"] = json!(seq);
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_encodes_port_and_path() {
        assert_eq!(did_web("https://id.example.cn"), "did:web:id.example.cn");
        assert_eq!(
            did_web("http://127.0.0.1:8080/"),
            "did:web:127.0.0.1%3A8080"
        );
        assert_eq!(did_web("https://a.cn/issuer/v1"), "did:web:a.cn:issuer:v1");
    }
}
