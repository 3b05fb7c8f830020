//! One module per subcommand.

pub mod keygen;
pub mod present;

/// Reads a file, or standard input for `-`, refusing more than 16 MiB.
pub fn read_input(name: &str) -> anyhow::Result<String> {
    use std::io::Read;
    const MAX: u64 = 16 * 1024 * 1024;
    let mut text = String::new();
    if name == "-" {
        std::io::stdin().take(MAX + 1).read_to_string(&mut text)?;
    } else {
        std::fs::File::open(name)
            .and_then(|f| f.take(MAX + 1).read_to_string(&mut text))
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    }
    if text.len() as u64 > MAX {
        anyhow::bail!("{name} is larger than {MAX} bytes");
    }
    Ok(text)
}
