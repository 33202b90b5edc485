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
//! a reversed range (`[z-a]`), a trailing `\` and more than
//! [`MAX_CLASSES`] distinct classes in one pattern are typed errors
//! ([`CacheError::InvalidPattern`]), not silent literals.
//!
//! ## Cost
//!
//! Matching never backtracks. The pattern is cut at its stars into runs
//! of single-character tokens; the first run must match at the start of
//! the key, the last at its end, and each run in between is searched for
//! leftmost, after the previous one — which is exact, because every run
//! has a fixed length. A literal run is found with the two-way string
//! search, in time linear in the key and the run. A run with `?` or
//! classes is found with a bit-parallel automaton (Shift-And), in time
//! proportional to the key's length × ⌈run length / 64⌉. No input makes
//! matching quadratic in the key.
//!
//! Pattern operations visit every entry of every shard. They never match
//! under a shard's lock: they copy the keys of up to [`SCAN_CHUNK`]
//! entries out, let go of the lock, match, and come back for the next
//! chunk — so reads and writes on the same shard wait for one chunk's
//! copies at most, however long the keys or costly the pattern. They cost
//! O(entries) and are meant for maintenance, not the hot path; entries
//! written while one runs may or may not be seen.
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
use std::collections::HashMap;
use std::hash::Hash;

/// The most distinct character classes (`[...]`) one pattern may hold:
/// each is checked once per key character a wildcard run reads.
pub const MAX_CLASSES: usize = 64;

/// The most keys a pattern operation copies out of a shard per hold of
/// its lock.
pub const SCAN_CHUNK: usize = 256;

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobPattern {
    source: String,
    /// The runs between stars, in order; with no star, the only run.
    runs: Vec<Run>,
    /// Whether the pattern has a star (so `runs.len() >= 2`).
    starred: bool,
}

/// One single-character token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    /// Index into the pattern's distinct classes.
    Class(usize),
}

/// A character class: sorted, merged ranges, maybe negated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn accepts(&self, c: char) -> bool {
        // The ranges are sorted and disjoint: the last one starting at or
        // before `c` is the only candidate.
        let i = self.ranges.partition_point(|&(lo, _)| lo <= c);
        let inside = i > 0 && c <= self.ranges[i - 1].1;
        inside != self.negated
    }
}

/// A run of tokens between stars.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    tokens: Vec<Token>,
    classes: Vec<Class>,
    /// The run as a string, when every token is a literal character.
    literal: Option<String>,
    /// For a run with wildcards: its Shift-And tables.
    automaton: Option<ShiftAnd>,
}

impl Run {
    fn new(tokens: Vec<Token>, classes: &[Class]) -> Run {
        let literal = tokens
            .iter()
            .map(|t| match t {
                Token::Char(c) => Some(*c),
                _ => None,
            })
            .collect::<Option<String>>();
        let automaton = match &literal {
            None => Some(ShiftAnd::new(&tokens)),
            Some(_) => None,
        };
        Run {
            tokens,
            classes: classes.to_vec(),
            literal,
            automaton,
        }
    }

    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn accepts(&self, token: usize, c: char) -> bool {
        match &self.tokens[token] {
            Token::Char(x) => *x == c,
            Token::AnyChar => true,
            Token::Class(k) => self.classes[*k].accepts(c),
        }
    }

    /// Whether the run matches exactly the whole of `text`.
    fn matches_exactly(&self, text: &str) -> bool {
        let mut chars = text.chars();
        for t in 0..self.len() {
            match chars.next() {
                Some(c) if self.accepts(t, c) => {}
                _ => return false,
            }
        }
        chars.next().is_none()
    }

    /// The byte length of the run's match at the start of `text`.
    fn match_prefix(&self, text: &str) -> Option<usize> {
        let mut end = 0;
        let mut chars = text.chars();
        for t in 0..self.len() {
            let c = chars.next().filter(|&c| self.accepts(t, c))?;
            end += c.len_utf8();
        }
        Some(end)
    }

