//! The routes, who may see what, and the error bodies.

use super::config::ShowDetails;
use super::engine::Site;
use super::health_json::{self, CheckStatus};
use super::{events, metrics, page};
use actix_web::body::BoxBody;
use actix_web::dev::{Service as _, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The media type of `/health` and the probes.
pub const HEALTH_JSON: &str = "application/health+json";

type Data = web::Data<Site>;

/// The application one worker serves.
pub(crate) fn app(
    site: Arc<Site>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let counters = site.counters.clone();
    let data = web::Data::from(site);
    App::new()
        .app_data(data)
        .wrap_fn(move |req, srv| {
            counters.requests.fetch_add(1, Ordering::Relaxed);
            srv.call(req)
        })
        .service(get("/", page::index))
        .service(get("/assets/app.js", page::script))
        .service(get("/assets/style.css", page::style))
        .service(get("/health", health))
        .service(get("/health/live", live))
        .service(get("/health/ready", ready))
        .service(get("/health/{group}", group))
        .service(get("/metrics", prometheus_text))
        .service(get("/services", services))
        .service(get("/services/events", events::stream))
        .service(get("/services/{name}", service))
        .default_service(web::to(not_found))
}

/// A resource answering GET and HEAD, and 405 to any other method.
fn get<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(method_not_allowed))
}

/// A small JSON error body: `{"error": "not_found", "message": "…"}`.
pub(crate) fn error(code: StatusCode, message: impl Into<String>) -> HttpResponse {
    let kind = code
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace(' ', "_");
    HttpResponse::build(code)
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .json(json!({ "error": kind, "message": message.into() }))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.path()),
    )
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not allowed on {}; use GET", req.method(), req.path()),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    response
}

/// Why a caller may not see details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Details are never shown.
    Never,
    /// No token, or the wrong one.
    Unauthorized,
}

impl Refusal {
    pub(crate) fn response(self) -> HttpResponse {
        match self {
            Refusal::Never => error(
                StatusCode::FORBIDDEN,
                "details are not shown by this endpoint (show_details = never)",
            ),
            Refusal::Unauthorized => {
                let mut response = error(
                    StatusCode::UNAUTHORIZED,
                    "details need a bearer token: send `Authorization: Bearer <token>`",
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"servitor\""),
                );
                response
            }
        }
    }
}

/// Whether the caller may see details.
pub(crate) fn access(req: &HttpRequest, site: &Site) -> Result<(), Refusal> {
    match site.config.show_details {
        ShowDetails::Always => Ok(()),
        ShowDetails::Never => Err(Refusal::Never),
        ShowDetails::WhenAuthorized => {
            let expected = site.config.token.as_ref().map(|t| t.expose().as_bytes());
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, token) = v.trim().split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                });
            match (expected, given) {
                (Some(expected), Some(given)) if same(expected, given.as_bytes()) => Ok(()),
                _ => Err(Refusal::Unauthorized),
            }
        }
    }
}

/// Compares in time that depends on the lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn health_response(status: CheckStatus, body: Value) -> HttpResponse {
    let code = StatusCode::from_u16(status.http_code()).unwrap_or(StatusCode::OK);
    HttpResponse::build(code)
        .content_type(HEALTH_JSON)
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .body(body.to_string())
}

async fn health(req: HttpRequest, site: Data) -> HttpResponse {
    let snapshot = site.registry.snapshot();
    let detailed = access(&req, &site).is_ok();
    let all: Vec<_> = snapshot.services.iter().collect();
    let description = format!("health of the supervision tree `{}`", site.root);
    let (status, body) = health_json::document(
        &all,
        &site.root,
        &description,
        crate::registry::now_ms(),
        detailed,
        &[],
    );
    health_response(status, body)
}

async fn group(req: HttpRequest, site: Data, name: web::Path<String>) -> HttpResponse {
    let Some(members) = site.config.groups.get(name.as_str()) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no health group `{name}` (groups: live, ready{})", {
                let names: Vec<&str> = site.config.groups.keys().map(String::as_str).collect();
                if names.is_empty() {
                    String::new()
                } else {
                    format!(", {}", names.join(", "))
                }
            }),
        );
    };
    let snapshot = site.registry.snapshot();
    let reports = health_json::members(&snapshot, members);
    let missing: Vec<String> = members
        .iter()
        .filter(|m| snapshot.get(m).is_none())
        .cloned()
        .collect();
    let detailed = access(&req, &site).is_ok();
    let description = format!("health group `{name}`");
    let (status, body) = health_json::document(
        &reports,
        &site.root,
        &description,
        crate::registry::now_ms(),
        detailed,
        &missing,
    );
    health_response(status, body)
}

/// A probe's answer: pass with 200, or fail with 503 (and why, to a caller
/// who may see details).
fn probe(req: &HttpRequest, site: &Site, verdict: Result<(), String>) -> HttpResponse {
    match verdict {
        Ok(()) => health_response(CheckStatus::Pass, json!({ "status": "pass" })),
        Err(why) => {
            let body = if access(req, site).is_ok() {
                json!({ "status": "fail", "output": why })
            } else {
                json!({ "status": "fail" })
            };
            health_response(CheckStatus::Fail, body)
        }
    }
}

async fn live(req: HttpRequest, site: Data) -> HttpResponse {
    let snapshot = site.registry.snapshot();
    probe(&req, &site, health_json::liveness(&snapshot, &site.root))
}

async fn ready(req: HttpRequest, site: Data) -> HttpResponse {
    let snapshot = site.registry.snapshot();
    let not_ready = health_json::readiness(&snapshot, &site.config.required);
    let verdict = if not_ready.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = not_ready
            .iter()
            .map(|(name, status)| match status {
                Some(s) => format!("{name} ({s})"),
                None => format!("{name} (not registered)"),
            })
            .collect();
        Err(format!("not ready: {}", list.join(", ")))
    };
    probe(&req, &site, verdict)
}

async fn prometheus_text(req: HttpRequest, site: Data) -> HttpResponse {
    if let Err(refusal) = access(&req, &site) {
        return refusal.response();
    }
    let snapshot = site.registry.snapshot();
    match metrics::render(&snapshot, site.app_metrics.as_ref()) {
        Ok(text) => HttpResponse::Ok()
            .content_type(prometheus::TEXT_FORMAT)
            .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
            .body(text),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("metrics could not be encoded: {e}"),
        ),
    }
}

fn json_response(value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .json(value)
}

async fn services(req: HttpRequest, site: Data) -> HttpResponse {
    if let Err(refusal) = access(&req, &site) {
        return refusal.response();
    }
    let local = req.query_string().split('&').any(|kv| kv == "scope=local");
    match &site.fleet {
        Some(fleet) if !local => json_response(&fleet.fleet_snapshot()),
        _ => json_response(&site.registry.snapshot()),
    }
}

async fn service(req: HttpRequest, site: Data, name: web::Path<String>) -> HttpResponse {
    if let Err(refusal) = access(&req, &site) {
        return refusal.response();
    }
    match site.registry.get(&name) {
        Some(report) => json_response(&report),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no service named `{name}` is registered"),
        ),
    }
}
