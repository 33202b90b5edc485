//! Subjects and patterns: the names events are published under, and the
//! filters subscribers choose them with.
//!
//! A **subject** is a dot-separated list of tokens, such as `orders.eu.created`.
//! A **pattern** is a subject in which whole tokens may be wildcards, with the
//! meaning they have in [NATS](https://docs.nats.io/nats-concepts/subjects):
//!
//! * `*` matches exactly one token: `orders.*` matches `orders.created`, but
//!   neither `orders` nor `orders.eu.created`;
//! * `>` matches one or more trailing tokens and may only come last:
//!   `orders.>` matches `orders.created` and `orders.eu.created`, not `orders`.
//!
//! A token is any non-empty run of characters other than `.`, whitespace and
//! control characters. A subject or pattern has at most
//! [`MAX_SUBJECT_TOKENS`] tokens and [`MAX_SUBJECT_LEN`] bytes, so matching,
//! which walks one trie level per token, stays bounded. The wildcard characters stand alone: `a.b*` and `a.>b`
//! are mistakes, not literals. Everything that is not a valid subject or
//! pattern is refused with a typed error naming the [`SubjectProblem`]; so is
//! publishing to a pattern (a wildcard subject).
//!
//! ```
//! use servitor::bus::{BusError, Pattern, Subject, SubjectProblem};
//!
//! let pattern = Pattern::new("orders.*.created")?;
//! assert!(pattern.matches(&Subject::new("orders.eu.created")?));
//! assert!(!pattern.matches(&Subject::new("orders.created")?));
//!
//! let err = Pattern::new("orders.>.created").unwrap_err();
//! assert!(matches!(err, BusError::InvalidPattern { problem: SubjectProblem::TailNotLast, .. }));
//! let err = Subject::new("orders.*").unwrap_err();
//! assert!(matches!(err, BusError::InvalidSubject { problem: SubjectProblem::Wildcard, .. }));
//! # Ok::<(), BusError>(())
//! ```

use super::error::BusError;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// The longest subject or pattern, in bytes.
pub const MAX_SUBJECT_LEN: usize = 4096;
/// The most tokens in a subject or pattern.
pub const MAX_SUBJECT_TOKENS: usize = 128;

/// What is wrong with a subject or a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectProblem {
    /// Longer than [`MAX_SUBJECT_LEN`] bytes.
    #[error("it is longer than 4096 bytes")]
    TooLong,
    /// More than [`MAX_SUBJECT_TOKENS`] tokens.
    #[error("it has more than 128 tokens")]
    TooManyTokens,
    /// The whole string is empty.
    #[error("it is empty")]
    Empty,
    /// Two dots in a row, or a leading or trailing dot (`a..b`, `.a`, `a.`).
    #[error("it has an empty token")]
    EmptyToken,
    /// It contains whitespace or a control character.
    #[error("it contains whitespace or a control character")]
    Whitespace,
    /// A wildcard character inside a longer token (`a.b*`, `a.>b`).
    #[error("a wildcard (`*` or `>`) must be a whole token")]
    PartialWildcard,
    /// `>` before the last token (`a.>.b`).
    #[error("`>` may only be the last token")]
    TailNotLast,
    /// A wildcard in a subject that is published to.
    #[error("events are published to a concrete subject, not a wildcard")]
    Wildcard,
}

/// Checks the syntax shared by subjects and patterns; returns whether the
/// string contains wildcard tokens.
fn check(s: &str) -> Result<bool, SubjectProblem> {
    if s.is_empty() {
        return Err(SubjectProblem::Empty);
    }
    if s.len() > MAX_SUBJECT_LEN {
        return Err(SubjectProblem::TooLong);
    }
    let mut wild = false;
    let mut count = 0;
    let mut tokens = s.split('.').peekable();
    while let Some(token) = tokens.next() {
        count += 1;
        if count > MAX_SUBJECT_TOKENS {
            return Err(SubjectProblem::TooManyTokens);
        }
        match token {
            "" => return Err(SubjectProblem::EmptyToken),
            "*" => wild = true,
            ">" if tokens.peek().is_some() => return Err(SubjectProblem::TailNotLast),
            ">" => wild = true,
            _ => {
                for c in token.chars() {
                    if c.is_whitespace() || c.is_control() {
                        return Err(SubjectProblem::Whitespace);
                    }
                    if c == '*' || c == '>' {
                        return Err(SubjectProblem::PartialWildcard);
                    }
                }
            }
        }
    }
    Ok(wild)
}