    /// The byte offset where the run's match at the end of `text` starts.
    fn match_suffix(&self, text: &str) -> Option<usize> {
        let mut start = text.len();
        let mut chars = text.chars().rev();
        for t in (0..self.len()).rev() {
            let c = chars.next().filter(|&c| self.accepts(t, c))?;
            start -= c.len_utf8();
        }
        Some(start)
    }

    /// The byte offset just past the leftmost match in `text`.
    fn find_end(&self, text: &str) -> Option<usize> {
        match (&self.literal, &self.automaton) {
            (Some(lit), _) => text.find(lit.as_str()).map(|at| at + lit.len()),
            (None, Some(automaton)) => automaton.find_end(text, &self.classes),
            (None, None) => unreachable!("a wildcard run has an automaton"),
        }
    }
}

/// Where a character sets bits of the Shift-And mask: in every word (dense)
/// for characters at many positions, position by position for the rest,
/// so building a mask costs O(words) whatever the run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Positions {
    Dense(Vec<u64>),
    Sparse(Vec<u32>),
}

impl Positions {
    fn build(positions: &[u32], words: usize) -> Positions {
        if positions.len() < words {
            Positions::Sparse(positions.to_vec())
        } else {
            let mut bits = vec![0u64; words];
            for &p in positions {
                bits[p as usize / 64] |= 1u64 << (p % 64);
            }
            Positions::Dense(bits)
        }
    }

    fn or_into(&self, mask: &mut [u64]) {
        match self {
            Positions::Dense(bits) => {
                for (m, b) in mask.iter_mut().zip(bits) {
                    *m |= b;
                }
            }
            Positions::Sparse(positions) => {
                for &p in positions {
                    mask[p as usize / 64] |= 1u64 << (p % 64);
                }
            }
        }
    }
}

/// Shift-And for a run with wildcards: bit `j` of the state is set when the
/// last `j + 1` characters read match the run's first `j + 1` tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShiftAnd {
    len: usize,
    words: usize,
    /// Positions of `?`.
    any: Positions,
    /// Positions of each literal character.
    chars: Vec<(char, Positions)>,
    /// Positions of each class, by class index.
    classes: Vec<(usize, Positions)>,
}

impl ShiftAnd {
    fn new(tokens: &[Token]) -> ShiftAnd {
        let len = tokens.len();
        let words = len.div_ceil(64);
        let mut any = Vec::new();
        let mut chars: HashMap<char, Vec<u32>> = HashMap::new();
        let mut classes: HashMap<usize, Vec<u32>> = HashMap::new();
        for (p, t) in tokens.iter().enumerate() {
            let p = p as u32;
            match t {
                Token::AnyChar => any.push(p),
                Token::Char(c) => chars.entry(*c).or_default().push(p),
                Token::Class(k) => classes.entry(*k).or_default().push(p),
            }
        }
        let mut chars: Vec<_> = chars
            .into_iter()
            .map(|(c, ps)| (c, Positions::build(&ps, words)))
            .collect();
        chars.sort_by_key(|(c, _)| *c);
        let mut classes: Vec<_> = classes
            .into_iter()
            .map(|(k, ps)| (k, Positions::build(&ps, words)))
            .collect();
        classes.sort_by_key(|(k, _)| *k);
        ShiftAnd {
            len,
            words,
            any: Positions::build(&any, words),
            chars,
            classes,
        }
    }

