//! The OpenAPI 3.1 description (`docs/issuer/openapi.json`, served at `/openapi.json`) against
//! the router's one route list and against the answers of a real issuance on loopback, each
//! validated with a JSON Schema (2020-12) validator against the document's schema for its route,
//! method, status and content type.

use std::collections::BTreeSet;

use credential::jose::{Alg, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use crate::client::*;

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

fn document() -> Value {
    serde_json::from_str(issuer::server::OPENAPI).expect("openapi.json is JSON")
}

/// `(method, path template)` of every operation the document describes.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_owned(), path.clone()));
            }
        }
    }
    ops
}

/// `(method, path template)` of every route of the router's one list.
fn routed() -> BTreeSet<(String, String)> {
    issuer::server::routes()
        .iter()
        .map(|r| (r.verb.as_str().to_lowercase(), r.path.to_owned()))
        .collect()
}

#[test]
fn every_route_of_the_router_is_described_and_every_described_path_is_a_route() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str().unwrap().get(..4), Some("3.1."));
    let described = described(&doc);
    let routed = routed();
    let undocumented: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi.json: {undocumented:?}; documented but not routed: {unrouted:?}"
    );
}

#[test]
fn every_reference_in_the_document_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A concrete path for a template: each `{param}` replaced by `x`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_router_serves_each_listed_route_with_its_method_only() {
    let t = TestIssuer::start().await;
    for route in issuer::server::routes() {
        let url = format!("{}{}", t.url, concrete(route.path));
        let (right, wrong) = match route.verb {
            issuer::server::Verb::Get => (t.http.get(&url), t.http.post(&url)),
            issuer::server::Verb::Post => (t.http.post(&url), t.http.get(&url)),
        };
        let resp = right.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{route:?}: {body}");
        assert_ne!(
            body["error_description"], "route not found",
            "{route:?} is not routed"
        );
        let resp = wrong.send().await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            405,
            "{route:?} with the other method"
        );
    }
    t.stop().await;
}

