//! Stand-ins for the parts of `credential` that other engineers are building on `main`
//! (`credential::citizen`, `credential::sd_jwt`, `credential::status_list`). Each mirrors the
//! planned API so that swapping it for the real one touches only the `use` lines; delete this
//! module when they land.
//!
//! They are deliberately small: typed claims with the checks the issuer needs before storing an
//! enrolment, SD-JWT issuance (RFC 9901 section 4) of both payload forms, and a two-bit status
//! list with its `statuslist+jwt` token.

mod citizen;
mod sd_jwt;
mod status_list;

pub use citizen::{CitizenClaims, ClaimsError, Format, Level};
pub use sd_jwt::{issue, IssueError, IssueRequest};
pub use status_list::{sign_status_list_token, StatusList, StatusReference};
