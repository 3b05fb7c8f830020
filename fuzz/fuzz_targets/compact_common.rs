//! What the two compact-form targets (`compact_decode`, `compact_v2_decode`) share: the three
//! modes picked by the first byte, base45, and the checks every decoded or encoded answer must
//! pass.

/// The verifier's limit for a decoded answer.
pub const LIMIT: usize = 256 * 1024;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// RFC 9285 base45 (written here, not taken from the crate under test).
pub fn base45(bytes: &[u8]) -> String {
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

/// A text that decodes stays within the limit and re-encodes (with `encode`) to the same text.
pub fn check(text: &str, encode: fn(&str) -> String) {
    if let Ok(decoded) = credential::compact::decode(text, LIMIT) {
        assert!(decoded.len() <= LIMIT, "decoded past the limit");
        let again = encode(&decoded);
        assert_eq!(
            credential::compact::decode(&again, LIMIT).as_deref(),
            Ok(decoded.as_str()),
            "a decoded answer re-encodes to the same text"
        );
    }
}

/// `encode` then decode gives back the exact text, in a compact form that never ends in a space.
pub fn round_trip(text: &str, encode: fn(&str) -> String) {
    let encoded = encode(text);
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

/// One fuzz input of a compact-form target; the first byte picks the mode:
/// - 0: the rest is the text given to `credential::compact::decode`;
/// - 1: the rest is given to `pack`, which builds the form's text around it (so the parser
///   behind the compression is reached), and that text is checked;
/// - other: the rest is an answer, encoded with `encode` and decoded back.
pub fn run(data: &[u8], encode: fn(&str) -> String, pack: fn(&[u8]) -> Option<String>) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = credential::compact::is_compact(text);
                check(text, encode);
            }
        }
        1 => {
            if let Some(text) = pack(rest) {
                check(&text, encode);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                round_trip(text, encode);
            }
        }
    }
}
