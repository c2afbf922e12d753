//! Slow, idle and flooding clients: request heads and bodies that do not arrive in time, and
//! idle connections, are closed; a role holds a bounded number of connections and makes room
//! for new ones; what is in flight (an event stream, a start that waits) is never cut.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::{Answer, Roles, exchange, parse, request};
use scorch_engine::RegistryCatalog;
use scorch_server::serve::HttpLimits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const HALF_A_HEAD: &[u8] = b"GET /health HTTP/1.1\r\nHost: scorch\r\n";
const KEEP_ALIVE_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: scorch\r\n\r\n";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A new connection that has sent `bytes`.
async fn sent(address: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(bytes).await.expect("send");
    stream
}

/// Whether the server closes `stream` within `within` (whatever it sends before is read).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// One answer on a connection kept open: its head, then `Content-Length` bytes of body.
async fn answer_on(stream: &mut TcpStream) -> Answer {
    let read = async {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(
                n > 0,
                "the connection closed before its answer: {}",
                String::from_utf8_lossy(&bytes)
            );
            bytes.extend_from_slice(&buffer[..n]);
            let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let answer = parse(&bytes);
            let length = answer.header("content-length").map_or(0, |l| l.parse().unwrap());
            if bytes.len() >= end + 4 + length {
                return answer;
            }
        }
    };
    tokio::time::timeout(secs(10), read)
        .await
        .expect("an answer within 10 s")
}

