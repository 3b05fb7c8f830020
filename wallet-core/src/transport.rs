//! The HTTP exchange the host performs for the core, and the rules the core applies to every
//! exchange, so that every host gets them.
//!
//! - **TLS off loopback.** Every URL the wallet contacts (the issuer, `credential_offer_uri`,
//!   the metadata, token, nonce and credential endpoints, `request_uri`, `response_uri`) must be
//!   `https://`; plain `http://` is accepted only for a loopback host (`127.0.0.0/8`, `::1`,
//!   `localhost`), where a test or a local bridge runs. A pre-authorized code, a `tx_code`, an
//!   access or refresh token or disclosed claims therefore never travel in clear.
//! - **No redirects.** A `3xx` answer, or an answer from another URL than the one asked, is an
//!   error (a redirected `direct_post` would post the disclosed claims to wherever the verifier
//!   points, and a redirected token request would re-send the pre-authorized code). The host's
//!   client must follow none itself (the desktop host builds its reqwest client with
//!   `redirect::Policy::none()`): the core reports a redirect, but cannot take back what a
//!   client that follows redirects re-sent.
//! - **Size.** The core asks for at most [`HttpRequest::max_response_bytes`] and refuses a
//!   longer body even when the host read more.
//! - **Content type.** A successful (`2xx`) answer with a body must say what it is, and be
//!   what the request expects ([`HttpRequest::expect`]): JSON (`application/json` or
//!   `application/*+json`) from the issuer's endpoints, the offer and a `direct_post`, a JWT
//!   (`application/oauth-authz-req+jwt` or `application/jwt`) from a `request_uri`.
//!
//! The checks report the URL's origin (`scheme://host[:port]`), never its path or query, which
//! may carry an offer id or a code.
//!
//! ```text
//! core ── HttpRequest { method, url, headers, body, max_response_bytes } ──> host (reqwest, fetch)
//!      <── HttpResponse { status, headers, body, url } | TransportError ────┘
//! ```

use std::net::IpAddr;

use zeroize::Zeroizing;

/// The largest response body the core reads (metadata, offers, credentials, request objects).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// An HTTP method the wallet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name (`GET`, `POST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request the core asks the host to send. The body and the headers may carry a code or a
/// token: zeroized on drop, and `Debug` shows only the method and the URL's origin.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, already checked by the core ([`check_url`]).
    pub url: String,
    /// Header names and values (`content-type`, `authorization`).
    pub headers: Vec<(String, Zeroizing<String>)>,
    /// The body (empty for `GET`).
    pub body: Zeroizing<Vec<u8>>,
    /// The most body bytes the host should read; the core refuses a longer answer anyway.
    pub max_response_bytes: usize,
    /// What a successful answer's body must be (its `content-type`), checked by the core.
    pub expect: Expect,
}

/// The content type a successful answer must have (media type parameters such as `charset`
/// are ignored, case is not significant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// `application/json` or `application/*+json`.
    Json,
    /// `application/oauth-authz-req+jwt` (OpenID4VP request objects, RFC 9101) or
    /// `application/jwt`.
    Jwt,
    /// What a `request_uri` answers: [`Expect::Jwt`], or JSON, which is let through so the
    /// caller refuses it by name (an unsigned request object), not as a content type.
    RequestObject,
}

impl Expect {
    /// Whether `content_type` (a header's value) is what is expected.
    pub fn accepts(self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match self {
            Expect::Json => {
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            }
            Expect::Jwt => {
                essence == "application/oauth-authz-req+jwt" || essence == "application/jwt"
            }
            Expect::RequestObject => {
                Expect::Jwt.accepts(content_type) || Expect::Json.accepts(content_type)
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Expect::Json => "json",
            Expect::Jwt | Expect::RequestObject => "a jwt",
        }
    }
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = url::Url::parse(&self.url)
            .map(|u| origin(&u))
            .unwrap_or_else(|_| "(not a url)".to_owned());
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("origin", &origin)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// A `GET` of `url`.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: url.trim().to_owned(),
            headers: Vec::new(),
            body: Zeroizing::new(Vec::new()),
            max_response_bytes: MAX_BODY,
            expect: Expect::Json,
        }
    }

    /// Sets what a successful answer must be (JSON unless said otherwise).
    pub fn expecting(mut self, expect: Expect) -> HttpRequest {
        self.expect = expect;
        self
    }

    /// A `POST` of `url` with an empty body.
    pub fn post(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            ..HttpRequest::get(url)
        }
    }

    /// Sets a header.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers
            .push((name.to_owned(), Zeroizing::new(value.to_owned())));
        self
    }

    /// A form body (`application/x-www-form-urlencoded`) of pairs or of a flat struct.
    pub fn form(self, form: &impl serde::Serialize) -> HttpRequest {
        // Pairs of strings and flat structs of strings always encode.
        let body = serde_urlencoded::to_string(form).unwrap_or_default();
        let mut out = self.header("content-type", "application/x-www-form-urlencoded");
        out.body = Zeroizing::new(body.into_bytes());
        out
    }

    /// A JSON body.
    pub fn json(self, value: &serde_json::Value) -> HttpRequest {
        let mut out = self.header("content-type", "application/json");
        out.body = Zeroizing::new(value.to_string().into_bytes());
        out
    }

    /// An `Authorization: Bearer` header.
    pub fn bearer(self, token: &str) -> HttpRequest {
        self.header("authorization", &format!("Bearer {token}"))
    }
}

