//! Reading the fleet from NATS: a minimal, blocking NATS subscriber (the
//! text protocol over a plain TCP socket — no TLS, no tokio) that listens
//! on `servitor.health.>` and feeds a [`Fleet`].
//!
//! The protocol it speaks: read the server's `INFO`, send `CONNECT` (with
//! the user and password or token from the URL) and `SUB`, answer `PING`
//! with `PONG`, and take `MSG` / `HMSG` frames (headers are skipped).

use crate::client::FetchError;
use servitor_health::fleet::{fleet_subject, Fleet, FleetConfig, HealthMessage};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A subscription to the health subjects of one application (or all).
pub struct Listener {
    url: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// `nats://[user:password@|token@]host[:port]` → (address, credentials).
fn parse(url: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let rest = url
        .strip_prefix("nats://")
        .or_else(|| url.strip_prefix("tcp://"))
        .unwrap_or(url);
    if url.starts_with("tls://") {
        return Err("TLS is not supported by servitorctl's NATS reader".into());
    }
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let host = host.trim_end_matches('/');
    if host.is_empty() {
        return Err("no host".into());
    }
    let address = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:4222")
    };
    let (user, pass) = match auth {
        Some(a) => match a.split_once(':') {
            Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
            None => (Some(a.to_string()), None), // a token
        },
        None => (None, None),
    };
    Ok((address, user, pass))
}

/// The URL as shown: credentials removed.
pub fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://[redacted]@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl Listener {
    /// Connects and subscribes to the fleet of `app` (every app if `None`).
    pub fn connect(
        url: &str,
        app: Option<&str>,
        timeout: Duration,
    ) -> Result<Listener, FetchError> {
        let unreachable = |why: String| FetchError::Unreachable {
            url: shown(url),
            why,
        };
        let (address, user, pass) = parse(url).map_err(&unreachable)?;
        let addr = address
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?
            .next()
            .ok_or_else(|| unreachable("no address".into()))?;
        let stream =
            TcpStream::connect_timeout(&addr, timeout).map_err(|e| unreachable(e.to_string()))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| unreachable(e.to_string()))?;
        let writer = stream.try_clone().map_err(|e| unreachable(e.to_string()))?;
        let mut listener = Listener {
            url: shown(url),
            reader: BufReader::new(stream),
            writer,
        };
        let info = listener.line()?;
        if !info.starts_with("INFO ") {
            return Err(listener.bad(format!("expected INFO, got `{}`", info.trim())));
        }
        let mut connect = serde_json::json!({
            "verbose": false, "pedantic": false, "headers": true,
            "name": "servitorctl", "lang": "rust", "protocol": 1,
        });
        match (user, pass) {
            (Some(u), Some(p)) => {
                connect["user"] = u.into();
                connect["pass"] = p.into();
            }
            (Some(token), None) => connect["auth_token"] = token.into(),
            _ => {}
        }
        let subject = fleet_subject(app);
        listener.send(&format!("CONNECT {connect}\r\nSUB {subject} 1\r\nPING\r\n"))?;
        // The first PONG (or an -ERR) says whether the server took it.
        loop {
            let line = listener.line()?;
            if line.starts_with("PONG") {
                return Ok(listener);
            }
            if let Some(err) = line.strip_prefix("-ERR") {
                return Err(FetchError::Refused {
                    url: listener.url.clone(),
                    status: 0,
                    message: err.trim().trim_matches('\'').to_string(),
                });
            }
        }
    }

    fn bad(&self, why: String) -> FetchError {
        FetchError::BadAnswer {
            url: self.url.clone(),
            why,
        }
    }

    fn send(&mut self, text: &str) -> Result<(), FetchError> {
        self.writer
            .write_all(text.as_bytes())
            .map_err(|e| FetchError::Unreachable {
                url: self.url.clone(),
                why: e.to_string(),
            })
    }

    fn line(&mut self) -> Result<String, FetchError> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err(FetchError::Unreachable {
                url: self.url.clone(),
                why: "the server closed the connection".into(),
            }),
            Ok(_) => Ok(line),
            Err(e) => Err(FetchError::Unreachable {
                url: self.url.clone(),
                why: e.to_string(),
            }),
        }
    }

    /// The next health message, or `None` when nothing came before the
    /// read timeout (or `until` passed).
    pub fn next(&mut self, until: Instant) -> Result<Option<HealthMessage>, FetchError> {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let _ = self.reader.get_ref().set_read_timeout(Some(left));
            let line = match self.line() {
                Ok(l) => l,
                Err(FetchError::Unreachable { why, .. })
                    if why.contains("timed out")
                        || why.contains("would block")
                        || why.contains("temporarily unavailable") =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first().copied() {
                Some("PING") => self.send("PONG\r\n")?,
                Some("MSG") => {
                    let size: usize = words
                        .last()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| self.bad(format!("bad frame `{}`", line.trim())))?;
                    let body = self.body(size)?;
                    if let Ok(m) = serde_json::from_slice(&body) {
                        return Ok(Some(m));
                    }
                }
                Some("HMSG") => {
                    let n = words.len();
                    let parse = |i: usize| words.get(i).and_then(|w| w.parse::<usize>().ok());
                    let (Some(head), Some(total)) = (parse(n - 2), parse(n - 1)) else {
                        return Err(self.bad(format!("bad frame `{}`", line.trim())));
                    };
                    let body = self.body(total)?;
                    if let Ok(m) = serde_json::from_slice(&body[head.min(body.len())..]) {
                        return Ok(Some(m));
                    }
                }
                Some(other) if other.starts_with("-ERR") => {
                    return Err(self.bad(line.trim().to_string()))
                }
                _ => {}
            }
        }
    }

    fn body(&mut self, size: usize) -> Result<Vec<u8>, FetchError> {
        let mut body = vec![0; size + 2]; // and the CRLF
        self.reader
            .read_exact(&mut body)
            .map_err(|e| FetchError::Unreachable {
                url: self.url.clone(),
                why: e.to_string(),
            })?;
        body.truncate(size);
        Ok(body)
    }
}

/// Listens for `window` and returns the fleet heard from.
pub fn gather(
    listener: &mut Listener,
    fleet: &mut Fleet,
    window: Duration,
) -> Result<(), FetchError> {
    let until = Instant::now() + window;
    while let Some(message) = listener.next(until)? {
        fleet.apply(message, Instant::now());
    }
    Ok(())
}

/// A fleet with the default judgement (stale after 3 silent heartbeats).
pub fn new_fleet() -> Fleet {
    Fleet::new(FleetConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_credentials() {
        assert_eq!(
            parse("nats://127.0.0.1").unwrap(),
            ("127.0.0.1:4222".into(), None, None)
        );
        assert_eq!(
            parse("nats://ada:pw@h:5222").unwrap(),
            ("h:5222".into(), Some("ada".into()), Some("pw".into()))
        );
        assert_eq!(
            parse("t0k@h").unwrap(),
            ("h:4222".into(), Some("t0k".into()), None)
        );
        assert!(parse("tls://h").is_err());
        assert_eq!(shown("nats://ada:pw@h:5222"), "nats://[redacted]@h:5222");
    }
}
