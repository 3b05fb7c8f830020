//! The wallet's answer to a presentation request, read as data (no I/O).
//!
//! OpenID4VP 1.0 section 8.1: the `vp_token` is a JSON object whose keys are the DCQL
//! credential query ids and whose values are arrays of presentations, here SD-JWT+KB strings.
//! Besides that form, [`parse`] accepts a `direct_post` body (`vp_token=...&state=...`), a JSON
//! object `{"vp_token": {...}}`, and a bare SD-JWT+KB (what a wallet shows as a QR code when
//! the request had one credential query), and the compact QR form of any of these
//! (`VP2:` or `VP1:`, [`credential::compact`]). Decoding a QR image is the
//! caller's job.
//!
//! Before anything is verified, [`Answer::nonce_hint`] reads the `nonce` of the first KB-JWT,
//! unverified, so the caller can find the request it answers; the nonce is then checked for
//! real by [`crate::Verifier::verify`].

use std::collections::BTreeMap;

use serde_json::Value;

/// Answers larger than this are refused before parsing (a QR code holds under 3 KB; a direct
/// post with a portrait a few hundred KB).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// At most this many presentations in one answer.
pub const MAX_PRESENTATIONS: usize = 16;

/// One presentation of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerPresentation {
    /// The DCQL credential query id it answers; `None` for a bare SD-JWT.
    pub query_id: Option<String>,
    /// The SD-JWT+KB text, exactly as received.
    pub presentation: String,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The presentations, in the order of the `vp_token` keys (sorted) and array elements.
    pub presentations: Vec<AnswerPresentation>,
    /// `state`, when a `direct_post` body carried one.
    pub state: Option<String>,
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// Larger than [`MAX_ANSWER_BYTES`].
    #[error("answer larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    /// Empty.
    #[error("answer is empty")]
    Empty,
    /// The compact (`VP1:` or `VP2:`) form does not decode.
    #[error("compact answer: {0}")]
    Compact(#[from] credential::compact::CompactError),
    /// Neither a `vp_token` object, a `direct_post` body nor an SD-JWT.
    #[error("answer is not a vp_token, a direct_post body or an sd-jwt")]
    UnknownForm,
    /// A `vp_token` value is not a string or an array of strings.
    #[error("vp_token entry {query_id} is not a presentation or an array of them")]
    MalformedEntry {
        /// The key.
        query_id: String,
    },
    /// More than [`MAX_PRESENTATIONS`].
    #[error("answer holds more than {MAX_PRESENTATIONS} presentations")]
    TooMany,
    /// Several presentations answer a credential query that did not allow `multiple`.
    #[error("vp_token holds several presentations for {query_id}, which did not ask for multiple")]
    NotMultiple {
        /// The key.
        query_id: String,
    },
    /// A key answers no credential query of the request.
    #[error("vp_token answers unknown credential query {query_id}")]
    UnknownQuery {
        /// The key.
        query_id: String,
    },
}

impl AnswerError {
    /// A stable snake_case name of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::TooLarge => "answer_too_large",
            AnswerError::Empty => "answer_empty",
            AnswerError::UnknownForm => "answer_unknown_form",
            AnswerError::Compact(_) => "answer_compact_invalid",
            AnswerError::MalformedEntry { .. } => "answer_malformed_entry",
            AnswerError::TooMany => "answer_too_many_presentations",
            AnswerError::UnknownQuery { .. } => "answer_unknown_query",
            AnswerError::NotMultiple { .. } => "answer_not_multiple",
        }
    }
}

/// Reads an answer in any of the accepted forms.
///
/// # Errors
/// [`AnswerError`] naming the problem.
pub fn parse(text: &str) -> Result<Answer, AnswerError> {
    if text.len() > MAX_ANSWER_BYTES {
        return Err(AnswerError::TooLarge);
    }
    if credential::compact::is_compact(text) {
        let plain = credential::compact::decode(text, MAX_ANSWER_BYTES).map_err(|e| match e {
            credential::compact::CompactError::TooLarge { .. } => AnswerError::TooLarge,
            other => AnswerError::Compact(other),
        })?;
        // One level only: a compact form inside a compact form is not an answer.
        if credential::compact::is_compact(&plain) {
            return Err(AnswerError::UnknownForm);
        }
        return parse(&plain);
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(AnswerError::Empty);
    }
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|_| AnswerError::UnknownForm)?;
        let token = value.get("vp_token").unwrap_or(&value);
        let state = value
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return from_vp_token(token, state);
    }
    if text.starts_with("vp_token=") || text.contains("&vp_token=") {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|_| AnswerError::UnknownForm)?;
        let find = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let token = find("vp_token").ok_or(AnswerError::UnknownForm)?;
        let value: Value = serde_json::from_str(token).map_err(|_| AnswerError::UnknownForm)?;
        return from_vp_token(&value, find("state").cloned());
    }
    if looks_like_sd_jwt(text) {
        return Ok(Answer {
            presentations: vec![AnswerPresentation {
                query_id: None,
                presentation: text.to_owned(),
            }],
            state: None,
        });
    }
    Err(AnswerError::UnknownForm)
}

