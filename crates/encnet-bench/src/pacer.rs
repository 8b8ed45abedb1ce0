//! Which request a worker sends next, and the time its latency counts from.
//!
//! Closed loop: the next index, now. Open loop: each index at its slot. A
//! task on the runtime wakes on a grid of [`RELEASE_TICK`] (see
//! `slot_timer`) and releases the slots that have come as semaphore permits,
//! so exactly that many idle workers wake, and a slot that finds every
//! worker busy waits for the first free one with its latency already
//! running.
//!
//! The generator shares the node's cores, and each wake-up of its runtime
//! costs CPU the node then lacks: one wake-up per slot cost the generator
//! 49 µs of CPU per request at 3 900/s, one per millisecond 33–35 µs
//! (docs/performance.md). A slot so waits up to one tick before it is sent,
//! and since latency runs from the slot, that wait counts against the node.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::slot_timer::SlotTimer;

/// The releasing task wakes at most once per tick, on a grid from the start.
const RELEASE_TICK: Duration = Duration::from_millis(1);

/// Hands out request indices.
pub(crate) enum Pacer {
    Closed(AtomicUsize),
    Open(Arc<Slots>),
}

impl Pacer {
    /// Every request as soon as a worker is free.
    pub(crate) fn closed() -> Self {
        Self::Closed(AtomicUsize::new(0))
    }

    /// One request per `step` from `started`, until `deadline` or `count`.
    /// Must be called inside the runtime, which runs the releasing task.
    pub(crate) fn open(started: Instant, step: Duration, deadline: Instant, count: usize) -> Self {
        let slots = Arc::new(Slots {
            started,
            step: step.max(Duration::from_nanos(1)),
            due: Semaphore::new(0),
            next: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
        });
        let total = count.min(slots.due_by(deadline));
        tokio::spawn(slots.clone().release(total));
        Self::Open(slots)
    }

    /// The next request's index and the time its latency counts from;
    /// `None` once the open-loop schedule has ended.
    pub(crate) async fn next(&self) -> Option<(usize, Instant)> {
        match self {
            Self::Closed(next) => Some((next.fetch_add(1, Ordering::Relaxed), Instant::now())),
            Self::Open(slots) => {
                let index = slots.take().await?;
                Some((index, slots.slot(index)))
            }
        }
    }
}

/// The open-loop schedule: slot `i` comes at `started + i × step`.
pub(crate) struct Slots {
    started: Instant,
    step: Duration,
    /// One permit per slot that has come and not been taken.
    due: Semaphore,
    /// The next index to hand out.
    next: AtomicUsize,
    /// How many slots came in all; set before `due` is closed.
    released: AtomicUsize,
}

impl Slots {
    fn slot(&self, index: usize) -> Instant {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        self.started + self.step.saturating_mul(index)
    }

    /// How many slots come before `at`.
    fn due_by(&self, at: Instant) -> usize {
        let elapsed = at.saturating_duration_since(self.started).as_nanos();
        usize::try_from(elapsed.div_ceil(self.step.as_nanos())).unwrap_or(usize::MAX)
    }

    /// The first point of the release grid at or after `at`.
    fn tick_at_or_after(&self, at: Instant) -> Instant {
        let offset = at.saturating_duration_since(self.started).as_nanos();
        let ticks = offset.div_ceil(RELEASE_TICK.as_nanos());
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
        self.started + RELEASE_TICK.saturating_mul(ticks)
    }

    async fn take(&self) -> Option<usize> {
        match self.due.acquire().await {
            Ok(permit) => {
                permit.forget();
                Some(self.next.fetch_add(1, Ordering::Relaxed))
            }
            // The schedule has ended; slots that came but found no free
            // worker still go out, late, and count.
            Err(_) => {
                let index = self.next.fetch_add(1, Ordering::Relaxed);
                (index < self.released.load(Ordering::Acquire)).then_some(index)
            }
        }
    }

    /// Releases each of the first `total` slots when it comes, then ends
    /// the schedule.
    async fn release(self: Arc<Self>, total: usize) {
        let timer = SlotTimer::new();
        let mut released = 0;
        while released < total {
            // Slot `i` has come once `now` is past it: `due_by` counts
            // those strictly before `now`, so ask just after.
            let due = self
                .due_by(Instant::now() + Duration::from_nanos(1))
                .min(total);
            if due > released {
                self.due.add_permits(due - released);
                released = due;
            } else {
                timer
                    .sleep_until(self.tick_at_or_after(self.slot(released)))
                    .await;
            }
        }
        self.released.store(released, Ordering::Release);
        self.due.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every index the pacer hands out with its slot, checking that none
    /// came before its slot.
    async fn drain(pacer: &Pacer) -> Vec<(usize, Instant)> {
        let mut seen = Vec::new();
        while let Some((index, at)) = pacer.next().await {
            assert!(Instant::now() >= at, "index {index} came early");
            seen.push((index, at));
        }
        seen
    }

    fn indices(seen: &[(usize, Instant)]) -> Vec<usize> {
        seen.iter().map(|(index, _)| *index).collect()
    }

    #[tokio::test]
    async fn open_loop_hands_out_each_index_at_its_slot() {
        let started = Instant::now();
        let step = Duration::from_millis(2);
        let pacer = Pacer::open(started, step, started + step * 5, 100);
        let seen = drain(&pacer).await;
        for (index, at) in &seen {
            assert_eq!(*at, started + step * *index as u32);
        }
        assert_eq!(indices(&seen), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn slots_are_released_on_the_tick_grid() {
        let started = Instant::now();
        let pacer = Pacer::open(started, Duration::from_micros(300), started, 0);
        let Pacer::Open(slots) = pacer else {
            panic!("an open-loop pacer");
        };
        let at = |micros| started + Duration::from_micros(micros);
        assert_eq!(slots.tick_at_or_after(at(0)), at(0));
        assert_eq!(slots.tick_at_or_after(at(300)), at(1_000));
        assert_eq!(slots.tick_at_or_after(at(1_000)), at(1_000));
        assert_eq!(slots.tick_at_or_after(at(1_001)), at(2_000));
    }

    #[tokio::test]
    async fn slots_that_found_no_free_worker_still_go_out_after_the_end() {
        let started = Instant::now();
        let step = Duration::from_millis(1);
        let pacer = Pacer::open(started, step, started + step * 4, 100);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(indices(&drain(&pacer).await), [0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn the_schedule_stops_at_the_prepared_count() {
        let started = Instant::now();
        let step = Duration::from_millis(1);
        let pacer = Pacer::open(started, step, started + step * 50, 3);
        assert_eq!(indices(&drain(&pacer).await), [0, 1, 2]);
    }
}
