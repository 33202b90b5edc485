//! The document as read: a tree of values, each with where it was read.
//!
//! TOML and YAML are both read into this one tree, environment overrides
//! are written into it, and every typed configuration is deserialized from
//! it, so every error can name the file, line and column and the key path,
//! whatever the format.

use std::fmt;
use std::sync::Arc;

/// Where a value of a configuration was read: a line and column of a file
/// (or of a string), or an environment variable that overrode it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// A position in a file or string: 1-based line and column, the column
    /// counted in characters.
    Text {
        /// The file's path as given, or `<string>` for a string.
        source: Arc<str>,
        /// The line, from 1.
        line: u32,
        /// The column, from 1, in characters.
        column: u32,
    },
    /// An environment variable (an override).
    Env {
        /// The variable's name.
        var: String,
    },
}

impl Location {
    pub(crate) fn text(source: &Arc<str>, line: usize, column: usize) -> Location {
        Location::Text {
            source: source.clone(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// The line, for a position in a file or string.
    pub fn line(&self) -> Option<u32> {
        match self {
            Location::Text { line, .. } => Some(*line),
            Location::Env { .. } => None,
        }
    }

    /// The column, for a position in a file or string.
    pub fn column(&self) -> Option<u32> {
        match self {
            Location::Text { column, .. } => Some(*column),
            Location::Env { .. } => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Text {
                source,
                line,
                column,
            } => write!(f, "{source}:{line}:{column}"),
            Location::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

/// One value with where it was read.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub value: Value,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// YAML's `null` (TOML has none).
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// The text of an environment override: typed as the field asks
    /// (`"20000"` is an integer for an integer field, a string for a
    /// string field).
    Env(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One key of a table and its value.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_at: Location,
    pub node: Node,
}

impl Node {
    pub fn new(value: Value, at: Location) -> Node {
        Node { value, at }
    }

    pub fn empty_map(at: Location) -> Node {
        Node::new(Value::Map(Vec::new()), at)
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn entries_mut(&mut self) -> Option<&mut Vec<Entry>> {
        match &mut self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) | Value::Env(s) => Some(s),
            _ => None,
        }
    }

    /// The node at a dotted path of keys below this one (`retry.jitter`).
    pub fn find(&self, dotted: &str) -> Option<&Node> {
        let mut node = self;
        for key in dotted.split('.') {
            node = node.get(key)?;
        }
        Some(node)
    }

    /// The node's value as an error message shows it: `"lots"`, `5`, `a table`.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Str(s) | Value::Env(s) => quote(s),
            Value::Seq(_) => "an array".to_string(),
            Value::Map(_) => "a table".to_string(),
        }
    }
}

/// A string as error messages quote it (shortened when long).
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        let short: String = s.chars().take(MAX).collect();
        format!("{:?}…", short)
    } else {
        format!("{s:?}")
    }
}

/// A key path in a configuration: `app.child[1].config.capacity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn root(name: &str) -> Path {
        Path(vec![Seg::Key(name.to_string())])
    }

    pub fn key(&self, key: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// The path of a dotted key path below this one.
    pub fn dotted(&self, dotted: &str) -> Path {
        dotted.split('.').fold(self.clone(), |p, k| p.key(k))
    }

    /// The keys after `prefix`, if this path starts with it (indices as
    /// numbers).
    pub fn strip(&self, prefix: &Path) -> Option<Vec<String>> {
        if self.0.len() < prefix.0.len() || self.0[..prefix.0.len()] != prefix.0[..] {
            return None;
        }
        Some(
            self.0[prefix.0.len()..]
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => k.clone(),
                    Seg::Index(i) => i.to_string(),
                })
                .collect(),
        )
    }
}

fn bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("top level");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if bare(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Byte offsets to lines and columns.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    source: Arc<str>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str, source: &Arc<str>) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines {
            text,
            starts,
            source: source.clone(),
        }
    }

    pub fn at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Location::text(&self.source, line, column)
    }
}

/// The registered name closest to `wrong`, if one is close enough to be
/// what was meant.
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(wrong, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance, case-insensitive: insertions, deletions, substitutions
/// and swaps of two neighbours (`cahce` is one from `cache`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=m).collect();
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_keys_and_indices() {
        let p = Path::root("app")
            .key("child")
            .index(1)
            .key("config")
            .key("a.b");
        assert_eq!(p.to_string(), r#"app.child[1].config."a.b""#);
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let source: Arc<str> = Arc::from("f.toml");
        let lines = Lines::new("ab\ncdé\nx", &source);
        assert_eq!(lines.at(0).to_string(), "f.toml:1:1");
        assert_eq!(lines.at(4).to_string(), "f.toml:2:2");
        assert_eq!(lines.at(8).to_string(), "f.toml:3:1");
        assert_eq!(lines.at(7).to_string(), "f.toml:2:4");
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(closest("capcity", ["capacity", "shards"]), Some("capacity"));
        assert_eq!(closest("zzz", ["capacity", "shards"]), None);
        assert_eq!(closest("cahce", ["bus", "cache"]), Some("cache"));
    }
}
