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
use compact_common::{base45, run};

const ENCODE: fn(&str) -> String = credential::compact::encode;

/// The record stream `rest`, deflated and base45-encoded.
fn pack(rest: &[u8]) -> Option<String> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(rest).ok()?;
    let packed = z.finish().ok()?;
    Some(format!("VP1:{}", base45(&packed)))
}

fuzz_target!(|data: &[u8]| run(data, ENCODE, pack));
