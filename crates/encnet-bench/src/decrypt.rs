//! `encnet-bench decrypt`: a load generator for one node.
//!
//! It prepares a network, a delegation and N distinct signed invocations
//! before the clock starts, opens `--concurrency` keep-alive connections,
//! sends `--warmup` of unrecorded load, then drives the node for `--duration`
//! (closed loop, or open loop at
//! `--rate`, where latency counts from the scheduled send time so a stalled
//! node cannot hide its queue). It also measures the in-process floor
//! (`encnet_node::lab::Floor`: the node's own decrypt functions, no I/O) on
//! one thread, so node throughput is reported as a ratio from one run,
//! and reports p99 per `--window` as well as overall, since on a shared
//! machine one stall can fill a short run's top percent.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use encnet_client::decrypt::DecryptRequest;
use encnet_client::delegate::{delegate, Grant};
use encnet_client::{encrypt, Client};
use encnet_node::lab::Floor;
use encnet_ucan::{Container, Ed25519Signer, InvocationBuilder, Ipld};
use hdrhistogram::Histogram;
use hyper::header::HeaderValue;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::connection::{Connection, Endpoint, Failure, Target};
use crate::duration::{parse_duration, parse_duration_or_zero};
use crate::error::Error;
use crate::pacer::Pacer;
use crate::report::{micros, print_json};
use crate::steal;

/// Flags of `encnet-bench decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptBenchArgs {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to drive the node, e.g. 30s or 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Load sent before measuring starts (connections, caches, the WAL warm up).
    #[arg(long, default_value = "1s", value_parser = parse_duration_or_zero)]
    warmup: Duration,
    /// Distinct invocations prepared before the clock starts (each is
    /// single-use; warm-up uses them too).
    #[arg(long, default_value_t = 60_000)]
    invocations: usize,
    /// Open loop: send this many requests per second (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds spent measuring the in-process floor first (0 skips it).
    #[arg(long, default_value_t = 3.0)]
    floor_secs: f64,
    /// Also report p99 for each window of this length within the run, so
    /// one stall shows as one slow window, not as the whole run.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    window: Duration,
    /// Reuse the owner, holder and network recorded in this file (created if absent).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// What one run measured.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    node: String,
    duration_secs: f64,
    concurrency: usize,
    target_rate: Option<f64>,
    requests: u64,
    throughput: f64,
    latency_micros: Latency,
    /// p99 of the requests scheduled in each `--window` of the run.
    windows: Vec<Window>,
    /// How late requests left the generator after their slot (open loop):
    /// the generator's own delay, or every connection busy. It is part of
    /// the latency, and tells a slow generator from a slow node.
    send_lag_micros: Latency,
    statuses: BTreeMap<String, u64>,
    /// CPU seconds the hypervisor took from this machine while measuring.
    steal_secs: Option<f64>,
    floor_ops_per_sec: Option<f64>,
    throughput_over_floor: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Window {
    /// Seconds from the start of the measured run.
    from_secs: f64,
    requests: u64,
    p99_micros: u64,
    max_send_lag_micros: u64,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            max: histogram.max(),
        }
    }
}