/// What the host received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header names (any case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_response_bytes` (the core checks).
    pub body: Vec<u8>,
    /// The URL that answered, when the host knows it (a client that followed a redirect
    /// answers from another URL, which the core refuses).
    pub url: Option<String>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why the host could not complete an exchange. The messages name what failed, never the URL
/// (an offer URL may carry a code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The host could not connect.
    #[error("cannot connect")]
    Connect,
    /// The host's client followed redirects and gave up.
    #[error("too many redirects")]
    TooManyRedirects,
    /// The answer's body could not be read.
    #[error("cannot read the answer")]
    Body,
    /// The answer is longer than the request allowed.
    #[error("answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// Anything else.
    #[error("request failed")]
    Failed,
}

/// The host's HTTP client. The core builds every request and checks every answer; the host
/// only moves bytes (reqwest on the desktop, `fetch` in a page).
///
/// Used as a generic parameter, not `dyn`: a browser's futures are not `Send`, and none is
/// asked for.
#[allow(async_fn_in_trait)] // deliberate: no `Send` bound, so a browser host can implement it
pub trait Transport {
    /// Sends `request` once, following no redirect, and returns the answer.
    ///
    /// # Errors
    /// [`TransportError`] when no complete answer came.
    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// What one checked exchange gave: the answer, or where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExchangeError {
    /// The URL is not https (plain http only on loopback): its origin. Nothing was sent.
    Insecure(String),
    /// The answer was a redirect (its status) or came from another URL.
    Redirected(u16),
    /// The transport failed (`at`: the URL asked, to show), or the body was too long.
    Transport {
        at: Option<url::Url>,
        reason: String,
    },
}

/// Sends `request` through `transport` with the core's rules: https (or loopback http) only,
/// no redirect, at most `max_response_bytes` of body. Returns the answer and the URL asked.
pub(crate) async fn checked_exchange<T: Transport>(
    transport: &T,
    request: HttpRequest,
) -> Result<(HttpResponse, url::Url), ExchangeError> {
    let asked = url::Url::parse(&request.url).map_err(|_| ExchangeError::Transport {
        at: None,
        reason: TransportError::Failed.to_string(),
    })?;
    check_url(&request.url).map_err(ExchangeError::Insecure)?;
    let limit = request.max_response_bytes;
    let expect = request.expect;
    let response = transport
        .exchange(request)
        .await
        .map_err(|e| ExchangeError::Transport {
            at: Some(asked.clone()),
            reason: e.to_string(),
        })?;
    let answered_elsewhere = response
        .url
        .as_deref()
        .is_some_and(|u| url::Url::parse(u).ok().as_ref() != Some(&asked));
    if (300..400).contains(&response.status) || answered_elsewhere {
        return Err(ExchangeError::Redirected(response.status));
    }
    if response.body.len() > limit {
        return Err(ExchangeError::Transport {
            at: Some(asked),
            reason: TransportError::TooLarge { limit }.to_string(),
        });
    }
    if (200..300).contains(&response.status) && !response.body.is_empty() {
        let reason = match response.header("content-type") {
            None => Some(format!(
                "answer has no content type (expected {})",
                expect.name()
            )),
            Some(t) if !expect.accepts(t) => Some(format!("answer is not {}", expect.name())),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            return Err(ExchangeError::Transport {
                at: Some(asked),
                reason,
            });
        }
    }
    Ok((response, asked))
}

