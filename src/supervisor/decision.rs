//! Where restarts are decided: one pure function from a child's exit to
//! what the supervisor does about it, in the steps OTP's `supervisor.erl`
//! takes them.
//!
//! 1. [`restart_wanted`] (OTP's `do_restart`): the restart type and the exit
//!    reason say whether the child is restarted at all;
//! 2. if not, the child has **ended**: a temporary child leaves the child
//!    list, and [`auto_shutdown_due`] says whether significant children
//!    ending ends the supervisor;
//! 3. if so, [`RestartWindow::admit`] (OTP's `add_restart`) counts the restart
//!    against the intensity — one too many and the supervisor **gives up**;
//! 4. within intensity, [`restart_group`] picks who restarts with it by
//!    strategy, and the [`Backoff`] says after how long.
//!
//! Nothing here stops, starts or reports anything: `restart.rs` carries a
//! [`Decision`] out.

use super::policy::{AutoShutdown, Intensity, Strategy};
use super::spec::Restart;
use crate::exit::ExitReason;
use crate::kit::Backoff;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// What the supervisor does about one exit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// The child is not restarted. `remove`: it leaves the child list
    /// (temporary). `shut_down`: the supervisor ends (auto-shutdown).
    Ended { remove: bool, shut_down: bool },
    /// Stop the other members of `group` (positions, in start order: a
    /// strategy's group is always a run of neighbours), then
    /// start them all again after `delay`. `backoff_step` is the exited
    /// child's next backoff step.
    Restart {
        group: std::ops::Range<usize>,
        delay: Duration,
        backoff_step: u32,
    },
    /// More restarts than the intensity allows: stop every child and end.
    GiveUp { reason: String },
}

/// What the decision needs to know of each child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Facts {
    pub restart: Restart,
    pub significant: bool,
    /// Running, starting, or waiting for a restart.
    pub live: bool,
    /// Ended by itself and not restarted.
    pub ended: bool,
    /// When its current incarnation started.
    pub started_at: Option<Instant>,
    /// Restarts in a row since it last ran stably (the backoff step).
    pub backoff_step: u32,
}

/// The children a decision looks at, in start order. The decision asks
/// only about the ones it needs (the exited child, and for auto-shutdown the
/// significant ones), so a restart costs the same among ten thousand
/// siblings as among two.
pub(crate) trait Children {
    /// How many children there are.
    fn count(&self) -> usize;
    /// What the decision needs to know of child `i`.
    fn facts(&self, i: usize) -> Facts;
}

impl Children for [Facts] {
    fn count(&self) -> usize {
        self.len()
    }
    fn facts(&self, i: usize) -> Facts {
        self[i]
    }
}

/// A supervisor's restart policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Policy {
    pub strategy: Strategy,
    pub intensity: Intensity,
    pub backoff: Backoff,
    /// A child that ran this long starts its backoff from the beginning.
    pub backoff_reset: Duration,
    pub auto_shutdown: AutoShutdown,
}

/// One child's exit: which one, and how it ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exited<'a> {
    pub index: usize,
    pub id: &'a str,
    pub reason: &'a ExitReason,
}

/// The whole decision for an exit at `now`; `jitter` is a number in
/// `[0, 1]` for the backoff's spread.
pub(crate) fn decide<C: Children + ?Sized>(
    policy: &Policy,
    children: &C,
    exit: Exited<'_>,
    window: &mut RestartWindow,
    now: Instant,
    jitter: f64,
) -> Decision {
    let Exited {
        index: exited,
        id,
        reason,
    } = exit;
    let child = children.facts(exited);
    if !restart_wanted(child.restart, reason) {
        return Decision::Ended {
            remove: child.restart == Restart::Temporary,
            shut_down: child.significant
                && auto_shutdown_due(policy.auto_shutdown, children, exited),
        };
    }
    if !window.admit(now, policy.intensity) {
        return Decision::GiveUp {
            reason: format!(
                "more than {} restarts within {:?} (last: `{id}` {reason})",
                policy.intensity.max_restarts, policy.intensity.period
            ),
        };
    }
    let stable = child
        .started_at
        .is_some_and(|s| now.saturating_duration_since(s) >= policy.backoff_reset);
    let step = if stable { 0 } else { child.backoff_step };
    Decision::Restart {
        group: restart_group(policy.strategy, children, exited),
        delay: policy.backoff.jittered_with(step, jitter),
        backoff_step: step.saturating_add(1),
    }
}

