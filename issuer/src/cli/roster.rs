//! What `issuer officers` and `issuer platforms` share: listing and removing the entries of a
//! roster (officers, messaging platforms) on the data directory.

use issuer::error::IssuerError;
use issuer::Issuer;

use clap::Args;

use super::args::{cli_actor, DataArg};

/// `list`'s arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One roster of the issuer.
#[derive(Debug, Clone, Copy)]
pub enum Roster {
    /// Officers (`id`, `role`, `name`).
    Officers,
    /// Messaging platforms (`id`, `kid`, `name`).
    Platforms,
}

impl Roster {
    /// The entries in force: as one JSON array, and as one tab-separated line each.
    async fn read(self, issuer: &Issuer) -> anyhow::Result<(String, Vec<String>)> {
        match self {
            Roster::Officers => table(&issuer.list_officers().await?, |o| {
                format!("{}\t{}\t{}", o.id, o.role, o.name)
            }),
            Roster::Platforms => table(&issuer.list_platforms().await?, |p| {
                format!("{}\t{}\t{}", p.id, p.kid, p.name)
            }),
        }
    }

    /// Removes the entry `id` (a platform also by its kid), audited under `actor`.
    async fn remove_entry(self, issuer: &Issuer, actor: &str, id: &str) -> Result<(), IssuerError> {
        match self {
            Roster::Officers => issuer.remove_officer(actor, id).await,
            Roster::Platforms => issuer.remove_platform(actor, id).await,
        }
    }

    /// `list`: the entries as one JSON array, or one line each.
    pub async fn list(self, args: ListArgs) -> anyhow::Result<()> {
        let issuer = args.data.open().await?;
        let read = self.read(&issuer).await;
        issuer.close();
        let (array, lines) = read?;
        if args.json {
            println!("{array}");
        } else {
            for line in lines {
                println!("{line}");
            }
        }
        Ok(())
    }

    /// `remove ID`.
    pub async fn remove(self, data: DataArg, id: String) -> anyhow::Result<()> {
        let issuer = data.open().await?;
        let r = self.remove_entry(&issuer, &cli_actor(), &id).await;
        issuer.close();
        r?;
        println!("removed {id}");
        Ok(())
    }
}

/// `list` as one JSON array, and as one `line` per entry.
fn table<T: serde::Serialize>(
    list: &[T],
    line: impl Fn(&T) -> String,
) -> anyhow::Result<(String, Vec<String>)> {
    Ok((
        serde_json::to_string(list)?,
        list.iter().map(line).collect(),
    ))
}