    fn find_end(&self, text: &str, classes: &[Class]) -> Option<usize> {
        let words = self.words;
        let last_word = (self.len - 1) / 64;
        let last_bit = 1u64 << ((self.len - 1) % 64);
        let mut state = vec![0u64; words];
        let mut mask = vec![0u64; words];
        for (at, c) in text.char_indices() {
            mask.fill(0);
            self.any.or_into(&mut mask);
            if let Ok(i) = self.chars.binary_search_by_key(&c, |(x, _)| *x) {
                self.chars[i].1.or_into(&mut mask);
            }
            for (k, positions) in &self.classes {
                if classes[*k].accepts(c) {
                    positions.or_into(&mut mask);
                }
            }
            // state = ((state << 1) | 1) & mask, over all words.
            let mut carry = 1u64;
            for (s, m) in state.iter_mut().zip(&mask) {
                let next_carry = *s >> 63;
                *s = ((*s << 1) | carry) & m;
                carry = next_carry;
            }
            if state[last_word] & last_bit != 0 {
                return Some(at + c.len_utf8());
            }
        }
        None
    }
}

impl GlobPattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<GlobPattern, CacheError> {
        let invalid = |problem: &str| CacheError::InvalidPattern {
            pattern: pattern.to_string(),
            problem: problem.to_string(),
        };
        let mut classes: Vec<Class> = Vec::new();
        let mut runs: Vec<Vec<Token>> = vec![Vec::new()];
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    // Consecutive stars are one star.
                    if !runs.last().is_some_and(Vec::is_empty) || runs.len() == 1 {
                        runs.push(Vec::new());
                    }
                    continue;
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
                    let class = Class {
                        negated,
                        ranges: merge(ranges),
                    };
                    let k = match classes.iter().position(|c| *c == class) {
                        Some(k) => k,
                        None if classes.len() < MAX_CLASSES => {
                            classes.push(class);
                            classes.len() - 1
                        }
                        None => {
                            return Err(invalid(&format!(
                                "has more than {MAX_CLASSES} distinct character classes"
                            )))
                        }
                    };
                    Token::Class(k)
                }
                c => Token::Char(c),
            };
            runs.last_mut().expect("at least one run").push(token);
        }
        let starred = runs.len() > 1;
        Ok(GlobPattern {
            source: pattern.to_string(),
            runs: runs.into_iter().map(|t| Run::new(t, &classes)).collect(),
            starred,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let (first, rest) = self.runs.split_first().expect("at least one run");
        if !self.starred {
            return first.matches_exactly(text);
        }
        let (last, middle) = rest.split_last().expect("a starred pattern has two runs");
        let Some(mut at) = first.match_prefix(text) else {
            return false;
        };
        let Some(end) = last.match_suffix(&text[at..]).map(|s| at + s) else {
            return false;
        };
        for run in middle {
            match run.find_end(&text[at..end]) {
                Some(past) => at += past,
                None => return false,
            }
        }
        true
    }
}

/// Sorts ranges and merges overlapping or touching ones.
fn merge(mut ranges: Vec<(char, char)>) -> Vec<(char, char)> {
    ranges.sort_unstable();
    let mut out: Vec<(char, char)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1).saturating_add(1) => {
                last.1 = last.1.max(hi);
            }
            _ => out.push((lo, hi)),
        }
    }
    out
}

