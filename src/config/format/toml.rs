//! TOML documents into the document tree (the `toml` crate's parser, which
//! keeps the span of every key and value).

use crate::config::error::LoadError;
use crate::config::value::{Entry, Lines, Node, Value};
use std::sync::Arc;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Reads a TOML document.
pub(crate) fn parse(text: &str, source: &Arc<str>) -> Result<Node, LoadError> {
    let lines = Lines::new(text, source);
    let table = DeTable::parse(text).map_err(|e| LoadError::Syntax {
        at: lines.at(e.span().map_or(0, |s| s.start)),
        reason: e.message().trim().to_string(),
    })?;
    let at = lines.at(table.span().start);
    Ok(Node::new(table_value(table.get_ref(), &lines)?, at))
}

fn table_value(table: &DeTable<'_>, lines: &Lines<'_>) -> Result<Value, LoadError> {
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table.iter() {
        entries.push(Entry {
            key: key.get_ref().to_string(),
            key_at: lines.at(key.span().start),
            node: node(value, lines)?,
        });
    }
    Ok(Value::Map(entries))
}

fn node(value: &Spanned<DeValue<'_>>, lines: &Lines<'_>) -> Result<Node, LoadError> {
    let at = lines.at(value.span().start);
    let v = match value.get_ref() {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str();
            let n = i128::from_str_radix(digits, i.radix()).map_err(|_| LoadError::Syntax {
                at: at.clone(),
                reason: format!("integer `{digits}` is out of range"),
            })?;
            Value::Int(n)
        }
        DeValue::Float(x) => {
            let text = x.as_str();
            let f = text.parse::<f64>().map_err(|_| LoadError::Syntax {
                at: at.clone(),
                reason: format!("invalid float `{text}`"),
            })?;
            Value::Float(f)
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Str(d.to_string()),
        DeValue::Array(items) => Value::Seq(
            items
                .iter()
                .map(|item| node(item, lines))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(t) => table_value(t, lines)?,
    };
    Ok(Node::new(v, at))
}
