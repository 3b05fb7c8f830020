//! The offline answer's `VP2:` compact form (base45; dictionary id, deflated structure with a
//! preset dictionary, raw parts). The first byte picks the mode:
//! - 0: the rest is the text given to `credential::compact::decode`;
//! - 1: the next byte is a length `r`; the last `r` bytes of the rest are the raw parts and
//!   the bytes before them the structure, which the harness deflates with the dictionary and
//!   packs (so the structure parser is reached past deflate);
//! - other: the rest is an answer, packed with `encode_v2` and unpacked, which must give the
//!   same text.
//!
//! Every input ends in `Ok` or a `CompactError`, within the output limit.
#![no_main]

use flate2::{Compress, Compression, FlushCompress};
use libfuzzer_sys::fuzz_target;

mod compact_common;
use compact_common::{base45, check, round_trip};

const ENCODE: fn(&str) -> String = credential::compact::encode_v2;

fn pack(structure: &[u8], raw: &[u8]) -> Option<String> {
    let mut z = Compress::new(Compression::fast(), false);
    z.set_dictionary(credential::compact::v2::DICTIONARY).ok()?;
    let mut deflated = Vec::with_capacity(structure.len() * 2 + 64);
    z.compress_vec(structure, &mut deflated, FlushCompress::Finish)
        .ok()?;
    let mut packed = vec![credential::compact::v2::DICTIONARY_ID];
    let mut n = deflated.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            packed.push(byte);
            break;
        }
        packed.push(byte | 0x80);
    }
    packed.extend_from_slice(&deflated);
    packed.extend_from_slice(raw);
    Some(format!("VP2:{}", base45(&packed)))
}

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
            let Some((&r, rest)) = rest.split_first() else {
                return;
            };
            let cut = rest.len().saturating_sub(usize::from(r));
            let (structure, raw) = rest.split_at(cut);
            if let Some(text) = pack(structure, raw) {
                check(&text, ENCODE);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                round_trip(text, ENCODE);
            }
        }
    }
});
