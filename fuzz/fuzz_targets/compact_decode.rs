//! The offline answer's `VP1:` compact form (base45, deflate, records). The first byte picks
//! the mode:
//! - 0: the rest is the text given to `credential::compact::decode`;
//! - 1: the rest is the record stream, deflated and base45-encoded here (so the record parser
//!   is reached past the zlib checksum);
//! - other: the rest is an answer, encoded and decoded back, which must give the same text.
//!
//! Every input ends in `Ok` or a `CompactError`, within the output limit.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;

/// The verifier's limit for a decoded answer.
const LIMIT: usize = 256 * 1024;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// RFC 9285 base45 (written here, not taken from the crate under test).
fn base45(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match *chunk {
            [a, b] => (usize::from(a) * 256 + usize::from(b), 3),
            [a] => (usize::from(a), 2),
            _ => (0, 0),
        };
        for _ in 0..digits {
            out.push(char::from(ALPHABET[n % 45]));
            n /= 45;
        }
    }
    out
}

fn check(text: &str) {
    if let Ok(decoded) = credential::compact::decode(text, LIMIT) {
        assert!(decoded.len() <= LIMIT, "decoded past the limit");
        let again = credential::compact::encode(&decoded);
        assert_eq!(
            credential::compact::decode(&again, LIMIT).as_deref(),
            Ok(decoded.as_str()),
            "a decoded answer re-encodes to the same text"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = credential::compact::is_compact(text);
                check(text);
            }
        }
        1 => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            if z.write_all(rest).is_err() {
                return;
            }
            let Ok(packed) = z.finish() else {
                return;
            };
            check(&format!("VP1:{}", base45(&packed)));
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let encoded = credential::compact::encode(text);
                assert!(credential::compact::is_compact(&encoded));
                assert!(
                    !encoded.ends_with(' '),
                    "an encoded answer never ends in a space"
                );
                assert_eq!(
                    credential::compact::decode(&encoded, usize::MAX).as_deref(),
                    Ok(text),
                    "encode then decode gives back the exact text"
                );
            }
        }
    }
});
