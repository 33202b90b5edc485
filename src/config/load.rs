//! Reading a document into supervisors and child specs: the layout of a
//! file, every check, and the effective configuration to show.

use super::de::{from_node, struct_fields, Ctx};
use super::error::LoadError;
use super::types::{Handles, MakeError, ServiceTypes};
use super::value::{Location, Node, Path, Value};
use crate::kit::{ConfigError, REDACTED};
use crate::placement::Placement;
use crate::runtime::RuntimeConfig;
use crate::supervisor::{
    BuildError, ChildSpec, Restart, Shutdown, Supervisor, SupervisorBuilder, SupervisorConfig,
};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// The keys at the top of a file.
const TOP_KEYS: &[&str] = &["supervisor", "child", "children", "runtime"];
/// The keys that hold a supervisor's children (synonyms: `[[child]]` reads
/// well in TOML, `children:` in YAML).
const CHILD_LIST_KEYS: &[&str] = &["child", "children"];
/// The child-spec options of a nested supervisor.
pub(crate) const CHILD_OPTION_KEYS: &[&str] =
    &["restart", "shutdown", "start_timeout", "significant"];
/// The child-spec options of a service.
pub(crate) const SERVICE_OPTION_KEYS: &[&str] = &[
    "restart",
    "shutdown",
    "start_timeout",
    "significant",
    "placement",
];

/// The key holding `node`'s children, if it has one.
pub(crate) fn child_list_key(node: &Node) -> Option<&'static str> {
    CHILD_LIST_KEYS
        .iter()
        .copied()
        .find(|k| node.get(k).is_some())
}

/// A child's options as a file gives them; what is left out stays as the
/// factory made it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChildOptions {
    restart: Option<Restart>,
    #[serde(default, deserialize_with = "shutdown")]
    shutdown: Option<Shutdown>,
    #[serde(default, deserialize_with = "some_duration")]
    start_timeout: Option<Duration>,
    significant: Option<bool>,
    placement: Option<Placement>,
}

fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    crate::serde_duration::deserialize(d).map(Some)
}

