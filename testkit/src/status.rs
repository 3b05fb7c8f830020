//! Token Status List fixtures.

use credential::jose::SigningKey;
use credential::status_list::{Bits, StatusList, StatusListToken};

/// A `statuslist+jwt` for the list at `sub` by `iss`, 1024 two-bit entries with entry `idx`
/// revoked when `revoked`, issued at `iat` and expiring at `exp`, signed by `key`.
pub fn status_token(
    key: &SigningKey,
    (sub, iss): (&str, &str),
    (iat, exp): (i64, i64),
    idx: u64,
    revoked: bool,
) -> String {
    let mut list = StatusList::new(Bits::Two, 1024).unwrap();
    if revoked {
        list.set(idx, 1).unwrap();
    }
    StatusListToken {
        sub: sub.into(),
        iat,
        exp: Some(exp),
        ttl: None,
        iss: Some(iss.into()),
        status_list: list,
    }
    .sign(key)
}