/// Whether a child of this restart type is restarted after this exit.
pub(crate) fn restart_wanted(restart: Restart, reason: &ExitReason) -> bool {
    match restart {
        Restart::Permanent => true,
        Restart::Transient => reason.is_abnormal(),
        Restart::Temporary => false,
    }
}

/// The children that restart with `exited`, in start order: as in OTP,
/// every child in the strategy's range, also one that is not running (a
/// transient child that finished is started again with the others).
pub(crate) fn restart_group<C: Children + ?Sized>(
    strategy: Strategy,
    children: &C,
    exited: usize,
) -> std::ops::Range<usize> {
    match strategy {
        Strategy::OneForOne => exited..exited + 1,
        Strategy::OneForAll => 0..children.count(),
        Strategy::RestForOne => exited..children.count(),
    }
}

/// Whether the supervisor ends now that significant child `ended` has
/// ended by itself.
pub(crate) fn auto_shutdown_due<C: Children + ?Sized>(
    auto: AutoShutdown,
    children: &C,
    ended: usize,
) -> bool {
    match auto {
        AutoShutdown::Never => false,
        AutoShutdown::AnySignificant => true,
        AutoShutdown::AllSignificant => (0..children.count())
            .filter(|&i| i != ended)
            .map(|i| children.facts(i))
            .filter(|c| c.significant)
            .all(|c| c.ended || (c.restart == Restart::Temporary && !c.live)),
    }
}

