//! Typed configurations from the document tree: a serde deserializer over
//! [`Node`]s that knows where each value was read and its key path, checks
//! types itself so messages read "expected an integer, found "lots"", and
//! reads `<key>_env` / `<key>_file` secrets.

use super::error::LoadError;
use super::value::{quote, Entry, Location, Node, Path, Value};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// What deserialization may read besides the document.
pub(crate) struct Ctx<'a> {
    /// The environment, for `<key>_env`.
    pub vars: &'a HashMap<String, String>,
    /// Where relative `<key>_file` paths start.
    pub base_dir: Option<&'a std::path::Path>,
    /// Every key path whose value was read from a secret source.
    pub secrets: RefCell<Vec<Path>>,
}

/// A deserialization error, with where it happened once known.
#[derive(Debug)]
pub(crate) struct DeError {
    kind: Kind,
    at: Option<(Location, Path)>,
}

#[derive(Debug)]
enum Kind {
    UnknownKey { key: String, expected: Vec<String> },
    MissingKey(String),
    Invalid(String),
    Secret(String),
}

impl DeError {
    fn invalid(problem: impl Into<String>) -> DeError {
        DeError {
            kind: Kind::Invalid(problem.into()),
            at: None,
        }
    }

    fn located(mut self, at: &Location, path: &Path) -> DeError {
        if self.at.is_none() {
            self.at = Some((at.clone(), path.clone()));
        }
        self
    }

    /// The load error, at `at` / `path` unless a more precise place is known.
    pub fn into_load(self, at: &Location, path: &Path) -> LoadError {
        let (at, path) = self.at.unwrap_or_else(|| (at.clone(), path.clone()));
        let path = path.to_string();
        match self.kind {
            Kind::UnknownKey { key, expected } => LoadError::UnknownKey {
                at,
                path,
                key,
                expected,
            },
            Kind::MissingKey(key) => LoadError::MissingKey { at, path, key },
            Kind::Invalid(problem) => LoadError::Invalid { at, path, problem },
            Kind::Secret(problem) => LoadError::Secret { at, path, problem },
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::UnknownKey { key, .. } => write!(f, "unknown key `{key}`"),
            Kind::MissingKey(key) => write!(f, "missing key `{key}`"),
            Kind::Invalid(p) | Kind::Secret(p) => f.write_str(p),
        }
    }
}

impl std::error::Error for DeError {}

/// `Unexpected` as messages show it: `"lots"`, `5`, `a table`.
fn shown(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(x) => x.to_string(),
        Unexpected::Char(c) => format!("{c:?}"),
        Unexpected::Str(s) => quote(s),
        Unexpected::Bytes(_) => "bytes".to_string(),
        Unexpected::Unit => "null".to_string(),
        Unexpected::Option => "an optional value".to_string(),
        Unexpected::NewtypeStruct => "a value".to_string(),
        Unexpected::Seq => "an array".to_string(),
        Unexpected::Map => "a table".to_string(),
        Unexpected::Enum => "a variant".to_string(),
        Unexpected::UnitVariant => "a variant".to_string(),
        Unexpected::NewtypeVariant => "a variant".to_string(),
        Unexpected::TupleVariant => "a variant".to_string(),
        Unexpected::StructVariant => "a variant".to_string(),
        Unexpected::Other(o) => o.to_string(),
    }
}

