//! `/metrics`: the counts after a real issuance and refusals, read from the metrics listener
//! and parsed as Prometheus text; where it is served (its own listener by default, the public
//! one only with the token); and that no secret or personal data reaches it.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::client::*;

const HIGH_DC: &str = "citizen_id_high_dc_sd_jwt";

/// One sample: metric name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Parses the Prometheus text exposition format 0.0.4 strictly: every line is a `# HELP`, a
/// `# TYPE` or a sample of a family whose type was declared before it; names, label syntax
/// (with its escapes) and values are checked. Panics on the first line that is not.
fn parse_exposition(text: &str) -> BTreeMap<Series, f64> {
    fn is_name(s: &str, colon: bool) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(is_name(name, true), "line {n}: bad name in {line:?}");
            match kind {
                "HELP" => {}
                "TYPE" => {
                    let t = parts.next().unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "line {n}: bad type {t:?}"
                    );
                    assert!(
                        types.insert(name.to_owned(), t.to_owned()).is_none(),
                        "line {n}: {name} typed twice"
                    );
                }
                _ => panic!("line {n}: unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.starts_with('#'), "line {n}: {line:?}");
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(is_name(name, true), "line {n}: bad metric name {name:?}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "line {n}: {name} sampled before its # TYPE"
        );
        let (labels, rest) = parse_labels(&line[name_end..], n);
        let mut fields = rest.trim_start_matches(' ').split(' ');
        let value = fields.next().unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("line {n}: bad value {v:?}")),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("line {n}: bad timestamp"));
        }
        assert!(fields.next().is_none(), "line {n}: trailing fields");
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// The `{name="value",...}` part of a sample line (if any), sorted by name, and the rest of the
/// line.
fn parse_labels(text: &str, n: usize) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    let Some(mut rest) = text.strip_prefix('{') else {
        return (labels, text);
    };
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            labels.sort();
            return (labels, after);
        }
        let (label, after) = rest.split_once("=\"").expect("label=\"value\"");
        assert!(
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !label.starts_with(|c: char| c.is_ascii_digit()),
            "line {n}: bad label name {label:?}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("line {n}: bad escape {other:?}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("line {n}: label value not closed"),
            }
        };
        labels.push((label.to_owned(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// `GET url` as text, after checking the status and the exposition content type.
async fn scrape(http: &reqwest::Client, url: &str) -> (String, BTreeMap<Series, f64>) {
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.unwrap();
    let samples = parse_exposition(&text);
    (text, samples)
}

/// The value of the series `name` with exactly `labels`.
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    *samples
        .get(&(name.to_owned(), labels.clone()))
        .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
}

#[tokio::test]
async fn the_metrics_listener_counts_an_issuance_its_refusals_and_status_changes() {
    let t = TestIssuer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = issuer::server::spawn_metrics(listener, t.issuer.clone()).unwrap();
    let metrics_url = format!("{}/metrics", metrics.url());

    let claims = high_claims(61);
    let offer = t.enrol_high(&claims).await;
    let mut wallet = Wallet::new(61);
    let code = pre_authorized_code(&offer);
    let tx_code = offer["tx_code"].as_str().unwrap();
    let (status, body) = wallet.token(&t.url, &code, wrong_tx_code(tx_code)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let redeemed = wallet.redeem_offer(&offer).await;
    let (_, creds) = wallet.credentials(&redeemed, HIGH_DC, 2).await;
    let (status, body) = wallet.one_copy(&redeemed, "no_such_configuration").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unknown_credential_configuration"))
    );
    let (shard, idx) = status_entry(&creds[0]);
    for action in ["suspend", "reinstate", "revoke"] {
        let (status, body) = t.entry_action(&t.admin_token, shard, idx, action).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, body) = t.entry_action(&t.officer_token, shard, idx, "revoke").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );

    let (text, samples) = scrape(&t.http, &metrics_url).await;
    let issued = "issuer_credentials_issued_total";
    let config = [("credential_configuration_id", HIGH_DC), ("level", "high")];
    assert_eq!(value(&samples, issued, &config), 2.0);
    assert_eq!(value(&samples, "issuer_offers_redeemed_total", &[]), 1.0);
    let refusals = "issuer_refusals_total";
    assert_eq!(
        value(&samples, refusals, &[("error", "invalid_grant")]),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            refusals,
            &[("error", "unknown_credential_configuration")]
        ),
        1.0
    );
    assert_eq!(
        value(&samples, refusals, &[("error", "insufficient_scope")]),
        1.0
    );
    // Both copies of the batch change each time.
    let changes = "issuer_status_changes_total";
    for change in ["suspended", "reinstated", "revoked"] {
        assert_eq!(
            value(&samples, changes, &[("change", change)]),
            2.0,
            "{change}"
        );
    }
    let latency = "issuer_http_request_duration_seconds_count";
    let request = |route: &'static str, status: &'static str| {
        [("method", "POST"), ("route", route), ("status", status)]
    };
    assert_eq!(value(&samples, latency, &request("/token", "400")), 1.0);
    assert_eq!(value(&samples, latency, &request("/token", "200")), 1.0);
    assert_eq!(
        value(&samples, latency, &request("/credential", "200")),
        1.0
    );
    let entry = "/admin/status/{shard}/{idx}/{action}";
    assert_eq!(value(&samples, latency, &request(entry, "200")), 3.0);
    assert_eq!(value(&samples, latency, &request(entry, "403")), 1.0);
    assert!(value(&samples, "issuer_storage_write_duration_seconds_count", &[]) >= 5.0);
    assert!(value(&samples, "issuer_storage_queue_wait_seconds_count", &[]) >= 5.0);

    // Every label value is from a fixed vocabulary: no path, token, code, name or ID number
    // can be one.
    let routes: Vec<&str> = issuer::server::routes().iter().map(|r| r.path).collect();
    let codes = [
        "invalid_grant",
        "unknown_credential_configuration",
        "insufficient_scope",
    ];
    for (name, labels) in samples.keys() {
        for (label, v) in labels {
            let known = match label.as_str() {
                "route" => routes.contains(&v.as_str()) || v == "unmatched",
                "method" => ["GET", "POST"].contains(&v.as_str()),
                "status" => v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()),
                "error" => codes.contains(&v.as_str()),
                "credential_configuration_id" => v == HIGH_DC,
                "level" => v == "high",
                "change" => ["revoked", "suspended", "reinstated"].contains(&v.as_str()),
                "le" => v == "+Inf" || v.parse::<f64>().is_ok(),
                _ => false,
            };
            assert!(known, "{name}: label {label}={v:?}");
        }
    }
    let secrets = [
        code.as_str(),
        redeemed.access_token.as_str(),
        redeemed.refresh_token.as_str(),
        offer["offer_id"].as_str().unwrap(),
        claims["id_number"].as_str().unwrap(),
        claims["family_name"].as_str().unwrap(),
        claims["given_name"].as_str().unwrap(),
        &t.officer_token,
        &t.admin_token,
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "metrics show {secret:?}");
    }
    metrics.shutdown().await.unwrap();
    t.stop().await;
}

