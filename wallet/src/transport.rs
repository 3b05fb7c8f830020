//! What the wallet asks of every URL it contacts and of the HTTP client it is given.
//!
//! - **TLS off loopback.** Every URL the wallet contacts (the issuer, `credential_offer_uri`,
//!   the metadata, token, nonce and credential endpoints, `request_uri`, `response_uri`) must be
//!   `https://`; plain `http://` is accepted only for a loopback host (`127.0.0.0/8`, `::1`,
//!   `localhost`), where a test or a local bridge runs. A pre-authorized code, a `tx_code`, an
//!   access or refresh token or disclosed claims therefore never travel in clear.
//! - **No redirects.** [`http_client`] follows none. A `3xx` answer is an error (a redirected
//!   `direct_post` would post the disclosed claims to wherever the verifier points, and a
//!   redirected token request would re-send the pre-authorized code). When the host passes a
//!   client of its own that does follow redirects, the wallet still reports the answer as
//!   redirected, but cannot take back what that client re-sent: hosts pass [`http_client`] or a
//!   client built with `reqwest::redirect::Policy::none()`.
//!
//! The checks report the URL's origin (`scheme://host[:port]`), never its path or query, which
//! may carry an offer id or a code.

use std::net::IpAddr;

/// The timeout of [`http_client`] for one whole request.
pub const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The HTTP client the wallet expects: follows no redirect, times out after [`HTTP_TIMEOUT`].
///
/// # Errors
/// When the TLS backend cannot be set up.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
}

/// Whether `url` may be contacted: `https://`, or `http://` on a loopback host.
///
/// # Errors
/// The URL's origin (`scheme://host[:port]`, or `(not a url)`), for the caller's error.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| "(not a url)".to_owned())?;
    let origin = origin(&parsed);
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        _ => Err(origin),
    }
}

/// Whether a parsed URL's host is loopback: `127.0.0.0/8`, `::1`, or the name `localhost`.
pub fn is_loopback(url: &reqwest::Url) -> bool {
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

fn origin(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
