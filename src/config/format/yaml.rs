//! YAML documents into the document tree (saphyr's YAML 1.2 parser, which
//! marks every event with its position).
//!
//! Plain scalars resolve by the YAML 1.2 core schema: `null`, `~` and empty
//! are null; `true` / `false` booleans; decimal, `0o` octal and `0x` hex
//! integers; floats, `.inf` and `.nan`; anything else (also `yes`, `no`,
//! `on`) is a string. Quoted and block scalars are strings. Anchors and
//! aliases work; a key given twice, a second document or an unknown tag is
//! an error.

use crate::config::error::LoadError;
use crate::config::value::{Entry, Location, Node, Value};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use std::collections::HashMap;
use std::sync::Arc;

/// Reads a YAML document.
pub(crate) fn parse(text: &str, source: &Arc<str>) -> Result<Node, LoadError> {
    let here = |m: &Marker| Location::text(source, m.line(), m.col() + 1);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| LoadError::Syntax {
            at: here(e.marker()),
            reason: e.info().to_string(),
        })?;
        let at = here(&span.start);
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(LoadError::Syntax {
                        at,
                        reason: "a second document; a configuration is one document".into(),
                    });
                }
                None
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node::new(scalar(&text, style, tag.as_deref(), &at)?, at);
                Some((node, anchor, Some(text.to_string())))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    let mut node = node.clone();
                    node.at = at;
                    Some((node, 0, None))
                }
                None => {
                    return Err(LoadError::Syntax {
                        at,
                        reason: "an alias to an unknown anchor".into(),
                    })
                }
            },
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "seq", &at)?;
                stack.push(Open::Seq {
                    at,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "map", &at)?;
                stack.push(Open::Map {
                    at,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq { at, anchor, items }) => {
                    Some((Node::new(Value::Seq(items), at), anchor, None))
                }
                _ => unreachable!("the parser balances sequences"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map {
                    at,
                    anchor,
                    entries,
                    ..
                }) => Some((Node::new(Value::Map(entries), at), anchor, None)),
                _ => unreachable!("the parser balances mappings"),
            },
            _ => None,
        };
        let Some((node, anchor, text)) = done else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => {
                    let name = match (&node.value, text) {
                        (Value::Seq(_) | Value::Map(_), _) => {
                            return Err(LoadError::Syntax {
                                at: node.at,
                                reason: "a key must be a string, not an array or a table".into(),
                            })
                        }
                        (Value::Null, _) => {
                            return Err(LoadError::Syntax {
                                at: node.at,
                                reason: "a key must not be empty or null".into(),
                            })
                        }
                        (_, Some(text)) => text,
                        (_, None) => node.describe(),
                    };
                    if entries.iter().any(|e| e.key == name) {
                        return Err(LoadError::Syntax {
                            at: node.at,
                            reason: format!("the key `{name}` is given twice"),
                        });
                    }
                    *key = Some((name, node.at));
                }
                Some((name, key_at)) => entries.push(Entry {
                    key: name,
                    key_at,
                    node,
                }),
            },
        }
    }
    Ok(root.unwrap_or_else(|| Node::empty_map(Location::text(source, 1, 1))))
}

enum Open {
    Seq {
        at: Location,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        at: Location,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Location)>,
    },
}

fn core_tag<'t>(tag: Option<&'t Tag>, at: &Location) -> Result<Option<&'t str>, LoadError> {
    match tag {
        None => Ok(None),
        Some(t) if t.is_yaml_core_schema() => Ok(Some(t.suffix.as_str())),
        Some(t) => Err(LoadError::Syntax {
            at: at.clone(),
            reason: format!("the tag `{t}` is not supported"),
        }),
    }
}

fn collection_tag(tag: Option<&Tag>, expected: &str, at: &Location) -> Result<(), LoadError> {
    match core_tag(tag, at)? {
        None => Ok(()),
        Some(s) if s == expected => Ok(()),
        Some(s) => Err(LoadError::Syntax {
            at: at.clone(),
            reason: format!("the tag `!!{s}` does not fit a {expected}"),
        }),
    }
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: &Location,
) -> Result<Value, LoadError> {
    let bad = |what: &str| LoadError::Syntax {
        at: at.clone(),
        reason: format!("{text:?} is not {what}"),
    };
    match core_tag(tag, at)? {
        Some("str") => return Ok(Value::Str(text.to_string())),
        Some("null") => {
            return resolve(text)
                .filter(|v| matches!(v, Value::Null))
                .ok_or_else(|| bad("null"))
        }
        Some("bool") => {
            return resolve(text)
                .filter(|v| matches!(v, Value::Bool(_)))
                .ok_or_else(|| bad("a boolean"))
        }
        Some("int") => {
            return resolve(text)
                .filter(|v| matches!(v, Value::Int(_)))
                .ok_or_else(|| bad("an integer"))
        }
        Some("float") => {
            return match resolve(text) {
                Some(Value::Float(x)) => Ok(Value::Float(x)),
                Some(Value::Int(n)) => Ok(Value::Float(n as f64)),
                _ => Err(bad("a number")),
            }
        }
        Some(other) => {
            return Err(LoadError::Syntax {
                at: at.clone(),
                reason: format!("the tag `!!{other}` does not fit a scalar"),
            })
        }
        None => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(resolve(text).unwrap_or_else(|| Value::Str(text.to_string())))
}

/// A plain scalar by the YAML 1.2 core schema; `None` for a string.
fn resolve(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16).ok().map(Value::Int);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i128::from_str_radix(oct, 8).ok().map(Value::Int);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i128>().ok().map(Value::Int);
    }
    let is_float = !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if is_float {
        return text.parse::<f64>().ok().map(Value::Float);
    }
    None
}
