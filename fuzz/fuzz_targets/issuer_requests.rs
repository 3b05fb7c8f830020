//! The issuer's request parsers, as its handlers decode bodies before any database access
//! (`issuer::server::parse`): the token form, the credential request JSON with its proof JWTs,
//! the enrolment bodies and the admin bodies. The first byte picks the parser; for the admin
//! citizen path the action is the text before the first newline.
#![no_main]

use issuer::server::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    let _ = match which % 7 {
        0 => parse::token_form(body),
        1 => parse::credential_request(body),
        2 => parse::enrol_basic(body),
        3 => parse::enrol_high(body),
        4 => {
            let (action, rest) = match body.iter().position(|b| *b == b'\n') {
                Some(at) => (&body[..at], &body[at + 1..]),
                None => (&body[..0], body),
            };
            match std::str::from_utf8(action) {
                Ok(action) => parse::admin_citizen(action, rest),
                Err(_) => return,
            }
        }
        5 => parse::admin_rotate(body),
        _ => match std::str::from_utf8(body) {
            Ok(text) => parse::status_action(text),
            Err(_) => return,
        },
    };
});
