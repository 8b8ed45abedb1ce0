//! CPU time the hypervisor took from this machine during a run.
//!
//! On a shared VM the host can run other work on our vCPUs; the guest sees
//! it as steal time (`/proc/stat`). Latency tails move with it, so a run
//! reports it, and runs that lost much of a vCPU can be told apart.

/// Steal time so far, in seconds, summed over all CPUs; `None` where the
/// kernel does not report it.
pub(crate) fn seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks = steal_ticks(&stat)?;
    Some(ticks as f64 / ticks_per_second())
}

/// The eighth value of the aggregate `cpu` line.
fn steal_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

#[cfg(target_os = "linux")]
fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

#[cfg(not(target_os = "linux"))]
fn ticks_per_second() -> f64 {
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_value_of_the_cpu_line() {
        let stat = "cpu  4705 356 584 3699176 23 23 0 17 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(steal_ticks(stat), Some(17));
    }

    #[test]
    fn a_kernel_without_steal_reports_none() {
        assert_eq!(steal_ticks("cpu  4705 356 584 3699176\n"), None);
        assert_eq!(steal_ticks("intr 1 2 3\n"), None);
    }
}
