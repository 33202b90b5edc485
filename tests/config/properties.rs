//! For any tree, the tree built from its configuration file (TOML or YAML,
//! durations as milliseconds or human strings) is the tree built in code:
//! the same outline, and once started the same `which_children` of every
//! supervisor.

use crate::common::{types, Ingest, IngestConfig};
use proptest::prelude::*;
use serde_json::{json, Value};
use servitor::config::{Format, FromConfig, Outline};
use servitor::kit::Backoff;
use servitor::supervisor::SupervisorConfig;
use servitor::{
    AutoShutdown, Placement, Restart, RuntimeConfig, Shutdown, Strategy as Policy,
    SupervisorBuilder, SupervisorSpec,
};
use servitor::{ChildSpec, Runtime, Supervisor};
use std::time::Duration;

#[derive(Debug, Clone)]
struct Options {
    restart: Restart,
    shutdown: Shutdown,
    start_timeout: Duration,
    significant: bool,
    placement: Placement,
}

#[derive(Debug, Clone)]
struct Sup {
    config: SupervisorConfig,
    options: Options,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Service(Options),
    Supervisor(Sup),
}

fn ms(max: u64) -> impl Strategy<Value = Duration> {
    (1..=max).prop_map(Duration::from_millis)
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        4 => Just(Placement::Inherit),
        1 => Just(Placement::Runtime),
        1 => Just(Placement::Pool),
        1 => Just(Placement::Named("io".into())),
        1 => Just(Placement::Dedicated),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![
            Just(Restart::Permanent),
            Just(Restart::Transient),
            Just(Restart::Temporary)
        ],
        prop_oneof![
            ms(600_000).prop_map(Shutdown::Timeout),
            Just(Shutdown::Kill),
            Just(Shutdown::Infinity)
        ],
        ms(600_000),
        any::<bool>(),
        placement(),
    )
        .prop_map(
            |(restart, shutdown, start_timeout, significant, placement)| Options {
                restart,
                shutdown,
                start_timeout,
                significant,
                placement,
            },
        )
}

fn backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        Just(Backoff::none()),
        (
            0..10_000u64,
            0..100_000u64,
            prop::sample::select(vec![1.0, 1.5, 2.0, 3.25]),
            prop::sample::select(vec![0.0, 0.1, 0.5, 1.0]),
        )
            .prop_map(|(initial, extra, factor, jitter)| {
                Backoff::exponential(
                    Duration::from_millis(initial),
                    Duration::from_millis(initial + extra),
                )
                .factor(factor)
                .jitter(jitter)
            }),
    ]
}

fn supervisor_config() -> impl Strategy<Value = SupervisorConfig> {
    (
        prop_oneof![
            Just(Policy::OneForOne),
            Just(Policy::OneForAll),
            Just(Policy::RestForOne)
        ],
        (1..=100u32, ms(86_400_000)),
        backoff(),
        ms(1_000_000),
        prop_oneof![
            Just(AutoShutdown::Never),
            Just(AutoShutdown::AnySignificant),
            Just(AutoShutdown::AllSignificant)
        ],
        ms(100_000),
        placement(),
    )
        .prop_map(
            |(strategy, (max_restarts, period), backoff, reset, auto, health, placement)| {
                let mut c = SupervisorConfig {
                    strategy,
                    backoff,
                    backoff_reset: reset,
                    auto_shutdown: auto,
                    health_interval: health,
                    placement,
                    ..SupervisorConfig::default()
                };
                c.intensity.max_restarts = max_restarts;
                c.intensity.period = period;
                c
            },
        )
}

fn node(depth: u32) -> BoxedStrategy<Node> {
    let service = options().prop_map(Node::Service);
    if depth == 0 {
        return service.boxed();
    }
    prop_oneof![
        3 => service,
        1 => sup(depth - 1).prop_map(Node::Supervisor),
    ]
    .boxed()
}

fn sup(depth: u32) -> BoxedStrategy<Sup> {
    (
        supervisor_config(),
        options(),
        prop::collection::vec(node(depth), 0..4),
    )
        .prop_map(|(config, options, children)| Sup {
            config,
            options,
            children,
        })
        .boxed()
}

/// Makes the generated tree valid: significant only where allowed.
fn settle(sup: &mut Sup) {
    let auto = sup.config.auto_shutdown;
    for child in &mut sup.children {
        let options = match child {
            Node::Service(o) => o,
            Node::Supervisor(s) => {
                settle(s);
                &mut s.options
            }
        };
        options.significant &= auto != AutoShutdown::Never && options.restart != Restart::Permanent;
    }
}

fn ingest_config() -> IngestConfig {
    IngestConfig {
        region: "eu".into(),
        batch: 100,
        password: None,
        label: None,
    }
}

/// The tree in code; children are named `n0`, `n1` … depth first.
fn in_code(name: &str, sup: &Sup, next: &mut usize) -> SupervisorBuilder {
    let mut b = Supervisor::builder(name).config(sup.config.clone());
    for child in &sup.children {
        let id = format!("n{next}");
        *next += 1;
        let (spec, o) = match child {
            Node::Service(o) => {
                let c = ingest_config();
                (
                    ChildSpec::service(id, move || Ingest::from_config(&c))
                        .placement(o.placement.clone()),
                    o,
                )
            }
            Node::Supervisor(s) => (ChildSpec::supervisor(in_code(&id, s, next)), &s.options),
        };
        let mut spec = spec
            .restart(o.restart)
            .shutdown(o.shutdown)
            .start_timeout(o.start_timeout);
        if o.significant {
            spec = spec.significant();
        }
        b = b.child(spec);
    }
    b
}

