use clap::Args;
/// Load-test a running issuer.
#[derive(Debug, Args)]
pub struct BenchArgs {}
pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    Ok(())
}
