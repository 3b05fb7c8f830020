//! Emergency key withdrawal on the issuer: the admin API (both backends) and the command line.
//! Each rejection path asserts its status and error code.

use serde_json::{json, Value};

use crate::client::*;

async fn post_withdraw(t: &TestIssuer, token: &str, body: Value) -> (u16, Value) {
    let resp = t
        .http
        .post(format!("{}/admin/keys/withdraw", t.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn get_text(t: &TestIssuer, path: &str) -> (String, String) {
    let resp = t.http.get(format!("{}{path}", t.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (ctype, resp.text().await.unwrap())
}

fn payload(t: &TestIssuer, jws: &str) -> Value {
    let jws = credential::jose::Jws::parse(jws.trim()).unwrap();
    jws.verify(t.issuer.keys.root().public_jwk()).unwrap();
    serde_json::from_slice(jws.payload()).unwrap()
}

async fn admin_withdraws_a_key_at_once(backend: Backend) {
    let Some(t) = TestIssuer::start_on(backend).await else {
        return;
    };
    let old = t.issuer.keys.active().kid().to_owned();
    // Only an admin may.
    let (status, body) = post_withdraw(&t, &t.officer_token, json!({"kid": old})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    // An unknown key.
    let (status, body) = post_withdraw(&t, &t.admin_token, json!({"kid": "A".repeat(43)})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    // A time in the future.
    let (status, body) = post_withdraw(
        &t,
        &t.admin_token,
        json!({"kid": old, "since": now() + 2 * 86_400}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(
        t.issuer.keys.active().kid(),
        old,
        "a refused withdrawal changes nothing"
    );

    // Withdrawn from three days ago on (rounded down to the day).
    let since = now() - 3 * 86_400;
    let day = since - since.rem_euclid(86_400);
    let (status, body) =
        post_withdraw(&t, &t.admin_token, json!({"kid": old, "since": since})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["kid"].as_str(), body["since"].as_i64()),
        (Some(old.as_str()), Some(day))
    );
    assert_ne!(
        t.issuer.keys.active().kid(),
        old,
        "a new active key takes over"
    );
    assert_eq!(t.count("audit WHERE event = 'key.withdrawn'").await, 1);

    // The urgent notice, root-signed.
    let (ctype, notice) = get_text(&t, "/trust-bundle/withdrawals").await;
    assert_eq!(ctype, "application/key-withdrawals+jwt");
    let p = payload(&t, &notice);
    assert_eq!(p["iss"], t.issuer.url());
    assert_eq!(p["withdrawals"][0]["kid"], old.as_str());
    assert_eq!(p["withdrawals"][0]["since"], day);
    // The bundle marks the key.
    let (_, bundle) = get_text(&t, "/trust-bundle").await;
    let p = payload(&t, &bundle);
    let key = p["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (key["state"].as_str(), key["withdrawn_since"].as_i64()),
        (Some("withdrawn"), Some(day))
    );
    // The online channels no longer list it.
    for path in ["/.well-known/jwt-vc-issuer", "/.well-known/did.json"] {
        let (_, doc) = get_text(&t, path).await;
        assert!(!doc.contains(&old), "{path}: {doc}");
        assert!(doc.contains(t.issuer.keys.active().kid()), "{path}");
    }
    t.stop().await;
}

crate::on_both_backends!(admin_withdraws_a_key_at_once);

fn keys(dir: &str) -> Vec<Value> {
    let o = issuer_cli(&["keys", "list", "--data", dir, "--json"]);
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["keys"].as_array().unwrap().clone()
}

#[test]
fn keys_withdraw_from_the_command_line_is_listed_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let before = keys(data);
    let kid = before[0]["kid"].as_str().unwrap().to_owned();
    let o = issuer_cli(&["keys", "withdraw", &kid, "--data", data]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("withdrawn: {kid} for every credential it signed")),
        "{out}"
    );
    let after = keys(data);
    let old = after.iter().find(|k| k["kid"] == kid.as_str()).unwrap();
    assert_eq!(old["state"], "withdrawn");
    assert_eq!(old["withdrawn_since"], Value::Null);
    assert!(after
        .iter()
        .any(|k| k["state"] == "active" && k["kid"] != kid.as_str()));
    let o = issuer_cli(&[
        "audit",
        "--data",
        data,
        "--event",
        "key.withdrawn",
        "--json",
    ]);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains(&kid));
    // An unknown key: exit 1, one line naming it.
    let o = issuer_cli(&["keys", "withdraw", &"A".repeat(43), "--data", data]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
}
