//! `cargo run --release --bin demo`: the citizen-ID story end to end, over HTTP on loopback.
//!
//! The bureau's issuer starts in-process with its data in a temporary directory (or
//! `--data DIR`); a citizen is enrolled at basic (remote face match, attested by a test
//! messaging platform) and at high (in person); the wallet receives both over OpenID4VCI; the
//! hotel syncs once, then verifies a basic credential offline; the bank rejects basic and
//! accepts high; the bureau revokes; the hotel syncs and now rejects.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use citizen_id::demo::bureau::Bureau;
use citizen_id::demo::desk::Desk;
use citizen_id::demo::wallet::DemoWallet;
use serde_json::Value;

const BASIC_CLAIMS: &str = include_str!("../../examples/claims/citizen-basic.json");
const HIGH_CLAIMS: &str = include_str!("../../examples/claims/citizen-high.json");
const HOTEL: &str = include_str!("../../verifier/profiles/hotel.toml");
const BANK: &str = include_str!("../../verifier/profiles/bank.toml");

const USAGE: &str = "usage: demo [--data DIR]\n\n\
Runs the citizen-ID journey over HTTP on 127.0.0.1: issuer, wallet, hotel, bank, revocation.\n\
State lives in a temporary directory unless --data DIR keeps it.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut data = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => match args.next() {
                Some(d) => data = Some(PathBuf::from(d)),
                None => {
                    eprintln!("error: --data needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(data)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn step(n: u32, text: &str) {
    if bold() {
        println!("\n\x1b[1m{n}. {text}\x1b[0m");
    } else {
        println!("\n{n}. {text}");
    }
}

/// Bold headings only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
fn bold() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn qr(label: &str, text: &str) {
    match citizen_id::demo::qr::small(text) {
        Some((code, version)) => {
            println!(
                "{label} ({} bytes, QR version {version}):\n{code}",
                text.len()
            )
        }
        None => println!("{label}: {} bytes, too large for a qr code", text.len()),
    }
}

/// The size and QR version of a `VP2:` answer against the same answer as `VP1:` and as plain
/// JSON.
fn compared(indent: &str, answer: &str) -> anyhow::Result<()> {
    let plain = credential::compact::decode(answer, 1 << 20)?;
    let version =
        |text: &str| citizen_id::demo::qr::small(text).map_or("-".into(), |(_, v)| v.to_string());
    let v1 = credential::compact::encode(&plain);
    println!(
        "{indent}(VP2: {} characters, QR version {}; the same answer as VP1: {} characters, QR version {}; as plain JSON {} bytes, QR version {})",
        answer.len(),
        version(answer),
        v1.len(),
        version(&v1),
        plain.len(),
        version(&plain)
    );
    Ok(())
}

fn claim_line(v: &verifier::VerifiedPresentation) -> String {
    let claims = Value::Object(v.claims.clone());
    v.disclosed
        .iter()
        .filter(|p| p.segments().len() == 1)
        .map(|p| {
            let shown = match p.lookup(&claims).first() {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Object(_)) => "{…}".into(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            format!("{p}={shown}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn run(data: Option<PathBuf>) -> anyhow::Result<()> {
    let started = Instant::now();
    let tmp = tempfile::tempdir()?;
    let dir = data.unwrap_or_else(|| tmp.path().join("issuer"));
    let basic_claims: Value = serde_json::from_str(BASIC_CLAIMS)?;
    let high_claims: Value = serde_json::from_str(HIGH_CLAIMS)?;
    let id_number = basic_claims["id_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let http = reqwest::Client::new();

    step(1, "The bureau starts its issuer service");
    let bureau = Bureau::start(&dir).await?;
    println!("   issuer {} (data in {})", bureau.url, dir.display());
    println!(
        "   root key fingerprint {}",
        bureau.issuer.root_fingerprint()
    );
    println!(
        "   test messaging platform registered, key {}",
        bureau.platform_kid()
    );

    step(2, "Li Xuemei enrols at basic: the messaging app's liveness + face match, attested by the platform");
    let basic_offer = bureau.enrol_basic(&basic_claims, 0.97).await?;
    qr("   credential offer", &basic_offer.offer_uri_by_reference);
    println!(
        "   tx_code {} (sent by SMS, never in the QR code)",
        basic_offer.tx_code
    );
    let mut wallet = DemoWallet::open(&tmp.path().join("wallet"))?;
    match wallet
        .receive(&basic_offer.offer_uri, "000000", "dc_sd_jwt", 2)
        .await
    {
        Err(e) => println!("   a mistyped tx_code is refused: {e}"),
        Ok(_) => anyhow::bail!("a wrong tx_code was accepted"),
    }
    let n = wallet
        .receive(&basic_offer.offer_uri, &basic_offer.tx_code, "dc_sd_jwt", 2)
        .await?;
    println!("   wallet received {n} copies of the basic credential over OpenID4VCI, each bound to its own key, each verified");

    step(
        3,
        "She upgrades at the counter: an officer reads her ID card (high)",
    );
    let high_offer = bureau.enrol_high(&high_claims).await?;
    let n = wallet
        .receive(&high_offer.offer_uri, &high_offer.tx_code, "dc_sd_jwt", 3)
        .await?;
    println!("   wallet received {n} copies of the high credential");

    step(
        4,
        "The hotel syncs the bureau's keys and revocation list once, then works offline",
    );
    let status_uri = bureau.issuer.status_uri(0);
    let mut hotel = Desk::new(HOTEL)?;
    let lists = hotel
        .sync(&http, &bureau.url, std::slice::from_ref(&status_uri))
        .await?;
    println!(
        "   {} trusted key(s), {lists} status list(s); no network from here on",
        hotel.verifier.trust.keys().len()
    );
    let request = hotel.request();
    qr("   hotel's request", &request);
    let answer = wallet.answer(&request)?;
    qr(
        "   phone's answer (SD-JWT+KB, name and id number only; compact VP2: form, QR alphanumeric mode)",
        &answer,
    );
    compared("   ", &answer)?;
    let v = hotel.check(&answer)?;
    println!(
        "   hotel ACCEPTS: level {}, {}",
        v.level.map_or("?", |l| l.as_str()),
        claim_line(&v)
    );
    match hotel.check(&answer) {
        Err(r) => println!("   the same answer shown again is refused: {}", r.code),
        Ok(_) => anyhow::bail!("a replayed answer was accepted"),
    }

    step(5, "The bank opens an account: it requires high assurance");
    let mut bank = Desk::new(BANK)?;
    bank.sync(&http, &bureau.url, std::slice::from_ref(&status_uri))
        .await?;
    let request = bank.request();
    // A wallet offers only what was asked for (high); the demo pushes the basic one anyway.
    let basic_index = wallet
        .held
        .iter()
        .position(|h| h.vct.contains(":basic:"))
        .context("basic credential")?;
    if let Err(e) = wallet.answer_with(&request, basic_index, false) {
        println!("   the wallet would not offer the basic credential: {e}");
    }
    // Shown anyway, with the claims it has:
    let answer = wallet.answer_with(&request, basic_index, true)?;
    match bank.check(&answer) {
        Err(r) => println!(
            "   bank REJECTS the basic credential: {} ({})",
            r.code, r.message
        ),
        Ok(_) => anyhow::bail!("the bank accepted a basic credential"),
    }
    let request = bank.request();
    let answer = wallet.answer(&request)?;
    qr(
        "   phone's answer (SD-JWT+KB, five claims including the address; compact VP2: form)",
        &answer,
    );
    compared("   ", &answer)?;
    let v = bank.check(&answer)?;
    println!("   bank ACCEPTS the high credential: {}", claim_line(&v));
    for batch in wallet.exhausted()? {
        let n = wallet.refresh(&batch, 2).await?;
        println!("   every copy of batch {batch} was shown once: the wallet refreshes it (OpenID4VCI refresh token) → {n} fresh copies, new keys, new status entries");
    }

    step(
        6,
        "Her identity is found used in a fraud: the bureau revokes the citizen (a lost phone would revoke only that phone's batches)",
    );
    let changed = bureau.revoke_citizen(&id_number).await?;
    println!("   {changed} credentials revoked (every copy of both batches)");
    let basic_batch = wallet
        .held
        .get(basic_index)
        .map(|h| h.batch_id.clone())
        .context("basic batch")?;
    match wallet.refresh(&basic_batch, 2).await {
        Err(e) => println!("   and a refresh is refused too: {e}"),
        Ok(_) => anyhow::bail!("a revoked citizen refreshed their credentials"),
    }
    let request = hotel.request();
    let answer = wallet.answer(&request)?;
    match hotel.check(&answer) {
        Ok(_) => println!("   the hotel, still offline on yesterday's list, would accept: that is why lists have a maximum age"),
        Err(r) => println!("   hotel rejects: {}", r.code),
    }
    hotel.sync(&http, &bureau.url, &[status_uri]).await?;
    println!("   the hotel syncs the status list");
    let request = hotel.request();
    match hotel.check(&wallet.answer(&request)?) {
        Err(r) => println!("   hotel now REJECTS: {} ({})", r.code, r.message),
        Ok(_) => anyhow::bail!("a revoked credential was accepted"),
    }

    bureau.stop().await;
    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}
