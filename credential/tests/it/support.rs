//! What the issuing test files share: the sample claim files and an issue request over them.

use credential::citizen::{CitizenClaims, Format, IssueRequest, Level};
use credential::jose::PublicJwk;
use credential::status_list::StatusReference;

/// The issuer of the test credentials.
pub const ISSUER: &str = "https://bureau.example.cn";
/// Issuance time of the test credentials: 2026-01-01T00:00:00Z.
pub const IAT: i64 = 1_767_225_600;
/// Expiry of the test credentials: 2031-01-01T00:00:00Z.
pub const EXP: i64 = 1_924_992_000;

/// The sample claims of `examples/claims/` for `level`.
pub fn sample_claims(level: Level) -> CitizenClaims {
    let file = match level {
        Level::Basic => "citizen-basic.json",
        _ => "citizen-high.json",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/claims")
        .join(file);
    CitizenClaims::from_json(&std::fs::read_to_string(path).unwrap(), level).unwrap()
}

/// A request to issue `claims` at `level` in `format` to `holder`, by [`ISSUER`], from
/// [`IAT`] to [`EXP`].
pub fn issue_request<'a>(
    claims: &'a CitizenClaims,
    level: Level,
    format: Format,
    holder: &'a PublicJwk,
    status: Option<&'a StatusReference>,
) -> IssueRequest<'a> {
    IssueRequest {
        claims,
        level,
        format,
        issuer: ISSUER,
        holder,
        status,
        issued_at: IAT,
        expires_at: EXP,
    }
}
