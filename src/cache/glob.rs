//! Glob patterns over string keys, as Redis's `KEYS` reads them:
//! [`Cache::keys`] and [`Cache::delete_pattern`].
//!
//! | pattern | matches |
//! | --- | --- |
//! | `*` | any run of characters, also none |
//! | `?` | exactly one character |
//! | `[abc]` | one of the listed characters |
//! | `[a-z]` | one character in the range |
//! | `[^a]` or `[!a]` | one character not listed |
//! | `\x` | the character `x` itself (`\*`, `\[`, `\\` …) |
//!
//! A `]` right after `[` (or `[^`) is a listed character. An unclosed `[`,
//! a reversed range (`[z-a]`) and a trailing `\` are typed errors
//! ([`CacheError::InvalidPattern`]),
//! not silent literals. Matching is linear in practice and never
//! exponential (one backtrack point).
//!
//! Pattern operations visit every entry of every shard, locking one shard
//! at a time: they cost O(entries) and are meant for maintenance, not the
//! hot path.
//!
//! ```
//! use servitor::cache::GlobPattern;
//!
//! let p = GlobPattern::new("user:[ab]?:*").unwrap();
//! assert!(p.matches("user:a1:name"));
//! assert!(!p.matches("user:c1:name"));
//! assert!(GlobPattern::new("user:[ab").is_err());
//! ```

use super::error::CacheError;
use super::handle::Cache;
use std::hash::Hash;

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Char(x) => *x == c,
            Token::AnyChar => true,
            Token::Star => unreachable!("stars are matched by the backtracking loop"),
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

impl GlobPattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<GlobPattern, CacheError> {
        let invalid = |problem: &str| CacheError::InvalidPattern {
            pattern: pattern.to_string(),
            problem: problem.to_string(),
        };
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    if tokens.last() == Some(&Token::Star) {
                        continue;
                    }
                    Token::Star
                }
                '?' => Token::AnyChar,
                '\\' => Token::Char(
                    chars
                        .next()
                        .ok_or_else(|| invalid("ends with an unfinished `\\` escape"))?,
                ),
                '[' => {
                    let negated = matches!(chars.peek(), Some('^' | '!'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = chars.next().ok_or_else(|| invalid("unclosed `[`"))?;
                        let lo = match c {
                            ']' if !first => break,
                            '\\' => chars.next().ok_or_else(|| invalid("unclosed `[`"))?,
                            c => c,
                        };
                        first = false;
                        let is_range = chars.peek() == Some(&'-')
                            && chars.clone().nth(1).is_some_and(|n| n != ']');
                        if !is_range {
                            ranges.push((lo, lo));
                            continue;
                        }
                        chars.next();
                        let hi = match chars.next().ok_or_else(|| invalid("unclosed `[`"))? {
                            '\\' => chars.next().ok_or_else(|| invalid("unclosed `[`"))?,
                            c => c,
                        };
                        if hi < lo {
                            return Err(invalid(&format!("reversed range `{lo}-{hi}`")));
                        }
                        ranges.push((lo, hi));
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Char(c),
            };
            tokens.push(token);
        }
        Ok(GlobPattern {
            source: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut s) = (0usize, 0usize);
        // Where to resume after the last star: (token after it, text offset).
        let mut resume: Option<(usize, usize)> = None;
        loop {
            if t < tokens.len() {
                if tokens[t] == Token::Star {
                    t += 1;
                    resume = Some((t, s));
                    continue;
                }
                if let Some(c) = text[s..].chars().next() {
                    if tokens[t].accepts(c) {
                        t += 1;
                        s += c.len_utf8();
                        continue;
                    }
                }
            } else if s == text.len() {
                return true;
            }
            // Mismatch: let the last star swallow one more character.
            match resume {
                Some((rt, rs)) => match text[rs..].chars().next() {
                    Some(c) => {
                        let next = rs + c.len_utf8();
                        resume = Some((rt, next));
                        t = rt;
                        s = next;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }
}

impl std::fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// Pattern operations, for caches whose keys are strings (`String`,
/// `&'static str`, `Arc<str>`, …).
impl<K, V> Cache<K, V>
where
    K: AsRef<str> + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The live keys matching `pattern` (Redis `KEYS`), in no order.
    ///
    /// ```
    /// use servitor::cache::{Cache, CacheConfig};
    ///
    /// let (_spec, cache) = Cache::<String, u32>::service("glob", CacheConfig::default()).unwrap();
    /// for k in ["user:1", "user:2", "user:10", "order:1"] {
    ///     cache.set(k.to_string(), 0).unwrap();
    /// }
    /// let mut users = cache.keys("user:?").unwrap();
    /// users.sort();
    /// assert_eq!(users, ["user:1", "user:2"]);
    /// assert_eq!(cache.delete_pattern("user:*").unwrap(), 3);
    /// assert_eq!(cache.keys("*").unwrap(), ["order:1"]);
    /// ```
    pub fn keys(&self, pattern: &str) -> Result<Vec<K>, CacheError> {
        let pattern = GlobPattern::new(pattern)?;
        let mut keys = Vec::new();
        self.shared.each_shard(|shard, _| {
            keys.extend(shard.keys_where(|k| pattern.matches(k.as_ref())));
        })?;
        Ok(keys)
    }

    /// Removes every live entry whose key matches `pattern`; returns how
    /// many. The listener hears of each (cause explicit).
    pub fn delete_pattern(&self, pattern: &str) -> Result<usize, CacheError> {
        let pattern = GlobPattern::new(pattern)?;
        let mut removed = 0;
        self.shared.each_shard(|shard, removals| {
            removed += shard.remove_where(|k| pattern.matches(k.as_ref()), removals);
        })?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::GlobPattern;

    fn m(p: &str, s: &str) -> bool {
        GlobPattern::new(p).unwrap().matches(s)
    }

    #[test]
    fn stars_backtrack_without_blowing_up() {
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*", ""));
        assert!(m("**a", "a"));
        let long = "a".repeat(200);
        assert!(!m("*a*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn classes_ranges_negation_and_escapes() {
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "x"));
        assert!(m("?", "é"));
        assert!(GlobPattern::new("[z-a]").is_err());
        assert!(GlobPattern::new("abc\\").is_err());
    }
}