fn looks_like_sd_jwt(text: &str) -> bool {
    text.contains('~')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

fn from_vp_token(token: &Value, state: Option<String>) -> Result<Answer, AnswerError> {
    let object = token.as_object().ok_or(AnswerError::UnknownForm)?;
    if object.is_empty() {
        return Err(AnswerError::Empty);
    }
    // Sorted for a deterministic order.
    let sorted: BTreeMap<&String, &Value> = object.iter().collect();
    let mut presentations = Vec::new();
    for (id, v) in sorted {
        let malformed = || AnswerError::MalformedEntry {
            query_id: id.clone(),
        };
        let items: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|x| x.as_str().ok_or_else(malformed))
                .collect::<Result<_, _>>()?,
            _ => return Err(malformed()),
        };
        for p in items {
            if !looks_like_sd_jwt(p) {
                return Err(malformed());
            }
            presentations.push(AnswerPresentation {
                query_id: Some(id.clone()),
                presentation: p.to_owned(),
            });
            if presentations.len() > MAX_PRESENTATIONS {
                return Err(AnswerError::TooMany);
            }
        }
    }
    Ok(Answer {
        presentations,
        state,
    })
}

impl Answer {
    /// Checks that every key answers one of the request's credential query ids.
    ///
    /// # Errors
    /// [`AnswerError::UnknownQuery`] for the first key that answers none.
    pub fn check_query_ids(&self, ids: &[String]) -> Result<(), AnswerError> {
        for p in &self.presentations {
            if let Some(id) = &p.query_id {
                if !ids.contains(id) {
                    return Err(AnswerError::UnknownQuery {
                        query_id: id.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks the answer against the request's DCQL query: every key names a credential query,
    /// and only a query with `multiple: true` gets more than one presentation (OpenID4VP 1.0
    /// section 6.1).
    ///
    /// # Errors
    /// [`AnswerError::UnknownQuery`], [`AnswerError::NotMultiple`].
    pub fn check_against(&self, dcql_query: &Value) -> Result<(), AnswerError> {
        self.check_query_ids(&crate::request::query_ids(dcql_query))?;
        let queries = dcql_query
            .get("credentials")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for q in queries {
            let Some(id) = q.get("id").and_then(Value::as_str) else {
                continue;
            };
            let multiple = q.get("multiple").and_then(Value::as_bool) == Some(true);
            let count = self
                .presentations
                .iter()
                .filter(|p| p.query_id.as_deref() == Some(id))
                .count();
            if count > 1 && !multiple {
                return Err(AnswerError::NotMultiple {
                    query_id: id.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The `nonce` of the first presentation's KB-JWT, read WITHOUT verifying anything: only
    /// to find the request this answers. `None` when there is no readable KB-JWT.
    pub fn nonce_hint(&self) -> Option<String> {
        let first = self.presentations.first()?;
        let kb = first.presentation.rsplit('~').next()?;
        let payload = kb.split('.').nth(1)?;
        let bytes = credential::b64::decode(payload).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        value.get("nonce")?.as_str().map(str::to_owned)
    }
}

/// The `vp_token` a wallet sends for one presentation: `{"<query_id>": ["<sd-jwt+kb>"]}`.
pub fn vp_token(query_id: &str, presentation: &str) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(
        query_id.to_owned(),
        Value::Array(vec![Value::String(presentation.to_owned())]),
    );
    Value::Object(map)
}

/// What [`verify_answer`] found: one result per presentation, and whether the holder answered.
#[derive(Debug, Clone)]
pub struct CheckedAnswer {
    /// One result per presentation of the answer, in its order.
    pub results: Vec<Result<crate::VerifiedPresentation, crate::VerifierError>>,
    /// Every presentation passed the SD-JWT and KB-JWT checks: the holder of the credential
    /// answered this request, so its nonce is used up whatever the policy decided. When
    /// `false`, the answer may come from anyone who saw the request's QR code, and the request
    /// stays open.
    pub holder_answered: bool,
}

impl CheckedAnswer {
    /// The verified presentations when every one was accepted, else the first rejection.
    ///
    /// # Errors
    /// The first presentation's [`crate::VerifierError`].
    pub fn accepted(&self) -> Result<Vec<&crate::VerifiedPresentation>, &crate::VerifierError> {
        self.results.iter().map(Result::as_ref).collect()
    }
}

/// Verifies an answer to `request` (the request the caller found by [`Answer::nonce_hint`] and
/// checked is still pending): the answer's keys against the request's DCQL query, then each
/// presentation with [`crate::Verifier::verify_for_request`] for its credential query.
///
/// # Errors
/// [`AnswerError::UnknownQuery`], [`AnswerError::NotMultiple`] before anything is verified;
/// the request then stays open.
pub fn verify_answer(
    verifier: &crate::Verifier,
    answer: &Answer,
    request: &crate::request::PresentationRequest,
    now: i64,
) -> Result<CheckedAnswer, AnswerError> {
    answer.check_against(&request.dcql_query)?;
    let results: Vec<_> = answer
        .presentations
        .iter()
        .map(|p| {
            verifier.verify_for_request(p.presentation.trim(), request, p.query_id.as_deref(), now)
        })
        .collect();
    let holder_answered = results
        .iter()
        .all(|r| !matches!(r, Err(crate::VerifierError::Credential(_))));
    Ok(CheckedAnswer {
        results,
        holder_answered,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kb(nonce: &str) -> String {
        let payload = credential::b64::encode(json!({"nonce": nonce}).to_string());
        format!("eyJhbGciOiJFUzI1NiJ9.{payload}.c2ln")
    }

    fn sd_jwt(nonce: &str) -> String {
        format!(
            "eyJ0eXAiOiJkYytzZC1qd3QifQ.e30.c2ln~WyJzIiwiYSIsMV0~{}",
            kb(nonce)
        )
    }

    #[test]
    fn reads_every_form() {
        let p = sd_jwt("n-1");
        let token = vp_token("citizen_id", &p);
        let forms = [
            token.to_string(),
            json!({"vp_token": token, "state": "s"}).to_string(),
            serde_urlencoded::to_string([("vp_token", token.to_string()), ("state", "s".into())])
                .unwrap(),
            json!({"citizen_id": p}).to_string(),
            p.clone(),
            credential::compact::encode(&token.to_string()),
            credential::compact::encode(&p),
        ];
        for form in forms {
            let a = parse(&form).unwrap();
            assert_eq!(a.presentations.len(), 1, "{form}");
            assert_eq!(a.presentations[0].presentation, p);
            assert_eq!(a.nonce_hint().as_deref(), Some("n-1"));
        }
        assert_eq!(
            parse(&json!({"vp_token": token, "state": "s"}).to_string())
                .unwrap()
                .state
                .as_deref(),
            Some("s")
        );
    }

    #[test]
    fn rejects_malformed_answers() {
        assert_eq!(parse("  "), Err(AnswerError::Empty));
        assert_eq!(parse("{}"), Err(AnswerError::Empty));
        assert_eq!(parse("hello world"), Err(AnswerError::UnknownForm));
        assert_eq!(parse("[1]"), Err(AnswerError::UnknownForm));
        assert_eq!(
            parse(r#"{"citizen_id": [1]}"#),
            Err(AnswerError::MalformedEntry {
                query_id: "citizen_id".into()
            })
        );
        assert_eq!(
            parse(r#"{"citizen_id": []}"#),
            Err(AnswerError::MalformedEntry {
                query_id: "citizen_id".into()
            })
        );
        let many: Vec<String> = (0..17).map(|_| sd_jwt("n")).collect();
        assert_eq!(
            parse(&json!({"citizen_id": many}).to_string()),
            Err(AnswerError::TooMany)
        );
        assert_eq!(
            parse(&"a~".repeat(MAX_ANSWER_BYTES)),
            Err(AnswerError::TooLarge)
        );
        assert!(matches!(parse("VP1:ab"), Err(AnswerError::Compact(_))));
        assert_eq!(
            parse(&credential::compact::encode(&"a~".repeat(MAX_ANSWER_BYTES))),
            Err(AnswerError::TooLarge)
        );
        let nested = credential::compact::encode(&credential::compact::encode(&sd_jwt("n")));
        assert_eq!(parse(&nested), Err(AnswerError::UnknownForm));
    }

    #[test]
    fn query_ids_are_checked() {
        let a = parse(&vp_token("other", &sd_jwt("n")).to_string()).unwrap();
        assert_eq!(
            a.check_query_ids(&["citizen_id".into()]),
            Err(AnswerError::UnknownQuery {
                query_id: "other".into()
            })
        );
        assert!(a.check_query_ids(&["other".into()]).is_ok());
    }

    #[test]
    fn several_presentations_need_multiple() {
        let two = json!({"citizen_id": [sd_jwt("n"), sd_jwt("n")]}).to_string();
        let a = parse(&two).unwrap();
        let query = |multiple: Option<bool>| {
            let mut q = json!({"id": "citizen_id", "format": "dc+sd-jwt"});
            if let Some(m) = multiple {
                q["multiple"] = json!(m);
            }
            json!({"credentials": [q]})
        };
        for m in [None, Some(false)] {
            assert_eq!(
                a.check_against(&query(m)),
                Err(AnswerError::NotMultiple {
                    query_id: "citizen_id".into()
                })
            );
        }
        assert!(a.check_against(&query(Some(true))).is_ok());
        let one = parse(&vp_token("citizen_id", &sd_jwt("n")).to_string()).unwrap();
        assert!(one.check_against(&query(None)).is_ok());
        assert_eq!(
            one.check_against(&json!({"credentials": [{"id": "other", "format": "x"}]})),
            Err(AnswerError::UnknownQuery {
                query_id: "citizen_id".into()
            })
        );
    }
}
