//! Subjects and patterns: dot-separated tokens, the NATS wildcards `*` and
//! `>`, and typed errors for everything malformed.

use crate::support::bus::start_default;
use servitor::bus::{BusError, Pattern, Subject, SubjectProblem};

/// How many subscribers `subject` reaches when one subscription exists per
/// pattern in `patterns`.
async fn reached(patterns: &[&str], subject: &str) -> usize {
    let (tree, bus) = start_default::<u32>().await;
    let subs: Vec<_> = patterns.iter().map(|p| bus.subscribe(p).unwrap()).collect();
    let n = bus.publish(subject, 0).await.unwrap().reached;
    drop(subs);
    tree.shutdown().await;
    n
}

#[actix_rt::test]
async fn star_matches_exactly_one_token() {
    assert_eq!(reached(&["a.*"], "a.b").await, 1);
    assert_eq!(reached(&["a.*"], "a.b.c").await, 0);
    assert_eq!(reached(&["a.*"], "a").await, 0);
    assert_eq!(reached(&["*.b.*"], "x.b.y").await, 1);
    assert_eq!(reached(&["*.b.*"], "x.c.y").await, 0);
}

#[actix_rt::test]
async fn tail_matches_one_or_more_trailing_tokens() {
    assert_eq!(reached(&["a.>"], "a.b").await, 1);
    assert_eq!(reached(&["a.>"], "a.b.c").await, 1);
    assert_eq!(reached(&["a.>"], "a").await, 0);
    assert_eq!(reached(&[">"], "anything.at.all").await, 1);
    assert_eq!(reached(&["a.*.>"], "a.b").await, 0);
    assert_eq!(reached(&["a.*.>"], "a.b.c.d").await, 1);
}

#[actix_rt::test]
async fn a_subject_reaches_every_matching_subscription_once() {
    let patterns = ["a.b", "a.*", "*.b", "a.>", ">", "*.*", "a.b.>", "b.*", "a"];
    assert_eq!(reached(&patterns, "a.b").await, 6);
}

#[actix_rt::test]
async fn the_bus_agrees_with_the_reference_matcher() {
    let patterns = [
        "a", "a.b", "a.*", "a.>", "*.b", ">", "*", "a.*.c", "a.b.>", "*.*.*",
    ];
    let subjects = ["a", "b", "a.b", "a.c", "a.b.c", "a.x.c", "b.b", "x.y.z.w"];
    let (tree, bus) = start_default::<u32>().await;
    let mut subs: Vec<_> = patterns.iter().map(|p| bus.subscribe(p).unwrap()).collect();
    for (n, s) in subjects.iter().enumerate() {
        bus.publish(*s, n as u32).await.unwrap();
    }
    for (sub, p) in subs.iter_mut().zip(patterns) {
        let pattern = Pattern::new(p).unwrap();
        let expected: Vec<u32> = (0..subjects.len() as u32)
            .filter(|&n| pattern.matches(&Subject::new(subjects[n as usize]).unwrap()))
            .collect();
        let mut got = Vec::new();
        while let Ok(e) = sub.try_recv() {
            got.push(*e.payload());
        }
        assert_eq!(got, expected, "pattern {p}");
    }
    drop(subs);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn malformed_patterns_are_typed_errors() {
    let (tree, bus) = start_default::<u32>().await;
    for (pattern, problem) in [
        ("a.>.b", SubjectProblem::TailNotLast),
        ("a..b", SubjectProblem::EmptyToken),
        (".a", SubjectProblem::EmptyToken),
        ("a.", SubjectProblem::EmptyToken),
        ("", SubjectProblem::Empty),
        ("a.b*", SubjectProblem::PartialWildcard),
        ("a.>b", SubjectProblem::PartialWildcard),
        ("a b", SubjectProblem::Whitespace),
        ("a.\tb", SubjectProblem::Whitespace),
        ("a.b\n", SubjectProblem::Whitespace),
    ] {
        let err = bus.subscribe(pattern).unwrap_err();
        assert_eq!(
            err,
            BusError::InvalidPattern {
                pattern: pattern.to_string(),
                problem
            },
            "pattern {pattern:?}"
        );
    }
    assert_eq!(bus.stats().subscribers.len(), 0, "nothing was subscribed");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn publishing_to_a_wildcard_or_malformed_subject_is_a_typed_error() {
    let (tree, bus) = start_default::<u32>().await;
    let _all = bus.subscribe(">").unwrap();
    for (subject, problem) in [
        ("a.*", SubjectProblem::Wildcard),
        ("a.>", SubjectProblem::Wildcard),
        ("*", SubjectProblem::Wildcard),
        ("a..b", SubjectProblem::EmptyToken),
        ("", SubjectProblem::Empty),
        ("a.b c", SubjectProblem::Whitespace),
        ("a.b*", SubjectProblem::PartialWildcard),
    ] {
        let err = bus.publish(subject, 1).await.unwrap_err();
        assert_eq!(
            err,
            BusError::InvalidSubject {
                subject: subject.to_string(),
                problem
            },
            "subject {subject:?}"
        );
    }
    assert_eq!(bus.stats().published, 0);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_queue_group_name_is_one_plain_token() {
    let (tree, bus) = start_default::<u32>().await;
    for group in ["", "a.b", "*", "a b"] {
        let err = bus
            .subscriber("jobs.*")
            .queue_group(group)
            .stream()
            .unwrap_err();
        assert!(
            matches!(err, BusError::InvalidGroup { .. }),
            "{group:?}: {err:?}"
        );
    }
    tree.shutdown().await;
}

#[test]
fn long_and_short_subjects_behave_alike() {
    let short = Subject::new("a.b").unwrap();
    let long = Subject::new("a.very.long.subject.that.does.not.fit.inline").unwrap();
    assert_eq!(short.as_str(), "a.b");
    assert_eq!(
        long.as_str(),
        "a.very.long.subject.that.does.not.fit.inline"
    );
    assert_eq!(long.clone(), long);
    assert_ne!(short, long);
    assert!(Pattern::new("a.very.>").unwrap().matches(&long));
    assert_eq!(
        format!("{short} {long:?}"),
        "a.b \"a.very.long.subject.that.does.not.fit.inline\""
    );
}
