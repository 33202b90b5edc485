//! The environment: overrides of any setting in the file, and the values of
//! `<key>_env` secrets.

use super::de::struct_fields;
use super::error::LoadError;
use super::load::{child_list_key, CHILD_OPTION_KEYS, SERVICE_OPTION_KEYS};
use super::value::{Entry, Location, Node, Value};
use crate::supervisor::SupervisorConfig;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The default prefix of environment overrides: `SERVITOR`.
pub const DEFAULT_PREFIX: &str = "SERVITOR";

/// Where a configuration's environment comes from: the process's
/// environment (the default), or variables given in code (tests, or an
/// application that read them from elsewhere).
///
/// It serves two things:
///
/// * **overrides** — a variable `PREFIX__A__B__C` sets the setting at the
///   names `a.b.c` of the tree (see the [module docs](super) for the
///   scheme), over what the file says;
/// * **secrets** — `token_env = "GITHUB_TOKEN"` in a table reads the table's
///   `token` from the variable `GITHUB_TOKEN`.
///
/// Its `Debug` output shows the prefix and how many variables it holds,
/// never their values.
///
/// ```
/// use servitor::config::Environment;
///
/// let env = Environment::from_vars([("SERVITOR__APP__SESSIONS__CAPACITY", "20000")]);
/// assert_eq!(env.get("SERVITOR__APP__SESSIONS__CAPACITY").as_deref(), Some("20000"));
/// let env = Environment::process().prefix("ORDERS");
/// assert_eq!(env.prefix_name(), "ORDERS");
/// ```
#[derive(Clone)]
pub struct Environment {
    vars: Option<Arc<HashMap<String, String>>>,
    prefix: String,
    overrides: bool,
}

impl Default for Environment {
    fn default() -> Self {
        Environment::process()
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field(
                "source",
                &if self.vars.is_some() {
                    "given"
                } else {
                    "process"
                },
            )
            .field("vars", &self.vars.as_ref().map(|v| v.len()))
            .field("prefix", &self.prefix)
            .field("overrides", &self.overrides)
            .finish()
    }
}

impl Environment {
    /// The process's environment, read when a file is loaded, with the
    /// prefix `SERVITOR`.
    pub fn process() -> Environment {
        Environment {
            vars: None,
            prefix: DEFAULT_PREFIX.to_string(),
            overrides: true,
        }
    }

    /// Exactly these variables, with the prefix `SERVITOR`.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment {
            vars: Some(Arc::new(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
            prefix: DEFAULT_PREFIX.to_string(),
            overrides: true,
        }
    }

    /// No variables at all: no overrides, and every `<key>_env` secret is
    /// missing.
    pub fn empty() -> Environment {
        Environment::from_vars(std::iter::empty::<(String, String)>())
    }

    /// Overrides are the variables starting with `prefix` and `__`.
    /// Default `SERVITOR`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Environment {
        self.prefix = prefix.into();
        self
    }

    /// Ignore override variables (secrets are still read).
    pub fn without_overrides(mut self) -> Environment {
        self.overrides = false;
        self
    }

    /// The prefix of overrides.
    pub fn prefix_name(&self) -> &str {
        &self.prefix
    }

    /// One variable's value.
    pub fn get(&self, name: &str) -> Option<String> {
        match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Every variable, as of now. Variables that are not UTF-8 are left
    /// out, unless they are overrides (an error).
    pub(crate) fn snapshot(&self) -> Result<HashMap<String, String>, LoadError> {
        if let Some(vars) = &self.vars {
            return Ok((**vars).clone());
        }
        let marker = format!("{}__", self.prefix);
        let mut out = HashMap::new();
        for (k, v) in std::env::vars_os() {
            let (Some(k), v) = (k.to_str(), v.into_string()) else {
                continue;
            };
            match v {
                Ok(v) => {
                    out.insert(k.to_string(), v);
                }
                Err(_) if self.overrides && k.starts_with(&marker) => {
                    return Err(LoadError::Override {
                        at: Location::Env { var: k.to_string() },
                        problem: "its value is not UTF-8".into(),
                    })
                }
                Err(_) => {}
            }
        }
        Ok(out)
    }

    /// Writes every override into the document.
    pub(crate) fn apply(
        &self,
        vars: &HashMap<String, String>,
        doc: &mut Node,
    ) -> Result<(), LoadError> {
        if !self.overrides {
            return Ok(());
        }
        let marker = format!("{}__", self.prefix);
        let mut names: Vec<&String> = vars.keys().filter(|k| k.starts_with(&marker)).collect();
        names.sort();
        for var in names {
            let at = Location::Env { var: var.clone() };
            let fail = |problem: String| LoadError::Override {
                at: at.clone(),
                problem,
            };
            let segs: Vec<&str> = var[marker.len()..].split("__").collect();
            if segs.iter().any(|s| s.is_empty()) {
                return Err(fail("an empty name between `__` separators".to_string()));
            }
            let keys = target(doc, &segs).map_err(fail)?;
            set(doc, &keys, Value::Env(vars[var].clone()), &at).map_err(fail)?;
        }
        Ok(())
    }
}

/// How a name is written in a variable: upper case, `-` and `.` as `_`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

fn matches(seg: &str, name: &str) -> bool {
    seg.eq_ignore_ascii_case(&env_name(name))
}

