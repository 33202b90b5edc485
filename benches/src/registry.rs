//! Benchmark 4: the health registry with 10,000 services reporting. The time
//! to produce the aggregated snapshot (`Runtime::health`), and the cost of
//! one status change made through `ServiceContext::set_status` from a
//! service's handler. Peers, for context: the same reports in a plain
//! `DashMap` (snapshot: clone and sort), and a bare status write into a
//! `DashMap` or a `Mutex<HashMap>`.

use crate::report::{median, ns, Row, Unit};
use crate::rt::on_actix;
use actix::prelude::*;
use dashmap::DashMap;
use servitor::{
    BoxError, ChildSpec, HealthReport, HealthSnapshot, Runtime, Service, ServiceContext, Status,
    Supervisor,
};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

const SERVICES: usize = 10_000;
const SNAPSHOTS: usize = 21;
/// Status changes timed per reporting service, and how many services report.
const FLIPS: u32 = 20_000;
const REPORTERS: usize = 10;

#[derive(Default)]
struct Reporter {
    cx: Option<ServiceContext>,
}

impl Actor for Reporter {
    type Context = Context<Self>;
}

impl Service for Reporter {
    fn start(
        &mut self,
        cx: &ServiceContext,
        _: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<(), BoxError>> {
        self.cx = Some(cx.clone());
        Box::pin(actix::fut::ready(Ok(())))
    }
}

/// Changes the status `n` times (ok ⇄ degraded); answers the nanoseconds
/// per change, timed inside the handler so no messaging is counted.
#[derive(Message)]
#[rtype(result = "f64")]
struct Flip(u32);

impl Handler<Flip> for Reporter {
    type Result = f64;
    fn handle(&mut self, Flip(n): Flip, _: &mut Context<Self>) -> f64 {
        let cx = self.cx.as_ref().expect("started");
        let t = Instant::now();
        for i in 0..n {
            cx.set_status(flip_status(i));
        }
        ns(t.elapsed()) / f64::from(n)
    }
}

fn name(i: usize) -> String {
    format!("r{i}")
}

/// (snapshot ns, set_status ns)
fn servitor() -> (f64, f64) {
    on_actix(|| async {
        let tree = Supervisor::builder("reg")
            .children((0..SERVICES).map(|i| ChildSpec::service(name(i), Reporter::default)))
            .build()
            .expect("tree");
        let app = Runtime::start(tree).await.expect("runtime");
        let mut per_report = Vec::new();
        for i in 0..REPORTERS {
            let h = app
                .service::<Reporter>(&name(i * (SERVICES / REPORTERS)))
                .expect("handle");
            per_report.push(h.call(Flip(FLIPS)).await.expect("flip"));
        }
        let mut snaps = Vec::new();
        for _ in 0..SNAPSHOTS {
            let t = Instant::now();
            let snap = black_box(app.health());
            snaps.push(ns(t.elapsed()));
            assert_eq!(snap.services.len(), SERVICES + 1);
        }
        app.shutdown().await.expect("shutdown");
        (median(&mut snaps), median(&mut per_report))
    })
}

fn dashmap_snapshot() -> f64 {
    let map: DashMap<String, HealthReport> = DashMap::new();
    for i in 0..SERVICES {
        let n = name(i);
        let path = format!("reg/{n}");
        map.insert(n.clone(), HealthReport::new(n, path, Status::Ok));
    }
    let mut snaps = Vec::new();
    for _ in 0..SNAPSHOTS {
        let t = Instant::now();
        let reports: Vec<HealthReport> = map.iter().map(|e| e.value().clone()).collect();
        black_box(HealthSnapshot::from_reports(reports));
        snaps.push(ns(t.elapsed()));
    }
    median(&mut snaps)
}

fn flip_status(i: u32) -> Status {
    if i.is_multiple_of(2) {
        Status::Degraded
    } else {
        Status::Ok
    }
}

fn dashmap_write() -> f64 {
    let map: DashMap<String, Status> = (0..SERVICES).map(|i| (name(i), Status::Ok)).collect();
    let mut per = Vec::new();
    for r in 0..REPORTERS {
        let key = name(r * (SERVICES / REPORTERS));
        let t = Instant::now();
        for i in 0..FLIPS {
            if let Some(mut e) = map.get_mut(key.as_str()) {
                *e = flip_status(i);
            }
        }
        per.push(ns(t.elapsed()) / f64::from(FLIPS));
    }
    median(&mut per)
}

fn mutex_write() -> f64 {
    let map: Mutex<HashMap<String, Status>> =
        Mutex::new((0..SERVICES).map(|i| (name(i), Status::Ok)).collect());
    let mut per = Vec::new();
    for r in 0..REPORTERS {
        let key = name(r * (SERVICES / REPORTERS));
        let t = Instant::now();
        for i in 0..FLIPS {
            if let Some(e) = map.lock().expect("lock").get_mut(key.as_str()) {
                *e = flip_status(i);
            }
        }
        per.push(ns(t.elapsed()) / f64::from(FLIPS));
    }
    median(&mut per)
}

pub fn run(rows: &mut Vec<Row>) {
    let (snap, report) = servitor();
    rows.push(Row::compare(
        "health snapshot of 10k services",
        snap,
        "DashMap clone+sort",
        dashmap_snapshot(),
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "one status change (set_status)",
        report,
        "DashMap write",
        dashmap_write(),
        Unit::Nanos,
    ));
    rows.push(Row::compare(
        "one status change (set_status) (mutex)",
        report,
        "Mutex<HashMap> write",
        mutex_write(),
        Unit::Nanos,
    ));
}
