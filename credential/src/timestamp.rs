//! Unix seconds written as RFC 3339 text, the one spelling of a time the documents and the
//! command lines share.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `t` (Unix seconds) as RFC 3339 in UTC (`2026-01-01T00:00:00Z`); `None` when `t` is outside
/// the years the format can write.
pub fn rfc3339(t: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn writes_utc_and_refuses_what_it_cannot_write() {
        assert_eq!(
            rfc3339(1_767_225_600).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339(i64::MAX), None);
        // Year 10000 does not fit RFC 3339's four digits.
        assert_eq!(rfc3339(253_402_300_800), None);
    }
}
