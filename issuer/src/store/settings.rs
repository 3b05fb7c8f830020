//! The storage layer's settings that the configuration carries: the PostgreSQL URL (the TLS
//! settings are [`super::DatabaseTls`]). The configuration imports them; storage never imports
//! the configuration.

/// What a `database_url` must be, as the configuration error says it.
pub const DATABASE_URL_EXPECTED: &str = "a postgres:// URL (leave it unset for SQLite)";

/// A `database_url` that is not a `postgres://` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting database_url: {DATABASE_URL_EXPECTED}")]
pub struct InvalidDatabaseUrl;

/// A `postgres://` URL. Its `Debug` and `Display` hide the password, so it can be logged.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct DatabaseUrl(String);

impl TryFrom<String> for DatabaseUrl {
    type Error = InvalidDatabaseUrl;

    fn try_from(text: String) -> Result<DatabaseUrl, InvalidDatabaseUrl> {
        DatabaseUrl::parse(&text)
    }
}

impl DatabaseUrl {
    /// Accepts `postgres://...` and `postgresql://...`.
    ///
    /// # Errors
    /// [`InvalidDatabaseUrl`] for anything else.
    pub fn parse(text: &str) -> Result<DatabaseUrl, InvalidDatabaseUrl> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(DatabaseUrl(text.to_owned()))
        } else {
            Err(InvalidDatabaseUrl)
        }
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return "***".into();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let tail = redact_query_secrets(tail);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}{tail}")
            }
            None => format!("{scheme}://{authority}{tail}"),
        }
    }
}

/// `path?query` with the value of every `password` or `sslpassword` query parameter (libpq
/// accepts both there) replaced by `***`.
fn redact_query_secrets(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if matches!(key, "password" | "sslpassword") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}
