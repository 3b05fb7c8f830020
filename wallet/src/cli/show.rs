//! `wallet show ID`: a credential as a readable card.

use serde_json::Value;

use super::{date, finish, open, short_value, DataDir, Failure};

/// Show a credential's claims as a card, with its assurance level.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  wallet show 3fa2c1d0e4 --data ./wallet-data")]
pub struct Args {
    /// Batch id (from `wallet list`) or copy id.
    id: String,
    #[command(flatten)]
    data: DataDir,
    /// Print the claims as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> std::process::ExitCode {
    finish((|| -> Result<(), Failure> {
        let store = open(&args.data)?;
        let shown = wallet_core::report::show(&store, &args.id).map_err(|e| match e {
            wallet_core::report::ShowError::Store(s) => Failure::from(s),
            other => Failure::CouldNotRun(other.into()),
        })?;
        let (info, claims, copies) = (&shown.credential, &shown.claims, &shown.copies);
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).map_err(anyhow::Error::from)?
            );
            return Ok(());
        }
        let subject = match claims.get("credentialSubject") {
            Some(Value::Object(s)) => s.clone(),
            _ => claims.clone(),
        };
        let level = info.level.map(|l| l.as_str()).unwrap_or("unknown");
        println!("┌ citizen ID · 居民身份凭证 · level {level}");
        println!("│ type     {}", info.vct);
        println!("│ format   {}", info.format);
        println!("│ issuer   {}", info.issuer);
        for (name, value) in &subject {
            let path = credential::sd_jwt::ClaimPath::keys([name.as_str()]);
            let Some((en, zh)) = wallet::consent::claim_label(&path) else {
                continue;
            };
            match value {
                Value::Object(parts) => {
                    println!("│ {en} / {zh}");
                    for (k, v) in parts {
                        println!("│   {k:<18} {}", short_value(v));
                    }
                }
                v => println!("│ {:<28} {}", format!("{en} / {zh}"), short_value(v)),
            }
        }
        for (label, key) in [("valid from", "nbf"), ("expires", "exp")] {
            if let Some(t) = claims.get(key).and_then(Value::as_i64) {
                println!("│ {label:<8} {}", date(t));
            }
        }
        if let Some(t) = claims.get("validUntil").and_then(Value::as_str) {
            println!("│ expires  {t}");
        }
        let unused = copies.iter().filter(|c| c.shown_count == 0).count();
        println!(
            "└ {} cop{} ({unused} never shown), received {}",
            copies.len().max(1),
            if copies.len() == 1 { "y" } else { "ies" },
            date(info.received_at)
        );
        Ok(())
    })())
}
