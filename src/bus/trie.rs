//! The subscription trie: which subscriptions match a subject, found in time
//! proportional to the subject's length — not to the number of
//! subscriptions.
//!
//! Each node is one token position. A pattern `a.*.c` is stored along the
//! path `a` → `*` → `c`; a pattern ending in `>` is stored in the `tail` of
//! the node before the `>`. Matching a subject walks its tokens, at each
//! node following the literal child for the token *and* the `*` child, and
//! collecting the `tail` entries on the way (`>` needs at least one more
//! token). So 100,000 subscriptions on distinct topics cost one hash lookup
//! per token of the published subject, like 100 do.
//!
//! At every end point, plain subscriptions and queue-group members are kept
//! apart: the router delivers to every plain one and to one member per group.

use super::subject::Pattern;
use crate::names::SeededHash;
use std::collections::HashMap;
use std::sync::Arc;

/// The subscriptions ending at one point of the trie.
pub(crate) struct Slot<E> {
    /// Subscriptions outside any queue group: each gets every event.
    pub plain: Vec<E>,
    /// Queue groups: each event goes to one member of each group.
    pub groups: Vec<(Arc<str>, Vec<E>)>,
}

impl<E> Default for Slot<E> {
    fn default() -> Self {
        Slot {
            plain: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl<E> Slot<E> {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.groups.is_empty()
    }

    fn insert(&mut self, group: Option<&Arc<str>>, entry: E) {
        match group {
            None => self.plain.push(entry),
            Some(g) => match self.groups.iter_mut().find(|(name, _)| name == g) {
                Some((_, members)) => members.push(entry),
                None => self.groups.push((g.clone(), vec![entry])),
            },
        }
    }

    fn remove(&mut self, group: Option<&str>, is: impl Fn(&E) -> bool) -> Option<E> {
        let list = match group {
            None => &mut self.plain,
            Some(g) => {
                let at = self.groups.iter().position(|(name, _)| &**name == g)?;
                let members = &mut self.groups[at].1;
                let found = members.iter().position(is)?;
                let entry = members.remove(found);
                if members.is_empty() {
                    self.groups.remove(at);
                }
                return Some(entry);
            }
        };
        // Keep subscription order: it is delivery order on this slot.
        let found = list.iter().position(is)?;
        Some(list.remove(found))
    }
}

struct Node<E> {
    literal: HashMap<Box<str>, Node<E>, SeededHash>,
    star: Option<Box<Node<E>>>,
    /// Patterns that end here.
    here: Slot<E>,
    /// Patterns that end with `>` right after this node.
    tail: Slot<E>,
}

impl<E> Default for Node<E> {
    fn default() -> Self {
        Node {
            literal: HashMap::default(),
            star: None,
            here: Slot::default(),
            tail: Slot::default(),
        }
    }
}

impl<E> Node<E> {
    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.star.is_none()
            && self.here.is_empty()
            && self.tail.is_empty()
    }
}

/// Patterns → subscriptions, searchable by subject.
pub(crate) struct Trie<E> {
    root: Node<E>,
}

impl<E> Default for Trie<E> {
    fn default() -> Self {
        Trie {
            root: Node::default(),
        }
    }
}

impl<E> Trie<E> {
    /// Adds a subscription on `pattern`, in queue group `group` if any.
    pub fn insert(&mut self, pattern: &Pattern, group: Option<&Arc<str>>, entry: E) {
        let mut node = &mut self.root;
        for token in pattern.tokens() {
            node = match token {
                ">" => {
                    node.tail.insert(group, entry);
                    return;
                }
                "*" => node.star.get_or_insert_with(Default::default),
                literal => node.literal.entry(literal.into()).or_default(),
            };
        }
        node.here.insert(group, entry);
    }

    /// Removes the subscription on `pattern` for which `is` holds, pruning
    /// the nodes left empty.
    pub fn remove(
        &mut self,
        pattern: &Pattern,
        group: Option<&str>,
        is: impl Fn(&E) -> bool,
    ) -> Option<E> {
        let tokens: Vec<&str> = pattern.tokens().collect();
        remove_at(&mut self.root, &tokens, group, &is)
    }

    /// Calls `f` with every slot whose pattern matches `subject` (a valid
    /// subject without wildcards).
    pub fn visit<'a>(&'a self, subject: &str, f: &mut impl FnMut(&'a Slot<E>)) {
        visit_at(&self.root, subject.split('.'), f);
    }
}

fn visit_at<'a, E>(
    node: &'a Node<E>,
    mut rest: std::str::Split<'_, char>,
    f: &mut impl FnMut(&'a Slot<E>),
) {
    match rest.next() {
        None => {
            if !node.here.is_empty() {
                f(&node.here);
            }
        }
        Some(token) => {
            if !node.tail.is_empty() {
                f(&node.tail);
            }
            if let Some(star) = &node.star {
                visit_at(star, rest.clone(), f);
            }
            if let Some(child) = node.literal.get(token) {
                visit_at(child, rest, f);
            }
        }
    }
}

fn remove_at<E>(
    node: &mut Node<E>,
    tokens: &[&str],
    group: Option<&str>,
    is: &impl Fn(&E) -> bool,
) -> Option<E> {
    let Some((&token, rest)) = tokens.split_first() else {
        return node.here.remove(group, is);
    };
    match token {
        ">" => node.tail.remove(group, is),
        "*" => {
            let star = node.star.as_mut()?;
            let removed = remove_at(star, rest, group, is);
            if star.is_empty() {
                node.star = None;
            }
            removed
        }
        literal => {
            let child = node.literal.get_mut(literal)?;
            let removed = remove_at(child, rest, group, is);
            if child.is_empty() {
                node.literal.remove(literal);
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Subject;

    fn matches(trie: &Trie<u32>, subject: &str) -> Vec<u32> {
        let mut out = Vec::new();
        trie.visit(subject, &mut |slot| {
            out.extend(slot.plain.iter().copied());
            for (_, m) in &slot.groups {
                out.extend(m.iter().copied());
            }
        });
        out.sort();
        out
    }

    #[test]
    fn agrees_with_the_reference_matcher() {
        let patterns = [
            "a", "a.b", "a.*", "a.>", "*.b", ">", "*", "a.*.c", "a.b.>", "*.*.*", "b.>",
        ];
        let subjects = [
            "a", "b", "a.b", "a.c", "a.b.c", "a.x.c", "b.b", "b.b.b.b", "x.y.z",
        ];
        let mut trie = Trie::default();
        let parsed: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p).unwrap()).collect();
        for (i, p) in parsed.iter().enumerate() {
            trie.insert(p, None, i as u32);
        }
        for s in subjects {
            let subject = Subject::new(s).unwrap();
            let expected: Vec<u32> = (0..patterns.len() as u32)
                .filter(|&i| parsed[i as usize].matches(&subject))
                .collect();
            assert_eq!(matches(&trie, s), expected, "subject {s}");
        }
        for (i, p) in parsed.iter().enumerate() {
            assert_eq!(trie.remove(p, None, |e| *e == i as u32), Some(i as u32));
        }
        assert!(trie.root.is_empty(), "empty nodes are pruned");
    }
}