/// The event stream, its answer's head read.
async fn event_stream(roles: &Roles) -> TcpStream {
    let mut stream = sent(roles.web, &request("GET", "/api/v1/events", Some(&roles.admin), None)).await;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(secs(10), stream.read(&mut byte))
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(n, 1, "the event stream closed: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_does_not_arrive_in_time_is_closed() {
    let roles = Roles::start(HttpLimits {
        header_read_timeout: secs(1),
        ..HttpLimits::default()
    })
    .await;
    for role in roles.both() {
        let mut half = sent(role, HALF_A_HEAD).await;
        let mut silent = sent(role, b"").await;
        assert!(closed_within(&mut half, secs(10)).await, "half a head is closed");
        assert!(
            closed_within(&mut silent, secs(10)).await,
            "a connection that sends nothing is closed"
        );
        assert_eq!(exchange(role, &request("GET", "/health", None, None)).await.status, 200);
    }
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_closed() {
    let roles = Roles::start(HttpLimits {
        body_read_timeout: secs(1),
        ..HttpLimits::default()
    })
    .await;
    let part_of_a_body = b"POST /api/v1/session HTTP/1.1\r\nHost: scorch\r\nContent-Type: application/json\r\n\
                           Content-Length: 100\r\n\r\n{\"user\": ";
    let whole = json!({ "user": "nobody", "password": "guess" });
    for role in roles.both() {
        let mut slow = sent(role, part_of_a_body).await;
        assert!(
            closed_within(&mut slow, secs(10)).await,
            "a body that stops coming is closed"
        );
        let answer = exchange(role, &request("POST", "/api/v1/session", None, Some(&whole))).await;
        assert_eq!(answer.code(), "unauthenticated", "a body sent whole is read: {answer}");
    }
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_and_its_next_head_is_timed_from_its_first_byte() {
    let roles = Roles::start(HttpLimits {
        header_read_timeout: secs(1),
        idle_timeout: secs(5),
        ..HttpLimits::default()
    })
    .await;
    for role in roles.both() {
        let mut stream = sent(role, KEEP_ALIVE_HEALTH).await;
        assert_eq!(answer_on(&mut stream).await.status, 200);
        // Idle past the head's timeout, within the idle one: the connection still serves.
        tokio::time::sleep(secs(2)).await;
        stream.write_all(KEEP_ALIVE_HEALTH).await.unwrap();
        assert_eq!(answer_on(&mut stream).await.status, 200);
        assert!(
            closed_within(&mut stream, secs(15)).await,
            "an idle connection is closed"
        );
    }
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_in_flight_is_not_cut_by_the_timeouts() {
    let roles = Roles::start(HttpLimits {
        header_read_timeout: secs(1),
        body_read_timeout: secs(1),
        idle_timeout: secs(1),
        ..HttpLimits::default()
    })
    .await;
    let yaml = "format: 1\nrunbook: Waited\nactivities:\n  - { id: start, type: initialize_data }\n";
    let registry = scorch_activities::standard();
    let plan = scorch_model::compile(&scorch_model::load(yaml).unwrap(), &RegistryCatalog(&registry)).unwrap();
    let (id, _) = roles.store.save_plan(&plan, yaml, "author").await.unwrap();

    let mut events = event_stream(&roles).await;
    // No runbook server runs the job: the start waits its whole 3 s, then answers 202.
    let start = json!({ "runbook_id": id, "wait": true, "timeout_ms": 3000 });
    let answer = exchange(
        roles.web,
        &request("POST", "/api/v1/jobs", Some(&roles.admin), Some(&start)),
    )
    .await;
    assert_eq!(answer.status, 202, "{answer}");
    assert!(
        !closed_within(&mut events, secs(1)).await,
        "the event stream is still open"
    );
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_bound_the_connection_waiting_longest_for_its_client_makes_room() {
    let roles = Roles::start(HttpLimits {
        max_connections: 4,
        ..HttpLimits::default()
    })
    .await;
    let mut streams = vec![event_stream(&roles).await, event_stream(&roles).await];
    let mut older = sent(roles.web, HALF_A_HEAD).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newer = sent(roles.web, HALF_A_HEAD).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let health = exchange(roles.web, &request("GET", "/health", None, None)).await;
    assert_eq!(health.json()["status"], "ok", "a fifth connection is served: {health}");
    assert!(
        closed_within(&mut older, secs(5)).await,
        "the longest waiting made room"
    );
    assert!(!closed_within(&mut newer, Duration::from_millis(300)).await, "only it");

    // Every place taken by a request in flight: a new connection waits for one to end.
    streams.push(event_stream(&roles).await);
    streams.push(event_stream(&roles).await);
    assert!(
        closed_within(&mut newer, secs(5)).await,
        "the other half head made room too"
    );
    let mut waiting = sent(roles.web, &request("GET", "/health", None, None)).await;
    assert!(
        !closed_within(&mut waiting, secs(1)).await,
        "event streams in flight are not closed to make room"
    );
    drop(streams.pop());
    let mut answer = Vec::new();
    tokio::time::timeout(secs(10), waiting.read_to_end(&mut answer))
        .await
        .expect("served once a place is free")
        .unwrap();
    assert_eq!(parse(&answer).status, 200);
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_does_not_hold_up_a_shutdown() {
    let roles = Roles::start(HttpLimits {
        header_read_timeout: secs(600),
        ..HttpLimits::default()
    })
    .await;
    let _web = sent(roles.web, HALF_A_HEAD).await;
    let _management = sent(roles.management, HALF_A_HEAD).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    roles.stop().await;
}

/// How many of `streams` the server has not closed.
fn still_open(streams: &[std::net::TcpStream]) -> usize {
    let mut byte = [0u8; 1];
    streams
        .iter()
        .filter(|stream| {
            let mut stream: &std::net::TcpStream = stream;
            stream.set_nonblocking(true).unwrap();
            matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count()
}

/// The acceptance test of the connection bound: a flood of half-sent heads, as many as this
/// process can hold (it holds both ends of each, so at most 20,000 less the role's bound), leaves
/// `/health` answering and the role holding no more connections than its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_sent_heads_leaves_health_answering() {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let bound = HttpLimits::default().max_connections;
    let size = usize::try_from(files)
        .unwrap_or(usize::MAX)
        .saturating_sub(bound + 512)
        .min(20_000);
    let roles = Roles::start(HttpLimits::default()).await;
    let web = roles.web;
    let flood = tokio::task::spawn_blocking(move || {
        let mut held = Vec::with_capacity(size);
        while held.len() < size {
            // When this outruns the server's accepting, the kernel drops the connection request
            // and would retry it only after a second: ask again sooner.
            let mut stream = match std::net::TcpStream::connect_timeout(&web, Duration::from_millis(100)) {
                Ok(stream) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => return Err((held.len(), e)),
            };
            // The server may already have closed it to make room.
            let _ = stream.write_all(HALF_A_HEAD);
            held.push(stream);
        }
        Ok(held)
    });
    let held = flood.await.unwrap().unwrap_or_else(|(n, e)| {
        panic!("the server kept every connection: this process ran out of files after {n} of {size}: {e}")
    });

    let health = tokio::time::timeout(secs(5), exchange(web, &request("GET", "/health", None, None)))
        .await
        .expect("GET /health answers within 5 s while the flood is held");
    assert_eq!(health.status, 200, "{health}");
    let deadline = Instant::now() + secs(10);
    while still_open(&held) > bound {
        assert!(Instant::now() < deadline, "{} of {size} still open", still_open(&held));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    roles.stop().await;
}
