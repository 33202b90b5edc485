//! [`Http`], the handle of an endpoint service, and [`HttpBuilder`].

use super::config::HttpConfig;
use super::engine::HttpEngine;
use crate::kit::{self, ConfigError, Shared};
use crate::supervisor::ChildSpec;
use std::net::SocketAddr;

/// What an endpoint handle cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The service is gone for good.
    #[error("service `{service}` is stopped")]
    Stopped {
        /// The service's name.
        service: String,
    },
    /// The service has not started yet, so it listens nowhere.
    #[error("service `{service}` is not listening yet")]
    NotListening {
        /// The service's name.
        service: String,
    },
}

impl From<kit::Stopped> for HttpError {
    fn from(e: kit::Stopped) -> Self {
        HttpError::Stopped { service: e.service }
    }
}

/// A handle to an operations endpoint: where it listens. Cheap to clone,
/// valid across restarts of the service (which keep the port).
///
/// ```
/// # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use servitor::http::{Http, HttpConfig};
/// use servitor::{Runtime, Supervisor};
///
/// let (spec, ops) = Http::service("ops", HttpConfig::bind("127.0.0.1:0".parse()?))?;
/// let app = Runtime::start(Supervisor::builder("app").child(spec).build()?).await?;
/// let addr = ops.local_addr()?;
/// assert!(addr.ip().is_loopback() && addr.port() != 0);
/// assert_eq!(ops.url()?, format!("http://{addr}"));
/// app.shutdown().await?;
/// assert!(ops.local_addr().is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Http {
    shared: Shared<HttpEngine>,
}

impl Http {
    /// An endpoint service named `name` with `config`: the child spec to put
    /// in the tree (first among the root's children, so it is stopped last
    /// and answers while the rest shut down), and the handle.
    pub fn service(
        name: impl Into<String>,
        config: HttpConfig,
    ) -> Result<(ChildSpec, Http), ConfigError> {
        Self::builder(name).config(config).build()
    }

    /// A builder, to serve an application's own Prometheus registry or a
    /// fleet source too.
    pub fn builder(name: impl Into<String>) -> HttpBuilder {
        HttpBuilder {
            name: name.into(),
            config: HttpConfig::default(),
            app_metrics: None,
            fleet: None,
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.shared.config
    }

    /// The address the endpoint listens on (with port 0 configured, the
    /// port it was given).
    pub fn local_addr(&self) -> Result<SocketAddr, HttpError> {
        let engine = self.shared.check()?;
        engine.local_addr().ok_or_else(|| HttpError::NotListening {
            service: self.shared.name().to_string(),
        })
    }

    /// `http://ADDRESS`, the base of every route.
    pub fn url(&self) -> Result<String, HttpError> {
        Ok(format!("http://{}", self.local_addr()?))
    }

    /// Whether the service is supervised and started.
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// Whether the service is gone for good.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Resolves once the service is gone for good.
    pub async fn stopped(&self) {
        self.shared.stopped().await
    }
}

/// Makes an endpoint service: [`Http::builder`].
///
/// ```
/// use servitor::http::{Http, HttpConfig};
///
/// use servitor::http::prometheus;
///
/// let mine = prometheus::Registry::new();
/// let (_spec, ops) = Http::builder("ops")
///     .config(HttpConfig::default())
///     .metrics_registry(mine)
///     .build()
///     .unwrap();
/// assert_eq!(ops.name(), "ops");
/// ```
pub struct HttpBuilder {
    name: String,
    config: HttpConfig,
    app_metrics: Option<prometheus::Registry>,
    fleet: Option<std::sync::Arc<dyn super::FleetSource>>,
}

impl std::fmt::Debug for HttpBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("fleet", &self.fleet.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpBuilder {
    /// The configuration (default [`HttpConfig::default`]).
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// An application's own registry: `/metrics` serves its metrics after
    /// servitor's. Their names must not clash with servitor's (`servitor_`).
    pub fn metrics_registry(mut self, registry: prometheus::Registry) -> Self {
        self.app_metrics = Some(registry);
        self
    }

    /// A fleet source: `/services` serves the health of every process it
    /// knows, `/services?scope=local` this runtime's (see
    /// [`fleet`](super::fleet)).
    pub fn fleet(mut self, source: impl super::FleetSource) -> Self {
        self.fleet = Some(std::sync::Arc::new(source));
        self
    }

    /// Checks the configuration and makes the spec and the handle.
    pub fn build(self) -> Result<(ChildSpec, Http), ConfigError> {
        let HttpBuilder {
            name,
            config,
            app_metrics,
            fleet,
        } = self;
        let (spec, shared) = kit::service(name, |name| {
            config.validate(name)?;
            Ok(HttpEngine::new(config, app_metrics, fleet))
        })?;
        Ok((spec, Http { shared }))
    }
}