/// Runs the load (after the floor, when `--floor-secs` asks for it) and
/// prints the report.
pub(crate) fn run(args: &DecryptBenchArgs, node: &str) -> Result<ExitCode, Error> {
    if args.concurrency == 0 || args.invocations == 0 {
        return Err(Error::Usage(
            "--concurrency and --invocations must be positive".into(),
        ));
    }
    if args.duration.as_nanos() / args.window.as_nanos().max(1) > MAX_WINDOWS {
        return Err(Error::Usage(format!(
            "--window is too short: at most {MAX_WINDOWS} windows per run"
        )));
    }
    let endpoint = Endpoint::parse(node).map_err(Error::Usage)?;
    let floor = if args.floor_secs > 0.0 {
        Some(floor_ops_per_sec(Duration::from_secs_f64(args.floor_secs))?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let mut report = runtime.block_on(drive(args, node, endpoint))?;
    report.floor_ops_per_sec = floor;
    report.throughput_over_floor = floor.map(|f| report.throughput / f);
    print_report(&report, args.json);
    Ok(ExitCode::SUCCESS)
}

/// The node's decrypt of a 1 KiB envelope (the load's payload) on this
/// thread, with a receiver key and args made by the client SDK as for the
/// load; decrypts per second.
fn floor_ops_per_sec(duration: Duration) -> Result<f64, Error> {
    let floor = Floor::new(&PAYLOAD)?;
    let request = DecryptRequest::new(floor.envelope())?;
    let request = floor.request(request.args().clone())?;
    Ok(floor.measure(&request, duration)?)
}

/// What every prepared envelope holds.
const PAYLOAD: [u8; 1024] = [7; 1024];

async fn drive(args: &DecryptBenchArgs, node: &str, endpoint: Endpoint) -> Result<Report, Error> {
    let client = Client::new(node);
    let setup = Setup::load_or_create(&client, args.state.as_deref()).await?;
    let headers = Arc::new(setup.invocations(&client, args.invocations).await?);
    let path = format!("/v1/networks/{}/decrypt", setup.network);
    let target = endpoint.target(&path).map_err(Error::Usage)?;

    // Every connection is open before the clock starts.
    let mut connections = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let connection = Connection::open(&target).await.map_err(|failure| {
            Error::Usage(format!(
                "cannot open a connection to {node}: {}",
                failure.label()
            ))
        })?;
        connections.push(connection);
    }
    // Every histogram is allocated before the clock starts: 256 workers
    // allocating theirs on their first poll once stalled the generator for
    // ~100 ms, and the node was blamed for the backlog.
    let tally = Mutex::new(Tally::new(window_count(args.duration, args.window)));
    let schedule = Schedule::new(args);
    let shared = Arc::new(Shared {
        pacer: schedule.pacer(headers.len()),
        done: AtomicU64::default(),
        tally,
    });
    let progress = progress_bar(args.warmup + args.duration);
    let mut workers = Vec::with_capacity(args.concurrency);
    for connection in connections {
        let (target, headers, shared) = (target.clone(), headers.clone(), shared.clone());
        workers.push(tokio::spawn(async move {
            worker(target, connection, headers, shared, schedule).await
        }));
    }
    let ticker = tokio::spawn(tick(progress.clone(), shared.clone(), schedule));
    let steal_before = tokio::spawn(async move {
        tokio::time::sleep_until(schedule.measure_from.into()).await;
        steal::seconds()
    });
    for w in workers {
        let _ = w.await;
    }
    ticker.abort();
    let steal_secs = match (steal_before.await.ok().flatten(), steal::seconds()) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    progress.finish_and_clear();
    let elapsed = schedule.measured().as_secs_f64();
    // A worker that panicked while recording left a count that is still whole.
    let tally = shared
        .tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let requests = tally.all.len();
    Ok(Report {
        node: node.to_owned(),
        duration_secs: elapsed,
        concurrency: args.concurrency,
        target_rate: args.rate,
        requests,
        throughput: requests as f64 / elapsed,
        latency_micros: Latency::of(&tally.all),
        windows: tally.windows(args.window),
        send_lag_micros: Latency::of(&tally.send_lag),
        statuses: tally.statuses.clone(),
        steal_secs,
        floor_ops_per_sec: None,
        throughput_over_floor: None,
    })
}

/// When requests are sent, and which are measured.
#[derive(Clone, Copy)]
struct Schedule {
    started: Instant,
    /// Requests scheduled before this are warm-up: sent, not recorded.
    measure_from: Instant,
    deadline: Instant,
    /// Open loop: one request per interval.
    interval: Option<Duration>,
    /// Length of the windows p99 is also reported for.
    window: Duration,
}

impl Schedule {
    fn new(args: &DecryptBenchArgs) -> Self {
        let started = Instant::now();
        let measure_from = started + args.warmup;
        Self {
            started,
            measure_from,
            deadline: measure_from + args.duration,
            interval: args
                .rate
                .map(|rate| Duration::from_secs_f64(1.0 / rate.max(1.0))),
            window: args.window,
        }
    }

    /// Who hands out the requests: at once, or one per interval.
    fn pacer(&self, count: usize) -> Pacer {
        match self.interval {
            Some(step) => Pacer::open(self.started, step, self.deadline, count),
            None => Pacer::closed(),
        }
    }

    /// Which `--window` of the measured run `scheduled` falls in.
    fn window_of(&self, scheduled: Instant) -> usize {
        let offset = scheduled.saturating_duration_since(self.measure_from);
        let index = offset.as_nanos() / self.window.as_nanos().max(1);
        usize::try_from(index).unwrap_or(usize::MAX)
    }

    /// Time spent in the measured window so far.
    fn measured(&self) -> Duration {
        Instant::now()
            .min(self.deadline)
            .saturating_duration_since(self.measure_from)
    }
}

/// Counters shared by the workers.
struct Shared {
    pacer: Pacer,
    done: AtomicU64,
    tally: Mutex<Tally>,
}

/// What the measured answers were, counted under one lock.
struct Tally {
    statuses: BTreeMap<String, u64>,
    /// Every measured latency.
    all: Histogram<u64>,
    /// Every measured send lag.
    send_lag: Histogram<u64>,
    /// By `--window` of the requests' scheduled time.
    windows: Vec<WindowTally>,
}

/// One `--window`'s latencies and longest send lag.
struct WindowTally {
    latency: Histogram<u64>,
    max_send_lag: u64,
}

impl WindowTally {
    fn new() -> Self {
        Self {
            latency: new_window_histogram(),
            max_send_lag: 0,
        }
    }
}

impl Tally {
    fn new(windows: usize) -> Self {
        Self {
            statuses: BTreeMap::new(),
            all: new_histogram(),
            send_lag: new_histogram(),
            windows: (0..windows).map(|_| WindowTally::new()).collect(),
        }
    }

    fn record(&mut self, status: String, window: usize, micros: u64, lag_micros: u64) {
        *self.statuses.entry(status).or_default() += 1;
        let _ = self.all.record(micros);
        let _ = self.send_lag.record(lag_micros);
        if self.windows.len() <= window {
            self.windows.resize_with(window + 1, WindowTally::new);
        }
        let tally = &mut self.windows[window];
        let _ = tally.latency.record(micros);
        tally.max_send_lag = tally.max_send_lag.max(lag_micros);
    }

    /// The p99 of each window that had requests.
    fn windows(&self, length: Duration) -> Vec<Window> {
        self.windows
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.latency.is_empty())
            .map(|(i, w)| Window {
                from_secs: length.as_secs_f64() * i as f64,
                requests: w.latency.len(),
                p99_micros: w.latency.value_at_quantile(0.99),
                max_send_lag_micros: w.max_send_lag,
            })
            .collect()
    }
}

