//! At most `max_concurrent` requests are in flight, checked against a
//! server that holds every answer until the test releases it.

use crate::api::{self, Api};
use servitor::github::Throttle;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A server that announces each request it receives and answers only as
/// many as the test has released.
struct Gate {
    uri: String,
    arrivals: mpsc::UnboundedReceiver<()>,
    released: Arc<(Mutex<usize>, Condvar)>,
}

impl Gate {
    fn start() -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let (tx, arrivals) = mpsc::unbounded_channel();
        let released = Arc::new((Mutex::new(0usize), Condvar::new()));
        let gate = released.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let tx = tx.clone();
                let gate = gate.clone();
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    if tx.send(()).is_err() {
                        return;
                    }
                    let (count, cv) = &*gate;
                    let mut left = count.lock().unwrap();
                    while *left == 0 {
                        left = cv.wait(left).unwrap();
                    }
                    *left -= 1;
                    drop(left);
                    let body = serde_json::to_vec(&api::workflow_run(1)).unwrap();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                });
            }
        });
        Gate {
            uri,
            arrivals,
            released,
        }
    }

    fn release(&self, n: usize) {
        let (count, cv) = &*self.released;
        *count.lock().unwrap() += n;
        cv.notify_all();
    }

    async fn arrival(&mut self) {
        tokio::time::timeout(Duration::from_secs(5), self.arrivals.recv())
            .await
            .expect("a request arrives")
            .unwrap();
    }
}

#[tokio::test]
async fn at_most_max_concurrent_requests_are_in_flight() {
    let mut gate = Gate::start();
    let uri = gate.uri.clone();
    let api = Api::with(|c| {
        c.base_url = uri;
        c.throttle = Throttle {
            max_concurrent: 2,
            ..Throttle::off()
        };
    })
    .await;
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let repo = api.repo();
            tokio::spawn(async move { repo.workflow_run(1).await })
        })
        .collect();
    gate.arrival().await;
    gate.arrival().await;
    assert_eq!(api.gh.stats().in_flight, 2);
    // A third request does not go out while two are in flight.
    let third = tokio::time::timeout(Duration::from_millis(200), gate.arrivals.recv()).await;
    assert!(third.is_err(), "a third request went out");
    gate.release(1);
    gate.arrival().await;
    gate.release(4);
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().id, 1);
    }
    assert_eq!(api.gh.stats().in_flight, 0);
    assert_eq!(api.gh.stats().requests, 5);
}