/// A step from the document's root to the value an override sets.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps to the setting that `segs` (after the prefix) names.
fn target(doc: &Node, segs: &[&str]) -> Result<Vec<Step>, String> {
    let first = segs[0];
    if first.eq_ignore_ascii_case("runtime") {
        if segs.len() < 2 {
            return Err("names the runtime but no setting of it".into());
        }
        let mut steps = vec![Step::Key("runtime".into())];
        steps.extend(segs[1..].iter().map(|s| Step::Key(s.to_ascii_lowercase())));
        return Ok(steps);
    }
    let root_name = doc
        .get("supervisor")
        .and_then(|s| s.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("");
    if !matches(first, root_name) {
        return Err(format!(
            "names no supervisor `{}`: the root supervisor is `{root_name}` (`{}`)",
            first.to_ascii_lowercase(),
            env_name(root_name)
        ));
    }
    // The root's options are in `[supervisor]`; its children at the top
    // level or in `[supervisor]`.
    let options = vec![Step::Key("supervisor".into())];
    let children = match child_list_key(doc) {
        Some(key) => vec![Step::Key(key.to_string())],
        None => match doc.get("supervisor").and_then(child_list_key) {
            Some(key) => vec![Step::Key("supervisor".into()), Step::Key(key.to_string())],
            None => vec![Step::Key("child".into())],
        },
    };
    supervisor_target(doc, root_name, options, children, false, &segs[1..])
}

fn node_at<'a>(doc: &'a Node, steps: &[Step]) -> Option<&'a Node> {
    let mut node = doc;
    for step in steps {
        node = match step {
            Step::Key(k) => node.get(k)?,
            Step::Index(i) => match &node.value {
                Value::Seq(items) => items.get(*i)?,
                _ => return None,
            },
        };
    }
    Some(node)
}

fn supervisor_target(
    doc: &Node,
    name: &str,
    options: Vec<Step>,
    children: Vec<Step>,
    nested: bool,
    segs: &[&str],
) -> Result<Vec<Step>, String> {
    let Some(seg) = segs.first() else {
        return Err(format!(
            "names the supervisor `{name}` but no setting or child of it"
        ));
    };
    let lower = seg.to_ascii_lowercase();
    let is_option = struct_fields::<SupervisorConfig>().contains(&lower.as_str())
        || (nested && CHILD_OPTION_KEYS.contains(&lower.as_str()));
    if is_option {
        let mut steps = options;
        steps.extend(segs.iter().map(|s| Step::Key(s.to_ascii_lowercase())));
        return Ok(steps);
    }
    let list = match node_at(doc, &children).map(|n| &n.value) {
        Some(Value::Seq(items)) => items.as_slice(),
        _ => &[],
    };
    let found: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.get("name")
                .and_then(Node::as_str)
                .is_some_and(|n| matches(seg, n))
        })
        .map(|(i, _)| i)
        .collect();
    let index = match found.as_slice() {
        [i] => *i,
        [] => {
            return Err(format!(
                "names no setting or child `{lower}` of the supervisor `{name}`"
            ))
        }
        _ => {
            return Err(format!(
                "`{seg}` names more than one child of the supervisor `{name}`"
            ))
        }
    };
    let mut child = children;
    child.push(Step::Index(index));
    let node = node_at(doc, &child).expect("the child was just found");
    let child_name = node.get("name").and_then(Node::as_str).unwrap_or_default();
    if node.get("type").and_then(Node::as_str) == Some("supervisor") {
        let mut grandchildren = child.clone();
        grandchildren.push(Step::Key(
            child_list_key(node).unwrap_or("child").to_string(),
        ));
        return supervisor_target(doc, child_name, child, grandchildren, true, &segs[1..]);
    }
    let rest = &segs[1..];
    let Some(next) = rest.first() else {
        return Err(format!(
            "names the child `{child_name}` but no setting of it"
        ));
    };
    let next = next.to_ascii_lowercase();
    let mut steps = child;
    if SERVICE_OPTION_KEYS.contains(&next.as_str()) {
        steps.extend(rest.iter().map(|s| Step::Key(s.to_ascii_lowercase())));
    } else if next == "type" || next == "name" {
        return Err(format!("the `{next}` of a child cannot be overridden"));
    } else {
        steps.push(Step::Key("config".into()));
        let rest = if next == "config" { &rest[1..] } else { rest };
        if rest.is_empty() {
            return Err(format!(
                "names the config of `{child_name}` but no setting in it"
            ));
        }
        steps.extend(rest.iter().map(|s| Step::Key(s.to_ascii_lowercase())));
    }
    Ok(steps)
}

/// Sets the value at `steps`, making the tables on the way; an existing key
/// is matched without regard to case.
fn set(doc: &mut Node, steps: &[Step], value: Value, at: &Location) -> Result<(), String> {
    let mut node = doc;
    for (n, step) in steps.iter().enumerate() {
        let last = n + 1 == steps.len();
        node = match step {
            Step::Index(i) => match &mut node.value {
                Value::Seq(items) => items.get_mut(*i).ok_or("no such child")?,
                _ => return Err("no such child".into()),
            },
            Step::Key(key) => {
                if node.entries().is_none() {
                    *node = Node::empty_map(at.clone());
                }
                let entries = node.entries_mut().expect("a table");
                let pos = match entries.iter().position(|e| e.key.eq_ignore_ascii_case(key)) {
                    Some(pos) => pos,
                    None => {
                        entries.push(Entry {
                            key: key.clone(),
                            key_at: at.clone(),
                            node: Node::empty_map(at.clone()),
                        });
                        entries.len() - 1
                    }
                };
                let entry = &mut entries[pos];
                if last {
                    entry.node = Node::new(value, at.clone());
                    return Ok(());
                }
                &mut entry.node
            }
        };
    }
    Ok(())
}