async fn worker(
    target: Target,
    connection: Connection,
    headers: Arc<Vec<HeaderValue>>,
    shared: Arc<Shared>,
    schedule: Schedule,
) {
    let mut connection = Some(connection);
    // Open loop: latency counts from the request's slot, not its send.
    while let Some((index, scheduled)) = shared.pacer.next().await {
        let Some(header) = headers.get(index) else {
            break;
        };
        if scheduled >= schedule.deadline {
            break;
        }
        let lag = scheduled.elapsed();
        let status = match send(&mut connection, &target, header).await {
            Ok(code) => code.to_string(),
            Err(failure) => failure.label().to_owned(),
        };
        if scheduled < schedule.measure_from {
            continue;
        }
        shared.done.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut tally) = shared.tally.lock() {
            let window = schedule.window_of(scheduled);
            tally.record(status, window, micros(scheduled.elapsed()), micros(lag));
        }
    }
}

/// Sends one request, (re)connecting first if needed; a failed connection
/// is dropped so the next request opens a new one.
async fn send(
    connection: &mut Option<Connection>,
    target: &Target,
    authorization: &HeaderValue,
) -> Result<u16, Failure> {
    let open = match connection {
        Some(open) => open,
        None => connection.insert(Connection::open(target).await?),
    };
    let result = open.post(target, authorization).await;
    if result.is_err() {
        *connection = None;
    }
    result
}

