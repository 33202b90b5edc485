//! Queue groups, with NATS semantics: subscribers that join a group under a
//! name share its events — each event goes to exactly one member of each
//! matching group — while subscribers outside any group each get every event.
//!
//! Membership is by name across patterns: members of `workers` on `jobs.*`
//! and on `jobs.>` form one group for a subject both patterns match, and the
//! event still goes to only one of them.
//!
//! Which member: a random starting point (so load spreads with no shared
//! counter to contend on), then the first member whose queue has room — a
//! busy member is passed over while another can take the event at once. If
//! every member is full, the randomly chosen one gets it and its overflow
//! policy applies.
//!
//! ```
//! # #[actix_rt::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use servitor::bus::{BusConfig, EventBus};
//! use servitor::testing::TestTree;
//!
//! let (spec, bus) = EventBus::<u32>::service("events", BusConfig::default())?;
//! let tree = TestTree::start(spec).await?;
//! let mut a = bus.subscriber("jobs.*").queue_group("workers").stream()?;
//! let mut b = bus.subscriber("jobs.*").queue_group("workers").stream()?;
//! let published = bus.publish("jobs.resize", 7).await?;
//! assert_eq!(published.reached, 1);
//! let got = a.try_recv().ok().or_else(|| b.try_recv().ok());
//! assert_eq!(got.map(|e| *e.payload()), Some(7));
//! # drop((a, b)); tree.shutdown().await; Ok(()) }
//! ```

use std::sync::Arc;

/// Calls `deliver` once per distinct group in `found` (the group slots a
/// subject matched), with the member chosen to receive the event.
pub(crate) fn choose<'a, E>(
    found: &[(&'a Arc<str>, &'a [E])],
    has_room: impl Fn(&E) -> bool,
    mut deliver: impl FnMut(&'a E),
) {
    for (i, &(name, members)) in found.iter().enumerate() {
        if found[..i].iter().any(|(n, _)| *n == name) {
            continue; // merged into its first occurrence
        }
        let more = found[i + 1..].iter().any(|(n, _)| *n == name);
        if !more {
            if let Some(m) = pick(members, &has_room) {
                deliver(m);
            }
            continue;
        }
        let all: Vec<&'a E> = found[i..]
            .iter()
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, m)| m.iter())
            .collect();
        if let Some(m) = pick(&all, |e: &&E| has_room(e)) {
            deliver(m);
        }
    }
}

/// A random member, preferring (from there on, round the list) one with room.
fn pick<E>(members: &[E], has_room: impl Fn(&E) -> bool) -> Option<&E> {
    if members.is_empty() {
        return None;
    }
    let start = if members.len() == 1 {
        0
    } else {
        fastrand::usize(..members.len())
    };
    (0..members.len())
        .map(|k| &members[(start + k) % members.len()])
        .find(|m| has_room(m))
        .or(Some(&members[start]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_per_group_and_groups_merge_by_name() {
        let g: Arc<str> = Arc::from("g");
        let h: Arc<str> = Arc::from("h");
        let a = [1, 2];
        let b = [3];
        let c = [4, 5];
        let found = [(&g, &a[..]), (&h, &c[..]), (&g, &b[..])];
        let mut got = Vec::new();
        choose(&found, |_| true, |e| got.push(*e));
        assert_eq!(got.len(), 2);
        assert!([1, 2, 3].contains(&got[0]));
        assert!([4, 5].contains(&got[1]));
    }

    #[test]
    fn a_member_with_room_is_preferred() {
        let g: Arc<str> = Arc::from("g");
        let members = [1, 2, 3];
        for _ in 0..50 {
            let mut got = Vec::new();
            choose(&[(&g, &members[..])], |e| *e == 2, |e| got.push(*e));
            assert_eq!(got, [2]);
        }
    }
}