#[tokio::test]
async fn the_served_document_is_the_one_in_the_repository() {
    let t = TestIssuer::start().await;
    let resp = t
        .http
        .get(format!("{}/openapi.json", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let served: Value = resp.json().await.unwrap();
    assert_eq!(served, document());
    t.stop().await;
}

/// One recorded answer.
struct Exchange {
    method: &'static str,
    template: &'static str,
    status: u16,
    media: String,
    body: Vec<u8>,
}

/// What a request sends.
enum Send {
    Nothing,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// Sends requests to a real issuer and records every answer.
struct Recorder<'a> {
    t: &'a TestIssuer,
    seen: Vec<Exchange>,
}

impl Recorder<'_> {
    /// `op` (`"METHOD TEMPLATE"`) at `path`, an instance of the template, with bearer `auth`;
    /// the status and the body as JSON (a string for a non-JSON body).
    async fn send(
        &mut self,
        op: &'static str,
        path: &str,
        auth: Option<&str>,
        send: Send,
    ) -> (u16, Value) {
        let (method, template) = op.split_once(' ').unwrap();
        let url = format!("{}{path}", self.t.url);
        let mut req = match method {
            "get" => self.t.http.get(url),
            _ => self.t.http.post(url),
        };
        if let Some(token) = auth {
            req = req.bearer_auth(token);
        }
        req = match send {
            Send::Nothing => req,
            Send::Json(v) => req.json(&v),
            Send::Form(f) => req.form(&f),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let media = resp
            .headers()
            .get("content-type")
            .map(|v| {
                v.to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        let body = resp.bytes().await.unwrap().to_vec();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        self.seen.push(Exchange {
            method,
            template,
            status,
            media,
            body,
        });
        (status, value)
    }

    /// [`Recorder::send`] at `path`, asserting the answer's status; the body.
    async fn expect_at(
        &mut self,
        status: u16,
        op: &'static str,
        path: &str,
        auth: Option<&str>,
        send: Send,
    ) -> Value {
        let (got, body) = self.send(op, path, auth, send).await;
        assert_eq!(got, status, "{op} at {path}: {body}");
        body
    }

    /// [`Recorder::expect_at`] the template's own path (one without parameters).
    async fn expect(
        &mut self,
        status: u16,
        op: &'static str,
        auth: Option<&str>,
        send: Send,
    ) -> Value {
        let path = op.split_once(' ').unwrap().1;
        self.expect_at(status, op, path, auth, send).await
    }
}

/// `~` and `/` escaped for a JSON pointer (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Checks one answer against the document: the route, method, status and content type are
/// described, and the body validates against the schema given for them.
fn check(doc: &Value, ex: &Exchange) -> Result<(), String> {
    let what = format!(
        "{} {} -> {} {}",
        ex.method, ex.template, ex.status, ex.media
    );
    let op = format!("/paths/{}/{}", escape(ex.template), ex.method);
    let mut resp = format!("{op}/responses/{}", ex.status);
    let mut found = doc
        .pointer(&resp)
        .ok_or_else(|| format!("{what}: status not described"))?;
    if let Some(r) = found["$ref"].as_str() {
        resp = r.trim_start_matches('#').to_owned();
        found = doc.pointer(&resp).ok_or_else(|| format!("{what}: {r}"))?;
    }
    if found.get("content").is_none() && ex.body.is_empty() {
        return Ok(());
    }
    let schema_at = format!("{resp}/content/{}/schema", escape(&ex.media));
    if doc.pointer(&schema_at).is_none() {
        return Err(format!("{what}: content type not described"));
    }
    let instance = if ex.media == "application/json" {
        serde_json::from_slice(&ex.body).map_err(|e| format!("{what}: not JSON: {e}"))?
    } else if ex.media.starts_with("image/png") {
        // Binary: the schema says a string of bytes; check the PNG signature instead.
        return if ex.body.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(())
        } else {
            Err(format!("{what}: not a PNG"))
        };
    } else {
        Value::String(String::from_utf8(ex.body.clone()).map_err(|_| format!("{what}: not text"))?)
    };
    let mut root = doc.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    // A JSON pointer in a URI fragment: braces of path templates percent-encoded.
    let fragment = schema_at.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = json!(format!("#{fragment}"));
    let validator = jsonschema::draft202012::new(&root).map_err(|e| format!("{what}: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: {}", errors.join("; ")))
    }
}

#[tokio::test]
async fn recorded_answers_of_a_real_issuance_validate_against_the_document() {
    let t = TestIssuer::start().await;
    let mut r = Recorder {
        t: &t,
        seen: Vec::new(),
    };
    let officer = t.officer_token.clone();
    let admin = t.admin_token.clone();

    // Public documents.
    for op in [
        "get /.well-known/openid-credential-issuer",
        "get /.well-known/oauth-authorization-server",
        "get /.well-known/jwt-vc-issuer",
        "get /.well-known/did.json",
        "get /health",
        "get /openapi.json",
    ] {
        r.expect(200, op, None, Send::Nothing).await;
    }

    // Enrolment: high at the counter, basic with a face-match attestation.
    let claims = high_claims(41);
    let high = r
        .expect(
            201,
            "post /enrol/high",
            Some(&officer),
            Send::Json(json!({"claims": claims})),
        )
        .await;
    let basic_claims = basic_claims(42);
    let nonce = r
        .expect(200, "post /enrol/nonce", Some(&officer), Send::Nothing)
        .await;
    let attestation = t.attestation(
        basic_claims["id_number"].as_str().unwrap(),
        nonce["nonce"].as_str().unwrap(),
        0.97,
        now(),
    );
    r.expect(
        201,
        "post /enrol/basic",
        Some(&officer),
        Send::Json(json!({"claims": basic_claims, "attestation": attestation})),
    )
    .await;
    r.expect(
        400,
        "post /enrol/high",
        Some(&officer),
        Send::Json(json!({"claims": {"id_number": "not an id"}})),
    )
    .await;

    // The offer, by reference and as a QR code.
    let offer_id = high["offer_id"].as_str().unwrap();
    for query in ["", "?format=png", "?format=svg"] {
        let path = format!("/offers/{offer_id}{query}");
        r.expect_at(200, "get /offers/{id}", &path, None, Send::Nothing)
            .await;
    }
    r.expect_at(
        404,
        "get /offers/{id}",
        "/offers/unknown",
        None,
        Send::Nothing,
    )
    .await;

    // Token: a wrong tx_code, then the right one; a refresh.
    let code = pre_authorized_code(&high);
    let tx_code = high["tx_code"].as_str().unwrap().to_owned();
    let form = |tx: &str| {
        Send::Form(vec![
            ("grant_type", PRE_AUTH.to_owned()),
            ("pre-authorized_code", code.clone()),
            ("tx_code", tx.to_owned()),
        ])
    };
    r.expect(400, "post /token", None, form(wrong_tx_code(&tx_code)))
        .await;
    let token = r.expect(200, "post /token", None, form(&tx_code)).await;
    let access = token["access_token"].as_str().unwrap().to_owned();
    r.expect(
        400,
        "post /token",
        None,
        Send::Form(vec![("grant_type", "password".to_owned())]),
    )
    .await;

    // Nonce and credential: a refused request, then a batch of two.
    let nonce = r.expect(200, "post /nonce", None, Send::Nothing).await;
    let c_nonce = nonce["c_nonce"].as_str().unwrap();
    r.expect(401, "post /credential", None, Send::Json(json!({})))
        .await;
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let keys: Vec<SigningKey> = (0..2)
        .map(|_| SigningKey::generate(Alg::Es256, &mut rng))
        .collect();
    let proofs: Vec<String> = keys
        .iter()
        .map(|k| proof(k, &t.url, c_nonce, now()))
        .collect();
    let issued = r
        .expect(
            200,
            "post /credential",
            Some(&access),
            Send::Json(json!({
                "credential_configuration_id": "citizen_id_high_dc_sd_jwt",
                "proofs": {"jwt": proofs},
            })),
        )
        .await;
    let sd_jwt = issued["credentials"][0]["credential"].as_str().unwrap();
    let (shard, idx) = status_entry(sd_jwt);
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    r.expect(
        200,
        "post /token",
        None,
        Send::Form(vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh),
        ]),
    )
    .await;

    // Status lists and the trust bundle.
    for (op, path) in [
        ("get /status/{shard}", format!("/status/{shard}")),
        (
            "get /status/{shard}/{purpose}",
            format!("/status/{shard}/revocation"),
        ),
        (
            "get /status/{shard}/{purpose}",
            format!("/status/{shard}/suspension"),
        ),
        ("get /trust-bundle", "/trust-bundle".to_owned()),
        (
            "get /trust-bundle/delta",
            "/trust-bundle/delta?since=0".to_owned(),
        ),
        (
            "get /trust-bundle/withdrawals",
            "/trust-bundle/withdrawals".to_owned(),
        ),
    ] {
        r.expect_at(200, op, &path, None, Send::Nothing).await;
    }
    r.expect_at(
        404,
        "get /status/{shard}",
        "/status/999",
        None,
        Send::Nothing,
    )
    .await;
    r.expect_at(
        410,
        "get /trust-bundle/delta",
        "/trust-bundle/delta?since=999999",
        None,
        Send::Nothing,
    )
    .await;

    // Admin: status changes by credential, by entry and by citizen; keys.
    let cred_id = {
        let changed = r
            .expect_at(
                200,
                "post /admin/status/{shard}/{idx}/{action}",
                &format!("/admin/status/{shard}/{idx}/suspend"),
                Some(&admin),
                Send::Nothing,
            )
            .await;
        changed["changed"][0].as_str().unwrap().to_owned()
    };
    {
        let id = cred_id;
        r.expect_at(
            200,
            "post /admin/credentials/{id}/{action}",
            &format!("/admin/credentials/{id}/reinstate"),
            Some(&admin),
            Send::Nothing,
        )
        .await;
    }
    r.expect_at(
        404,
        "post /admin/credentials/{id}/{action}",
        "/admin/credentials/unknown/revoke",
        Some(&admin),
        Send::Nothing,
    )
    .await;
    r.expect_at(
        409,
        "post /admin/status/{shard}/{idx}/{action}",
        &format!("/admin/status/{shard}/{idx}/reinstate"),
        Some(&admin),
        Send::Nothing,
    )
    .await;
    r.expect_at(
        403,
        "post /admin/status/{shard}/{idx}/{action}",
        &format!("/admin/status/{shard}/{idx}/revoke"),
        Some(&officer),
        Send::Nothing,
    )
    .await;
    let id_number = basic_claims["id_number"].as_str().unwrap();
    r.expect_at(
        200,
        "post /admin/citizens/{action}",
        "/admin/citizens/revoke",
        Some(&admin),
        Send::Json(json!({"id_number": id_number})),
    )
    .await;
    r.expect(
        200,
        "post /admin/citizens/lift-hold",
        Some(&admin),
        Send::Json(json!({"id_number": id_number, "reason": "identity fraud ruled out"})),
    )
    .await;
    let keys_before = r
        .expect(200, "get /admin/keys", Some(&admin), Send::Nothing)
        .await;
    r.expect(
        200,
        "post /admin/keys/rotate",
        Some(&admin),
        Send::Json(json!({"alg": "EdDSA"})),
    )
    .await;
    let old_kid = keys_before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["purpose"] == "signing" || k["purpose"].is_null())
        .and_then(|k| k["kid"].as_str())
        .unwrap()
        .to_owned();
    r.expect(
        200,
        "post /admin/keys/withdraw",
        Some(&admin),
        Send::Json(json!({"kid": old_kid})),
    )
    .await;
    r.expect(401, "get /admin/keys", None, Send::Nothing).await;

    // Metrics: not on the public listener without a token.
    r.expect(404, "get /metrics", None, Send::Nothing).await;

    let doc = document();
    let failures: Vec<String> = r
        .seen
        .iter()
        .filter_map(|ex| check(&doc, ex).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every described operation was exercised and validated at least once.
    let exercised: BTreeSet<(String, String)> = r
        .seen
        .iter()
        .map(|ex| (ex.method.to_owned(), ex.template.to_owned()))
        .collect();
    let missed: Vec<_> = described(&doc).difference(&exercised).cloned().collect();
    assert!(missed.is_empty(), "operations never exercised: {missed:?}");
    t.stop().await;
}

