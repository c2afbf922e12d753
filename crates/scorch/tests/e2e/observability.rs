//! Logs, metrics and traces of the real binary: a job under `scorch up` with debug logging in
//! JSON, its counters scraped from `/metrics`, no secret in what it logged; a runbook server's
//! own metrics port and the settings it refuses; (feature `otlp`) its spans at a collector.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Fleet, Proc, eventually, free_port, run_scorch};

/// A runbook whose job handles a secret variable and a password parameter.
const SECRETIVE: &str = "format: 1
runbook: Secretive
activities:
  - id: init
    type: initialize_data
    properties:
      parameters:
        - { name: Password, type: string }
  - id: use
    name: Use them
    type: run_program
    properties: { program: echo, arguments: [\"{{ var.ApiKey }}\", \"{{ init.Password }}\"] }
links:
  - { from: init, to: use }
";

const API_KEY: &str = "var-secret-4f1d9c2b7e";
const PASSWORD: &str = "param-secret-8a3e6d0c5b";

/// `GET url/metrics` with `token`: the status and the text.
async fn scrape(fleet: &Fleet, url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = fleet.http.get(format!("{url}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("scrape /metrics");
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("the body"))
}

/// The value of the sample `series` (name and labels, exactly as exposed), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_counters_and_logs_name_it_and_never_its_secrets() {
    let mut fleet = Fleet::sqlite();
    fleet.env = vec![
        ("SCORCH_LOG".into(), "debug".into()),
        ("SCORCH_LOG_FORMAT".into(), "json".into()),
    ];
    fleet.start_up("up").await;
    fleet.push("secretive.runbook.yaml", SECRETIVE, "ops").await;
    fleet
        .scorch(&["var", "set", "ApiKey", API_KEY, "--encrypted"])
        .await
        .ok();
    let param = format!("Password={PASSWORD}");
    fleet
        .scorch(&["job", "start", "ops/Secretive", "--param", &param, "--wait"])
        .await
        .ok();
    let job = fleet.all_jobs("").await.remove(0);
    let job_id = job["id"].as_str().expect("a job id").to_string();

    for url in [fleet.web.clone(), fleet.management.clone()] {
        let (status, _) = scrape(&fleet, &url, None).await;
        assert_eq!(status, 401, "{url}/metrics without a token");
        let (status, _) = scrape(&fleet, &url, Some("sct_not_a_token")).await;
        assert_eq!(status, 401, "{url}/metrics with an unknown token");
        let (status, text) = scrape(&fleet, &url, Some(&fleet.admin)).await;
        assert_eq!(status, 200, "{text}");
        let expected = [
            ("scorch_jobs{status=\"completed\"}", 1.0),
            ("scorch_jobs{status=\"pending\"}", 0.0),
            ("scorch_job_queue_oldest_age_seconds", 0.0),
            ("scorch_jobs_ended_total{status=\"completed\"}", 1.0),
            (
                "scorch_activity_runs_total{activity_type=\"run_program\",outcome=\"success\"}",
                1.0,
            ),
            (
                "scorch_activity_runs_total{activity_type=\"initialize_data\",outcome=\"success\"}",
                1.0,
            ),
            (
                "scorch_activity_runs_total{activity_type=\"run_program\",outcome=\"failed\"}",
                0.0,
            ),
            (
                "scorch_activity_run_duration_seconds_count{activity_type=\"run_program\"}",
                1.0,
            ),
        ];
        for (series, value) in expected {
            assert_eq!(sample(&text, series), Some(value), "{series} at {url}:\n{text}");
        }
        for series in [
            "scorch_job_claim_duration_seconds_count",
            "scorch_journal_write_duration_seconds_count",
        ] {
            assert!(sample(&text, series).is_some_and(|n| n >= 1.0), "{series}:\n{text}");
        }
        let capacity = text
            .lines()
            .find(|l| l.starts_with("scorch_runbook_server_max_instances{server="));
        assert!(
            capacity.is_some_and(|l| l.ends_with(" 50")),
            "its runbook server:\n{text}"
        );
        assert!(text.ends_with("# EOF\n"), "a complete exposition:\n{text}");
    }

    fleet.proc("up").sigterm();
    fleet.proc("up").wait_exit(Duration::from_secs(30)).await;
    let log = std::fs::read_to_string(fleet.path("up.log")).expect("the log");
    for secret in [API_KEY, PASSWORD, fleet.admin.as_str()] {
        assert!(!log.contains(secret), "'{secret}' was logged:\n{log}");
    }
    // A line logged within the activity names its run and, through its spans, its job.
    let named = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| {
            let spans = line["spans"].as_array().cloned().unwrap_or_default();
            let job = spans
                .iter()
                .any(|s| s["name"] == "job" && s["job_id"] == job_id.as_str());
            job && line["span"]["activity_type"] == "run_program"
        });
    let named = named.unwrap_or_else(|| panic!("no JSON line inside the activity names job {job_id}:\n{log}"));
    assert_eq!(named["span"]["activity_id"], "use", "{named}");
    assert_eq!(named["span"]["activity_name"], "Use them", "{named}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_servers_metrics_port_needs_its_token() {
    let fleet = Fleet::sqlite();
    let data = fleet.path("data").display().to_string();
    let base = ["runbook-server", "--name", "rb1", "--data-dir", data.as_str()];
    // Refused before anything runs: no token, a short one, or metrics turned off.
    let port = free_port().to_string();
    for (extra, says) in [
        (vec!["--metrics-port", &port], "needs a token"),
        (vec!["--metrics-port", &port, "--metrics-token", "short"], "too short"),
        (
            vec![
                "--metrics-port",
                &port,
                "--metrics-token",
                "0123456789abcdef",
                "--no-metrics",
            ],
            "metrics are off",
        ),
    ] {
        let refused = run_scorch(fleet.dir.path(), &[&base[..], &extra].concat()).await;
        assert_eq!(refused.code, Some(1), "{extra:?}: {}", refused.stderr);
        assert!(refused.stderr.contains(says), "{extra:?}: {}", refused.stderr);
    }

    let token = "metrics-token-3c9e1a7f";
    let port = free_port();
    let args: Vec<String> = [&base[..], &["--max-instances", "3", "--bind", "127.0.0.1"]]
        .concat()
        .into_iter()
        .map(String::from)
        .chain(["--metrics-port".into(), port.to_string()])
        .collect();
    let _server = Proc::spawn_with(
        "rb1",
        fleet.dir.path(),
        &args,
        &[("SCORCH_METRICS_TOKEN".into(), token.into())],
    );
    let url = format!("http://127.0.0.1:{port}");
    let text = eventually("the metrics port", Duration::from_secs(30), || async {
        let answer = fleet
            .http
            .get(format!("{url}/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        let ok = answer.status() == 200;
        ok.then_some(answer.text().await.ok()?)
    })
    .await;
    for series in [
        "scorch_runbook_server_max_instances{server=\"rb1\"}",
        "scorch_runbook_server_running_instances{server=\"rb1\"}",
        "scorch_activity_runs_total{activity_type=\"run_program\",outcome=\"success\"}",
    ] {
        assert!(sample(&text, series).is_some(), "{series}:\n{text}");
    }
    assert_eq!(
        sample(&text, "scorch_runbook_server_max_instances{server=\"rb1\"}"),
        Some(3.0)
    );
    assert_eq!(scrape(&fleet, &url, None).await.0, 401);
    assert_eq!(scrape(&fleet, &url, Some("metrics-token-wrong-one")).await.0, 401);
    let other = fleet
        .http
        .get(format!("{url}/api/v1/jobs"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404, "the port serves /metrics only");
}

/// A collector stand-in on a loopback port: answers every OTLP/HTTP request with 200 and keeps
/// the bodies.
#[cfg(feature = "otlp")]
async fn collector() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                // Requests one after another on the connection, each with a Content-Length.
                loop {
                    let mut length = None;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse::<usize>().ok();
                        }
                    }
                    let mut body = vec![0; length.unwrap_or(0).min(16 << 20)];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    kept.lock().unwrap().push(body);
                    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                    if stream.get_mut().write_all(ok.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, bodies)
}

#[cfg(feature = "otlp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_spans_reach_the_otlp_collector() {
    let (endpoint, bodies) = collector().await;
    let mut fleet = Fleet::sqlite();
    // The SDK's batch delay, short so the test need not wait its default 5 s.
    fleet.env = vec![
        ("SCORCH_OTLP_ENDPOINT".into(), endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
    ];
    fleet.start_up("up").await;
    fleet.push("secretive.runbook.yaml", SECRETIVE, "ops").await;
    fleet.scorch(&["var", "set", "ApiKey", API_KEY]).await.ok();
    let param = format!("Password={PASSWORD}");
    fleet
        .scorch(&["job", "start", "ops/Secretive", "--param", &param, "--wait"])
        .await
        .ok();
    let job_id = fleet.all_jobs("").await.remove(0)["id"].as_str().unwrap().to_string();
    let has = |body: &[u8], text: &str| body.windows(text.len()).any(|w| w == text.as_bytes());
    // Protobuf keeps strings as they are: the job's span, named `job` with its id, and the run's.
    let spans = eventually("the job's spans at the collector", Duration::from_secs(30), || {
        let bodies = bodies.lock().unwrap().concat();
        let found = has(&bodies, &job_id) && has(&bodies, "activity_type") && has(&bodies, "run_program");
        std::future::ready(found.then_some(bodies))
    })
    .await;
    for span in ["job", "instance", "activity"] {
        assert!(has(&spans, span), "no span named {span}");
    }
    assert!(!has(&spans, PASSWORD), "a parameter was exported");
}