impl std::fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// One chunk of a scan: live keys and expired ones, with their slots.
struct Chunk<K> {
    live: Vec<(u32, K)>,
    expired: Vec<(u32, K)>,
    /// Where the next chunk starts; `None` when the shard is done.
    resume: Option<u32>,
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
        for shard in 0..self.shared.shard_count() {
            let mut from = Some(0);
            while let Some(start) = from {
                let chunk = self.copy_chunk(shard, start)?;
                keys.extend(
                    chunk
                        .live
                        .into_iter()
                        .filter(|(_, k)| pattern.matches(k.as_ref()))
                        .map(|(_, k)| k),
                );
                from = chunk.resume;
            }
        }
        Ok(keys)
    }

    /// Removes every live entry whose key matches `pattern`; returns how
    /// many. The listener hears of each (cause explicit); expired entries
    /// met on the way leave too (cause expired), whatever their key.
    pub fn delete_pattern(&self, pattern: &str) -> Result<usize, CacheError> {
        let pattern = GlobPattern::new(pattern)?;
        let mut removed = 0;
        for shard in 0..self.shared.shard_count() {
            let mut from = Some(0);
            while let Some(start) = from {
                let chunk = self.copy_chunk(shard, start)?;
                let doomed: Vec<_> = chunk
                    .live
                    .into_iter()
                    .filter(|(_, k)| pattern.matches(k.as_ref()))
                    .chain(chunk.expired)
                    .collect();
                if !doomed.is_empty() {
                    // The slot must still hold the key: it may have been
                    // removed, or reused, since the copy.
                    removed += self.shared.with_shard_at(shard, |shard, removals| {
                        doomed
                            .iter()
                            .filter(|(slot, key)| shard.remove_slot_if(*slot, key, removals))
                            .count()
                    })?;
                }
                from = chunk.resume;
            }
        }
        Ok(removed)
    }

    /// Copies the keys of up to [`SCAN_CHUNK`] entries of `shard` out,
    /// from slot `start` on, under one hold of its lock.
    fn copy_chunk(&self, shard: usize, start: u32) -> Result<Chunk<K>, CacheError> {
        let mut live = Vec::new();
        let mut expired = Vec::new();
        let resume = self.shared.with_shard_at(shard, |shard, _| {
            shard.scan(start, |slot, key, is_expired| {
                let copy = (slot, key.clone());
                if is_expired {
                    expired.push(copy);
                } else {
                    live.push(copy);
                }
                live.len() + expired.len() < SCAN_CHUNK
            })
        })?;
        Ok(Chunk {
            live,
            expired,
            resume,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::GlobPattern;

    fn m(p: &str, s: &str) -> bool {
        GlobPattern::new(p).unwrap().matches(s)
    }

    #[test]
    fn stars_match_without_backtracking() {
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*", ""));
        assert!(m("**a", "a"));
        assert!(m("a*", "a"));
        assert!(!m("a*a", "a"), "prefix and suffix may not overlap");
        assert!(m("a*a", "aa"));
        let long = "a".repeat(200);
        assert!(!m("*a*a*a*a*a*a*a*b", &long));
        assert!(m("*a*a*a*a*a*a*a*", &long));
    }

    #[test]
    fn wildcard_runs_between_stars_are_found_leftmost() {
        assert!(m("*a?c*", "xxabcxx"));
        assert!(m("*[ab]?[cd]*x", "zzbzdzzx"));
        assert!(!m("*[ab]?[cd]*x", "zzbzzdzzx"));
        assert!(m("*?é?*", "aéb"));
        assert!(!m("*?é?*", "éb"));
        // A run longer than one word of automaton state.
        let run: String = (0..100)
            .map(|i| if i % 7 == 0 { '?' } else { 'a' })
            .collect();
        let text = format!("b{}b", "a".repeat(150));
        assert!(m(&format!("*{run}*"), &text));
        assert!(!m(&format!("*{run}c*"), &text));
        assert!(m(&format!("*{run}b"), &text));
    }

    #[test]
    fn classes_ranges_negation_and_escapes() {
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("[c-ea-b]", "d") && m("[c-ea-b]", "a") && !m("[c-ea-b]", "f"));
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "x"));
        assert!(m("?", "é"));
        assert!(GlobPattern::new("[z-a]").is_err());
        assert!(GlobPattern::new("abc\\").is_err());
    }

    #[test]
    fn distinct_classes_are_bounded_and_repeats_are_free() {
        let repeated = "[0-9]".repeat(1000);
        assert!(GlobPattern::new(&repeated).is_ok());
        let distinct: String = (0..=super::MAX_CLASSES)
            .map(|i| format!("[{}]", char::from_u32(0x4E00 + i as u32).unwrap()))
            .collect();
        assert!(GlobPattern::new(&distinct).is_err());
    }
}
