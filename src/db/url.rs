//! Database URLs as they may be shown: the password taken out, and every
//! form of it known so error texts can be scrubbed of it.

use crate::kit::REDACTED;
use sqlx_core::percent_encoding::percent_decode_str;

/// Query parameters whose value is a secret.
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// A URL split into what may be shown and what may not.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RedactedUrl {
    /// The URL with every password replaced by `[redacted]`.
    pub shown: String,
    /// Every secret in the URL, as written and percent-decoded.
    secrets: Vec<String>,
}

impl std::fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl RedactedUrl {
    pub fn new(url: &str) -> RedactedUrl {
        let mut secrets = Vec::new();
        let mut keep = |raw: &str| {
            if raw.is_empty() {
                return;
            }
            secrets.push(raw.to_string());
            if let Ok(decoded) = percent_decode_str(raw).decode_utf8() {
                if decoded != raw {
                    secrets.push(decoded.into_owned());
                }
            }
            let plus = raw.replace('+', " ");
            if plus != raw {
                secrets.push(plus);
            }
        };
        let (head, query) = match url.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (url, None),
        };
        let mut shown = String::with_capacity(url.len());
        match head.split_once("://") {
            Some((scheme, rest)) => {
                let authority_end = rest.find(['/', '#']).unwrap_or(rest.len());
                let (authority, path) = rest.split_at(authority_end);
                shown.push_str(scheme);
                shown.push_str("://");
                match authority.rsplit_once('@') {
                    Some((userinfo, host)) => {
                        match userinfo.split_once(':') {
                            Some((user, password)) => {
                                keep(password);
                                shown.push_str(user);
                                shown.push(':');
                                shown.push_str(REDACTED);
                            }
                            None => shown.push_str(userinfo),
                        }
                        shown.push('@');
                        shown.push_str(host);
                    }
                    None => shown.push_str(authority),
                }
                shown.push_str(path);
            }
            None => shown.push_str(head),
        }
        if let Some(query) = query {
            shown.push('?');
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    shown.push('&');
                }
                match pair.split_once('=') {
                    Some((key, value))
                        if SECRET_PARAMS.contains(&key.to_ascii_lowercase().as_str()) =>
                    {
                        keep(value);
                        shown.push_str(key);
                        shown.push('=');
                        shown.push_str(REDACTED);
                    }
                    _ => shown.push_str(pair),
                }
            }
        }
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        RedactedUrl { shown, secrets }
    }

    /// `text` with every secret of the URL replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// The query parameters' keys, decoded.
    pub fn param_keys(url: &str) -> Vec<String> {
        match url.split_once('?') {
            Some((_, query)) => sqlx_core::url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_taken_out_of_userinfo_and_parameters() {
        let u = RedactedUrl::new(
            "postgres://app:s%40cret@db:5432/orders?sslmode=require&password=two+2",
        );
        assert_eq!(
            u.shown,
            "postgres://app:[redacted]@db:5432/orders?sslmode=require&password=[redacted]"
        );
        assert_eq!(
            u.scrub("bad s@cret and s%40cret and two 2"),
            "bad [redacted] and [redacted] and [redacted]"
        );
        let plain = RedactedUrl::new("postgres://app@db/orders");
        assert_eq!(plain.shown, "postgres://app@db/orders");
        assert_eq!(plain.scrub("app"), "app");
        assert_eq!(RedactedUrl::new("sqlite::memory:").shown, "sqlite::memory:");
    }
}