/// Whether `url` may be contacted: `https://`, or `http://` on a loopback host.
///
/// # Errors
/// The URL's origin (`scheme://host[:port]`, or `(not a url)`), for the caller's error.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| "(not a url)".to_owned())?;
    let origin = origin(&parsed);
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        _ => Err(origin),
    }
}

/// Whether a parsed URL's host is loopback: `127.0.0.0/8`, `::1`, or the name `localhost`.
pub fn is_loopback(url: &url::Url) -> bool {
    // The URL parser has already normalised IPv4 forms (`127.1`) and bracketed IPv6.
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

pub(crate) fn origin(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::answer::Answer;
    use crate::present::{PresentationError, ResponseMode};
    use crate::receive::ReceiveError;
    use std::cell::RefCell;

    /// Replays one recorded answer and keeps the requests it was given: only for answers a
    /// real issuer or verifier does not give (a redirect, an oversized body, another URL).
    struct Replay {
        answer: HttpResponse,
        asked: RefCell<Vec<HttpRequest>>,
    }

    impl Replay {
        fn new(status: u16, body: Vec<u8>, url: Option<&str>) -> Replay {
            Replay {
                answer: HttpResponse {
                    status,
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body,
                    url: url.map(str::to_owned),
                },
                asked: RefCell::new(Vec::new()),
            }
        }
    }

    impl Replay {
        /// The answer with these headers instead of JSON's.
        fn with_headers(mut self, headers: &[(&str, &str)]) -> Replay {
            self.answer.headers = headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            self
        }
    }

    impl Transport for Replay {
        async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.asked.borrow_mut().push(request);
            Ok(self.answer.clone())
        }
    }

    /// Runs a future that does not wait (the replayed transport answers at once).
    fn run<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the replayed exchange does not wait"),
        }
    }

    const OFFER_URL: &str = "https://bureau.example/offers/1";

    #[test]
    fn a_3xx_answer_is_refused_as_a_redirect() {
        let replay = Replay::new(302, Vec::new(), Some(OFFER_URL));
        let err = run(crate::resolve_offer(&replay, OFFER_URL)).unwrap_err();
        assert_eq!(
            err,
            ReceiveError::Redirected {
                endpoint: "credential_offer_uri".into(),
                status: 302
            }
        );
        assert_eq!(replay.asked.borrow().len(), 1);
    }

    #[test]
    fn an_answer_from_another_url_is_refused_as_a_redirect() {
        let replay = Replay::new(200, b"{}".to_vec(), Some("https://elsewhere.example/x"));
        let err = run(crate::resolve_offer(&replay, OFFER_URL)).unwrap_err();
        assert_eq!(
            err,
            ReceiveError::Redirected {
                endpoint: "credential_offer_uri".into(),
                status: 200
            }
        );
    }

    #[test]
    fn an_answer_over_the_size_limit_is_refused() {
        let replay = Replay::new(200, vec![b' '; MAX_BODY + 1], None);
        let err = run(crate::resolve_offer(&replay, OFFER_URL)).unwrap_err();
        assert_eq!(
            err,
            ReceiveError::Http {
                endpoint: "credential_offer_uri".into(),
                url: Some("https://bureau.example".into()),
                reason: format!("answer is larger than {MAX_BODY} bytes"),
            }
        );
        assert_eq!(replay.asked.borrow()[0].max_response_bytes, MAX_BODY);
    }

    #[test]
    fn plain_http_off_loopback_is_refused_before_anything_is_sent() {
        let replay = Replay::new(200, b"{}".to_vec(), None);
        let answer = Answer {
            vp_token: serde_json::json!({"q": ["x~"]}),
            state: None,
            response_mode: ResponseMode::DirectPost {
                response_uri: "http://hotel.example/answer".into(),
            },
            copies_used: Vec::new(),
            reused: Vec::new(),
        };
        let err = run(crate::send(&replay, &answer)).unwrap_err();
        assert_eq!(
            err,
            PresentationError::InsecureUrl {
                endpoint: "response_uri",
                origin: "http://hotel.example".into()
            }
        );
        assert!(replay.asked.borrow().is_empty());
    }

    #[test]
    fn a_redirected_direct_post_is_refused_and_sent_once() {
        let replay = Replay::new(307, Vec::new(), None);
        let answer = Answer {
            vp_token: serde_json::json!({"q": ["x~"]}),
            state: Some("s1".into()),
            response_mode: ResponseMode::DirectPost {
                response_uri: "https://hotel.example/answer".into(),
            },
            copies_used: Vec::new(),
            reused: Vec::new(),
        };
        let err = run(crate::send(&replay, &answer)).unwrap_err();
        assert_eq!(
            err,
            PresentationError::Redirected {
                endpoint: "response_uri",
                status: 307
            }
        );
        let asked = replay.asked.borrow();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].method, Method::Post);
        assert!(!format!("{:?}", asked[0]).contains("vp_token"));
    }

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://bureau.example/offers/1",
            "http://127.0.0.1:8080/x",
            "http://127.8.9.10/",
            "http://[::1]:9/",
            "http://localhost:3000/",
            "http://LOCALHOST/",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, origin) in [
            (
                "http://bureau.example/offers/1?code=1",
                "http://bureau.example",
            ),
            ("http://10.0.0.1:8080/token", "http://10.0.0.1:8080"),
            ("http://[2001:db8::1]/", "http://[2001:db8::1]"),
            (
                "http://localhost.evil.example/",
                "http://localhost.evil.example",
            ),
            ("http://127.0.0.1.nip.io/", "http://127.0.0.1.nip.io"),
            ("ftp://bureau.example/", "ftp://bureau.example"),
            ("bureau.example", "(not a url)"),
        ] {
            assert_eq!(check_url(bad), Err(origin.to_owned()), "{bad}");
        }
    }

    /// The offer endpoint's refusal of a `200 {}` answered with `headers`.
    fn offer_answered_with(headers: &[(&str, &str)]) -> ReceiveError {
        let replay = Replay::new(200, b"{}".to_vec(), None).with_headers(headers);
        run(crate::resolve_offer(&replay, OFFER_URL)).unwrap_err()
    }

    fn offer_http_error(reason: &str) -> ReceiveError {
        ReceiveError::Http {
            endpoint: "credential_offer_uri".into(),
            url: Some("https://bureau.example".into()),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_json_endpoint_answering_another_content_type_is_refused() {
        assert_eq!(
            offer_answered_with(&[("content-type", "text/html; charset=utf-8")]),
            offer_http_error("answer is not json")
        );
    }

    #[test]
    fn a_successful_answer_without_a_content_type_is_refused() {
        assert_eq!(
            offer_answered_with(&[]),
            offer_http_error("answer has no content type (expected json)")
        );
    }

    #[test]
    fn a_request_uri_answering_json_or_text_instead_of_a_jwt_is_refused() {
        let replay = Replay::new(200, b"{\"client_id\":\"x\"}".to_vec(), None);
        let uri = "openid4vp://?client_id=x509_san_dns%3Ahotel.example&request_uri=https%3A%2F%2Fhotel.example%2Fr%2F1";
        let err = run(crate::resolve_request(&replay, uri)).unwrap_err();
        assert_eq!(err, PresentationError::UnsignedRequestObject);
        // A compact JWS served as JSON is refused as unsigned too: its type says it is not one.
        let replay = Replay::new(200, b"eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_vec(), None);
        let err = run(crate::resolve_request(&replay, uri)).unwrap_err();
        assert_eq!(err, PresentationError::UnsignedRequestObject);
        let replay = Replay::new(200, b"eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_vec(), None)
            .with_headers(&[("content-type", "text/plain")]);
        let err = run(crate::resolve_request(&replay, uri)).unwrap_err();
        assert_eq!(
            err,
            PresentationError::Http {
                endpoint: "request_uri".into(),
                reason: "answer is not a jwt".into(),
            }
        );
    }

    #[test]
    fn content_types_match_by_essence_ignoring_case_and_parameters() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/jwk-set+json",
        ] {
            assert!(Expect::Json.accepts(ok), "{ok}");
        }
        for bad in ["text/json", "application/jsonp", "application/jwt", ""] {
            assert!(!Expect::Json.accepts(bad), "{bad}");
        }
        for ok in [
            "application/oauth-authz-req+jwt",
            "application/jwt; charset=ascii",
        ] {
            assert!(Expect::Jwt.accepts(ok), "{ok}");
        }
        for bad in ["application/json", "text/plain"] {
            assert!(!Expect::Jwt.accepts(bad), "{bad}");
        }
    }
}
