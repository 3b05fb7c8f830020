use clap::Args;

use issuer::domain::{Status, StatusAction};
use issuer::service::status::Target;
use issuer::ApiError;

use super::{cli_actor, DataArg};

/// Which credentials: one (with every copy of its batch) or all of a citizen's.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  issuer revoke --data ./issuer-data --credential CREDENTIAL_ID\n  issuer suspend --data ./issuer-data --entry 0:52113\n  issuer reinstate --data ./issuer-data --citizen 11010519491231002X --json"
)]
#[group(id = "target", required = true, multiple = false)]
pub struct StatusArgs {
    #[command(flatten)]
    data: DataArg,
    /// A credential id (as recorded at issuance).
    #[arg(long, group = "target")]
    credential: Option<String>,
    /// A status-list entry SHARD:IDX (as found in the credential's `status`).
    #[arg(long, group = "target", value_name = "SHARD:IDX")]
    entry: Option<String>,
    /// A citizen's id_number: every credential of that citizen.
    #[arg(long, group = "target", value_name = "ID_NUMBER")]
    citizen: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: StatusArgs, action: StatusAction) -> anyhow::Result<()> {
    let target = match (args.credential, args.entry, args.citizen) {
        (Some(id), _, _) => Target::Credential(id),
        (_, Some(entry), _) => {
            let (s, i) = entry
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--entry must be SHARD:IDX"))?;
            Target::Entry {
                shard: s.parse()?,
                idx: i.parse()?,
            }
        }
        (_, _, Some(id_number)) => Target::Citizen(id_number),
        _ => anyhow::bail!("name a --credential, --entry or --citizen"),
    };
    let issuer = args.data.open().await?;
    let r = issuer.change_status(&cli_actor(), target, action).await;
    issuer.close();
    let change = match r {
        Ok(change) => change,
        // Asking for the state the credentials are in already is done, not a failure.
        Err(ApiError::StatusTransition { from, .. }) if from == outcome(action) => {
            if args.json {
                let out = serde_json::json!({"changed": [], "status": from, "already": true});
                println!("{out}");
            } else {
                println!("already {from}: nothing changed");
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        let out = serde_json::json!({
            "changed": change.changed, "status": change.status, "already": false,
        });
        println!("{out}");
    } else {
        println!(
            "{} credential(s) now {}",
            change.changed.len(),
            change.status
        );
    }
    Ok(())
}

/// The status an action leads to.
fn outcome(action: StatusAction) -> &'static str {
    match action {
        StatusAction::Revoke => Status::Revoked.as_str(),
        StatusAction::Suspend => Status::Suspended.as_str(),
        StatusAction::Reinstate => Status::Valid.as_str(),
    }
}

/// Lifts a revoked citizen's hold for a deliberate re-enrolment after investigation. Their
/// credentials stay revoked (status lists never un-revoke); only a new enrolment becomes
/// possible. A suspended citizen is not lifted: reinstate them.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer lift-hold --data ./issuer-data --citizen 11010519491231002X \\\n      --reason \"case 2026-114: revoked in error, identity re-checked\"\n\nRecorded in the audit trail (citizen.lift-hold) with the reason; write a case reference,\nnot personal data. A lost phone needs no lift: revoke its batch (--credential/--entry),\nwhich sets no hold."
)]
pub struct LiftHoldArgs {
    #[command(flatten)]
    data: DataArg,
    /// The citizen's id_number.
    #[arg(long, value_name = "ID_NUMBER")]
    citizen: String,
    /// Why the hold is lifted (1 to 500 characters, recorded in the audit trail).
    #[arg(long)]
    reason: String,
}

pub async fn lift_hold(args: LiftHoldArgs) -> anyhow::Result<()> {
    let issuer = args.data.open().await?;
    let r = issuer
        .lift_citizen_hold(&cli_actor(), &args.citizen, &args.reason)
        .await;
    issuer.close();
    r?;
    println!(
        "revocation hold lifted: the citizen can be enrolled again (old credentials stay revoked)"
    );
    Ok(())
}
