//! Waits for an open-loop slot on the runtime's own thread.
//!
//! Open-loop latency counts from the slot, so a timer that fires late is
//! charged to the node: tokio's timer has a resolution of one millisecond.
//! On Linux a timerfd in the runtime's poller is accurate to tens of µs and,
//! unlike a pacing thread handing slots over, costs no extra thread wake-up.
//! Elsewhere tokio's timer is used, and its lateness is counted.

use std::time::Instant;

/// A one-shot timer, re-armed for each slot.
pub(crate) struct SlotTimer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl SlotTimer {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            fd: timerfd::create().ok(),
        }
    }

    /// Returns at `at` or just after it.
    pub(crate) async fn sleep_until(&self, at: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            if timerfd::sleep_until(fd, at).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep_until(at.into()).await;
    }
}

#[cfg(target_os = "linux")]
mod timerfd {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::time::Instant;

    use rustix::time::{
        timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    pub(super) fn create() -> io::Result<AsyncFd<OwnedFd>> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // Deprecated because a type may hand out a file descriptor it does
        // not own; an `OwnedFd` owns its descriptor and never changes it,
        // and the workspace forbids the `unsafe` replacement.
        #[allow(deprecated)]
        AsyncFd::with_interest(fd, Interest::READABLE)
    }

    pub(super) async fn sleep_until(fd: &AsyncFd<OwnedFd>, at: Instant) -> io::Result<()> {
        let wait = at.saturating_duration_since(Instant::now());
        // An all-zero value would disarm the timer rather than fire it.
        if wait.is_zero() {
            return Ok(());
        }
        let value = Timespec::try_from(wait).map_err(|_| io::ErrorKind::InvalidInput)?;
        let once = Itimerspec {
            it_interval: Timespec::default(),
            it_value: value,
        };
        timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &once)?;
        loop {
            let mut ready = fd.readable().await?;
            let mut expirations = [0u8; 8];
            let read = ready.try_io(|fd| {
                rustix::io::read(fd.get_ref(), &mut expirations).map_err(io::Error::from)
            });
            if let Ok(result) = read {
                return result.map(drop);
            }
        }
    }
}
