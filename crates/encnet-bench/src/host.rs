//! `encnet-bench host`: how much of each CPU this machine takes away.
//!
//! One thread per CPU, pinned to it, spins reading the monotonic clock and
//! counts the gaps in its own progress. On an otherwise idle machine a gap
//! is time the thread did not run: interrupts, other work in the guest, or,
//! on a VM, the host running something else on our vCPU, which the guest's
//! steal counter can miss. At high load the latency tail of `bench decrypt`
//! follows these gaps (docs/performance.md), so a tail can be judged against
//! the host it was measured on. Gaps that every CPU had at once are the
//! whole machine stopping, which no program on it can work around. Run it
//! before or after a benchmark, never during one.
//!
//! There is no progress bar: its redraws would be gaps of their own.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::duration::parse_duration;
use crate::error::Error;
use crate::report::{micros, print_json};

/// Flags of `encnet-bench host`.
#[derive(Debug, Args)]
pub(crate) struct HostBenchArgs {
    /// How long each CPU's probe runs, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// The gap sizes counted: each class's floor in µs, and its name. Shorter
/// gaps are the loop itself: cache misses, the clock read, a timer tick.
const GAP_CLASSES: [(u64, &str); 7] = [
    (50, "50–100 µs"),
    (100, "0.1–0.5 ms"),
    (500, "0.5–1 ms"),
    (1_000, "1–2 ms"),
    (2_000, "2–5 ms"),
    (5_000, "5–10 ms"),
    (10_000, "≥ 10 ms"),
];

/// Gaps at least this long are kept with their times, to find those every
/// CPU had at once.
const PAUSE_FLOOR: Duration = Duration::from_millis(1);

/// The longest probe: each keeps at most one pause per millisecond, 16
/// bytes each.
const MAX_DURATION: Duration = Duration::from_secs(600);

/// The gaps one probe saw.
#[derive(Debug, Default)]
struct Gaps {
    counts: [u64; GAP_CLASSES.len()],
    lost_micros: u64,
    longest_micros: u64,
}

impl Gaps {
    /// Counts `gap` in the largest size class it reaches, if any.
    fn record(&mut self, gap: Duration) {
        let gap = micros(gap);
        let Some(class) = GAP_CLASSES.iter().rposition(|&(floor, _)| gap >= floor) else {
            return;
        };
        self.counts[class] += 1;
        self.lost_micros = self.lost_micros.saturating_add(gap);
        self.longest_micros = self.longest_micros.max(gap);
    }
}

/// What one CPU's probe measured.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CpuReport {
    /// The CPU's number, where the probe could be pinned to it.
    cpu: Option<usize>,
    lost_micros: u64,
    lost_percent: f64,
    longest_gap_micros: u64,
    gaps: Vec<GapClass>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GapClass {
    /// Gaps of at least this many µs and less than the next class's floor.
    from_micros: u64,
    count: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HostReport {
    duration_secs: f64,
    cpus: Vec<CpuReport>,
    /// Stretches of 1 ms or more in which every CPU was in a gap at once;
    /// absent with one CPU.
    paused_together: Option<Pauses>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pauses {
    count: u64,
    lost_micros: u64,
    longest_micros: u64,
}

/// A stretch of time, in µs from the probes' common start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    from: u64,
    to: u64,
}

impl Span {
    fn micros(self) -> u64 {
        self.to.saturating_sub(self.from)
    }
}

/// What one probe measured: its report and its pauses, in time order.
struct Probe {
    report: CpuReport,
    pauses: Vec<Span>,
}

impl CpuReport {
    fn new(cpu: Option<usize>, ran: Duration, gaps: &Gaps) -> Self {
        Self {
            cpu,
            lost_micros: gaps.lost_micros,
            lost_percent: 100.0 * gaps.lost_micros as f64 / micros(ran) as f64,
            longest_gap_micros: gaps.longest_micros,
            gaps: GAP_CLASSES
                .iter()
                .zip(gaps.counts)
                .map(|(&(from_micros, _), count)| GapClass { from_micros, count })
                .collect(),
        }
    }
}

pub(crate) fn run(args: &HostBenchArgs) -> Result<ExitCode, Error> {
    if args.duration > MAX_DURATION {
        return Err(Error::Usage("--duration: at most 10m".into()));
    }
    let cpus = cpus_to_probe();
    let epoch = Instant::now();
    let probes = std::thread::scope(|scope| {
        let probes: Vec<_> = cpus
            .iter()
            .map(|&cpu| scope.spawn(move || probe(cpu, epoch, args.duration)))
            .collect();
        probes
            .into_iter()
            .map(|probe| {
                probe
                    .join()
                    .map_err(|_| Error::Runtime(std::io::Error::other("a probe thread failed")))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let pauses: Vec<&[Span]> = probes.iter().map(|p| p.pauses.as_slice()).collect();
    let report = HostReport {
        duration_secs: args.duration.as_secs_f64(),
        paused_together: (pauses.len() > 1).then(|| paused_together(&pauses)),
        cpus: probes.into_iter().map(|p| p.report).collect(),
    };
    print_report(&report, args.json);
    Ok(ExitCode::SUCCESS)
}

/// Spins on `cpu` (unpinned where that is `None` or refused) for `duration`.
fn probe(cpu: Option<usize>, epoch: Instant, duration: Duration) -> Probe {
    let cpu = cpu.filter(|&cpu| pin_to(cpu));
    let started = Instant::now();
    let mut last = started;
    let mut gaps = Gaps::default();
    let mut pauses = Vec::new();
    while last.saturating_duration_since(started) < duration {
        let now = Instant::now();
        let gap = now.saturating_duration_since(last);
        gaps.record(gap);
        if gap >= PAUSE_FLOOR {
            pauses.push(Span {
                from: micros(last.saturating_duration_since(epoch)),
                to: micros(now.saturating_duration_since(epoch)),
            });
        }
        last = now;
    }
    Probe {
        report: CpuReport::new(cpu, last.saturating_duration_since(started), &gaps),
        pauses,
    }
}

/// The stretches of at least [`PAUSE_FLOOR`] inside a pause of every CPU.
fn paused_together(pauses: &[&[Span]]) -> Pauses {
    let common = match pauses.split_first() {
        Some((first, rest)) => rest
            .iter()
            .fold(first.to_vec(), |common, spans| overlap(&common, spans)),
        None => Vec::new(),
    };
    let floor = micros(PAUSE_FLOOR);
    let long: Vec<u64> = common
        .iter()
        .map(|span| span.micros())
        .filter(|&m| m >= floor)
        .collect();
    Pauses {
        count: long.len() as u64,
        lost_micros: long.iter().sum(),
        longest_micros: long.iter().copied().max().unwrap_or(0),
    }
}

/// The stretches inside both a span of `a` and a span of `b` (each sorted
/// and disjoint).
fn overlap(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j) = (0, 0);
    let mut both = Vec::new();
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let (from, to) = (x.from.max(y.from), x.to.min(y.to));
        if from < to {
            both.push(Span { from, to });
        }
        if x.to < y.to {
            i += 1;
        } else {
            j += 1;
        }
    }
    both
}

/// The CPUs this process may run on.
#[cfg(target_os = "linux")]
fn cpus_to_probe() -> Vec<Option<usize>> {
    use rustix::thread::{sched_getaffinity, CpuSet};
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU)
            .filter(|&cpu| set.is_set(cpu))
            .map(Some)
            .collect(),
        Err(_) => unpinned(),
    }
}

#[cfg(not(target_os = "linux"))]
fn cpus_to_probe() -> Vec<Option<usize>> {
    unpinned()
}

/// One unpinned probe per CPU the standard library counts.
fn unpinned() -> Vec<Option<usize>> {
    let count = std::thread::available_parallelism().map_or(1, usize::from);
    vec![None; count]
}

/// Pins the calling thread to `cpu`; false if the kernel refuses.
#[cfg(target_os = "linux")]
fn pin_to(cpu: usize) -> bool {
    use rustix::thread::{sched_setaffinity, CpuSet};
    let mut set = CpuSet::new();
    set.set(cpu);
    sched_setaffinity(None, &set).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn pin_to(_cpu: usize) -> bool {
    false
}

fn print_report(report: &HostReport, json: bool) {
    if json {
        return print_json(report);
    }
    println!(
        "host        {} CPUs, a busy probe on each for {:.1} s",
        report.cpus.len(),
        report.duration_secs
    );
    for cpu in &report.cpus {
        let name = cpu
            .cpu
            .map_or("unpinned".to_owned(), |n| format!("cpu {n}"));
        println!(
            "{name:<11} lost {:.2} % ({:.1} ms), longest gap {:.1} ms",
            cpu.lost_percent,
            cpu.lost_micros as f64 / 1000.0,
            cpu.longest_gap_micros as f64 / 1000.0
        );
        let classes: Vec<String> = GAP_CLASSES
            .iter()
            .zip(&cpu.gaps)
            .map(|((_, name), class)| format!("{name} {}", class.count))
            .collect();
        println!("            gaps  {}", classes.join("  "));
    }
    if let Some(pauses) = &report.paused_together {
        println!(
            "all CPUs    stopped together {} times for 1 ms or more ({:.1} ms), longest {:.1} ms",
            pauses.count,
            pauses.lost_micros as f64 / 1000.0,
            pauses.longest_micros as f64 / 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_counts_in_the_largest_class_it_reaches() {
        let us = Duration::from_micros;
        let mut gaps = Gaps::default();
        for gap in [
            us(3),
            us(49),
            us(50),
            us(99),
            us(100),
            us(2_500),
            us(40_000),
        ] {
            gaps.record(gap);
        }
        assert_eq!(gaps.counts, [2, 1, 0, 0, 1, 0, 1]);
        assert_eq!(gaps.lost_micros, 50 + 99 + 100 + 2_500 + 40_000);
        assert_eq!(gaps.longest_micros, 40_000);
    }

    #[test]
    fn the_report_gives_the_share_of_time_lost() {
        let mut gaps = Gaps::default();
        gaps.record(Duration::from_millis(5));
        let report = CpuReport::new(Some(1), Duration::from_secs(1), &gaps);
        assert!((report.lost_percent - 0.5).abs() < 1e-9);
        let counts: Vec<u64> = report.gaps.iter().map(|class| class.count).collect();
        assert_eq!(counts, [0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(report.gaps[5].from_micros, 5_000);
    }

    fn span(from: u64, to: u64) -> Span {
        Span { from, to }
    }

    #[test]
    fn only_what_every_cpu_lost_at_once_is_a_pause_together() {
        let cpu0 = [span(0, 5_000), span(10_000, 12_000), span(20_000, 20_900)];
        let cpu1 = [span(4_500, 11_500), span(20_000, 30_000)];
        assert_eq!(
            overlap(&cpu0, &cpu1),
            [
                span(4_500, 5_000),
                span(10_000, 11_500),
                span(20_000, 20_900)
            ]
        );
        // Under 1 ms together does not count; nor does what a third CPU ran through.
        let cpu2 = [span(0, 40_000)];
        assert_eq!(
            paused_together(&[&cpu0, &cpu1, &cpu2]),
            Pauses {
                count: 1,
                lost_micros: 1_500,
                longest_micros: 1_500
            }
        );
        let cpu3 = [span(0, 10_500)];
        assert_eq!(paused_together(&[&cpu0, &cpu1, &cpu3]).count, 0);
    }

    #[test]
    fn a_short_probe_runs_for_its_duration() {
        let report = probe(None, Instant::now(), Duration::from_millis(20)).report;
        assert_eq!(report.cpu, None);
        assert!((0.0..=100.0).contains(&report.lost_percent), "{report:?}");
        assert_eq!(report.gaps.len(), GAP_CLASSES.len());
    }
}
