//! `/`: the live page, its script and its style, embedded in the binary
//! (nothing is loaded from outside the machine).

use super::engine::Site;
use super::routes::error;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// Only this page's own files; nothing from elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(site: &Site, content_type: &str, body: &'static str) -> HttpResponse {
    if !site.config.page {
        return error(
            StatusCode::NOT_FOUND,
            "the live page is turned off (page = false)",
        );
    }
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoCache]))
        .body(body)
}

pub(crate) async fn index(site: web::Data<Site>) -> HttpResponse {
    asset(&site, "text/html; charset=utf-8", INDEX)
}

pub(crate) async fn script(site: web::Data<Site>) -> HttpResponse {
    asset(&site, "text/javascript; charset=utf-8", SCRIPT)
}

pub(crate) async fn style(site: web::Data<Site>) -> HttpResponse {
    asset(&site, "text/css; charset=utf-8", STYLE)
}