/// A duration as a file has it: milliseconds or a human string.
fn duration(d: Duration, human: bool) -> Value {
    if human {
        json!(humantime::format_duration(d).to_string())
    } else {
        json!(d.as_millis() as u64)
    }
}

fn placement_value(p: &Placement) -> Value {
    match p {
        Placement::Named(n) => json!({ "named": n }),
        other => serde_json::to_value(other).unwrap(),
    }
}

fn supervisor_keys(c: &SupervisorConfig, human: bool, out: &mut serde_json::Map<String, Value>) {
    out.insert("strategy".into(), json!(c.strategy));
    out.insert(
        "intensity".into(),
        json!({ "max_restarts": c.intensity.max_restarts, "period": duration(c.intensity.period, human) }),
    );
    out.insert(
        "backoff".into(),
        json!({
            "initial": duration(c.backoff.initial, human),
            "max": duration(c.backoff.max, !human),
            "factor": c.backoff.factor,
            "jitter": c.backoff.jitter,
        }),
    );
    out.insert("backoff_reset".into(), duration(c.backoff_reset, human));
    out.insert("auto_shutdown".into(), json!(c.auto_shutdown));
    out.insert(
        "health_interval".into(),
        duration(c.health_interval, !human),
    );
    out.insert("placement".into(), placement_value(&c.placement));
}

fn option_keys(o: &Options, human: bool, out: &mut serde_json::Map<String, Value>) {
    out.insert("restart".into(), json!(o.restart));
    out.insert(
        "shutdown".into(),
        match o.shutdown {
            Shutdown::Timeout(d) if human => duration(d, true),
            Shutdown::Timeout(d) => json!({ "timeout": duration(d, false) }),
            Shutdown::Kill => json!("kill"),
            Shutdown::Infinity => json!("infinity"),
        },
    );
    out.insert("start_timeout".into(), duration(o.start_timeout, human));
    out.insert("significant".into(), json!(o.significant));
}

/// The tree as a document, named as in code.
fn document_children(sup: &Sup, human: bool, next: &mut usize) -> Vec<Value> {
    let mut children = Vec::new();
    for child in &sup.children {
        let id = format!("n{next}");
        *next += 1;
        let mut table = serde_json::Map::new();
        table.insert("name".into(), json!(id));
        match child {
            Node::Service(o) => {
                table.insert("type".into(), json!("ingest"));
                option_keys(o, human, &mut table);
                table.insert("placement".into(), placement_value(&o.placement));
                table.insert("config".into(), json!({ "region": "eu" }));
            }
            Node::Supervisor(s) => {
                table.insert("type".into(), json!("supervisor"));
                supervisor_keys(&s.config, human, &mut table);
                option_keys(&s.options, human, &mut table);
                table.insert(
                    "child".into(),
                    Value::Array(document_children(s, human, next)),
                );
            }
        }
        children.push(Value::Object(table));
    }
    children
}

fn document(root: &Sup, human: bool) -> Value {
    let mut sup = serde_json::Map::new();
    sup.insert("name".into(), json!("root"));
    supervisor_keys(&root.config, human, &mut sup);
    json!({ "supervisor": sup, "child": document_children(root, human, &mut 0) })
}

/// YAML in block style.
fn yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml(v, indent + 2, out);
                    }
                    Value::Array(items) if !items.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml(v, indent, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {v}\n")),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut inner = String::new();
                yaml(item, indent + 2, &mut inner);
                out.push_str(&format!(
                    "{pad}- {}\n",
                    inner.trim_start().trim_end_matches('\n')
                ));
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

/// Every supervisor's children as `which_children` reports them, minus
/// the clock.
async fn which_children(app: &Runtime, spec: &SupervisorSpec) -> Vec<(String, Vec<String>)> {
    let mut names = vec![spec.name().to_string()];
    let mut out = Vec::new();
    while let Some(name) = names.pop() {
        let children = app
            .supervisor(&name)
            .unwrap()
            .which_children()
            .await
            .unwrap();
        let shown = children
            .iter()
            .map(|c| {
                if c.kind == servitor::NodeKind::Supervisor {
                    names.push(c.id.clone());
                }
                format!(
                    "{} {:?} {:?} {:?} restarts={} incarnation={} dynamic={}",
                    c.id, c.kind, c.state, c.restart, c.restarts, c.incarnation, c.dynamic
                )
            })
            .collect();
        out.push((name, shown));
    }
    out.sort();
    out
}

async fn run(spec: SupervisorSpec) -> Vec<(String, Vec<String>)> {
    let config = RuntimeConfig {
        handle_signals: false,
        ..RuntimeConfig::default()
    };
    let app = Runtime::start_with(spec.clone(), config).await.unwrap();
    let children = which_children(&app, &spec).await;
    app.shutdown().await.unwrap();
    children
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_tree_from_a_generated_file_is_the_tree_built_in_code(
        mut root in sup(2),
        yaml_file in any::<bool>(),
        human in any::<bool>(),
    ) {
        settle(&mut root);
        let code = in_code("root", &root, &mut 0).build().unwrap();
        let doc = document(&root, human);
        let (text, format) = if yaml_file {
            let mut text = String::new();
            yaml(&doc, 0, &mut text);
            (text, Format::Yaml)
        } else {
            (toml::to_string(&doc).unwrap(), Format::Toml)
        };
        let loaded = types()
            .tree_from_str(&text, format)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let file = loaded.build().unwrap();
        prop_assert_eq!(Outline::of(&file), Outline::of(&code), "{}", text);

        let (from_file, from_code) = actix_rt::System::new().block_on(async move {
            (run(file).await, run(code).await)
        });
        prop_assert_eq!(from_file, from_code);
    }
}