#[tokio::test]
async fn the_public_listener_does_not_serve_metrics_by_default() {
    let t = TestIssuer::start().await;
    let resp = t
        .http
        .get(format!("{}/metrics", t.url))
        .bearer_auth("any-token-at-all-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    t.stop().await;
}

#[tokio::test]
async fn with_a_token_file_the_public_listener_serves_metrics_only_to_that_token() {
    let secrets = tempfile::tempdir().unwrap();
    let path = secrets.path().join("metrics.token");
    let token = "m3trics-scraper-token-0123456789abcdef";
    std::fs::write(&path, format!("{token}\n")).unwrap();
    let configured = path.clone();
    let t = TestIssuer::start_with(move |cfg| cfg.metrics_token_file = Some(configured)).await;
    let url = format!("{}/metrics", t.url);
    let missing = t.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let wrong = t
        .http
        .get(&url)
        .bearer_auth(&token[1..])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let resp = t.http.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let samples = parse_exposition(&text);
    // The refused scrapes were counted, under their code.
    assert_eq!(
        value(
            &samples,
            "issuer_refusals_total",
            &[("error", "invalid_token")]
        ),
        2.0
    );
    assert!(!text.contains(token));
    t.stop().await;
}

#[test]
fn issuer_serve_serves_metrics_on_a_loopback_listener_of_their_own_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines) = serve_with(dir.path(), "127.0.0.1:0", &[]);
    let public = listening_url(&mut lines);
    // The metrics listener is named last, after the lines other tools read.
    let metrics = lines
        .find_map(|line| line.unwrap().strip_prefix("metrics on ").map(str::to_owned))
        .expect("issuer serve names its metrics listener");
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    assert_ne!(metrics, format!("{public}/metrics"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let (_, samples) = scrape(&http, &metrics).await;
        assert!(samples
            .keys()
            .any(|(n, _)| n == "issuer_offers_redeemed_total"));
        let public = http.get(format!("{public}/metrics")).send().await.unwrap();
        assert_eq!(public.status(), 404);
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Each write of the storage is timed: the queue wait (SQLite's writer queue, PostgreSQL's
/// wait for a pooled connection) and its latency, one observation per write.
async fn the_storage_times_each_write(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let count = |text: &str, name: &str| value(&parse_exposition(text), name, &[]);
    let before = t.issuer.metrics.render().unwrap();
    t.enrol_high(&high_claims(71)).await;
    t.enrol_high(&high_claims(72)).await;
    let after = t.issuer.metrics.render().unwrap();
    for name in [
        "issuer_storage_queue_wait_seconds_count",
        "issuer_storage_write_duration_seconds_count",
    ] {
        assert_eq!(count(&after, name) - count(&before, name), 2.0, "{name}");
    }
    let sum = |text: &str| count(text, "issuer_storage_write_duration_seconds_sum");
    assert!(sum(&after) > sum(&before));
    t.stop().await;
}

crate::on_both_backends!(the_storage_times_each_write);

/// `issuer serve --listen LISTEN` with `extra` arguments; its stdout lines and the process.
fn serve_with(
    dir: &std::path::Path,
    listen: &str,
    extra: &[&str],
) -> (
    std::process::Child,
    impl Iterator<Item = std::io::Result<String>>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_issuer"))
        .args(["serve", "--listen", listen, "--data"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

#[test]
fn a_configured_metrics_address_that_is_taken_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = serve_with(dir.path(), "127.0.0.1:0", &["--metrics-listen", &addr]);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen for metrics on {addr} (metrics_listen)"
        )),
        "{stderr}"
    );
}

#[test]
fn with_the_default_metrics_address_taken_the_service_starts_without_metrics() {
    // Hold the default address (if another process holds it, it is taken all the same).
    let _held = std::net::TcpListener::bind("127.0.0.1:9464");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines) = serve_with(dir.path(), &listen, &[]);
    let banner: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    assert_eq!(banner[0], format!("issuer listening on http://{listen}"));
    assert!(
        banner[2].starts_with("root key fingerprint: "),
        "{banner:?}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let health = rt.block_on(async {
        reqwest::get(format!("http://{listen}/health"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(health, "ok");
    child.kill().unwrap();
    child.wait().unwrap();
    // The banner names no metrics listener.
    assert!(lines.all(|l| !l.unwrap().starts_with("metrics on ")));
}
