//! `invoke_web_service` through `scorch up` (issue 16): 1,000 instances of a 1-activity runbook
//! that calls a local HTTP server, started through the web service with `wait: true`, 64 in
//! flight; prints the activity runs per second, and how many TCP connections the HTTP server saw
//! for them (the runbook server's HTTP client keeps its connections alive and reuses them).
//!
//!     cargo build --release -p scorch -p scorch-bench
//!     target/release/web-service-bench
//!
//! The HTTP server runs in this process, on its own thread, and answers a small JSON body.

mod fleet;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use fleet::TOKEN;

const RUNS: usize = 1000;
const WARM_UP: usize = 200;
const IN_FLIGHT: usize = 64;

fn runbook(url: &str) -> String {
    format!(
        "format: 1
runbook: Bench Web Call
concurrency: 1000
activities:
  - id: call
    type: invoke_web_service
    properties: {{ url: '{url}', headers: {{ Accept: application/json }} }}
"
    )
}

const START: &str = r#"{"runbook_path":"Bench Web Call","wait":true}"#;

/// Counts what the HTTP server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    connections: AtomicUsize,
}

/// The HTTP server on a loopback port of its own runtime (two threads: it must not be what
/// limits the rate); its URL.
fn serve(seen: Arc<Seen>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let counted = seen.clone();
            let app = Router::new().route(
                "/status",
                get(move || {
                    counted.requests.fetch_add(1, Ordering::Relaxed);
                    async {
                        (
                            [("content-type", "application/json")],
                            r#"{"status":"ok","items":[1,2,3]}"#,
                        )
                    }
                }),
            );
            let make = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let counting = CountConnections { seen, inner: make };
            axum::serve(listener, counting).await.unwrap();
        });
    });
    url
}

/// Counts each accepted connection, then hands it to axum's service maker.
#[derive(Clone)]
struct CountConnections<M> {
    seen: Arc<Seen>,
    inner: M,
}

impl<'a, M> tower_service::Service<axum::serve::IncomingStream<'a, tokio::net::TcpListener>> for CountConnections<M>
where
    M: tower_service::Service<axum::serve::IncomingStream<'a, tokio::net::TcpListener>>,
{
    type Response = M::Response;
    type Error = M::Error;
    type Future = M::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, stream: axum::serve::IncomingStream<'a, tokio::net::TcpListener>) -> Self::Future {
        self.seen.connections.fetch_add(1, Ordering::Relaxed);
        self.inner.call(stream)
    }
}

async fn run_job(client: &reqwest::Client, web: &str) {
    let answer: serde_json::Value = client
        .post(format!("{web}/api/v1/jobs"))
        .bearer_auth(TOKEN)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(START)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("an answer");
    assert_eq!(answer["result"]["status"], "success", "{answer}");
}

async fn run_concurrently(client: &reqwest::Client, web: &str, jobs: usize) {
    let (client, web) = (client.clone(), web.to_string());
    fleet::concurrently(jobs, IN_FLIGHT, move || {
        let (client, web) = (client.clone(), web.clone());
        async move { run_job(&client, &web).await }
    })
    .await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seen = Arc::new(Seen::default());
    let url = serve(seen.clone());
    let fleet = fleet::start("sqlite");
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().unwrap();
    fleet.wait_up(&client).await;
    fleet.push(&client, &runbook(&url), "").await;
    run_concurrently(&client, &fleet.web, WARM_UP).await;
    let (requests, connections) = (
        seen.requests.load(Ordering::Relaxed),
        seen.connections.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    run_concurrently(&client, &fleet.web, RUNS).await;
    let took = started.elapsed().as_secs_f64();
    let requests = seen.requests.load(Ordering::Relaxed) - requests;
    let connections = seen.connections.load(Ordering::Relaxed) - connections;
    assert_eq!(requests, RUNS, "one request a run");
    println!(
        "invoke_web_service through scorch up: {RUNS} instances ({IN_FLIGHT} in flight, each awaited) in {took:.2} s: {:.0} activity runs/s",
        RUNS as f64 / took
    );
    println!(
        "connections: {connections} new TCP connections for {requests} requests ({} during the {WARM_UP}-run warm-up)",
        seen.connections.load(Ordering::Relaxed) - connections
    );
}
