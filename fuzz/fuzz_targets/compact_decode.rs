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

mod compact_common;
use compact_common::{base45, check, round_trip};

const ENCODE: fn(&str) -> String = credential::compact::encode;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = credential::compact::is_compact(text);
                check(text, ENCODE);
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
            check(&format!("VP1:{}", base45(&packed)), ENCODE);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                round_trip(text, ENCODE);
            }
        }
    }
});
