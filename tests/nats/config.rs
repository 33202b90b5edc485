//! The bridge as a built-in type of configuration files.

use super::support::{nats_url, unique};
use servitor::bus::EventBus;
use servitor::config::{Environment, Format, ServiceTypes};
use servitor::nats::{Bridge, Delivery};
use servitor::Runtime;

fn types() -> ServiceTypes {
    ServiceTypes::new()
        .builtins()
        .environment(Environment::empty())
}

#[actix_rt::test]
async fn a_file_declares_a_bridge_that_joins_its_bus() {
    let app = unique("file");
    let url = nats_url("a_file_declares_a_bridge_that_joins_its_bus").await;
    let server = url
        .clone()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let text = format!(
        r#"
        [supervisor]
        name = "app"

        [[child]]
        type = "bus"
        name = "events"

        [[child]]
        type = "nats"
        name = "nats"
        config = {{ bus = "events", url = "{server}", app = "{app}", subject_prefix = "{app}", routes = [{{ pattern = "orders.>" }}, {{ pattern = "pay.>", delivery = "jetstream" }}] }}
        "#
    );
    let file = types().tree_from_str(&text, Format::Toml).unwrap();
    let bridge: Bridge<serde_json::Value> = file.handle("nats").unwrap();
    let _bus: EventBus<serde_json::Value> = file.handle("events").unwrap();
    assert_eq!(bridge.config().app, app);
    assert_eq!(bridge.config().routes[1].delivery, Delivery::JetStream);
    let shown = file.config().to_string();
    assert!(
        shown.contains("events") && !shown.contains(&server),
        "the URL is redacted: {shown}"
    );
    if url.is_none() {
        return;
    }
    let rt = Runtime::start(file.build().unwrap()).await.unwrap();
    bridge.ready().await.unwrap();
    rt.shutdown().await.unwrap();
    // The shared server keeps streams: remove this test's.
    let client = async_nats::connect(server.as_str()).await.unwrap();
    let _ = async_nats::jetstream::new(client)
        .delete_stream(bridge.config().stream_name())
        .await;
}

#[test]
fn a_bridge_whose_bus_is_not_in_the_file_is_refused_naming_the_field() {
    let err = types()
        .tree_from_str(
            r#"
            [supervisor]
            name = "app"

            [[child]]
            type = "nats"
            name = "nats"
            config = { bus = "missing" }
            "#,
            Format::Toml,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("app.nats.config.bus") || err.contains("bus"),
        "{err}"
    );
    assert!(err.contains("missing"), "{err}");
}