/// `"kill"`, `"infinity"`, a duration (the timeout), or `{ timeout = … }`.
fn shutdown<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Shutdown>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Shutdown;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("\"kill\", \"infinity\" or a timeout such as \"5s\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Shutdown, E> {
            Ok(Shutdown::Timeout(Duration::from_millis(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Shutdown, E> {
            Err(E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Shutdown, E> {
            match v.trim() {
                "kill" => Ok(Shutdown::Kill),
                "infinity" => Ok(Shutdown::Infinity),
                other => crate::serde_duration::parse(other)
                    .map(Shutdown::Timeout)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shutdown, A::Error> {
            Shutdown::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V).map(Some)
}

/// How a shutdown is shown: `"5s"`, `"kill"`, `"infinity"`.
fn shown_shutdown(s: Shutdown) -> Json {
    match s {
        Shutdown::Timeout(d) => Json::String(humantime::format_duration(d).to_string()),
        Shutdown::Kill => Json::String("kill".into()),
        Shutdown::Infinity => Json::String("infinity".into()),
    }
}

/// One node of a loaded tree.
#[derive(Clone)]
pub(crate) enum Item {
    /// A service from the file, or a child added in code.
    Spec(ChildSpec),
    Supervisor(SupNode),
}

/// A supervisor of a loaded tree, not yet built (children may still be
/// added in code).
#[derive(Clone)]
pub(crate) struct SupNode {
    pub name: String,
    pub config: SupervisorConfig,
    options: ChildOptions,
    pub items: Vec<Item>,
}

impl SupNode {
    /// The builder of this supervisor and everything below it.
    pub fn builder(&self) -> SupervisorBuilder {
        let mut b = Supervisor::builder(self.name.clone()).config(self.config.clone());
        for item in &self.items {
            b = b.child(match item {
                Item::Spec(spec) => spec.clone(),
                Item::Supervisor(s) => apply(ChildSpec::supervisor(s.builder()), &s.options),
            });
        }
        b
    }

    /// The supervisor named `name` here or below.
    pub fn find_mut(&mut self, name: &str) -> Option<&mut SupNode> {
        if self.name == name {
            return Some(self);
        }
        self.items.iter_mut().find_map(|i| match i {
            Item::Supervisor(s) => s.find_mut(name),
            Item::Spec(_) => None,
        })
    }
}

fn apply(mut spec: ChildSpec, o: &ChildOptions) -> ChildSpec {
    if let Some(r) = o.restart {
        spec = spec.restart(r);
    }
    if let Some(s) = o.shutdown {
        spec = spec.shutdown(s);
    }
    if let Some(t) = o.start_timeout {
        spec = spec.start_timeout(t);
    }
    if let Some(s) = o.significant {
        spec.significant = s;
    }
    if let Some(p) = &o.placement {
        spec = spec.placement(p.clone());
    }
    spec
}

fn shown_options(spec: &ChildSpec) -> Vec<(&'static str, Json)> {
    vec![
        ("restart", json!(spec.restart)),
        ("shutdown", shown_shutdown(spec.shutdown)),
        (
            "start_timeout",
            Json::String(humantime::format_duration(spec.start_timeout).to_string()),
        ),
        ("significant", Json::Bool(spec.significant)),
    ]
}

/// Where a name of the tree is written, to place build errors.
pub(crate) struct NameInfo {
    pub path: Path,
    /// The `name` value.
    pub at: Location,
    /// The table describing the node (`[supervisor]` for the root).
    pub table: Node,
}

/// A document, read.
pub(crate) struct Loaded {
    pub root: SupNode,
    pub runtime: RuntimeConfig,
    pub names: HashMap<String, NameInfo>,
    pub handles: Handles,
    pub shown: Json,
}

struct Walk<'a, 'c> {
    types: &'a ServiceTypes,
    ctx: &'a Ctx<'c>,
    names: HashMap<String, NameInfo>,
    handles: Handles,
}

fn check_keys(table: &Node, allowed: &[&str], path: &Path) -> Result<(), LoadError> {
    for e in table.entries().unwrap_or_default() {
        if !allowed.contains(&e.key.as_str()) {
            return Err(LoadError::UnknownKey {
                at: e.key_at.clone(),
                path: path.to_string(),
                key: e.key.clone(),
                expected: allowed.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    Ok(())
}

/// The entries of `table` whose keys are in `keys`, as a table.
fn only(table: &Node, keys: &[&str]) -> Node {
    let entries = table
        .entries()
        .unwrap_or_default()
        .iter()
        .filter(|e| keys.contains(&e.key.as_str()))
        .cloned()
        .collect();
    Node::new(Value::Map(entries), table.at.clone())
}

fn expect_table(node: &Node, path: &Path, what: &str) -> Result<(), LoadError> {
    match node.value {
        Value::Map(_) => Ok(()),
        _ => Err(LoadError::Invalid {
            at: node.at.clone(),
            path: path.to_string(),
            problem: format!("expected a table {what}, found {}", node.describe()),
        }),
    }
}

/// The string at `key` of `table`, which must be there.
fn required_str<'n>(
    table: &'n Node,
    key: &str,
    path: &Path,
) -> Result<(&'n str, &'n Node), LoadError> {
    let Some(node) = table.get(key) else {
        return Err(LoadError::MissingKey {
            at: table.at.clone(),
            path: path.to_string(),
            key: key.to_string(),
        });
    };
    match &node.value {
        Value::Str(s) | Value::Env(s) => Ok((s, node)),
        _ => Err(LoadError::Invalid {
            at: node.at.clone(),
            path: path.key(key).to_string(),
            problem: format!("expected a string, found {}", node.describe()),
        }),
    }
}

pub(crate) fn load(doc: &Node, types: &ServiceTypes, ctx: &Ctx<'_>) -> Result<Loaded, LoadError> {
    let top = Path::default();
    expect_table(doc, &top, "at the top of the file")?;
    check_keys(doc, TOP_KEYS, &top)?;
    let Some(sup) = doc.get("supervisor") else {
        return Err(LoadError::MissingKey {
            at: doc.at.clone(),
            path: top.to_string(),
            key: "supervisor".into(),
        });
    };
    let sup_path = Path::root("supervisor");
    expect_table(sup, &sup_path, "describing the root supervisor")?;
    let (name, name_node) = required_str(sup, "name", &sup_path)?;
    let path = Path::root(name);
    let mut allowed = vec!["name"];
    allowed.extend(struct_fields::<SupervisorConfig>());
    allowed.extend(CHILD_LIST_KEYS);
    check_keys(sup, &allowed, &path)?;
    let (list, list_path) = match (child_list_key(doc), child_list_key(sup)) {
        (Some(_), Some(key)) => {
            let e = sup.entry(key).expect("present");
            return Err(LoadError::Invalid {
                at: e.key_at.clone(),
                path: path.to_string(),
                problem: "children are given both at the top level and in the supervisor's \
                          table; keep one"
                    .into(),
            });
        }
        (Some(key), None) => (doc.get(key), path.key(key)),
        (None, Some(key)) => (sup.get(key), path.key(key)),
        (None, None) => (None, path.key("child")),
    };
    let mut walk = Walk {
        types,
        ctx,
        names: HashMap::new(),
        handles: Handles::default(),
    };
    walk.name(name, name_node, &path, sup)?;
    let config: SupervisorConfig =
        from_node(&only(sup, struct_fields::<SupervisorConfig>()), &path, ctx)?;
    let (items, shown_children) = walk.children(list, &list_path)?;
    let runtime = match doc.get("runtime") {
        Some(node) => {
            let runtime: RuntimeConfig = from_node(node, &Path::root("runtime"), ctx)?;
            if let Err(crate::RuntimeError::InvalidConfig { field, problem }) = runtime.validate() {
                let at = node.get(field).map_or(&node.at, |value| &value.at);
                return Err(LoadError::Invalid {
                    at: at.clone(),
                    path: format!("runtime.{field}"),
                    problem: problem.to_string(),
                });
            }
            runtime
        }
        None => RuntimeConfig::default(),
    };
    let mut shown_sup = json!({ "name": name });
    merge(&mut shown_sup, json!(config));
    let shown = json!({
        "supervisor": shown_sup,
        "child": shown_children,
        "runtime": runtime,
    });
    Ok(Loaded {
        root: SupNode {
            name: name.to_string(),
            config,
            options: ChildOptions::default(),
            items,
        },
        runtime,
        names: walk.names,
        handles: walk.handles,
        shown,
    })
}

fn merge(into: &mut Json, from: Json) {
    if let (Json::Object(into), Json::Object(from)) = (into, from) {
        into.extend(from);
    }
}

impl Walk<'_, '_> {
    /// Records a name, refusing one used before.
    fn name(
        &mut self,
        name: &str,
        node: &Node,
        path: &Path,
        table: &Node,
    ) -> Result<(), LoadError> {
        if let Some(first) = self.names.get(name) {
            return Err(LoadError::DuplicateName {
                at: node.at.clone(),
                path: path.key("name").to_string(),
                name: name.to_string(),
                first: Some(first.at.clone()),
            });
        }
        self.names.insert(
            name.to_string(),
            NameInfo {
                path: path.clone(),
                at: node.at.clone(),
                table: table.clone(),
            },
        );
        Ok(())
    }

    fn children(
        &mut self,
        list: Option<&Node>,
        path: &Path,
    ) -> Result<(Vec<Item>, Vec<Json>), LoadError> {
        let Some(list) = list else {
            return Ok((Vec::new(), Vec::new()));
        };
        let Value::Seq(children) = &list.value else {
            return Err(LoadError::Invalid {
                at: list.at.clone(),
                path: path.to_string(),
                problem: format!("expected an array of children, found {}", list.describe()),
            });
        };
        let mut items = Vec::with_capacity(children.len());
        let mut shown = Vec::with_capacity(children.len());
        for (i, child) in children.iter().enumerate() {
            let (item, s) = self.child(child, &path.index(i))?;
            items.push(item);
            shown.push(s);
        }
        Ok((items, shown))
    }

    fn child(&mut self, node: &Node, path: &Path) -> Result<(Item, Json), LoadError> {
        expect_table(node, path, "describing a child")?;
        let (type_name, type_node) = required_str(node, "type", path)?;
        let (name, name_node) = required_str(node, "name", path)?;
        if type_name == "supervisor" {
            let mut allowed = vec!["type", "name"];
            allowed.extend(CHILD_OPTION_KEYS);
            allowed.extend(struct_fields::<SupervisorConfig>());
            allowed.extend(CHILD_LIST_KEYS);
            check_keys(node, &allowed, path)?;
            self.name(name, name_node, path, node)?;
            let config: SupervisorConfig = from_node(
                &only(node, struct_fields::<SupervisorConfig>()),
                path,
                self.ctx,
            )?;
            let options: ChildOptions = from_node(&only(node, CHILD_OPTION_KEYS), path, self.ctx)?;
            if let Some(e) = node
                .entry("children")
                .filter(|_| node.get("child").is_some())
            {
                return Err(LoadError::Invalid {
                    at: e.key_at.clone(),
                    path: path.to_string(),
                    problem: "both `child` and `children` are given; keep one".into(),
                });
            }
            let key = child_list_key(node).unwrap_or("child");
            let (items, shown_children) = self.children(node.get(key), &path.key(key))?;
            let sup = SupNode {
                name: name.to_string(),
                config,
                options,
                items,
            };
            let as_child = apply(ChildSpec::supervisor(sup.builder()), &sup.options);
            let mut shown = json!({ "type": "supervisor", "name": name });
            merge(&mut shown, json!(sup.config));
            for (k, v) in shown_options(&as_child) {
                shown[k] = v;
            }
            shown["child"] = Json::Array(shown_children);
            return Ok((Item::Supervisor(sup), shown));
        }
        let mut allowed = vec!["type", "name", "config"];
        allowed.extend(SERVICE_OPTION_KEYS);
        check_keys(node, &allowed, path)?;
        let Some(factory) = self.types.factory(type_name) else {
            let mut known: Vec<String> = self.types.names().iter().map(|s| s.to_string()).collect();
            known.push("supervisor".into());
            known.sort();
            return Err(LoadError::UnknownType {
                at: type_node.at.clone(),
                path: path.key("type").to_string(),
                name: type_name.to_string(),
                known,
            });
        };
        self.name(name, name_node, path, node)?;
        let options: ChildOptions = from_node(&only(node, SERVICE_OPTION_KEYS), path, self.ctx)?;
        let empty = Node::empty_map(node.at.clone());
        let config = node.get("config").unwrap_or(&empty);
        let config_path = path.key("config");
        let made =
            factory(name, config, &config_path, self.ctx, &self.handles).map_err(|e| match e {
                MakeError::Load(e) => e,
                MakeError::Config(e) => config_error(e, config, &config_path, name_node, path),
            })?;
        let spec = apply(made.spec, &options);
        let mut shown_config = made.shown;
        for secret in self.ctx.secrets.borrow().iter() {
            if let Some(keys) = secret.strip(&config_path) {
                redact(&mut shown_config, &keys);
            }
        }
        let mut shown = json!({ "type": type_name, "name": name });
        for (k, v) in shown_options(&spec) {
            shown[k] = v;
        }
        shown["placement"] = json!(spec.placement);
        shown["config"] = shown_config;
        self.handles.insert(name, made.handle);
        Ok((Item::Spec(spec), shown))
    }
}

/// A service's refusal of its config, placed at the field it names.
fn config_error(
    e: ConfigError,
    config: &Node,
    config_path: &Path,
    name_node: &Node,
    path: &Path,
) -> LoadError {
    match e {
        ConfigError::InvalidField { field, problem, .. } => LoadError::Invalid {
            at: config
                .find(&field)
                .map_or_else(|| config.at.clone(), |n| n.at.clone()),
            path: config_path.dotted(&field).to_string(),
            problem,
        },
        ConfigError::InvalidName { name, problem } => LoadError::Invalid {
            at: name_node.at.clone(),
            path: path.key("name").to_string(),
            problem: format!("the name `{name}` is invalid: {problem}"),
        },
    }
}

/// Replaces the value at `keys` with `[redacted]`.
fn redact(value: &mut Json, keys: &[String]) {
    let Some((first, rest)) = keys.split_first() else {
        *value = Json::String(REDACTED.to_string());
        return;
    };
    let next = match value {
        Json::Object(map) => map.get_mut(first),
        Json::Array(items) => first.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    };
    if let Some(next) = next {
        redact(next, rest);
    }
}

/// A build error of the file's tree, placed where the file says what it is
/// about; errors about children added in code stay as they are.
pub(crate) fn place_build_error(e: BuildError, names: &HashMap<String, NameInfo>) -> LoadError {
    match &e {
        BuildError::InvalidName { name, problem, .. } => match names.get(name) {
            Some(info) => LoadError::Invalid {
                at: info.at.clone(),
                path: info.path.key("name").to_string(),
                problem: format!("the name `{name}` is invalid: {problem}"),
            },
            None => LoadError::Tree(e),
        },
        BuildError::DuplicateName { name } => match names.get(name) {
            Some(info) => LoadError::DuplicateName {
                at: info.at.clone(),
                path: info.path.key("name").to_string(),
                name: name.clone(),
                first: None,
            },
            None => LoadError::Tree(e),
        },
        BuildError::InvalidField {
            node,
            field,
            problem,
        } => match names.get(node) {
            Some(info) => {
                let key = if field == "shutdown_timeout" {
                    "shutdown"
                } else {
                    field.as_str()
                };
                LoadError::Invalid {
                    at: info
                        .table
                        .find(key)
                        .map_or_else(|| info.table.at.clone(), |n| n.at.clone()),
                    path: info.path.dotted(key).to_string(),
                    problem: problem.clone(),
                }
            }
            None => LoadError::Tree(e),
        },
    }
}
