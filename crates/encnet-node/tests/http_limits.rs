//! The HTTP server's bounds (DESIGN §4.11): load shedding, the per-request
//! deadline, header and body read timeouts, problem+json for every error the
//! node writes, and the `Authorization` scheme's case. Each test runs a real
//! node on a loopback port and talks HTTP to it, raw TCP where a client must
//! misbehave.

// Tests here run on SQLite only: none touches the store's own behaviour.
#[allow(unused_macros, unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{args, container, invoke, text, Owner, TestNode};
use encnet_node::HttpLimits;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something that should happen within a second
/// or two; generous, so a loaded machine does not fail the test.
const PATIENCE: Duration = Duration::from_secs(5);

/// A timeout short enough for a test, and long enough not to race it.
const SHORT: Duration = Duration::from_secs(1);

/// A timeout no test waits for.
const LONG: Duration = Duration::from_secs(60);

fn limits(
    max_in_flight: usize,
    deadline: Duration,
    header: Duration,
    body: Duration,
) -> HttpLimits {
    HttpLimits {
        max_in_flight,
        request_deadline: deadline,
        header_read_timeout: header,
        body_read_timeout: body,
    }
}

/// A response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts a problem+json answer with `status` and `code`.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.json()["code"], code, "{self:?}");
        assert_eq!(self.json()["status"], status, "{self:?}");
    }
}

/// Parses one response from `bytes` if it is all there.
fn parse(bytes: &[u8], eof: bool) -> Option<Raw> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = &bytes[end + 4..];
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match length {
        Some(length) if body.len() >= length => Some(Raw {
            status,
            headers,
            body: body[..length].to_vec(),
        }),
        None if eof => Some(Raw {
            status,
            headers,
            body: body.to_vec(),
        }),
        _ => None,
    }
}

/// Reads one response, waiting at most [`PATIENCE`]; `None` if none came.
async fn read_response(stream: &mut TcpStream) -> Option<Raw> {
    let mut bytes = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut buf = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return parse(&bytes, true),
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buf[..n]);
                if let Some(raw) = parse(&bytes, false) {
                    return Some(raw);
                }
            }
            Err(_) => return None,
        }
    }
}

