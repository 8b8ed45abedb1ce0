//! `encnet-bench decrypt` against a real node: every prepared invocation is
//! answered 200 and the report holds together; `encnet-bench host` on this
//! machine.

mod common;

use common::{bench, Node};

#[test]
fn bench_decrypt_reports_throughput_latency_and_the_floor() {
    let node = Node::start();
    let out = node
        .run(&[
            "decrypt",
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--invocations",
            "150",
            "--concurrency",
            "4",
            "--floor-secs",
            "0.2",
            "--json",
        ])
        .ok();
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    let requests = report["requests"].as_u64().expect("requests");
    assert!(requests > 0 && requests <= 150, "{report}");
    // Each invocation is distinct and single-use: all are allowed.
    assert_eq!(report["statuses"], serde_json::json!({ "200": requests }));
    let latency = &report["latencyMicros"];
    let (p50, p99, max) = (
        latency["p50"].as_u64().expect("p50"),
        latency["p99"].as_u64().expect("p99"),
        latency["max"].as_u64().expect("max"),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{latency}");
    assert!(report["floorOpsPerSec"].as_f64().expect("floor") > 0.0);
    assert!(report["throughputOverFloor"].as_f64().expect("ratio") > 0.0);
    if cfg!(target_os = "linux") {
        let steal = report["stealSecs"].as_f64().expect("steal reported");
        assert!(steal >= 0.0, "{report}");
    }
}

#[test]
fn open_loop_sends_at_the_rate_asked() {
    let node = Node::start();
    let out = node
        .run(&[
            "decrypt",
            "--rate",
            "50",
            "--duration",
            "1s",
            "--window",
            "500ms",
            "--warmup",
            "0s",
            "--invocations",
            "200",
            "--concurrency",
            "4",
            "--floor-secs",
            "0",
            "--json",
        ])
        .ok();
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    // One request per 20 ms slot of the 1 s window, each answered.
    assert_eq!(report["requests"], 50, "{report}");
    assert_eq!(report["statuses"], serde_json::json!({ "200": 50 }));
    // Slots 0–24 fall in the first 500 ms window, 25–49 in the second.
    let windows = report["windows"].as_array().expect("windows");
    let counts: Vec<(f64, u64)> = windows
        .iter()
        .map(|w| {
            (
                w["fromSecs"].as_f64().expect("from"),
                w["requests"].as_u64().expect("requests"),
            )
        })
        .collect();
    assert_eq!(counts, [(0.0, 25), (0.5, 25)], "{report}");
    assert!(windows.iter().all(|w| w["p99Micros"].as_u64() > Some(0)));
    // A request leaves after its slot and is answered after it leaves.
    let (lag, latency) = (
        report["sendLagMicros"]["max"].as_u64().expect("send lag"),
        report["latencyMicros"]["max"].as_u64().expect("latency"),
    );
    assert!(0 < lag && lag <= latency, "{report}");
    assert!(windows
        .iter()
        .all(|w| w["maxSendLagMicros"].as_u64() <= Some(lag)));
}

#[test]
fn bench_decrypt_refuses_what_it_cannot_drive() {
    let node = Node::start();
    node.run(&["decrypt", "--concurrency", "0"])
        .fails(1, "--concurrency");
    node.run(&["decrypt", "--duration", "30s", "--window", "1ms"])
        .fails(1, "--window");
    node.run(&[
        "--node",
        "https://127.0.0.1:1",
        "decrypt",
        "--floor-secs",
        "0",
    ])
    .fails(1, "plain http://");
}

#[test]
fn bench_host_reports_each_cpu_it_may_run_on() {
    let output = bench()
        .args(["host", "--duration", "200ms", "--json"])
        .output()
        .expect("encnet-bench runs");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let cpus = report["cpus"].as_array().expect("cpus");
    assert!(!cpus.is_empty(), "{report}");
    for cpu in cpus {
        let lost = cpu["lostPercent"].as_f64().expect("lostPercent");
        assert!((0.0..=100.0).contains(&lost), "{cpu}");
        let floors: Vec<u64> = cpu["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .map(|class| class["fromMicros"].as_u64().expect("fromMicros"))
            .collect();
        assert_eq!(floors, [50, 100, 500, 1_000, 2_000, 5_000, 10_000]);
    }
    if cpus.len() > 1 {
        let together = &report["pausedTogether"];
        let longest = together["longestMicros"].as_u64().expect("longestMicros");
        assert!(longest <= together["lostMicros"].as_u64().expect("lostMicros"));
    }
    if cfg!(target_os = "linux") {
        let pinned: Vec<u64> = cpus.iter().filter_map(|cpu| cpu["cpu"].as_u64()).collect();
        assert_eq!(pinned.len(), cpus.len(), "every probe is pinned: {report}");
    }
}

#[test]
fn bench_host_refuses_a_probe_it_cannot_hold() {
    let output = bench()
        .args(["host", "--duration", "11m"])
        .output()
        .expect("encnet-bench runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--duration: at most 10m"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
