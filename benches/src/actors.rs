//! The actors every contender runs: an echo counter that answers a call and
//! can be made to fail, written once per library.

use actix::prelude::*;
use servitor::Service;

/// The servitor service and the plain actix actor are the same type.
#[derive(Default)]
pub struct Echo {
    n: u64,
}

impl Actor for Echo {
    type Context = Context<Self>;
}

impl Service for Echo {}

/// A service that does nothing: the cheapest child there is.
#[derive(Default)]
pub struct Idle;

impl Actor for Idle {
    type Context = Context<Self>;
}

impl Service for Idle {}

/// Supervised by `actix::Supervisor`: a stop restarts it on the same address.
impl actix::Supervised for Echo {}

/// Answers with the number of pings this instance has handled.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct Ping;

impl Handler<Ping> for Echo {
    type Result = u64;
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u64 {
        self.n += 1;
        self.n
    }
}

/// Panics in the handler.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct Boom;

impl Handler<Boom> for Echo {
    type Result = u64;
    fn handle(&mut self, _: Boom, _: &mut Context<Self>) -> u64 {
        panic!("boom")
    }
}

/// Replies, then stops the actor (actix's own way to fail into a restart).
#[derive(Message)]
#[rtype(result = "u64")]
pub struct StopMe;

impl Handler<StopMe> for Echo {
    type Result = u64;
    fn handle(&mut self, _: StopMe, ctx: &mut Context<Self>) -> u64 {
        ctx.stop();
        0
    }
}

pub mod ractor_echo {
    use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

    pub struct Echo;

    pub enum Msg {
        Ping(RpcReplyPort<u64>),
        /// Panics; the port is dropped unanswered.
        Boom(#[allow(dead_code)] RpcReplyPort<u64>),
    }

    impl Actor for Echo {
        type Msg = Msg;
        type State = u64;
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<Msg>, _: ()) -> Result<u64, ActorProcessingErr> {
            Ok(0)
        }

        async fn handle(
            &self,
            _: ActorRef<Msg>,
            msg: Msg,
            n: &mut u64,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                Msg::Ping(reply) => {
                    *n += 1;
                    let _ = reply.send(*n);
                }
                Msg::Boom(_) => panic!("boom"),
            }
            Ok(())
        }
    }

    /// One round trip; panics if the actor is gone.
    pub async fn ping(actor: &ActorRef<Msg>) -> u64 {
        match actor.call(Msg::Ping, None).await {
            Ok(ractor::rpc::CallResult::Success(n)) => n,
            _ => panic!("ractor echo did not answer"),
        }
    }
}

pub mod kameo_echo {
    use kameo::actor::{Actor, ActorRef};
    use kameo::error::Infallible;
    use kameo::message::{Context, Message};

    #[derive(Default)]
    pub struct Echo {
        n: u64,
    }

    impl Actor for Echo {
        type Args = Self;
        type Error = Infallible;

        async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
            Ok(state)
        }
    }

    pub struct Ping;
    pub struct Boom;

    impl Message<Ping> for Echo {
        type Reply = u64;
        async fn handle(&mut self, _: Ping, _: &mut Context<Self, u64>) -> u64 {
            self.n += 1;
            self.n
        }
    }

    impl Message<Boom> for Echo {
        type Reply = u64;
        async fn handle(&mut self, _: Boom, _: &mut Context<Self, u64>) -> u64 {
            panic!("boom")
        }
    }

    /// One round trip; panics if the actor is gone.
    pub async fn ping(actor: &ActorRef<Echo>) -> u64 {
        match actor.ask(Ping).await {
            Ok(n) => n,
            Err(_) => panic!("kameo echo did not answer"),
        }
    }
}
