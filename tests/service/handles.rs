use crate::support::probes::{probe, Crash, Probe, WhoAreYou};
use actix::Actor;
use servitor::testing::{Journal, TestTree};
use servitor::{Backoff, CallError, ChildSpec, LookupError, Status, Supervisor};
use std::time::Duration;
use tokio::time::Instant;

#[actix_rt::test]
async fn a_call_after_a_panic_reaches_the_new_instance_through_the_same_handle() {
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let p = tree.runtime().service::<Probe>("p").unwrap();
    assert_eq!(p.call(WhoAreYou).await.unwrap(), ("p".to_string(), 1));
    let err = p.call(Crash::Panic).await.unwrap_err();
    assert!(matches!(err, CallError::Interrupted { .. }), "{err:?}");
    assert_eq!(p.call(WhoAreYou).await.unwrap(), ("p".to_string(), 2));
    tree.shutdown().await;
    assert!(matches!(
        p.call(WhoAreYou).await,
        Err(CallError::Stopped { .. })
    ));
}

#[actix_rt::test]
async fn a_handle_of_the_wrong_type_or_an_unknown_name_is_a_typed_error() {
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let wrong = tree
        .runtime()
        .service::<servitor::Supervisor>("p")
        .unwrap_err();
    assert!(matches!(wrong, LookupError::WrongType { .. }), "{wrong:?}");
    let unknown = tree.runtime().service::<Probe>("nobody").unwrap_err();
    assert_eq!(unknown, LookupError::NotFound("nobody".into()));
    tree.shutdown().await;
}

const SECOND: Duration = Duration::from_secs(1);

/// A tree whose only child `p` restarts after a fixed `backoff`.
async fn probe_with_backoff(backoff: Duration, journal: &Journal) -> TestTree {
    TestTree::start_tree(
        Supervisor::builder("test")
            .intensity(100, SECOND)
            .backoff(Backoff::exponential(backoff, backoff))
            .child(probe("p", journal)),
    )
    .await
    .unwrap()
}

#[actix_rt::test]
async fn a_call_while_the_service_is_down_fails_as_unavailable_after_the_wait_bound() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = probe_with_backoff(10 * SECOND, &journal).await;
    let p = tree
        .runtime()
        .service::<Probe>("p")
        .unwrap()
        .with_wait(SECOND);
    tree.crash("p", "injected").await.unwrap();
    tree.wait_for_status("p", Status::Error, SECOND)
        .await
        .unwrap();
    assert!(!p.is_up());
    assert!(p.addr().is_none());
    let began = Instant::now();
    let err = p.call(WhoAreYou).await.unwrap_err();
    assert_eq!(
        err,
        CallError::Unavailable {
            service: "p".into(),
            waited: SECOND
        }
    );
    let waited = began.elapsed();
    assert!(waited >= SECOND && waited < 2 * SECOND, "waited {waited:?}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_call_while_the_service_is_down_reaches_the_new_instance_once_it_is_back() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = probe_with_backoff(SECOND, &journal).await;
    let p = tree.runtime().service::<Probe>("p").unwrap();
    tree.crash("p", "injected").await.unwrap();
    tree.wait_for_status("p", Status::Error, SECOND)
        .await
        .unwrap();
    let began = Instant::now();
    assert_eq!(p.call(WhoAreYou).await.unwrap(), ("p".to_string(), 2));
    assert!(began.elapsed() <= SECOND + Duration::from_millis(10));
    assert!(p.is_up());
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_zero_wait_or_a_tell_fails_at_once_while_the_service_is_down() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = probe_with_backoff(10 * SECOND, &journal).await;
    let p = tree.runtime().service::<Probe>("p").unwrap();
    assert_eq!(p.tell(WhoAreYou), Ok(()));
    tree.crash("p", "injected").await.unwrap();
    tree.wait_for_status("p", Status::Error, SECOND)
        .await
        .unwrap();
    let began = Instant::now();
    let now = p.clone().with_wait(Duration::ZERO);
    assert!(matches!(
        now.call(WhoAreYou).await,
        Err(CallError::Unavailable { waited, .. }) if waited.is_zero()
    ));
    assert!(matches!(
        p.tell(WhoAreYou),
        Err(CallError::Unavailable { .. })
    ));
    assert!(began.elapsed() < Duration::from_millis(10));
    tree.shutdown().await;
    assert!(matches!(p.tell(WhoAreYou), Err(CallError::Stopped { .. })));
}

/// A service with a handler that never replies.
struct Mute;

impl Actor for Mute {
    type Context = actix::Context<Self>;
}

impl servitor::Service for Mute {}

#[derive(actix::Message)]
#[rtype(result = "()")]
struct Hang;

impl actix::Handler<Hang> for Mute {
    type Result = actix::ResponseFuture<()>;
    fn handle(&mut self, _: Hang, _: &mut actix::Context<Self>) -> Self::Result {
        Box::pin(std::future::pending())
    }
}