fn one_of(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    list.join(", ")
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::invalid(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!("expected {exp}, found {}", shown(&unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!("expected {exp}, found {}", shown(&unexp)))
    }

    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!("expected {exp}, found {len} elements"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let hint = super::value::closest(variant, expected.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_else(|| format!(" (expected one of {})", one_of(expected)));
        DeError::invalid(format!("unknown value `{variant}`{hint}"))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            kind: Kind::UnknownKey {
                key: field.to_string(),
                expected: expected.iter().map(|s| s.to_string()).collect(),
            },
            at: None,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            kind: Kind::MissingKey(field.to_string()),
            at: None,
        }
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::invalid(format!("key `{field}` is given twice"))
    }
}

/// Deserializes a `T` from `node`, whose key path is `path`.
pub(crate) fn from_node<'de, T: Deserialize<'de>>(
    node: &Node,
    path: &Path,
    ctx: &Ctx<'_>,
) -> Result<T, LoadError> {
    T::deserialize(NodeDe { node, path, ctx }).map_err(|e| e.into_load(&node.at, path))
}

/// The keys a struct reads, as its `Deserialize` declares them.
pub(crate) fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe;
    #[derive(Debug)]
    struct Fields(&'static [&'static str]);
    impl fmt::Display for Fields {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("fields")
        }
    }
    impl std::error::Error for Fields {}
    impl de::Error for Fields {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Fields(&[])
        }
    }
    impl<'de> de::Deserializer<'de> for Probe {
        type Error = Fields;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
            Err(Fields(&[]))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Fields> {
            Err(Fields(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    match T::deserialize(Probe) {
        Err(Fields(f)) => f,
        Ok(_) => &[],
    }
}

struct NodeDe<'a, 'c> {
    node: &'a Node,
    path: &'a Path,
    ctx: &'a Ctx<'c>,
}

impl NodeDe<'_, '_> {
    fn locate<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.located(&self.node.at, self.path))
    }

    fn wrong(&self, expected: &str) -> DeError {
        DeError::invalid(format!(
            "expected {expected}, found {}",
            self.node.describe()
        ))
        .located(&self.node.at, self.path)
    }

    fn integer(&self, min: i128, max: i128) -> Result<i128, DeError> {
        let n = match &self.node.value {
            Value::Int(n) => *n,
            Value::Env(s) => s
                .trim()
                .parse::<i128>()
                .map_err(|_| self.wrong("an integer"))?,
            _ => return Err(self.wrong("an integer")),
        };
        if n < min || n > max {
            return Err(self.wrong(&format!("an integer from {min} to {max}")));
        }
        Ok(n)
    }

    fn number(&self) -> Result<f64, DeError> {
        match &self.node.value {
            Value::Int(n) => Ok(*n as f64),
            Value::Float(x) => Ok(*x),
            Value::Env(s) if s.chars().any(|c| c.is_ascii_digit()) => {
                s.trim().parse::<f64>().map_err(|_| self.wrong("a number"))
            }
            _ => Err(self.wrong("a number")),
        }
    }

    fn boolean(&self) -> Result<bool, DeError> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            Value::Env(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
            Value::Env(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.wrong("true or false")),
        }
    }

    fn string(&self) -> Result<&str, DeError> {
        match &self.node.value {
            Value::Str(s) | Value::Env(s) => Ok(s),
            _ => Err(self.wrong("a string")),
        }
    }

    fn visit_int<'de, V: Visitor<'de>>(&self, v: V, n: i128) -> Result<V::Value, DeError> {
        if let Ok(u) = u64::try_from(n) {
            v.visit_u64(u)
        } else if let Ok(i) = i64::try_from(n) {
            v.visit_i64(i)
        } else {
            v.visit_i128(n)
        }
    }

    fn map<'de, V: Visitor<'de>>(
        &self,
        v: V,
        fields: Option<&'static [&'static str]>,
    ) -> Result<V::Value, DeError> {
        let entries = match &self.node.value {
            Value::Map(entries) => entries,
            _ => return Err(self.wrong("a table")),
        };
        let entries = match fields {
            Some(fields) => resolve_secrets(entries, fields, self.path, self.ctx)?,
            None => entries.iter().map(Cow::Borrowed).collect(),
        };
        let access = MapDe {
            entries,
            next: 0,
            path: self.path,
            ctx: self.ctx,
            value_path: None,
        };
        self.locate(v.visit_map(access))
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $t:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let n = self.integer(<$t>::MIN as i128, <$t>::MAX as i128)?;
            self.locate(v.$visit(n as $t))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(n) => self.visit_int(v, *n),
            Value::Float(x) => v.visit_f64(*x),
            Value::Str(s) => v.visit_str(s),
            Value::Env(s) => {
                let t = s.trim();
                if let Ok(n) = t.parse::<i128>() {
                    self.visit_int(v, n)
                } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
                    v.visit_bool(t.eq_ignore_ascii_case("true"))
                } else if let (true, Ok(x)) = (
                    t.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.'),
                    t.parse::<f64>(),
                ) {
                    v.visit_f64(x)
                } else {
                    v.visit_str(s)
                }
            }
            Value::Seq(items) => v.visit_seq(SeqDe {
                items,
                next: 0,
                path: self.path,
                ctx: self.ctx,
            }),
            Value::Map(_) => return self.map(v, None),
        };
        self.locate(r)
    }

    integers! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
    }

    fn deserialize_u128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let n = self.integer(0, i128::MAX)?;
        self.locate(v.visit_u128(n as u128))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let b = self.boolean()?;
        self.locate(v.visit_bool(b))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let x = self.number()?;
        self.locate(v.visit_f32(x as f32))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let x = self.number()?;
        self.locate(v.visit_f64(x))
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.string()?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => self.locate(v.visit_char(c)),
            _ => Err(self.wrong("a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.string()?;
        self.locate(v.visit_str(s))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let s = self.string()?;
        self.locate(v.visit_bytes(s.as_bytes()))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => self.locate(v.visit_none()),
            _ => {
                let (node, path, ctx) = (self.node, self.path, self.ctx);
                v.visit_some(NodeDe { node, path, ctx })
                    .map_err(|e| e.located(&node.at, path))
            }
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => self.locate(v.visit_unit()),
            _ => Err(self.wrong("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        let (node, path, ctx) = (self.node, self.path, self.ctx);
        v.visit_newtype_struct(NodeDe { node, path, ctx })
            .map_err(|e| e.located(&node.at, path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Seq(items) => self.locate(v.visit_seq(SeqDe {
                items,
                next: 0,
                path: self.path,
                ctx: self.ctx,
            })),
            _ => Err(self.wrong("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.map(v, None)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.map(v, Some(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) | Value::Env(s) => {
                let s = s.trim();
                self.locate(v.visit_enum(s.into_deserializer()))
            }
            Value::Map(entries) if entries.len() == 1 => {
                let entry = &entries[0];
                let path = self.path.key(&entry.key);
                let r = v.visit_enum(EnumDe {
                    entry,
                    path: &path,
                    ctx: self.ctx,
                });
                r.map_err(|e| e.located(&entry.key_at, self.path))
            }
            _ => Err(self.wrong(&format!(
                "one of {} (a string, or a table of one of them)",
                one_of(variants)
            ))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

/// The entries of a struct's table, with `<key>_env` / `<key>_file` keys
/// replaced by `<key>` and the secret they point at.
fn resolve_secrets<'a>(
    entries: &'a [Entry],
    fields: &'static [&'static str],
    path: &Path,
    ctx: &Ctx<'_>,
) -> Result<Vec<Cow<'a, Entry>>, DeError> {
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = entry.key.as_str();
        let is_field = |b: &&str| fields.contains(b);
        let source = if fields.contains(&key) {
            None
        } else if let Some(base) = key.strip_suffix("_env").filter(is_field) {
            Some((base, true))
        } else {
            key.strip_suffix("_file")
                .filter(is_field)
                .map(|base| (base, false))
        };
        let Some((base, from_env)) = source else {
            out.push(Cow::Borrowed(entry));
            continue;
        };
        let here = |problem: String| DeError {
            kind: Kind::Secret(problem),
            at: Some((entry.node.at.clone(), path.key(key))),
        };
        if entries.iter().any(|e| e.key == base) {
            return Err(here(format!(
                "both `{base}` and `{key}` are given; keep one"
            )));
        }
        let Some(named) = entry.node.as_str() else {
            return Err(here(format!(
                "expected a string naming {}, found {}",
                if from_env {
                    "an environment variable"
                } else {
                    "a file"
                },
                entry.node.describe()
            )));
        };
        let secret = if from_env {
            match ctx.vars.get(named) {
                Some(v) => v.clone(),
                None => {
                    return Err(here(format!(
                        "the environment variable `{named}` is not set"
                    )))
                }
            }
        } else {
            let mut file = std::path::PathBuf::from(named);
            if file.is_relative() {
                if let Some(base_dir) = ctx.base_dir {
                    file = base_dir.join(file);
                }
            }
            match std::fs::read_to_string(&file) {
                Ok(text) => text.trim_end_matches(['\n', '\r']).to_string(),
                Err(e) => {
                    return Err(here(format!(
                        "cannot read the file `{}`: {e}",
                        file.display()
                    )))
                }
            }
        };
        ctx.secrets.borrow_mut().push(path.key(base));
        out.push(Cow::Owned(Entry {
            key: base.to_string(),
            key_at: entry.key_at.clone(),
            node: Node::new(Value::Str(secret), entry.node.at.clone()),
        }));
    }
    Ok(out)
}

struct MapDe<'a, 'c> {
    entries: Vec<Cow<'a, Entry>>,
    next: usize,
    path: &'a Path,
    ctx: &'a Ctx<'c>,
    value_path: Option<Path>,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.get(self.next) else {
            return Ok(None);
        };
        self.value_path = Some(self.path.key(&entry.key));
        seed.deserialize(KeyDe(&entry.key))
            .map(Some)
            .map_err(|e| e.located(&entry.key_at, self.path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = &self.entries[self.next];
        self.next += 1;
        let path = self
            .value_path
            .take()
            .unwrap_or_else(|| self.path.key(&entry.key));
        let node = &entry.node;
        seed.deserialize(NodeDe {
            node,
            path: &path,
            ctx: self.ctx,
        })
        .map_err(|e| e.located(&node.at, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.next)
    }
}

struct SeqDe<'a, 'c> {
    items: &'a [Node],
    next: usize,
    path: &'a Path,
    ctx: &'a Ctx<'c>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.next) else {
            return Ok(None);
        };
        let path = self.path.index(self.next);
        self.next += 1;
        seed.deserialize(NodeDe {
            node,
            path: &path,
            ctx: self.ctx,
        })
        .map(Some)
        .map_err(|e| e.located(&node.at, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.next)
    }
}

/// A table key.
struct KeyDe<'a>(&'a str);

impl<'de> de::Deserializer<'de> for KeyDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// An enum written as a table of one key: `{ named = "io" }`.
struct EnumDe<'a, 'c> {
    entry: &'a Entry,
    path: &'a Path,
    ctx: &'a Ctx<'c>,
}

impl<'de, 'a, 'c> de::EnumAccess<'de> for EnumDe<'a, 'c> {
    type Error = DeError;
    type Variant = NodeDe<'a, 'c>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, NodeDe<'a, 'c>), DeError> {
        let variant = seed.deserialize(KeyDe(&self.entry.key))?;
        Ok((
            variant,
            NodeDe {
                node: &self.entry.node,
                path: self.path,
                ctx: self.ctx,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match &self.node.value {
            Value::Null => Ok(()),
            Value::Map(entries) if entries.is_empty() => Ok(()),
            _ => Err(self.wrong("no value for this variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let (node, path) = (self.node, self.path);
        seed.deserialize(self)
            .map_err(|e| e.located(&node.at, path))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.map(v, Some(fields))
    }
}
