use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use rand_core::{OsRng, RngCore as _};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

use credential::jose::{sign_compact, Alg, SigningKey};

/// Load-test a running issuer: enrols citizens (not timed), then runs complete flows
/// (token → nonce → credential with proofs) from concurrent clients and reports credentials per
/// second and flow latency.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer bench --url http://127.0.0.1:8080 --token OFFICER_TOKEN --clients 16 --credentials 5000 --batch 10\n\nTwo replicas over one PostgreSQL database (clients spread round robin):\n  issuer bench --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 --token OFFICER_TOKEN\n\nOnly loopback targets are accepted."
)]
pub struct BenchArgs {
    /// Issuer URL (loopback only). Repeat it for replicas: client i talks to URL i mod n.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// An officer token (enrols the test citizens).
    #[arg(long)]
    token: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Credentials to issue in total.
    #[arg(long, default_value_t = 1000)]
    credentials: usize,
    /// Proofs (credentials) per credential request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
}

fn id_number(serial: u64) -> String {
    let body = format!("11010519900101{:03}", (serial * 2 + 1) % 1000);
    let check = credential::citizen::IdNumber::check_character_for(&body).unwrap_or('0');
    format!("{body}{check}")
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

struct Flow {
    code: String,
    tx_code: String,
    /// The credential issuer identifier: the proofs' `aud` (the same on every replica).
    issuer: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let urls: Vec<String> = args
        .url
        .iter()
        .map(|u| u.trim_end_matches('/').to_owned())
        .collect();
    for url in &urls {
        let host = url
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        anyhow::ensure!(
            host == "localhost" || host.starts_with("127.") || host == "[::1]",
            "bench only targets loopback addresses"
        );
    }
    let url = urls.first().cloned().unwrap_or_default();
    anyhow::ensure!(
        args.batch >= 1 && args.clients >= 1,
        "--batch and --clients must be at least 1"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let flows_needed = args.credentials.div_ceil(args.batch);
    eprintln!("enrolling {flows_needed} citizens ...");
    let mut flows = Vec::with_capacity(flows_needed);
    for i in 0..flows_needed {
        let claims = json!({"family_name": "测", "given_name": "试", "birthdate": "1990-01-01",
            "sex": 1, "nationality": "CN", "id_number": id_number(i as u64)});
        let r = http
            .post(format!("{url}/enrol/high"))
            .bearer_auth(&args.token)
            .json(&json!({"claims": high(claims)}))
            .send()
            .await?;
        let status = r.status();
        let offer: Value = r.json().await.context("enrol answer")?;
        anyhow::ensure!(status.is_success(), "enrolment failed: {offer}");
        let code = offer["credential_offer"]["grants"]
            ["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let issuer = offer["credential_offer"]["credential_issuer"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        flows.push(Flow {
            code,
            tx_code: offer["tx_code"].as_str().unwrap_or_default().to_owned(),
            issuer,
        });
    }
    eprintln!("generating {} holder keys ...", flows_needed * args.batch);
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
    let keys: Vec<Vec<SigningKey>> = (0..flows_needed)
        .map(|_| {
            (0..args.batch)
                .map(|_| SigningKey::generate(Alg::Es256, &mut rng))
                .collect()
        })
        .collect();
    let work = Arc::new(Mutex::new(flows.into_iter().zip(keys).collect::<Vec<_>>()));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    eprintln!(
        "running {flows_needed} flows from {} clients ...",
        args.clients
    );
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (http, url, work, latencies, issued) = (
            http.clone(),
            urls[c % urls.len()].clone(),
            work.clone(),
            latencies.clone(),
            issued.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((flow, keys)) = work.lock().await.pop() else {
                    break;
                };
                let t0 = Instant::now();
                let n = one_flow(&http, &url, &flow, &keys).await?;
                latencies.lock().await.push(t0.elapsed());
                issued.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let n = issued.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "{}",
        json!({
            "credentials": n,
            "flows": lat.len(),
            "clients": args.clients,
            "replicas": urls.len(),
            "batch": args.batch,
            "seconds": elapsed.as_secs_f64(),
            "credentials_per_second": n as f64 / elapsed.as_secs_f64(),
            "flow_p50_ms": pct(0.50).as_secs_f64() * 1000.0,
            "flow_p99_ms": pct(0.99).as_secs_f64() * 1000.0,
        })
    );
    Ok(())
}

fn high(mut claims: Value) -> Value {
    const PORTRAIT: &str = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z";
    claims["address"] = json!({"formatted": "北京市朝阳区示例路1号", "street_address": "示例路1号", "locality": "朝阳区",
        "region": "北京市", "postal_code": "100020", "country": "CN"});
    claims["ethnicity"] = json!("汉");
    claims["portrait"] = json!(PORTRAIT);
    claims["id_card"] =
        json!({"issuing_authority": "北京市公安局朝阳分局", "valid_until": "2042-08-20"});
    claims
}

async fn one_flow(
    http: &reqwest::Client,
    url: &str,
    flow: &Flow,
    keys: &[SigningKey],
) -> anyhow::Result<usize> {
    let token: Value = http
        .post(format!("{url}/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", flow.code.as_str()),
            ("tx_code", flow.tx_code.as_str()),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let access = token["access_token"].as_str().unwrap_or_default();
    let nonce: Value = http
        .post(format!("{url}/nonce"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let nonce = nonce["c_nonce"].as_str().unwrap_or_default();
    let proofs: Vec<String> = keys
        .iter()
        .map(|k| {
            let mut h = Map::new();
            h.insert("typ".into(), json!("openid4vci-proof+jwt"));
            h.insert("jwk".into(), k.public_jwk().to_bare_value());
            sign_compact(
                h,
                json!({"aud": flow.issuer, "iat": now(), "nonce": nonce})
                    .to_string()
                    .as_bytes(),
                k,
            )
        })
        .collect();
    let r = http
        .post(format!("{url}/credential"))
        .bearer_auth(access)
        .json(&json!({"credential_configuration_id": "citizen_id_high_dc_sd_jwt", "proofs": {"jwt": proofs}}))
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    anyhow::ensure!(status.is_success(), "credential request failed: {body}");
    Ok(body["credentials"].as_array().map_or(0, Vec::len))
}
