mod common;

use common::{probe, Crash, Probe, WhoAreYou};
use servitor::testing::{Journal, TestTree};
use servitor::{CallError, LookupError};

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
