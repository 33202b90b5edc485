//! Request/reply: the first reply wins; no responder and no reply in time
//! are typed errors.

use crate::support::bus::{start, start_default};
use servitor::bus::{BusConfig, BusError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[actix_rt::test]
async fn a_sync_responder_answers_a_request() {
    let (tree, bus) = start_default::<i64>().await;
    let responder = bus.clone();
    let _double = bus
        .subscriber("math.double")
        .handler(move |req| responder.reply(req, req.payload() * 2).map(|_| ()))
        .unwrap();
    assert_eq!(bus.request("math.double", 21).await.unwrap(), 42);
    assert_eq!(bus.request("math.double", -4).await.unwrap(), -8);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn an_async_responder_answers_a_request() {
    let (tree, bus) = start_default::<String>().await;
    let responder = bus.clone();
    let _echo = bus
        .subscriber("echo.*")
        .async_handler(move |req| {
            let responder = responder.clone();
            async move {
                tokio::task::yield_now().await;
                let answer = format!("{} from {}", req.payload(), req.subject());
                responder.reply(&req, answer).map(|_| ())
            }
        })
        .unwrap();
    assert_eq!(
        bus.request("echo.a", "hi".into()).await.unwrap(),
        "hi from echo.a"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_request_without_a_reply_times_out_with_a_typed_error() {
    tokio::time::pause();
    let config = BusConfig::default().request_timeout(Duration::from_secs(2));
    let (tree, bus) = start::<u32>(config).await;
    let mut silent = bus.subscribe("svc.sleep").unwrap();
    let started = tokio::time::Instant::now();
    let err = bus.request("svc.sleep", 1).await.unwrap_err();
    assert_eq!(
        err,
        BusError::TimedOut {
            subject: "svc.sleep".parse().unwrap(),
            after: Duration::from_secs(2)
        }
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_millis(2_010),
        "{waited:?} (the timer rounds to its millisecond tick)"
    );
    let err = bus
        .request_timeout("svc.sleep", 2, Duration::from_millis(10))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::TimedOut { after, .. } if after == Duration::from_millis(10)));

    // Answering late finds no one waiting.
    let late = silent.recv().await.unwrap();
    assert!(late.reply_to().is_some());
    assert_eq!(bus.reply(&late, 0), Ok(false));
    drop(silent);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_request_that_reaches_no_subscriber_fails_at_once() {
    tokio::time::pause();
    let (tree, bus) = start_default::<u32>().await;
    let _other = bus.subscribe("svc.other").unwrap();
    let started = tokio::time::Instant::now();
    let err = bus.request("svc.missing", 1).await.unwrap_err();
    assert_eq!(
        err,
        BusError::NoResponders {
            subject: "svc.missing".parse().unwrap()
        }
    );
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no waiting for the timeout"
    );
    tree.shutdown().await;
}

#[actix_rt::test]
async fn a_queue_group_of_responders_answers_once() {
    let (tree, bus) = start_default::<u32>().await;
    let answered = Arc::new(AtomicU32::new(0));
    let subs: Vec<_> = (0..3)
        .map(|_| {
            let (responder, answered) = (bus.clone(), answered.clone());
            bus.subscriber("svc.add")
                .queue_group("adders")
                .handler(move |req| {
                    answered.fetch_add(1, Ordering::SeqCst);
                    responder.reply(req, req.payload() + 1).map(|_| ())
                })
                .unwrap()
        })
        .collect();
    for n in 0..30 {
        assert_eq!(bus.request("svc.add", n).await.unwrap(), n + 1);
    }
    assert_eq!(answered.load(Ordering::SeqCst), 30);
    drop(subs);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn the_first_reply_wins() {
    let (tree, bus) = start_default::<u32>().await;
    let firsts = Arc::new(AtomicU32::new(0));
    let subs: Vec<_> = (0..2)
        .map(|i| {
            let (responder, firsts) = (bus.clone(), firsts.clone());
            bus.subscriber("svc.race")
                .handler(move |req| {
                    if responder.reply(req, i).unwrap() {
                        firsts.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .unwrap()
        })
        .collect();
    assert_eq!(
        bus.request("svc.race", 0).await.unwrap(),
        0,
        "subscription order"
    );
    assert_eq!(
        firsts.load(Ordering::SeqCst),
        1,
        "the second reply found the inbox closed"
    );
    drop(subs);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn publishing_to_the_reply_subject_answers_too() {
    let (tree, bus) = start_default::<u32>().await;
    let responder = bus.clone();
    let _svc = bus
        .subscriber("svc.nats_style")
        .async_handler(move |req| {
            let responder = responder.clone();
            async move {
                let to = req.reply_to().unwrap().clone();
                responder.publish(to, 99).await.map(|_| ())
            }
        })
        .unwrap();
    assert_eq!(bus.request("svc.nats_style", 0).await.unwrap(), 99);
    tree.shutdown().await;
}

#[actix_rt::test]
async fn replying_to_an_event_that_is_not_a_request_is_a_typed_error() {
    let (tree, bus) = start_default::<u32>().await;
    let mut sub = bus.subscribe("t").unwrap();
    bus.publish("t", 1).await.unwrap();
    let event = sub.recv().await.unwrap();
    assert_eq!(
        bus.reply(&event, 2),
        Err(BusError::NotARequest {
            subject: "t".parse().unwrap()
        })
    );
    drop(sub);
    tree.shutdown().await;
}