#[test]
fn the_check_refuses_answers_the_document_does_not_allow() {
    let doc = document();
    let exchange = |template, status, media: &str, body: &str| Exchange {
        method: "post",
        template,
        status,
        media: media.to_owned(),
        body: body.as_bytes().to_vec(),
    };
    let good =
        r#"{"access_token":"a.b","token_type":"Bearer","expires_in":300,"refresh_token":"c.d"}"#;
    assert_eq!(
        check(&doc, &exchange("/token", 200, "application/json", good)),
        Ok(())
    );
    let refused = [
        // A field of the wrong type.
        exchange(
            "/token",
            200,
            "application/json",
            &good.replace("300", "\"300\""),
        ),
        // A required field missing.
        exchange(
            "/token",
            200,
            "application/json",
            r#"{"access_token":"a.b","token_type":"Bearer"}"#,
        ),
        // An error code the document does not list.
        exchange("/token", 400, "application/json", r#"{"error":"teapot"}"#),
        // A status the operation does not describe.
        exchange("/token", 418, "application/json", "{}"),
        // A content type the operation does not describe.
        exchange("/token", 200, "text/html", "<p>"),
        // A status list that is not a compact JWS.
        Exchange {
            method: "get",
            ..exchange(
                "/status/{shard}",
                200,
                "application/statuslist+jwt",
                "not a jws",
            )
        },
    ];
    for ex in refused {
        assert!(
            check(&doc, &ex).is_err(),
            "{} {} accepted",
            ex.template,
            ex.status
        );
    }
}
