//! The one error of loading a tree from a configuration file.

use super::value::Location;
use crate::supervisor::BuildError;
use std::fmt;

/// A configuration that cannot be loaded. Nothing was started.
///
/// Every error about a value names where it was read (the file, line and
/// column, or the environment variable that overrode it) and its key path
/// in the tree (`app.child[1].config.capacity`), then what is wrong:
///
/// ```text
/// servitor.toml:14:14: app.child[1].config.capacity: expected an integer, found "lots"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot be read: {reason}")]
    Read {
        /// The file's path as given.
        file: String,
        /// Why.
        reason: String,
    },
    /// The file's format is not known from its extension, or needs a cargo
    /// feature that is off (YAML needs `yaml`).
    #[error("{file}: {reason}")]
    Format {
        /// The file's path as given.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The text is not valid TOML or YAML.
    #[error("{at}: {reason}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's message.
        reason: String,
    },
    /// A child's `type` is not registered.
    #[error("{at}: {path}: unknown service type `{name}`{}", registered(.name, .known))]
    UnknownType {
        /// Where the type is named.
        at: Location,
        /// The key path of the `type` key.
        path: String,
        /// The type as written.
        name: String,
        /// The registered types, sorted.
        known: Vec<String>,
    },
    /// A table has a key nothing reads: a typo, or a setting of another
    /// kind of node.
    #[error("{at}: {path}: unknown key `{key}`{}", expected_keys(.key, .expected))]
    UnknownKey {
        /// Where the key is.
        at: Location,
        /// The key path of the table holding it.
        path: String,
        /// The key as written.
        key: String,
        /// The keys the table takes.
        expected: Vec<String>,
    },
    /// A table lacks a key it must have.
    #[error("{at}: {path}: missing key `{key}`")]
    MissingKey {
        /// Where the table is.
        at: Location,
        /// The key path of the table.
        path: String,
        /// The key it needs.
        key: String,
    },
    /// A value has the wrong type or is out of range — the same checks as
    /// when the tree is built in code.
    #[error("{at}: {path}: {problem}")]
    Invalid {
        /// Where the value is (or, for a setting left at a default that
        /// another setting makes invalid, the table holding it).
        at: Location,
        /// The key path of the value.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// Two nodes of the tree have the same name (names are unique
    /// tree-wide).
    #[error("{at}: {path}: the name `{name}` is used twice in the tree ({})", first_use(.first))]
    DuplicateName {
        /// Where the second use is.
        at: Location,
        /// The key path of the second use.
        path: String,
        /// The name.
        name: String,
        /// Where the first use is; `None` for a child added in code.
        first: Option<Location>,
    },
    /// A secret could not be read from where a `<key>_env` or `<key>_file`
    /// says.
    #[error("{at}: {path}: {problem}")]
    Secret {
        /// Where the `_env` or `_file` key is.
        at: Location,
        /// Its key path.
        path: String,
        /// What went wrong (it never contains the secret).
        problem: String,
    },
    /// An environment override names nothing in the tree.
    #[error("{at}: {problem}")]
    Override {
        /// The variable.
        at: Location,
        /// What is wrong.
        problem: String,
    },
    /// [`FileTree::child_of`](super::FileTree::child_of) named a supervisor
    /// the file does not have.
    #[error("no supervisor named `{name}` in the tree")]
    NoSupervisor {
        /// The name given.
        name: String,
    },
    /// The tree with the children added in code is invalid (a problem of
    /// those children).
    #[error(transparent)]
    Tree(#[from] BuildError),
}

impl LoadError {
    /// Where the error is, if it is about a value read from the file or
    /// the environment.
    pub fn location(&self) -> Option<&Location> {
        match self {
            LoadError::Syntax { at, .. }
            | LoadError::UnknownType { at, .. }
            | LoadError::UnknownKey { at, .. }
            | LoadError::MissingKey { at, .. }
            | LoadError::Invalid { at, .. }
            | LoadError::DuplicateName { at, .. }
            | LoadError::Secret { at, .. }
            | LoadError::Override { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The key path of the value at fault, if there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            LoadError::UnknownType { path, .. }
            | LoadError::UnknownKey { path, .. }
            | LoadError::MissingKey { path, .. }
            | LoadError::Invalid { path, .. }
            | LoadError::DuplicateName { path, .. }
            | LoadError::Secret { path, .. } => Some(path),
            _ => None,
        }
    }
}

fn registered(name: &str, known: &[String]) -> String {
    let hint = super::value::closest(name, known.iter().map(String::as_str))
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    format!("{hint} (registered: {})", known.join(", "))
}

fn expected_keys(key: &str, expected: &[String]) -> String {
    if let Some(c) = super::value::closest(key, expected.iter().map(String::as_str)) {
        return format!("; did you mean `{c}`?");
    }
    if expected.is_empty() {
        return " (this table takes no keys)".to_string();
    }
    let list: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    format!(" (expected one of {})", list.join(", "))
}

fn first_use(first: &Option<Location>) -> FirstUse<'_> {
    FirstUse(first)
}

struct FirstUse<'a>(&'a Option<Location>);

impl fmt::Display for FirstUse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(at) => write!(f, "first at {at}"),
            None => f.write_str("also by a child added in code"),
        }
    }
}
