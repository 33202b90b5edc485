//! The live page in headless Chromium, driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`): it lists every service, and a crash
//! shows on it without a reload.

use crate::support::{client, eventually, free_port, tool, App, Reaper, TempDir, SERVICES};
use serde_json::{json, Value};
use servitor::http::HttpConfig;
use std::process::Stdio;
use std::time::Duration;

struct Browser {
    base: String,
    session: String,
    _driver: Reaper,
    _profile: TempDir,
}

impl Browser {
    async fn start(chromium: &std::path::Path, driver: &std::path::Path) -> Browser {
        let port = free_port();
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let driver_process = Reaper(child);
        let base = format!("http://127.0.0.1:{port}");
        eventually("chromedriver is ready", Duration::from_secs(30), || {
            let url = format!("{base}/status");
            async move {
                let body: Value = client().get(url).send().await.ok()?.json().await.ok()?;
                body["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        let profile = TempDir::new("chromium");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,760".into(),
            format!("--user-data-dir={}", profile.0.display()),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let created: Value = client()
            .post(format!("{base}/session"))
            .timeout(Duration::from_secs(60))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        Browser {
            base,
            session,
            _driver: driver_process,
            _profile: profile,
        }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let answer: Value = client()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    async fn script(&self, script: &str) -> Value {
        self.command("execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let url = format!("{}/session/{}/screenshot", self.base, self.session);
        let answer: Value = client()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(answer["value"].as_str().unwrap())
            .unwrap()
    }

    async fn close(self) {
        let _ = client()
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

/// `[name, status, restarts]` of every row on the page.
const ROWS: &str = "return Array.from(document.querySelectorAll('tr.service')).map(tr => [tr.dataset.service, tr.dataset.status, tr.dataset.restarts]);";

#[actix_rt::test]
async fn the_page_lists_every_service_and_shows_a_crash_without_reloading() {
    let Some(chromium) = tool("chromium", "chromium", "the live page test") else {
        return;
    };
    let Some(driver) = tool("chromedriver", "chromium-driver", "the live page test") else {
        return;
    };
    let app = App::start(HttpConfig::default()).await;
    let browser = Browser::start(&chromium, &driver).await;
    browser.open(&format!("{}/", app.url)).await;

    let rows = eventually(
        "the page lists every service",
        Duration::from_secs(30),
        || async {
            let rows = browser.script(ROWS).await;
            let rows = rows.as_array()?.clone();
            (rows.len() == SERVICES.len()).then_some(rows)
        },
    )
    .await;
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(names, SERVICES, "in tree order");
    assert!(
        rows.iter()
            .all(|r| (r[1] == "ok" || r[1] == "idle") && r[2] == "0"),
        "{rows:?}"
    );
    let overall = browser
        .script("return document.getElementById('overall').textContent")
        .await;
    assert_eq!(overall, "ok");
    let loaded = browser.script("return window.servitorPageLoadedAt").await;

    // Watch the worker's row from inside the page, then crash it.
    browser
        .script(
            "window.seen = []; new MutationObserver(() => { \
               const tr = document.querySelector('tr[data-service=\"worker\"]'); \
               if (tr) window.seen.push(tr.dataset.status); \
             }).observe(document.getElementById('services'), { childList: true, subtree: true, attributes: true }); \
             return true;",
        )
        .await;
    app.crash_worker().await;
    eventually(
        "the page shows the restart",
        Duration::from_secs(30),
        || async {
            let rows = browser.script(ROWS).await;
            rows.as_array()?
                .iter()
                .any(|r| r[0] == "worker" && r[2] == "1" && r[1] == "ok")
                .then_some(())
        },
    )
    .await;
    let seen = browser.script("return window.seen").await;
    assert!(
        seen.as_array().unwrap().iter().any(|s| s == "error"),
        "the crash itself showed: {seen}"
    );
    assert_eq!(
        browser.script("return window.servitorPageLoadedAt").await,
        loaded,
        "the page was not reloaded"
    );
    let message = browser
        .script(
            "return document.querySelector('tr[data-service=\"worker\"] td.message').textContent",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("injected crash"),
        "{message}"
    );
    if let Ok(path) = std::env::var("SERVITOR_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await).unwrap();
    }
    browser.close().await;
    app.shutdown().await;
}

#[actix_rt::test]
async fn the_page_embeds_its_assets_and_loads_nothing_from_elsewhere() {
    let app = App::start(HttpConfig::default()).await;
    let page = client().get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    for asset in ["/assets/app.js", "/assets/style.css"] {
        assert!(html.contains(asset));
        let response = client()
            .get(format!("{}{asset}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{asset} refers elsewhere"
        );
    }
    assert!(!html.contains("https://"), "no CDN");
    app.shutdown().await;
}