/// A valid subject to publish to: dot-separated tokens, no wildcards.
///
/// Cheap to clone: a subject of up to 23 bytes is stored inline (a clone is
/// a copy, with no reference count for publisher and subscribers to
/// contend on), a longer one is shared. Parse a subject once with
/// [`Subject::new`] and publish to it many times to skip the parsing; a
/// `&str` works everywhere a subject is expected too.
///
/// ```
/// use servitor::bus::Subject;
///
/// let s = Subject::new("orders.eu.created").unwrap();
/// assert_eq!(s.as_str(), "orders.eu.created");
/// assert_eq!(s.tokens().collect::<Vec<_>>(), ["orders", "eu", "created"]);
/// assert!(Subject::new("orders..created").is_err());
/// ```
#[derive(Clone)]
pub struct Subject {
    /// The bytes of a short subject (empty for a long one).
    inline: Inline,
    /// A long subject. (No enum: its one-byte tag made every copy of an
    /// event a load spanning stores of different widths, which stalls.)
    shared: Option<Arc<str>>,
}

/// Longest subject kept inline.
const INLINE: usize = 23;

/// Word-aligned so that moving a subject is plain word copies.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    bytes: [u8; INLINE],
    len: u8,
}

impl Subject {
    /// Parses a subject; wildcards and malformed names are refused.
    pub fn new(subject: &str) -> Result<Subject, BusError> {
        match check(subject) {
            Ok(false) => Ok(Subject::from_valid(subject)),
            Ok(true) => Err(BusError::invalid_subject(subject, SubjectProblem::Wildcard)),
            Err(problem) => Err(BusError::invalid_subject(subject, problem)),
        }
    }

    /// Builds a subject from parts known to be valid.
    /// (A dead letter's subject may be one token longer than the limit.)
    pub(crate) fn trusted(subject: String) -> Subject {
        debug_assert!(
            matches!(
                check(&subject),
                Ok(false) | Err(SubjectProblem::TooLong | SubjectProblem::TooManyTokens)
            ),
            "{subject}"
        );
        Subject::from_valid(&subject)
    }

    fn from_valid(s: &str) -> Subject {
        let mut inline = Inline {
            bytes: [0; INLINE],
            len: 0,
        };
        if s.len() <= INLINE {
            inline.bytes[..s.len()].copy_from_slice(s.as_bytes());
            inline.len = s.len() as u8;
            Subject {
                inline,
                shared: None,
            }
        } else {
            Subject {
                inline,
                shared: Some(Arc::from(s)),
            }
        }
    }

    /// The subject as a string.
    pub fn as_str(&self) -> &str {
        match &self.shared {
            Some(s) => s,
            None => std::str::from_utf8(&self.inline.bytes[..self.inline.len as usize])
                .expect("an inline subject holds the bytes of a str"),
        }
    }

    /// Its tokens, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &str> + '_ {
        self.as_str().split('.')
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Subject) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Subject {}