async fn tick(progress: ProgressBar, shared: Arc<Shared>, schedule: Schedule) {
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    while Instant::now() < schedule.deadline {
        ticks.tick().await;
        let done = shared.done.load(Ordering::Relaxed);
        progress.set_position(schedule.started.elapsed().as_millis() as u64);
        progress.set_message(match schedule.measured().as_secs_f64() {
            0.0 => "warming up".to_owned(),
            secs => format!("{done} requests, {:.0}/s", done as f64 / secs),
        });
    }
}

fn progress_bar(duration: Duration) -> ProgressBar {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 60 s at 3 significant digits: constant, valid bounds.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn new_window_histogram() -> Histogram<u64> {
    // Two significant digits: a tenth of the size, and p99 to within 1 %.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 60_000_000, 2).expect("valid histogram bounds")
}

/// How many `--window`s the measured run spans.
fn window_count(duration: Duration, window: Duration) -> usize {
    let count = duration.as_nanos().div_ceil(window.as_nanos().max(1));
    usize::try_from(count).unwrap_or(0)
}

/// The most windows a run may report: each holds a histogram (~20 KB).
const MAX_WINDOWS: u128 = 1_000;

/// The identities and network a run uses.
struct Setup {
    owner: Ed25519Signer,
    holder: Ed25519Signer,
    network: String,
}

/// `--state` file contents.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedSetup {
    owner_seed: String,
    holder_seed: String,
    network: String,
}

impl Setup {
    async fn load_or_create(
        client: &Client,
        state: Option<&std::path::Path>,
    ) -> Result<Self, Error> {
        if let Some(saved) = state.and_then(|p| std::fs::read(p).ok()) {
            let saved: SavedSetup = serde_json::from_slice(&saved)
                .map_err(|err| Error::Usage(format!("--state file: {err}")))?;
            return Ok(Self {
                owner: signer_from_hex(&saved.owner_seed)?,
                holder: signer_from_hex(&saved.holder_seed)?,
                network: saved.network,
            });
        }
        let owner = Ed25519Signer::generate();
        let holder = Ed25519Signer::generate();
        let name = format!(
            "bench-{}",
            hex::encode(&holder.did().as_str().as_bytes()[8..16])
        );
        let descriptor = client.create_network(&owner, &name, None).await?;
        let setup = Self {
            owner,
            holder,
            network: descriptor.network_id,
        };
        if let Some(path) = state {
            let saved = SavedSetup {
                owner_seed: hex::encode(*setup.owner.to_seed()),
                holder_seed: hex::encode(*setup.holder.to_seed()),
                network: setup.network.clone(),
            };
            let json = serde_json::to_vec_pretty(&saved).unwrap_or_default();
            write_private(path, &json)?;
        }
        Ok(setup)
    }

