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
use compact_common::{base45, run};

const ENCODE: fn(&str) -> String = credential::compact::encode_v2;

fn pack_parts(structure: &[u8], raw: &[u8]) -> Option<String> {
    let mut z = Compress::new(Compression::fast(), false);
    z.set_dictionary(credential::compact::v2::DICTIONARY).ok()?;
    let mut deflated = Vec::with_capacity(structure.len() * 2 + 64);
    z.compress_vec(structure, &mut deflated, FlushCompress::Finish)
        .ok()?;
    let mut packed = vec![credential::compact::v2::DICTIONARY_ID];
    credential::compact::push_varint(&mut packed, deflated.len() as u64);
    packed.extend_from_slice(&deflated);
    packed.extend_from_slice(raw);
    Some(format!("VP2:{}", base45(&packed)))
}

/// The next byte is a length `r`; the last `r` bytes after it are the raw parts and the bytes
/// before them the structure.
fn pack(rest: &[u8]) -> Option<String> {
    let (&r, rest) = rest.split_first()?;
    let cut = rest.len().saturating_sub(usize::from(r));
    let (structure, raw) = rest.split_at(cut);
    pack_parts(structure, raw)
}

fuzz_target!(|data: &[u8]| run(data, ENCODE, pack));
