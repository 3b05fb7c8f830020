//! What the workspace-level tests that drive the binaries share: the workspace root, the
//! freshly built `issuer`, `wallet` and `verifier` binaries, and a line on stderr that the test
//! harness does not capture. Each test file that needs it declares `mod support;`.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Written past the harness's output capture, so a skip is always visible.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Newest modification time of the files under `dir`.
fn newest(dir: &Path) -> std::time::SystemTime {
    let mut latest = std::time::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let time = if meta.is_dir() {
            newest(&entry.path())
        } else {
            meta.modified().unwrap()
        };
        latest = latest.max(time);
    }
    latest
}

/// The directory of the workspace's debug binaries `issuer`, `wallet` and `verifier`, which
/// `cargo test --workspace` builds beside this test (the integration tests of their packages
/// need them). Run alone, the test refuses binaries older than their sources.
pub fn workspace_binaries() -> PathBuf {
    // This test runs from target/debug/deps; the binaries are in target/debug.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let hint =
        "run `cargo test --workspace`, or `cargo build -p issuer -p wallet -p verifier` first";
    let credential = newest(&root().join("credential/src"));
    for tool in ["issuer", "wallet", "verifier"] {
        let built = std::fs::metadata(dir.join(tool))
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| panic!("{tool} is not built in {}: {hint}", dir.display()));
        let mut sources = newest(&root().join(tool).join("src")).max(credential);
        if tool == "wallet" {
            // The CLI is a host over the core: a core newer than the binary is stale too.
            sources = sources.max(newest(&root().join("wallet-core/src")));
        }
        assert!(
            built >= sources,
            "{} is older than its sources: {hint}",
            dir.join(tool).display()
        );
    }
    dir
}
