//! Published metadata and trust material: credential issuer metadata (OpenID4VCI 1.0 section
//! 12.2), authorization-server metadata (RFC 8414), SD-JWT VC issuer metadata
//! (`/.well-known/jwt-vc-issuer`), the did:web document, and the root-signed trust bundle.

use serde_json::{json, Map, Value};

use credential::jose::{sign_compact, Alg, SigningKey};

use crate::domain::ConfigId;
use crate::error::IssuerError;
use crate::service::enrol::PRE_AUTH_GRANT;
use crate::service::Issuer;
use credential::citizen::{Format, Level};

/// The trust bundle's `typ`.
pub const TRUST_BUNDLE_TYP: &str = "trust-bundle+jwt";

fn display(level: Level) -> Value {
    let (zh, en) = match level {
        Level::Basic => ("居民身份电子凭证（轻量版）", "Citizen ID (basic)"),
        _ => ("居民身份电子凭证（增强版）", "Citizen ID (high)"),
    };
    json!([{"name": zh, "locale": "zh-CN"}, {"name": en, "locale": "en"}])
}

fn claims(level: Level) -> Value {
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
    Value::Array(
        c.into_iter()
            .map(|(name, zh, en)| {
                json!({"path": [name], "display": [{"name": zh, "locale": "zh-CN"}, {"name": en, "locale": "en"}]})
            })
            .collect(),
    )
}

fn algs() -> Vec<&'static str> {
    Alg::ALL.iter().map(|a| a.as_str()).collect()
}

fn configuration(c: ConfigId) -> Value {
    let mut v = json!({
        "format": c.format.as_str(),
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": algs(),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": algs()}},
        "credential_metadata": {"display": display(c.level), "claims": claims(c.level)},
    });
    match c.format {
        Format::DcSdJwt => v["vct"] = json!(c.level.vct()),
        _ => {
            v["credential_definition"] = json!({"type": [
                "VerifiableCredential",
                credential::citizen::VC_TYPE,
                c.level.vct(),
            ]})
        }
    }
    v
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
    pub fn issuer_metadata(&self) -> Value {
        let url = self.url();
        let configs: Map<String, Value> = ConfigId::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), configuration(*c)))
            .collect();
        json!({
            "credential_issuer": url,
            "credential_endpoint": format!("{url}/credential"),
            "nonce_endpoint": format!("{url}/nonce"),
            "batch_credential_issuance": {"batch_size": self.config.batch_size},
            "display": [
                {"name": "公安局 居民身份电子凭证签发服务", "locale": "zh-CN"},
                {"name": "Public Security Bureau citizen-ID issuer", "locale": "en"},
            ],
            "credential_configurations_supported": configs,
        })
    }

    /// Authorization-server metadata (RFC 8414; OpenID4VCI section 12.3).
    pub fn as_metadata(&self) -> Value {
        let url = self.url();
        json!({
            "issuer": url,
            "token_endpoint": format!("{url}/token"),
            "grant_types_supported": [PRE_AUTH_GRANT, "refresh_token"],
            "pre-authorized_grant_anonymous_access_supported": true,
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
        })
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
        Ok(sign_trust_bundle(
            &self.keys.root(),
            &BundleContents {
                iss: self.url(),
                issued_at: t,
                next_update: t + self.config.status_ttl,
                keys: &keys,
                status_lists: &lists,
                status_seq: Some(status_seq),
            },
        ))
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
    let mut header = Map::new();
    header.insert("typ".into(), json!(TRUST_BUNDLE_TYP));
    header.insert("kid".into(), json!(root.kid()));
    header.insert("jwk".into(), root.public_jwk().to_bare_value());
    sign_compact(header, payload.to_string().as_bytes(), root)
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