/// Whether the server closes `stream` within [`PATIENCE`] (bytes it sends
/// first are ignored).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut buf = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Opens a connection and sends a `POST /v1/networks` whose body announces
/// 100 bytes and sends 10: the request then waits on its body.
async fn stalled_body(node: &TestNode) -> TcpStream {
    let mut stream = TcpStream::connect(node.addr()).await.expect("connect");
    let head = format!(
        "POST /v1/networks HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer x\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789",
        node.addr()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

/// `GET path` on the node, with the response's headers.
async fn get(node: &TestNode, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::get(format!("{}{path}", node.url))
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Polls `GET /v1/info` until it answers `status`; the last answer.
async fn info_until(node: &TestNode, status: u16) -> (u16, reqwest::header::HeaderMap, Value) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = get(node, "/v1/info").await;
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_problem(answer: &(u16, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    assert_eq!(
        answer
            .1
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{answer:?}"
    );
    assert_eq!(answer.2["code"], code, "{answer:?}");
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[tokio::test]
async fn overload_is_shed_with_503_and_retry_after_then_recovers() {
    let mut node = TestNode::start_with_limits(limits(2, LONG, LONG, LONG)).await;
    let held = [stalled_body(&node).await, stalled_body(&node).await];

    let shed = info_until(&node, 503).await;
    assert_problem(&shed, 503, "overloaded");
    assert!(
        retry_after(&shed.1).is_some_and(|s| s >= 1),
        "Retry-After in seconds: {shed:?}"
    );
    // Not counted: they answer while the API sheds.
    assert_eq!(get(&node, "/healthz").await.0, 200);
    assert_eq!(get(&node, "/metrics").await.0, 200);

    // The held requests end when their clients go; the API answers again.
    drop(held);
    let (status, _, body) = info_until(&node, 200).await;
    assert_eq!(status, 200, "{body}");
    node.stop().await;
}

#[tokio::test]
async fn health_and_metrics_answer_while_the_api_is_saturated() {
    let mut node = TestNode::start_with_limits(limits(4, LONG, LONG, LONG)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(stalled_body(&node).await);
    }
    assert_problem(&info_until(&node, 503).await, 503, "overloaded");

    // Many more slow clients, and a burst of API requests, all at once.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let addr = node.addr().to_owned();
        flood.spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            let head = format!(
                "POST /v1/networks HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n0123"
            );
            stream.write_all(head.as_bytes()).await.expect("write");
            read_response(&mut stream).await.map(|raw| raw.status)
        });
    }
    for _ in 0..32 {
        let url = format!("{}/v1/info", node.url);
        flood
            .spawn(async move { Some(reqwest::get(url).await.map_or(0, |r| r.status().as_u16())) });
    }

    for path in ["/healthz", "/metrics", "/healthz", "/metrics", "/healthz"] {
        let started = Instant::now();
        let (status, _, _) = get(&node, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            started.elapsed() < PATIENCE,
            "{path} took {:?}",
            started.elapsed()
        );
    }
    let statuses: Vec<Option<u16>> = flood.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == Some(503)),
        "every request over the limit is shed at once: {statuses:?}"
    );
    drop(held);
    node.stop().await;
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_503_timeout() {
    let mut node = TestNode::start_with_limits(limits(8, SHORT, LONG, LONG)).await;
    let started = Instant::now();
    let mut stream = stalled_body(&node).await;
    let raw = read_response(&mut stream)
        .await
        .expect("an answer once the deadline passes");
    raw.assert_problem(503, "timeout");
    assert!(raw.header("retry-after").is_some(), "{raw:?}");
    assert!(started.elapsed() >= SHORT, "not before the deadline");
    // The slot is free again.
    assert_eq!(get(&node, "/v1/info").await.0, 200);
    node.stop().await;
}

#[tokio::test]
async fn a_stalled_header_or_idle_connection_is_closed() {
    let mut node = TestNode::start_with_limits(limits(8, LONG, SHORT, LONG)).await;
    let mut half = TcpStream::connect(node.addr()).await.expect("connect");
    half.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n")
        .await
        .expect("write");
    let mut idle = TcpStream::connect(node.addr()).await.expect("connect");

    assert!(
        closed_by_server(&mut half).await,
        "half a header block held the connection open"
    );
    assert!(
        closed_by_server(&mut idle).await,
        "an idle connection stayed open"
    );
    // A prompt client is served as ever.
    assert_eq!(get(&node, "/v1/info").await.0, 200);
    node.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let mut node = TestNode::start_with_limits(limits(8, LONG, LONG, SHORT)).await;
    let mut stream = stalled_body(&node).await;
    let raw = read_response(&mut stream)
        .await
        .expect("an answer once the body read times out");
    raw.assert_problem(408, "body_timeout");
    assert!(closed_by_server(&mut stream).await, "connection left open");
    node.stop().await;
}

#[tokio::test]
async fn an_aborted_body_is_not_reported_as_too_large() {
    let mut node = TestNode::start(common::Backend::Sqlite).await;
    let mut stream = stalled_body(&node).await;
    // The client gives up on its body but still reads the answer.
    stream.shutdown().await.expect("half-close");
    let raw = read_response(&mut stream).await.expect("an answer");
    raw.assert_problem(400, "bad_request");
    assert!(
        raw.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("incomplete")),
        "{raw:?}"
    );
    assert!(
        !node
            .audit_outcomes()
            .await
            .iter()
            .any(|o| o == "denied:body_too_large"),
        "recorded as body_too_large"
    );
    node.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problem_json() {
    let mut node = TestNode::start(common::Backend::Sqlite).await;
    for path in ["/nope", "/v1", "/v1/networks/a/b/c/d", "/healthz/x"] {
        assert_problem(&get(&node, path).await, 404, "not_found");
    }

    let http = reqwest::Client::new();
    for (method, path, allowed) in [
        (reqwest::Method::DELETE, "/v1/networks", "POST"),
        (reqwest::Method::POST, "/healthz", "GET"),
        (reqwest::Method::GET, "/v1/networks/x/decrypt", "POST"),
        (reqwest::Method::PUT, "/v1/info", "GET"),
    ] {
        let response = http
            .request(method.clone(), format!("{}{path}", node.url))
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Value =
            serde_json::from_slice(&response.bytes().await.expect("body")).unwrap_or(Value::Null);
        let answer = (status, headers, body);
        assert_problem(&answer, 405, "method_not_allowed");
        let allow = answer
            .1
            .get(reqwest::header::ALLOW)
            .and_then(|v| v.to_str().ok());
        assert!(
            allow.is_some_and(|a| a.contains(allowed)),
            "{method} {path}: Allow {allow:?}"
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let mut node = TestNode::start(common::Backend::Sqlite).await;
    let owner = Owner::new();
    let http = reqwest::Client::new();
    for (i, scheme) in ["bearer", "BEARER", "BeArEr", "Bearer"].iter().enumerate() {
        let name = format!("notes-{i}");
        let inv = invoke(
            &owner.signer,
            &owner.did(),
            &node.did,
            "/encryption/network/create",
            args(vec![
                ("name", text(&name)),
                ("alg", text("x25519-aes256gcm/v1")),
            ]),
            &[],
        );
        let response = http
            .post(format!("{}/v1/networks", node.url))
            .header(
                "authorization",
                format!("{scheme} {}", container(&inv, &[])),
            )
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "scheme {scheme:?}: {body}");
    }
    // Another scheme is still no bearer token.
    let (status, body) = {
        let response = http
            .post(format!("{}/v1/networks", node.url))
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .expect("sent");
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    assert!((400..500).contains(&status), "{status} {body}");
    node.stop().await;
}

#[tokio::test]
async fn an_oversized_header_block_is_refused() {
    let mut node = TestNode::start(common::Backend::Sqlite).await;
    let response = reqwest::Client::new()
        .get(format!("{}/v1/info", node.url))
        .header("x-padding", "a".repeat(100 * 1024))
        .send()
        .await;
    // hyper answers 431 and closes, or resets the connection while the
    // client is still sending: either way the request is not served.
    if let Ok(response) = response {
        assert_eq!(response.status().as_u16(), 431);
    }
    assert_eq!(get(&node, "/v1/info").await.0, 200);
    node.stop().await;
}

#[tokio::test]
async fn shutdown_drains_a_request_in_flight() {
    let mut node = TestNode::start_with_limits(limits(1, LONG, LONG, LONG)).await;
    let mut stream = stalled_body(&node).await;
    let addr = node.addr().to_owned();
    // The request holds the one slot: it is in flight.
    assert_problem(&info_until(&node, 503).await, 503, "overloaded");
    let stopping = tokio::spawn(async move {
        node.stop().await;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "stopped with a request in flight");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "still accepting after shutdown began"
    );
    // The rest of the body: the request is answered, then the node stops.
    stream.write_all(&[b'x'; 90]).await.expect("write");
    let raw = read_response(&mut stream).await.expect("answered");
    assert_eq!(raw.status, 400, "{raw:?}"); // `Bearer x` is no container
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("stopped once drained")
        .expect("stop task");
}
