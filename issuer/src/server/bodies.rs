//! The JSON bodies of the officer and admin endpoints, shared by the handlers and the
//! stateless checks in [`super::parse`]. Unknown fields are refused.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasicEnrolment {
    pub(crate) claims: Value,
    pub(crate) attestation: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HighEnrolment {
    pub(crate) claims: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CitizenTarget {
    pub(crate) id_number: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiftHoldBody {
    pub(crate) id_number: String,
    pub(crate) reason: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateBody {
    pub(crate) alg: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WithdrawBody {
    pub(crate) kid: String,
    /// Unix seconds; absent or null: every credential the key signed.
    pub(crate) since: Option<i64>,
}
