//! The endpoint's engine: the listening socket, the actix-web server of the
//! running incarnation, and the counters its health reports.

use super::config::{HttpConfig, ShowDetails};
use super::routes;
use crate::exit::BoxError;
use crate::kit::{Engine, Health, Phase, Shared};
use crate::registry::Registry;
use crate::service::ServiceContext;
use actix_web::dev::ServerHandle;
use parking_lot::Mutex;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the endpoint counts, shared with its request handlers.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests answered (every route, every status).
    pub requests: AtomicU64,
    /// Event streams open now.
    pub event_streams: AtomicUsize,
}

/// What the request handlers of one incarnation read: the registry (never
/// a supervisor), the settings, and the signal that ends event streams.
pub(crate) struct Site {
    pub registry: Registry,
    /// The root supervisor's name.
    pub root: String,
    pub config: Arc<HttpConfig>,
    pub app_metrics: Option<prometheus::Registry>,
    /// Where `/services` reads many processes' health, if set.
    pub fleet: Option<Arc<dyn super::FleetSource>>,
    pub counters: Arc<Counters>,
    /// Cancelled when the incarnation stops: open event streams end.
    pub closing: CancellationToken,
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The state of an HTTP endpoint service, shared by its handle and every
/// incarnation of its actor.
pub struct HttpEngine {
    pub(crate) config: Arc<HttpConfig>,
    pub(crate) app_metrics: Option<prometheus::Registry>,
    pub(crate) fleet: Option<Arc<dyn super::FleetSource>>,
    /// The bound socket. It outlives a crashed incarnation, so a restart
    /// keeps the port (and the connections waiting in its backlog); it is
    /// closed when the service is stopped or gone.
    listener: Mutex<Option<TcpListener>>,
    local_addr: Mutex<Option<SocketAddr>>,
    server: Mutex<Option<ServerHandle>>,
    closing: Mutex<CancellationToken>,
    pub(crate) counters: Arc<Counters>,
}

impl HttpEngine {
    pub(crate) fn new(
        config: HttpConfig,
        app_metrics: Option<prometheus::Registry>,
        fleet: Option<Arc<dyn super::FleetSource>>,
    ) -> Self {
        HttpEngine {
            config: Arc::new(config),
            app_metrics,
            fleet,
            listener: Mutex::new(None),
            local_addr: Mutex::new(None),
            server: Mutex::new(None),
            closing: Mutex::new(CancellationToken::new()),
            counters: Arc::new(Counters::default()),
        }
    }

    /// The address the endpoint listens on, once it has started.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        *self.local_addr.lock()
    }

    /// Binds the socket unless it is bound already. With port 0, a socket
    /// bound before is bound to the same port again if it is still free.
    fn bind(&self) -> Result<TcpListener, BoxError> {
        let mut held = self.listener.lock();
        if let Some(listener) = held.as_ref() {
            return Ok(listener.try_clone()?);
        }
        let wanted = self.config.bind;
        let before = *self.local_addr.lock();
        let listener = match before.filter(|_| wanted.port() == 0) {
            Some(addr) => TcpListener::bind(addr).or_else(|_| TcpListener::bind(wanted)),
            None => TcpListener::bind(wanted),
        }
        .map_err(|e| format!("cannot listen on {wanted}: {e}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        *self.local_addr.lock() = Some(addr);
        let for_server = listener.try_clone()?;
        *held = Some(listener);
        Ok(for_server)
    }
}

impl std::fmt::Debug for HttpEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEngine")
            .field("config", &self.config)
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

impl Engine for HttpEngine {
    fn health_interval(&self) -> Duration {
        self.config.health_interval
    }

    fn health(&self) -> Health {
        let listening = self.local_addr().map(|a| a.to_string());
        Health::ok()
            .detail("listening", listening)
            .detail("requests", self.counters.requests.load(Ordering::Relaxed))
            .detail(
                "event_streams",
                self.counters.event_streams.load(Ordering::Relaxed),
            )
            .detail("show_details", self.config.show_details)
    }

    async fn start(shared: Shared<Self>, cx: ServiceContext) -> Result<(), BoxError> {
        // A crashed incarnation's server went with it; make sure of it.
        let stale = shared.server.lock().take();
        if let Some(stale) = stale {
            stale.stop(false).await;
        }
        shared.bind()?;
        let config = &shared.config;
        let addr = shared.local_addr().unwrap_or(config.bind);
        if !addr.ip().is_loopback() && config.show_details == ShowDetails::Always {
            tracing::warn!(service = %cx.name(), %addr, "the operations endpoint shows every detail to anyone who can reach it: set `show_details` to `when_authorized` with a token");
        }
        tracing::info!(service = %cx.name(), %addr, "operations endpoint listening");
        Ok(())
    }

    async fn run(shared: Shared<Self>, cx: ServiceContext) -> Result<(), BoxError> {
        let listener = shared.bind()?;
        let closing = CancellationToken::new();
        *shared.closing.lock() = closing.clone();
        let root = cx.path().split('/').next().unwrap_or(cx.path()).to_string();
        let site = Arc::new(Site {
            registry: cx.registry().clone(),
            root,
            config: shared.config.clone(),
            app_metrics: shared.app_metrics.clone(),
            fleet: shared.fleet.clone(),
            counters: shared.counters.clone(),
            closing,
        });
        let grace = shared.config.shutdown_timeout.as_secs_f64().ceil() as u64;
        let server = actix_web::HttpServer::new(move || routes::app(site.clone()))
            .workers(shared.config.workers)
            .disable_signals()
            .shutdown_timeout(grace)
            .listen(listener)?
            .run();
        *shared.server.lock() = Some(server.handle());
        // The server's own future runs as a task of the arbiter, not in the
        // actor's context: the context is paused while the stop hook drains,
        // and the server must go on polling to hear the stop. The task ends
        // with the incarnation however it ends (a crash drops this future).
        let task = actix_rt::spawn(server);
        let _abort = AbortOnDrop(task.abort_handle());
        task.await
            .map_err(|e| format!("the HTTP server failed: {e}"))??;
        if cx.is_running() {
            return Err("the HTTP server stopped by itself".into());
        }
        Ok(())
    }

    async fn drain(shared: Shared<Self>) {
        shared.closing.lock().cancel();
        let server = shared.server.lock().take();
        if let Some(server) = server {
            let bound = shared.config.shutdown_timeout;
            if tokio::time::timeout(bound, server.stop(true))
                .await
                .is_err()
            {
                server.stop(false).await;
            }
        }
    }

    fn phase_changed(&self, _from: Phase, to: Phase) {
        match to {
            // A stop by the supervisor drains the server next; a crashed
            // incarnation's server went with it. Either way the socket goes.
            Phase::Stopped => {
                self.listener.lock().take();
            }
            Phase::Closed => {
                self.closing.lock().cancel();
                if let Some(server) = self.server.lock().take() {
                    // The command is sent at once; the future only waits.
                    drop(server.stop(false));
                }
                self.listener.lock().take();
            }
            _ => {}
        }
    }
}
