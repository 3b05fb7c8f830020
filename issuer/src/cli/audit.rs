use clap::Args;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use issuer::domain::audit::{AuditEntry, AuditFilter};

use super::DataArg;

/// List the audit trail, oldest first: the newest --limit events that match.
#[derive(Debug, Args)]
#[command(
    after_help = "TIME is unix seconds or RFC 3339 (2026-11-22T03:00:00Z).\nExamples:\n  issuer audit --data ./issuer-data --since 2026-11-01T00:00:00Z --event status.\n  issuer audit --data ./issuer-data --actor cli:root --limit 20 --json"
)]
pub struct AuditArgs {
    #[command(flatten)]
    data: DataArg,
    /// Events at or after TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<i64>,
    /// Events at or before TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<i64>,
    /// Events whose name starts with PREFIX (`status.`, `enrolment.high`).
    #[arg(long, value_name = "PREFIX")]
    event: Option<String>,
    /// Events of this actor (an officer id, `system`, `wallet`, `cli:USER`).
    #[arg(long, value_name = "ID")]
    actor: Option<String>,
    /// The newest N matching events are listed.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    limit: i64,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// Unix seconds, or an RFC 3339 time.
fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| "expected unix seconds or an RFC 3339 time".to_owned())
}

fn line(e: &AuditEntry) -> String {
    let at = OffsetDateTime::from_unix_timestamp(e.at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| e.at.to_string());
    format!(
        "{at}  #{}  {}  {}  {}  {}",
        e.seq,
        e.actor,
        e.event,
        e.subject.as_deref().unwrap_or("-"),
        e.detail.as_deref().unwrap_or("")
    )
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let filter = AuditFilter {
        since: args.since,
        until: args.until,
        event_prefix: args.event,
        actor: args.actor,
        limit: args.limit,
    };
    let issuer = args.data.open().await?;
    let r = issuer.store.audit_list(filter).await;
    issuer.close();
    for e in r? {
        if args.json {
            println!("{}", serde_json::to_string(&e)?);
        } else {
            println!("{}", line(&e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc3339() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert!(parse_time("yesterday").is_err());
    }
}
