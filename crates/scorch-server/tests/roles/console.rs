//! The console's server over real HTTP: the embedded app, its configuration, and the headers
//! that keep it to its own files and the web service.

use base64::Engine as _;
use scorch_server::console::{self, ConsoleUrls};
use scorch_server::serve::HttpLimits;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

async fn start() -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let urls = ConsoleUrls {
        console: base.clone(),
        web_service: "http://127.0.0.1:18081/".into(),
    };
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    tokio::spawn(async move { console::serve(listener, &urls, HttpLimits::default(), shutdown).await });
    (base, stop)
}

#[tokio::test]
async fn serves_the_app_its_configuration_and_a_strict_policy() {
    let (base, stop) = start().await;
    let http = reqwest::Client::new();

    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().unwrap().to_string();
    let html = page.text().await.unwrap();
    assert!(html.contains("/src/app.js"), "{html}");
    // The one inline script, the import map, is allowed by its hash and nothing else inline is.
    let import_map = html
        .split_once("<script type=\"importmap\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .expect("an import map")
        .0;
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(import_map.as_bytes()));
    assert!(
        policy.contains(&format!("script-src 'self' 'sha256-{hash}'")),
        "{policy}"
    );
    assert!(
        policy.contains("connect-src 'self' http://127.0.0.1:18081;"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");

    let config: serde_json::Value = http
        .get(format!("{base}/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["web_service_url"], "http://127.0.0.1:18081/");
    assert_eq!(config["console_url"], base.as_str());

    let module = http
        .get(format!("{base}/vendor/preact.module.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(module.status(), 200);
    assert_eq!(module.headers()["content-type"], "text/javascript; charset=utf-8");
    let etag = module.headers()["etag"].clone();
    let again = http
        .get(format!("{base}/vendor/preact.module.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "revalidated by its hash");

    for missing in ["/nothing.js", "/vendor/fetch.sh", "/vendor/SHA256SUMS", "/README.md"] {
        let answer = http.get(format!("{base}{missing}")).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{missing}");
    }
    stop.cancel();
}
