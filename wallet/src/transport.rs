//! The desktop host's HTTP: a reqwest client that follows no redirect, as the core's
//! [`Transport`]. The rules every URL and answer must meet (https off loopback, no `3xx`, size
//! limits) are the core's ([`wallet_core::transport`]); this client only moves the bytes.
//!
//! A host that passes a client of its own that does follow redirects still gets the answer
//! reported as redirected, but the core cannot take back what that client re-sent: hosts pass
//! [`http_client`] or a client built with `reqwest::redirect::Policy::none()`.

pub use wallet_core::transport::{
    check_url, is_loopback, HttpRequest, HttpResponse, Method, Transport, TransportError, MAX_BODY,
};

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

/// A reqwest client as the core's transport.
#[derive(Debug, Clone, Copy)]
pub struct Reqwest<'a>(pub &'a reqwest::Client);

impl Transport for Reqwest<'_> {
    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.0.request(method, request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.to_vec());
        }
        let mut response = builder.send().await.map_err(|e| transport_error(&e))?;
        let status = response.status().as_u16();
        let url = Some(response.url().to_string());
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let limit = request.max_response_bytes;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(TransportError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            url,
        })
    }
}

/// What failed, without reqwest's message (which carries the URL, and an offer URL may carry
/// a code).
fn transport_error(e: &reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect
    } else if e.is_redirect() {
        TransportError::TooManyRedirects
    } else if e.is_body() || e.is_decode() {
        TransportError::Body
    } else {
        TransportError::Failed
    }
}
