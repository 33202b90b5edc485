//! Running a supervisor's steps one after another without nesting futures.
//!
//! Starting or stopping N children is N asynchronous steps in a row. Chained
//! with `then`, each step would wrap the rest, so every poll would walk the
//! whole chain and the depth would grow with N. A [`Sequence`] holds only the
//! step in progress and makes the next when it finishes.

use actix::{Actor, ActorFuture, ResponseActFuture};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// Drives `make(item)` for each item in turn, stopping at the first `Err`,
/// which comes back with the items not yet started.
pub(crate) struct Sequence<A: Actor, I, E, F> {
    items: std::vec::IntoIter<I>,
    make: F,
    current: Option<ResponseActFuture<A, Result<(), E>>>,
}

/// Runs the steps `make(item, actor, ctx)` for every item, in order.
pub(crate) fn sequence<A, I, E, F>(items: Vec<I>, make: F) -> Sequence<A, I, E, F>
where
    A: Actor,
    F: FnMut(I, &mut A, &mut A::Context) -> ResponseActFuture<A, Result<(), E>>,
{
    Sequence {
        items: items.into_iter(),
        make,
        current: None,
    }
}

impl<A, I, E, F> ActorFuture<A> for Sequence<A, I, E, F>
where
    A: Actor,
    I: Unpin,
    F: FnMut(I, &mut A, &mut A::Context) -> ResponseActFuture<A, Result<(), E>> + Unpin,
{
    type Output = Result<(), (E, std::vec::IntoIter<I>)>;

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut A::Context,
        task: &mut TaskContext<'_>,
    ) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let step = match &mut this.current {
                Some(step) => step,
                None => match this.items.next() {
                    None => return Poll::Ready(Ok(())),
                    Some(item) => this.current.insert((this.make)(item, act, ctx)),
                },
            };
            match step.as_mut().poll(act, ctx, task) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.current = None;
                    let rest = std::mem::take(&mut this.items);
                    return Poll::Ready(Err((e, rest)));
                }
                Poll::Ready(Ok(())) => this.current = None,
            }
        }
    }
}