    /// `count` distinct decrypt containers from the holder, each with the
    /// delegation from the owner.
    async fn invocations(&self, client: &Client, count: usize) -> Result<Vec<HeaderValue>, Error> {
        let descriptor = client.network(&self.network).await?;
        let envelope = encrypt(&descriptor, &PAYLOAD, None)?;
        let owner_did = self.owner.did();
        let grant = Grant {
            owner: &owner_did,
            network: &self.network,
            command: encnet_core::api::command::DECRYPT,
            expires_at: now() + 3600,
            only: &[],
        };
        let delegation = delegate(&self.owner, &self.holder.did(), &grant)?;
        let node = client.node_did().await?.clone();
        let request = DecryptRequest::new(&envelope)?;
        let args: BTreeMap<String, Ipld> = request.args().clone();
        let command: encnet_ucan::Command = encnet_core::api::command::DECRYPT
            .parse()
            .map_err(|err| Error::Usage(format!("{err}")))?;
        let exp = now() + 280;
        let mut headers = Vec::with_capacity(count);
        for _ in 0..count {
            let invocation =
                InvocationBuilder::new(&self.holder, owner_did.clone(), command.clone())
                    .audience(node.clone())
                    .args(args.clone())
                    .proofs(vec![delegation.cid])
                    .expiration(exp)
                    .sign()
                    .map_err(encnet_client::ClientError::from)?;
            let container = Container::new(vec![invocation.bytes, delegation.bytes.clone()]);
            let value = HeaderValue::try_from(format!("Bearer {}", container.to_header()))
                .map_err(|err| Error::Usage(format!("invocation header: {err}")))?;
            headers.push(value);
        }
        Ok(headers)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Writes a new file readable by its owner only (the `--state` file holds
/// two identities' seeds); never overwrites.
fn write_private(path: &std::path::Path, contents: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io)
}

fn signer_from_hex(text: &str) -> Result<Ed25519Signer, Error> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text, &mut seed)
        .map_err(|_| Error::Usage("--state file: a seed is not 32 bytes of hex".into()))?;
    Ok(Ed25519Signer::from_seed(seed))
}

fn print_report(report: &Report, json: bool) {
    if json {
        return print_json(report);
    }
    let l = &report.latency_micros;
    println!("node        {}", report.node);
    println!(
        "load        {} connections, {:.1} s{}",
        report.concurrency,
        report.duration_secs,
        report
            .target_rate
            .map(|r| format!(", open loop at {r:.0}/s"))
            .unwrap_or_default()
    );
    println!(
        "requests    {} ({:.0}/s)",
        report.requests, report.throughput
    );
    println!(
        "latency µs  p50 {}  p90 {}  p99 {}  max {}",
        l.p50, l.p90, l.p99, l.max
    );
    if report.windows.len() > 1 {
        let windows: Vec<String> = report
            .windows
            .iter()
            .map(|w| format!("{:.1}", w.p99_micros as f64 / 1000.0))
            .collect();
        println!("p99 ms      by window: {}", windows.join("  "));
    }
    if report.target_rate.is_some() {
        let lag = &report.send_lag_micros;
        println!(
            "send lag µs p50 {}  p99 {}  max {}  (slot to send, part of the latency)",
            lag.p50, lag.p99, lag.max
        );
    }
    let statuses: Vec<String> = report
        .statuses
        .iter()
        .map(|(s, n)| format!("{s}×{n}"))
        .collect();
    println!("statuses    {}", statuses.join("  "));
    if let Some(steal) = report.steal_secs {
        println!("steal       {steal:.2} s of CPU taken by the host while measuring");
    }
    if let (Some(floor), Some(ratio)) = (report.floor_ops_per_sec, report.throughput_over_floor) {
        println!("floor       {floor:.0} ops/s (in-process, one thread)  node/floor = {ratio:.2}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_is_allocated_before_the_clock_starts() {
        let ms = Duration::from_millis;
        assert_eq!(window_count(ms(40_000), ms(1_000)), 40);
        // A last, partial window counts too.
        assert_eq!(window_count(ms(1_000), ms(300)), 4);
        let mut tally = Tally::new(window_count(ms(1_000), ms(300)));
        assert_eq!(tally.windows.len(), 4);
        tally.record("200".into(), 3, 1_500, 40);
        assert_eq!(tally.windows.len(), 4, "no window was added");
        assert_eq!((tally.all.len(), tally.windows[3].latency.len()), (1, 1));
        let lags: Vec<u64> = tally.windows.iter().map(|w| w.max_send_lag).collect();
        assert_eq!(lags, [0, 0, 0, 40]);
    }
}