impl std::hash::Hash for Subject {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Subject) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Subject) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl AsRef<str> for Subject {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Subject {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Subject {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Subject {
    type Err = BusError;
    fn from_str(s: &str) -> Result<Self, BusError> {
        Subject::new(s)
    }
}

/// Anything a subject can be made from: `&str`, `String`, or an already
/// parsed [`Subject`] (which skips the parsing and the allocation).
pub trait IntoSubject {
    /// Parses (or passes on) the subject.
    fn into_subject(self) -> Result<Subject, BusError>;
}

impl IntoSubject for Subject {
    fn into_subject(self) -> Result<Subject, BusError> {
        Ok(self)
    }
}

impl IntoSubject for &Subject {
    fn into_subject(self) -> Result<Subject, BusError> {
        Ok(self.clone())
    }
}

impl IntoSubject for &str {
    fn into_subject(self) -> Result<Subject, BusError> {
        Subject::new(self)
    }
}

impl IntoSubject for String {
    fn into_subject(self) -> Result<Subject, BusError> {
        Subject::new(&self)
    }
}

impl IntoSubject for &String {
    fn into_subject(self) -> Result<Subject, BusError> {
        Subject::new(self)
    }
}

/// A valid subscription pattern: a subject whose tokens may be the
/// wildcards `*` (one token) and `>` (one or more trailing tokens).
///
/// ```
/// use servitor::bus::{Pattern, Subject};
///
/// let all_orders = Pattern::new("orders.>").unwrap();
/// let s = |s| Subject::new(s).unwrap();
/// assert!(all_orders.matches(&s("orders.created")));
/// assert!(all_orders.matches(&s("orders.eu.created")));
/// assert!(!all_orders.matches(&s("orders")));
/// assert!(Pattern::new("orders.>").unwrap().has_wildcards());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern {
    text: Arc<str>,
    wild: bool,
}

impl Pattern {
    /// Parses a pattern.
    pub fn new(pattern: &str) -> Result<Pattern, BusError> {
        match check(pattern) {
            Ok(wild) => Ok(Pattern {
                text: Arc::from(pattern),
                wild,
            }),
            Err(problem) => Err(BusError::InvalidPattern {
                pattern: pattern.to_string(),
                problem,
            }),
        }
    }

    /// The pattern as a string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its tokens, wildcards included, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &str> + '_ {
        self.text.split('.')
    }

    /// Whether it contains `*` or `>`.
    pub fn has_wildcards(&self) -> bool {
        self.wild
    }

    /// Whether `subject` is one of the subjects this pattern selects.
    ///
    /// This is the reference definition (linear in the tokens); the bus
    /// itself finds the patterns matching a subject with a trie.
    pub fn matches(&self, subject: &Subject) -> bool {
        let mut subject = subject.tokens();
        for token in self.tokens() {
            match token {
                ">" => return subject.next().is_some(),
                "*" => {
                    if subject.next().is_none() {
                        return false;
                    }
                }
                literal => {
                    if subject.next() != Some(literal) {
                        return false;
                    }
                }
            }
        }
        subject.next().is_none()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl std::str::FromStr for Pattern {
    type Err = BusError;
    fn from_str(s: &str) -> Result<Self, BusError> {
        Pattern::new(s)
    }
}

impl From<Subject> for Pattern {
    fn from(subject: Subject) -> Pattern {
        Pattern {
            text: Arc::from(subject.as_str()),
            wild: false,
        }
    }
}

/// Checks a queue group name: one token, no wildcards.
pub(crate) fn check_group(name: &str) -> Result<(), BusError> {
    match check(name) {
        Ok(false) if !name.contains('.') => Ok(()),
        Ok(_) => Err(BusError::InvalidGroup {
            group: name.to_string(),
            problem: "a queue group name is one token without wildcards",
        }),
        Err(problem) => Err(BusError::InvalidGroup {
            group: name.to_string(),
            problem: match problem {
                SubjectProblem::Empty => "it is empty",
                SubjectProblem::Whitespace => "it contains whitespace",
                _ => "a queue group name is one token without wildcards",
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        assert_eq!(check("a"), Ok(false));
        assert_eq!(check("a.*.>"), Ok(true));
        assert_eq!(check(">"), Ok(true));
        assert_eq!(check("a.>.b"), Err(SubjectProblem::TailNotLast));
        assert_eq!(check("a..b"), Err(SubjectProblem::EmptyToken));
        assert_eq!(check("a."), Err(SubjectProblem::EmptyToken));
        assert_eq!(check(""), Err(SubjectProblem::Empty));
        assert_eq!(check("a.b*"), Err(SubjectProblem::PartialWildcard));
        assert_eq!(check("a b"), Err(SubjectProblem::Whitespace));
        assert_eq!(check("a.\tb"), Err(SubjectProblem::Whitespace));
    }
}