#[actix_rt::test]
async fn a_reply_timeout_turns_a_handler_that_never_replies_into_a_timeout() {
    tokio::time::pause();
    let tree = TestTree::start(ChildSpec::service("mute", || Mute))
        .await
        .unwrap();
    let mute = tree
        .runtime()
        .service::<Mute>("mute")
        .unwrap()
        .with_reply_timeout(Duration::from_millis(300));
    let began = Instant::now();
    assert_eq!(
        mute.call(Hang).await,
        Err(CallError::Timeout {
            service: "mute".into(),
            after: Duration::from_millis(300)
        })
    );
    let waited = began.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < SECOND,
        "{waited:?}"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn after_shutdown_every_handle_reports_stopped() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let p = tree.runtime().service::<Probe>("p").unwrap();
    let clone = p.clone().with_wait(10 * SECOND);
    assert!(p.is_up() && !p.is_stopped());
    tree.shutdown().await;
    for h in [&p, &clone] {
        assert!(h.is_stopped());
        assert!(!h.is_up());
        let began = Instant::now();
        assert_eq!(
            h.call(WhoAreYou).await,
            Err(CallError::Stopped {
                service: "p".into()
            })
        );
        assert!(began.elapsed() < SECOND, "a stopped service was waited for");
        assert!(matches!(h.ready().await, Err(CallError::Stopped { .. })));
    }
}

#[actix_rt::test]
async fn a_handle_to_a_removed_child_reports_stopped_and_its_name_is_unknown() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start_tree(
        Supervisor::builder("test")
            .child(probe("p", &journal))
            .child(probe("q", &journal)),
    )
    .await
    .unwrap();
    let p = tree.runtime().service::<Probe>("p").unwrap();
    tree.runtime().root().remove_child("p").await.unwrap();
    assert!(matches!(
        p.call(WhoAreYou).await,
        Err(CallError::Stopped { .. })
    ));
    assert_eq!(
        tree.runtime().service::<Probe>("p").unwrap_err(),
        LookupError::NotFound("p".into())
    );
    let q = tree.runtime().service::<Probe>("q").unwrap();
    assert_eq!(q.call(WhoAreYou).await.unwrap().1, 1);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_wrong_type_lookup_names_both_types() {
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let err = tree.runtime().service::<Mute>("p").unwrap_err();
    let LookupError::WrongType {
        name,
        requested,
        actual,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(name, "p");
    assert!(requested.ends_with("Mute"), "{requested}");
    assert!(actual.ends_with("Probe"), "{actual}");
    let text = err.to_string();
    assert!(text.contains("Mute") && text.contains("Probe"), "{text}");
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_handle_taken_before_many_restarts_still_reaches_the_latest_instance() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = TestTree::start(probe("p", &journal)).await.unwrap();
    let p = tree.runtime().service::<Probe>("p").unwrap();
    for n in 1..=5u64 {
        assert_eq!(p.call(WhoAreYou).await.unwrap().1, n);
        let crash = if n % 2 == 0 {
            Crash::Error
        } else {
            Crash::Panic
        };
        let _ = p.call(crash).await;
    }
    assert_eq!(p.call(WhoAreYou).await.unwrap().1, 6);
    assert_eq!(tree.restarts("p"), 5);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_call_waiting_for_a_down_service_ends_as_stopped_when_the_runtime_shuts_down() {
    tokio::time::pause();
    let journal = Journal::new();
    let tree = probe_with_backoff(10 * SECOND, &journal).await;
    let p = tree
        .runtime()
        .service::<Probe>("p")
        .unwrap()
        .with_wait(30 * SECOND);
    tree.crash("p", "injected").await.unwrap();
    tree.wait_for_status("p", Status::Error, SECOND)
        .await
        .unwrap();
    let waiting = actix_rt::spawn(async move { p.call(WhoAreYou).await });
    tokio::task::yield_now().await;
    let began = Instant::now();
    tree.shutdown().await;
    let outcome = waiting.await.unwrap();
    assert!(
        matches!(outcome, Err(CallError::Stopped { .. })),
        "{outcome:?}"
    );
    assert!(
        began.elapsed() < SECOND,
        "the shutdown waited out the backoff"
    );
}

/// Counts the calls it answers, with a mailbox of one message.
struct Tally(u32);

impl Actor for Tally {
    type Context = actix::Context<Self>;
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1);
    }
}

impl servitor::Service for Tally {}

#[derive(actix::Message)]
#[rtype(result = "u32")]
struct Next;

impl actix::Handler<Next> for Tally {
    type Result = u32;
    fn handle(&mut self, _: Next, _: &mut actix::Context<Self>) -> u32 {
        self.0 += 1;
        self.0
    }
}

#[actix_rt::test]
async fn calls_past_a_full_mailbox_wait_for_room_and_every_one_is_answered() {
    let tree = TestTree::start(ChildSpec::service("tally", || Tally(0)))
        .await
        .unwrap();
    let tally = tree.runtime().service::<Tally>("tally").unwrap();
    // Sent together: all but the first find the mailbox of one full.
    let calls = (0..64).map(|_| tally.call(Next));
    let mut answers: Vec<u32> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    answers.sort_unstable();
    assert_eq!(answers, (1..=64).collect::<Vec<u32>>());
    tree.shutdown().await;
}

/// Compiles only while a call's future is `Send`: a handle can be used from
/// tasks of a multi-threaded runtime.
#[allow(dead_code)]
fn a_call_can_be_spawned_on_any_runtime(tally: servitor::ServiceRef<Tally>) {
    drop(tokio::spawn(async move { tally.call(Next).await }));
}