/// The restarts within the last `period`, kept as timestamps so that the
/// window slides: an old restart stops counting exactly `period` after it.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records a restart at `now`; false when it exceeds the intensity.
    pub fn admit(&mut self, now: Instant, intensity: Intensity) -> bool {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= intensity.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        self.times.len() as u64 <= u64::from(intensity.max_restarts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(restart: Restart) -> Facts {
        Facts {
            restart,
            significant: false,
            live: true,
            ended: false,
            started_at: None,
            backoff_step: 0,
        }
    }

    fn ex<'a>(index: usize, id: &'a str, reason: &'a ExitReason) -> Exited<'a> {
        Exited { index, id, reason }
    }

    fn policy(strategy: Strategy) -> Policy {
        Policy {
            strategy,
            intensity: Intensity {
                max_restarts: 3,
                period: Duration::from_secs(5),
            },
            backoff: Backoff::none(),
            backoff_reset: Duration::from_secs(10),
            auto_shutdown: AutoShutdown::Never,
        }
    }

    #[test]
    fn restart_type_and_exit_reason_decide_whether_to_restart() {
        use ExitReason::*;
        use Restart::*;
        let reasons = [
            Normal,
            Shutdown,
            Killed,
            Failed("x".into()),
            Panicked("y".into()),
            // A supervisor that gave up ends like a shutdown (OTP).
            GaveUp("z".into()),
        ];
        let table = [
            (Permanent, [true, true, true, true, true, true]),
            (Transient, [false, false, false, true, true, false]),
            (Temporary, [false, false, false, false, false, false]),
        ];
        for (restart, expected) in table {
            for (reason, want) in reasons.iter().zip(expected) {
                assert_eq!(
                    restart_wanted(restart, reason),
                    want,
                    "{restart:?} × {reason}"
                );
            }
        }
    }

    #[test]
    fn strategies_pick_the_group_in_start_order() {
        let mut kids = [child(Restart::Permanent); 4];
        // A transient child that finished is restarted with the group, as in OTP.
        kids[1].restart = Restart::Transient;
        kids[1].live = false;
        kids[1].ended = true;
        let table = [
            (Strategy::OneForOne, 2..3),
            (Strategy::OneForAll, 0..4),
            (Strategy::RestForOne, 2..4),
        ];
        for (strategy, group) in table {
            assert_eq!(restart_group(strategy, &kids[..], 2), group, "{strategy:?}");
        }
    }

    #[test]
    fn intensity_exceeded_gives_up_and_names_the_child() {
        let now = Instant::now();
        let kids = [child(Restart::Permanent)];
        let mut window = RestartWindow::default();
        let p = policy(Strategy::OneForOne);
        let crash = ExitReason::Panicked("boom".into());
        let decisions: Vec<Decision> = (0..4)
            .map(|i| {
                decide(
                    &p,
                    &kids[..],
                    ex(0, "a", &crash),
                    &mut window,
                    now + Duration::from_millis(i),
                    0.0,
                )
            })
            .collect();
        assert!(decisions[..3]
            .iter()
            .all(|d| matches!(d, Decision::Restart { .. })));
        let Decision::GiveUp { reason } = &decisions[3] else {
            panic!("{:?}", decisions[3])
        };
        assert_eq!(
            reason,
            "more than 3 restarts within 5s (last: `a` panicked: boom)"
        );
    }

    #[test]
    fn an_ended_child_is_removed_if_temporary_and_may_shut_the_supervisor_down() {
        let now = Instant::now();
        let mut window = RestartWindow::default();
        let mut p = policy(Strategy::OneForOne);
        p.auto_shutdown = AutoShutdown::AllSignificant;
        let mut kids = [child(Restart::Transient), child(Restart::Temporary)];
        kids[0].significant = true;
        kids[1].significant = true;
        let normal = ExitReason::Normal;
        assert_eq!(
            decide(&p, &kids[..], ex(1, "b", &normal), &mut window, now, 0.0),
            Decision::Ended {
                remove: true,
                shut_down: false
            }
        );
        kids[1].ended = true;
        assert_eq!(
            decide(&p, &kids[..], ex(0, "a", &normal), &mut window, now, 0.0),
            Decision::Ended {
                remove: false,
                shut_down: true
            }
        );
    }

    #[test]
    fn backoff_grows_per_restart_and_resets_after_a_stable_run() {
        let start = Instant::now();
        let mut p = policy(Strategy::OneForOne);
        p.backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
        p.intensity.max_restarts = 100;
        let mut kid = child(Restart::Permanent);
        let mut window = RestartWindow::default();
        let mut delays = Vec::new();
        for i in 0..4 {
            kid.started_at = Some(start + Duration::from_secs(i));
            let at = start + Duration::from_secs(i) + Duration::from_millis(1);
            let Decision::Restart {
                delay,
                backoff_step,
                ..
            } = decide(
                &p,
                &[kid][..],
                ex(0, "a", &ExitReason::Killed),
                &mut window,
                at,
                0.0,
            )
            else {
                panic!()
            };
            delays.push(delay.as_millis());
            kid.backoff_step = backoff_step;
        }
        kid.started_at = Some(start + Duration::from_secs(10));
        let late = start + Duration::from_secs(21);
        let Decision::Restart { delay, .. } = decide(
            &p,
            &[kid][..],
            ex(0, "a", &ExitReason::Killed),
            &mut window,
            late,
            0.0,
        ) else {
            panic!()
        };
        delays.push(delay.as_millis());
        assert_eq!(delays, [100, 200, 400, 800, 100]);
    }

    #[test]
    fn window_slides_instead_of_resetting_after_quiet_gap() {
        let start = Instant::now();
        let every = Duration::from_secs(2);
        let intensity = Intensity {
            max_restarts: 3,
            period: Duration::from_secs(5),
        };
        let mut w = RestartWindow::default();
        for i in 0..50 {
            assert!(
                w.admit(start + every * i, intensity),
                "restart {i} escalated"
            );
        }
        let mut w = RestartWindow::default();
        let ms = Duration::from_millis(750);
        let results: Vec<bool> = (0..4).map(|i| w.admit(start + ms * i, intensity)).collect();
        assert_eq!(results, [true, true, true, false]);
    }
}
