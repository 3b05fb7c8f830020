//! The wallet's OpenID4VP request parsers: arbitrary text as a request URI (by value, with a
//! `request` JWT, or `request_uri`), as a fetched request object (JAR), and as a DCQL query,
//! then `prepare` against an empty store when the request parses.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wallet::dcql::DcqlQuery;
use wallet::present::RequestRef;
use wallet::{AuthorizationRequest, StorageKey, Store};

struct Empty {
    store: Store,
    _dir: tempfile::TempDir,
}

static EMPTY: LazyLock<std::sync::Mutex<Empty>> = LazyLock::new(|| {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("a temporary directory: {e}"),
    };
    let store = match Store::open(dir.path(), &StorageKey::from_bytes([7; 32])) {
        Ok(s) => s,
        Err(e) => panic!("an empty store opens: {e}"),
    };
    std::sync::Mutex::new(Empty { store, _dir: dir })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(RequestRef::ByValue(request)) = AuthorizationRequest::parse_uri(text) {
        if let Ok(empty) = EMPTY.lock() {
            let _ = wallet::prepare(&empty.store, &request);
        }
    }
    let _ = AuthorizationRequest::from_request_object(
        text,
        Some("decentralized_identifier:did:jwk:e30"),
    );
    let _ = DcqlQuery::from_json(text);
});
