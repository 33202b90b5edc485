//! Reading a servitor endpoint: `/services` (one snapshot) and
//! `/services/events` (Server-Sent Events), with a blocking HTTP client.

use serde::Deserialize;
use servitor_health::{HealthReport, HealthSnapshot, Status};
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// Why the endpoint could not be read. Each has its own exit code.
#[derive(Debug)]
pub enum FetchError {
    /// Nothing answered at the address (refused, unresolvable, timed out).
    Unreachable { url: String, why: String },
    /// The endpoint wants a token (401), or shows no details at all (403).
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    /// Something answered, but not with what a servitor endpoint says.
    BadAnswer { url: String, why: String },
}

impl FetchError {
    /// The process's exit code for this error (sysexits.h values).
    pub fn exit_code(&self) -> u8 {
        match self {
            FetchError::Unreachable { .. } => crate::EXIT_UNREACHABLE,
            FetchError::Refused { .. } => crate::EXIT_REFUSED,
            FetchError::BadAnswer { .. } => crate::EXIT_BAD_ANSWER,
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unreachable { url, why } if url.starts_with("nats:") => write!(
                f,
                "cannot reach NATS at {url} ({why}) (set it with --nats or SERVITOR_NATS)"
            ),
            FetchError::Unreachable { url, why } => write!(
                f,
                "cannot reach {url} ({why}): is the application running, with its endpoint on that address? (set it with --url or SERVITOR_URL)"
            ),
            FetchError::Refused { url, status: 401, message } => write!(
                f,
                "{url} wants a bearer token ({message}): pass it with --token or SERVITOR_TOKEN"
            ),
            FetchError::Refused { url, status, message } => {
                write!(f, "{url} refused with {status}: {message}")
            }
            FetchError::BadAnswer { url, why } => {
                write!(f, "{url} did not answer as a servitor endpoint: {why}")
            }
        }
    }
}

/// One status transition from `/services/events`.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusEvent {
    pub name: String,
    pub from: Option<Status>,
    pub status: Status,
    pub message: Option<String>,
    pub report: Option<HealthReport>,
}

/// What the event stream says.
#[derive(Debug)]
pub enum Event {
    Snapshot(HealthSnapshot),
    Status(Box<StatusEvent>),
}

pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
    stream_agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        // A stream is silent between events: only connecting is bounded.
        let stream_agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .build()
            .new_agent();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
            stream_agent,
        }
    }

    fn get(
        &self,
        agent: &ureq::Agent,
        path: &str,
        accept: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let url = format!("{}{path}", self.base);
        let mut request = agent.get(&url).header("Accept", accept);
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request.call().map_err(|e| FetchError::Unreachable {
            url: self.base.clone(),
            why: describe(&e),
        })?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            let message = response
                .body_mut()
                .read_to_string()
                .ok()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| "no reason given".into());
            return Err(FetchError::Refused {
                url,
                status,
                message,
            });
        }
        if status != 200 {
            return Err(FetchError::BadAnswer {
                url,
                why: format!("HTTP {status}"),
            });
        }
        Ok(response)
    }

    /// The registry's snapshot.
    pub fn snapshot(&self) -> Result<HealthSnapshot, FetchError> {
        let url = format!("{}/services", self.base);
        let mut response = self.get(&self.agent, "/services", "application/json")?;
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| FetchError::BadAnswer {
                url: url.clone(),
                why: e.to_string(),
            })?;
        serde_json::from_str(&body).map_err(|e| FetchError::BadAnswer {
            url,
            why: format!("not a health snapshot ({e})"),
        })
    }

    /// Follows the event stream, handing every event to `each` until it
    /// returns false or the stream ends.
    pub fn follow(&self, mut each: impl FnMut(Event) -> bool) -> Result<(), FetchError> {
        let url = format!("{}/services/events", self.base);
        let response = self.get(&self.stream_agent, "/services/events", "text/event-stream")?;
        let reader = BufReader::new(response.into_body().into_reader());
        let bad = |why: String| FetchError::BadAnswer {
            url: url.clone(),
            why,
        };
        let mut event = String::new();
        let mut data = String::new();
        for line in reader.lines() {
            let Ok(line) = line else { return Ok(()) };
            if line.is_empty() {
                if !data.is_empty() {
                    let parsed =
                        match event.as_str() {
                            "snapshot" => serde_json::from_str(&data)
                                .map(Event::Snapshot)
                                .map_err(|e| {
                                    bad(format!("a snapshot event that does not parse ({e})"))
                                })?,
                            "status" => serde_json::from_str(&data)
                                .map(|s| Event::Status(Box::new(s)))
                                .map_err(|e| {
                                    bad(format!("a status event that does not parse ({e})"))
                                })?,
                            _ => {
                                data.clear();
                                event.clear();
                                continue;
                            }
                        };
                    if !each(parsed) {
                        return Ok(());
                    }
                }
                data.clear();
                event.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = value.to_string(),
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A short reason for a transport error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::TimedOut => "timed out".into(),
            _ => io.to_string(),
        },
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    }
}
