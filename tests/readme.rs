//! The README, run top to bottom: every ```sh block of `README.md`, in order, in one bash
//! process (the blocks share variables and the background issuer service), in a temporary
//! directory holding links to `examples/` and `verifier/`, with the `issuer`, `wallet` and
//! `verifier` binaries that `cargo test --workspace` builds on `PATH`. A block the test cannot
//! run is marked by the line `<!-- readme-test: skip: REASON -->` just above it; each skipped
//! block is named on stderr. The journey must accept the first answer and refuse the one after
//! the revocation.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{root, say, workspace_binaries};

const SKIP_MARK: &str = "<!-- readme-test: skip:";
/// The whole README run, servers included, must finish in this time.
const TIMEOUT: Duration = Duration::from_secs(180);

struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
    /// Why it is not run, from the marker above it.
    skip: Option<String>,
}

/// The ```sh blocks of `markdown`, with their skip markers.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    let mut previous = "";
    while let Some((n, line)) = lines.next() {
        if line.trim_end() == "```sh" {
            let skip = previous
                .trim()
                .strip_prefix(SKIP_MARK)
                .and_then(|rest| rest.strip_suffix("-->"))
                .map(|reason| reason.trim().to_owned());
            let mut text = String::new();
            for (_, body) in lines.by_ref() {
                if body.trim_end() == "```" {
                    break;
                }
                text.push_str(body);
                text.push('\n');
            }
            blocks.push(Block {
                line: n + 1,
                text,
                skip,
            });
            previous = "";
        } else {
            previous = line;
        }
    }
    blocks
}

#[test]
fn parses_blocks_and_skip_markers() {
    let text = "intro\n<!-- readme-test: skip: needs sudo -->\n```sh\nsudo x\n```\n\n```sh\na\nb\n```\n```text\nnot run\n```\n";
    let blocks = sh_blocks(text);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].skip.as_deref(), Some("needs sudo"));
    assert_eq!((blocks[0].line, blocks[0].text.as_str()), (3, "sudo x\n"));
    assert_eq!(blocks[1].skip, None);
    assert_eq!(blocks[1].text, "a\nb\n");
}

#[test]
fn the_readme_runs_top_to_bottom() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    let run: Vec<&Block> = blocks.iter().filter(|b| b.skip.is_none()).collect();
    assert!(run.len() >= 8, "only {} runnable README blocks", run.len());
    for b in blocks.iter().filter(|b| b.skip.is_some()) {
        say(&format!(
            "skipped: README.md block at line {}: {}",
            b.line,
            b.skip.as_deref().unwrap_or_default()
        ));
    }

    let bin = workspace_binaries();
    let work = tempfile::tempdir().unwrap();
    for dir in ["examples", "verifier"] {
        std::os::unix::fs::symlink(root().join(dir), work.path().join(dir)).unwrap();
    }
    let mut script = String::from("set -euo pipefail\n");
    for b in &run {
        script.push_str(&format!("echo '== README.md line {}' >&2\n", b.line));
        script.push_str(&b.text);
    }
    std::fs::write(work.path().join("readme.sh"), &script).unwrap();

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let stdout = std::fs::File::create(work.path().join("stdout.txt")).unwrap();
    let stderr = std::fs::File::create(work.path().join("stderr.txt")).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("readme.sh")
        .current_dir(work.path())
        .env("PATH", path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // Nothing from the environment the tests run in changes what the README's commands do.
    for (name, _) in std::env::vars() {
        if name.starts_with("ISSUER_") || name.starts_with("WALLET_") {
            cmd.env_remove(name);
        }
    }
    // Its own process group, so a server left running by a failed block is stopped below.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();

    let out = std::fs::read_to_string(work.path().join("stdout.txt")).unwrap();
    let err = std::fs::read_to_string(work.path().join("stderr.txt")).unwrap();
    let shown = format!("--- stdout\n{out}\n--- stderr\n{err}");
    let status = status.unwrap_or_else(|| panic!("the README took over {TIMEOUT:?}\n{shown}"));
    assert!(
        status.success(),
        "a README block failed ({status})\n{shown}"
    );
    // The desk accepted the first answer and refused the one after the revocation.
    assert!(out.contains("\naccepted\n"), "{shown}");
    assert!(err.contains("rejected: revoked"), "{shown}");
    assert!(out.contains("refused (exit 1)"), "{shown}");
    // The offline-signed presentation was accepted too (`--json`).
    assert!(out.contains("\"accepted\":true"), "{shown}");
    say(&format!(
        "README.md: {} blocks ran in {:.1?}",
        run.len(),
        started.elapsed()
    ));
}
