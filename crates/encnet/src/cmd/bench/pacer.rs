//! Which request a worker sends next, and the time its latency counts from.
//!
//! Closed loop: the next index, now. Open loop: each index at its slot. A
//! thread of its own sleeps to each slot and hands out the index due:
//! tokio's timer has a resolution of one millisecond and fires up to that
//! much late, which would be counted against the node, since open-loop
//! latency runs from the slot. The OS timer is accurate to tens of µs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Mutex};

/// Hands out request indices.
pub(super) enum Pacer {
    Closed(AtomicUsize),
    Open {
        /// Indices whose slot has come, in order.
        due: Mutex<mpsc::Receiver<usize>>,
        started: Instant,
        step: Duration,
    },
}

impl Pacer {
    /// Every request as soon as a worker is free.
    pub(super) fn closed() -> Self {
        Self::Closed(AtomicUsize::new(0))
    }

    /// One request per `step` from `started`, until `deadline` or `count`.
    pub(super) fn open(started: Instant, step: Duration, deadline: Instant, count: usize) -> Self {
        let (release, due) = mpsc::channel(1024);
        std::thread::spawn(move || {
            for index in 0..count {
                let at = slot(started, step, index);
                if at >= deadline {
                    break;
                }
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                if release.blocking_send(index).is_err() {
                    break;
                }
            }
        });
        Self::Open {
            due: Mutex::new(due),
            started,
            step,
        }
    }

    /// The next request's index and the time its latency counts from;
    /// `None` once the open-loop schedule has ended.
    pub(super) async fn next(&self) -> Option<(usize, Instant)> {
        match self {
            Self::Closed(next) => Some((next.fetch_add(1, Ordering::Relaxed), Instant::now())),
            Self::Open { due, started, step } => {
                let index = due.lock().await.recv().await?;
                Some((index, slot(*started, *step, index)))
            }
        }
    }
}

fn slot(started: Instant, step: Duration, index: usize) -> Instant {
    started + step.saturating_mul(u32::try_from(index).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_loop_hands_out_each_index_at_its_slot() {
        let started = Instant::now();
        let step = Duration::from_millis(2);
        let pacer = Pacer::open(started, step, started + step * 5, 100);
        let mut seen = Vec::new();
        while let Some((index, at)) = pacer.next().await {
            assert_eq!(at, started + step * index as u32);
            assert!(Instant::now() >= at, "index {index} came early");
            seen.push(index);
        }
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
