//! HTTP steps of the tests: a transport error or a body that is not what the step expects
//! fails the test; the status is the caller's to check.

use serde_json::Value;

/// `GET url`; the body as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// `GET url`; the body as text.
pub async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// `POST url` with a JSON body and a bearer token; the status and the body as JSON (a body
/// that is not JSON fails the test).
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    body: &Value,
) -> (u16, Value) {
    let r = http
        .post(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}
