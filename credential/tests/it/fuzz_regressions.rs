//! Inputs that once made a fuzz target fail (`fuzz/`, `docs/security.md`), replayed on stable
//! through the same steps as the target. Data in `tests/fuzz-regressions/<target>/`.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

/// The `compact_decode` target's third mode: an answer encoded, then decoded with no output
/// limit, gives back the exact text.
fn compact_round_trip_without_a_limit(text: &str) {
    let encoded = credential::compact::encode(text);
    assert_eq!(
        credential::compact::decode(&encoded, usize::MAX).as_deref(),
        Ok(text)
    );
}

#[test]
fn compact_decode_without_an_output_limit_returns_the_text() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/compact_decode/encode_then_decode_without_a_limit.bin");
    let data = std::fs::read(file).unwrap();
    // The first byte is the target's mode selector (not 0 or 1: encode and decode back).
    let (mode, text) = data.split_first().unwrap();
    assert!(*mode > 1);
    compact_round_trip_without_a_limit(std::str::from_utf8(text).unwrap());
    // And a non-empty answer, which the wrapped limit turned into the empty text.
    compact_round_trip_without_a_limit(r#"{"hotel":["eyJhbGciOiJFUzI1NiJ9.e30.AAAA~"]}"#);
}

#[test]
fn every_compact_decode_regression_input_replays_cleanly() {
    for (path, data) in inputs("compact_decode") {
        let Some((mode, rest)) = data.split_first() else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            continue;
        };
        match mode {
            0 => {
                if let Ok(decoded) = credential::compact::decode(text, 256 * 1024) {
                    let again = credential::compact::encode(&decoded);
                    assert_eq!(
                        credential::compact::decode(&again, 256 * 1024).as_deref(),
                        Ok(decoded.as_str()),
                        "{}",
                        path.display()
                    );
                }
            }
            1 => {}
            _ => compact_round_trip_without_a_limit(text),
        }
    }
}
