//! A real headless Chromium driven over WebDriver (fantoccini, plain HTTP to a `chromedriver`
//! this process starts on a free loopback port), for the console's end-to-end tests
//! (`crates/scorch/tests/console.rs`) and its benchmark (`bench/src/console_bench.rs`, which
//! includes this file with `#[path]`). Self-contained: it needs fantoccini, hyper-util,
//! reqwest, serde_json, tempfile and tokio, nothing of scorch's.
//!
//! `chromedriver` runs in a process group of its own, with Chromium under it; the group is
//! killed (SIGKILL) when the [`Browser`] is dropped, pass or panic. Every wait polls with a
//! deadline and, when it passes, panics with what the page shows and a screenshot.
//!
//! `SCORCH_CHROMEDRIVER` and `SCORCH_CHROMIUM` override where the two programs are found.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a wait waits unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str = "install Debian's chromium and chromium-driver packages \
     (`apt-get install -y chromium chromium-driver`; .ci/run installs them)";

/// Run in every document before its own scripts: keeps the page's uncaught errors, rejected
/// promises nobody handled and `console.error` calls in `window.__e2eErrors`.
const ERROR_COLLECTOR: &str = r#"
(() => {
  const errors = (window.__e2eErrors = []);
  const keep = (text) => { if (errors.length < 50) errors.push(String(text).slice(0, 500)); };
  addEventListener('error', (e) => keep('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e)), true);
  addEventListener('unhandledrejection', (e) => keep('unhandled rejection: ' + (e.reason && (e.reason.stack || e.reason.message) || e.reason)));
  const original = console.error;
  console.error = function (...args) { keep('console.error: ' + args.map(String).join(' ')); return original.apply(this, args); };
})();
"#;

/// `[data-testid="ID"]`.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Chromium, if it is installed.
fn chromium() -> Option<PathBuf> {
    find_program(
        "SCORCH_CHROMIUM",
        &["/usr/bin/chromium", "chromium", "chromium-browser"],
    )
}

/// ChromeDriver, if it is installed.
fn chromedriver() -> Option<PathBuf> {
    find_program(
        "SCORCH_CHROMEDRIVER",
        &["chromedriver", "/usr/lib/chromium/chromedriver"],
    )
}

/// Whether Chromium and ChromeDriver are both here; if not, what to install.
pub fn installed() -> Result<(), &'static str> {
    if chromium().is_some() && chromedriver().is_some() {
        Ok(())
    } else {
        Err(INSTALL_HINT)
    }
}

/// The first of `candidates` that is an executable file: a path as is, a bare name on `PATH`.
#[allow(
    clippy::disallowed_methods,
    reason = "tests find their browser through the environment"
)]
fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for candidate in candidates {
        if candidate.contains('/') {
            if Path::new(candidate).is_file() {
                return Some(PathBuf::from(candidate));
            }
            continue;
        }
        for dir in std::env::split_paths(&path) {
            let full = dir.join(candidate);
            if full.is_file() {
                return Some(full);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// `chromedriver --port=N` in its own process group; the group (Chromium included) is killed
/// when this is dropped.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
    /// The temporary directory everything of this browser's lives in: its path is on the
    /// command line of each of its processes, which is how [`Drop`] finds the crash handlers
    /// that leave the process group.
    dir: PathBuf,
}

impl Driver {
    async fn start(dir: &Path) -> Driver {
        let program = chromedriver().unwrap_or_else(|| panic!("chromedriver not found on PATH: {INSTALL_HINT}"));
        let log = dir.join("chromedriver.log");
        let out = std::fs::File::create(&log).expect("create the chromedriver log");
        let err = out.try_clone().expect("clone the log handle");
        let port = free_port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            // Chromium's crash database and caches go to the temporary directory, not ~/.config.
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", program.display()));
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            dir: dir.to_path_buf(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
                && let Ok(status) = r.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return driver;
            }
            if let Ok(Some(code)) = driver.child.try_wait() {
                panic!("chromedriver exited while starting ({code}):\n{}", driver.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {} in {WAIT:?}:\n{}",
                driver.url,
                driver.log_text()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver, Chromium and its helpers.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's crash handlers start sessions of their own: find them by our directory.
        let marker = self.dir.display().to_string();
        for pid in processes_mentioning(&marker) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The processes whose command line contains `text`.
fn processes_mentioning(text: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(text))
                .unwrap_or(false)
        })
        .collect()
}

/// A headless Chromium on a fresh profile, looking at the console at `base`.
pub struct Browser {
    pub client: Client,
    /// The console's URL, without a trailing slash.
    pub base: String,
    /// Where [`Browser::screenshot`] writes its PNGs.
    pub shots: PathBuf,
    /// chromedriver's endpoint for Chrome DevTools Protocol commands in this session.
    cdp: String,
    // Dropped after the client: the driver (killed), then the profile directory.
    driver: Driver,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session (1280x800) on a fresh profile, with its
    /// back/forward cache off: a test or benchmark loads pages afresh dozens of times a minute,
    /// and each page that cache keeps holds its connections (the console's event stream among
    /// them). [`Browser::start_as_shipped`] keeps it on.
    pub async fn start(base: &str, shots: &Path) -> Browser {
        Browser::launch(base, shots, &["--disable-features=BackForwardCache"]).await
    }

    /// As [`Browser::start`], with Chromium's back/forward cache on, as people have it.
    pub async fn start_as_shipped(base: &str, shots: &Path) -> Browser {
        Browser::launch(base, shots, &[]).await
    }

    async fn launch(base: &str, shots: &Path, extra_args: &[&str]) -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let chromium = chromium().unwrap_or_else(|| panic!("chromium not found: {INSTALL_HINT}"));
        let driver = Driver::start(profile.path()).await;
        let data_dir = profile.path().join("chromium");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
        ]
        .iter()
        .chain(extra_args)
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", data_dir.display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": args },
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}\n{}", driver.log_text()));
        // Every page records its uncaught errors and console errors, for failure messages.
        let session = client.session_id().await.ok().flatten().unwrap_or_default();
        let collector = json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": { "source": ERROR_COLLECTOR },
        });
        let cdp = format!("{}/session/{session}/goog/cdp/execute", driver.url);
        let _ = reqwest::Client::new().post(&cdp).json(&collector).send().await;
        std::fs::create_dir_all(shots).expect("create the screenshot directory");
        Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            shots: shots.to_path_buf(),
            cdp,
            driver,
            profile,
        }
    }

    /// Ends the session (Chromium quits), then the driver goes.
    pub async fn close(self) {
        let Browser { client, driver, .. } = self;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        drop(driver);
    }

    /// The URL of a console route: `route` is what follows `#`, e.g. `/runbooks`.
    pub fn url(&self, route: &str) -> String {
        format!("{}/#{}", self.base, route.trim_start_matches('#'))
    }

    /// Goes to `route` in the page already loaded (a hash change: no reload), forgetting which
    /// page said it was ready so that [`Browser::ready`] waits for the new one.
    pub async fn go(&self, route: &str) {
        self.forget_ready().await;
        let url = self.url(route);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// Loads `route` as a fresh page (through `about:blank`, so the document is new).
    pub async fn load(&self, route: &str) {
        self.client.goto("about:blank").await.expect("navigate to about:blank");
        let url = self.url(route);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// Clears `document.body.dataset.ready`, before an action that leads to another page.
    pub async fn forget_ready(&self) {
        let _ = self
            .client
            .execute("if (document.body) delete document.body.dataset.ready;", vec![])
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` until it returns something other than null, undefined or false, and
    /// returns that; panics after `timeout` naming `what`, with the page's state.
    pub async fn wait_js(&self, what: &str, timeout: Duration, script: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            // A script may fail while the page is replaced; that is one more look, not an error.
            if let Ok(value) = self.client.execute(script, args.clone()).await
                && !matches!(value, Value::Null | Value::Bool(false))
            {
                return value;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page says it rendered `route` (`document.body.dataset.ready`).
    pub async fn ready(&self, route: &str) {
        self.wait_js(
            &format!("the {route} page to be ready (document.body.dataset.ready == '{route}')"),
            WAIT,
            "return !!document.body && document.body.dataset.ready === arguments[0];",
            vec![json!(route)],
        )
        .await;
    }

    /// Waits until an element matches `css` (and is in the page), and returns it.
    /// Waits until the element at `css` shows some text (an error message, say).
    pub async fn wait_text(&self, css: &str) {
        self.wait_js(
            &format!("text in {css}"),
            WAIT,
            "const e = document.querySelector(arguments[0]); return !!e && e.textContent.trim().length > 0;",
            vec![Value::from(css)],
        )
        .await;
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {WAIT:?} waiting for `{css}`"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        self.wait_js(
            &format!("`{css}` to go"),
            WAIT,
            "return document.querySelector(arguments[0]) === null;",
            vec![json!(css)],
        )
        .await;
    }

    /// Waits until at least `n` elements match `css`; returns how many do.
    pub async fn wait_count(&self, css: &str, n: usize) -> usize {
        let found = self
            .wait_js(
                &format!("at least {n} of `{css}`"),
                WAIT,
                "const n = document.querySelectorAll(arguments[0]).length; return n >= arguments[1] ? n : null;",
                vec![json!(css), json!(n)],
            )
            .await;
        found.as_u64().unwrap_or_default() as usize
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        let n = self
            .js(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![json!(css)],
            )
            .await;
        n.as_u64().unwrap_or_default() as usize
    }

    /// Whether something matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// The text (`textContent`, whitespace collapsed) of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let value = self
            .js(
                "return Array.from(document.querySelectorAll(arguments[0]), \
                 e => (e.textContent || '').replace(/\\s+/g, ' ').trim());",
                vec![json!(css)],
            )
            .await;
        strings(&value)
    }

    /// The text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await;
        self.texts(css).await.into_iter().next().unwrap_or_default()
    }

    /// Attribute `name` of every element matching `css` (empty text when absent).
    pub async fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        let value = self
            .js(
                "return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]) || '');",
                vec![json!(css), json!(name)],
            )
            .await;
        strings(&value)
    }

    /// Clicks the first element matching `css` (waiting for it; a re-render between finding
    /// and clicking is retried).
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let element = self.wait_for(css).await;
            match element.click().await {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    self.fail(&format!("cannot click `{css}`: {e}")).await;
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Replaces the value of the input matching `css` by typing `text` (real key events), or
    /// sets a checkbox or chooses an option of a select, whichever `css` is.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        let kind = self
            .js(
                "const e = document.querySelector(arguments[0]); \
                 return e ? (e.tagName.toLowerCase() + ':' + (e.type || '')) : '';",
                vec![json!(css)],
            )
            .await;
        let kind = kind.as_str().unwrap_or_default().to_string();
        let result = if kind == "input:checkbox" {
            let want = matches!(text, "true" | "on" | "yes" | "1");
            let checked = element.is_selected().await.unwrap_or(false);
            if checked != want { element.click().await } else { Ok(()) }
        } else if kind.starts_with("select") {
            element.select_by_value(text).await
        } else {
            let cleared = element.clear().await;
            // `clear` may leave a controlled input's state behind: select all and type over it.
            match cleared {
                Ok(()) => element.send_keys(&format!("\u{e009}a\u{e000}\u{e017}{text}")).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            self.fail(&format!("cannot fill `{css}` ({kind}) with {text:?}: {e}"))
                .await;
        }
    }

    /// Types `keys` with the keyboard into whatever has the focus (WebDriver key actions: a
    /// key down and up per character, so `Key::Tab` moves the focus and `Key::Enter` submits),
    /// as a person would, without choosing an element first.
    pub async fn press_keys(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".to_string());
        for key in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        if let Err(e) = self.client.perform_actions(actions).await {
            self.fail(&format!("cannot press the keys {keys:?}: {e}")).await;
        }
        let _ = self.client.release_actions().await;
    }

    /// The `data-testid` of the element that has the focus (empty text when it has none).
    pub async fn focused(&self) -> String {
        let value = self
            .js(
                "const e = document.activeElement; return (e && e.getAttribute('data-testid')) || '';",
                vec![],
            )
            .await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG of the viewport as `<shots>/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("take a screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Sends a Chrome DevTools Protocol command to the page (through chromedriver).
    pub async fn devtools(&self, cmd: &str, params: Value) -> Value {
        let answer = reqwest::Client::new()
            .post(&self.cdp)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or_default();
        assert!(status.is_success(), "{cmd}: HTTP {status}: {body}");
        body["value"].clone()
    }

    /// Emulates a phone's screen: a `width` x `height` CSS-pixel viewport, mobile.
    pub async fn emulate_phone(&self, width: u32, height: u32) {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true });
        self.devtools("Emulation.setDeviceMetricsOverride", metrics).await;
    }

    /// Back to the window's own screen.
    pub async fn stop_emulating(&self) {
        self.devtools("Emulation.clearDeviceMetricsOverride", json!({})).await;
    }

    /// The token the console keeps (`localStorage['scorch.token']`), if any.
    pub async fn stored_token(&self) -> Option<String> {
        let value = self
            .js("return window.localStorage.getItem('scorch.token');", vec![])
            .await;
        value.as_str().map(str::to_string)
    }

    /// Sets the console's token in local storage (the page must be on the console's origin).
    pub async fn store_token(&self, token: &str) {
        self.js(
            "window.localStorage.setItem('scorch.token', arguments[0]);",
            vec![json!(token)],
        )
        .await;
    }

    /// What the page shows now, for failure messages: its URL, readiness, text and API calls.
    pub async fn describe(&self) -> String {
        let state = self
            .client
            .execute(
                "return { url: location.href, ready: document.body ? (document.body.dataset.ready || null) : null, \
                 text: document.body ? document.body.innerText.slice(0, 1500) : '', \
                 timings: (window.scorchTimings || []).slice(-15), errors: window.__e2eErrors || [] };",
                vec![],
            )
            .await
            .unwrap_or_else(|e| json!({ "error": e.to_string() }));
        serde_json::to_string_pretty(&state).unwrap_or_default()
    }

    /// Panics with `why`, what the page shows, and a screenshot of it.
    pub async fn fail(&self, why: &str) -> ! {
        let state = self.describe().await;
        let shot = match self.client.screenshot().await {
            Ok(png) => {
                let path = self.shots.join("FAILED.png");
                let _ = std::fs::write(&path, png);
                format!("screenshot: {}", path.display())
            }
            Err(e) => format!("no screenshot: {e}"),
        };
        panic!("{why}\npage: {state}\n{shot}");
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Where screenshots go: `console-screenshots/` in the target directory (`CARGO_TARGET_DIR`, or
/// `<workspace>/target`), given the workspace's root.
#[allow(clippy::disallowed_methods, reason = "screenshots go where cargo builds")]
pub fn screenshot_dir(workspace: &Path) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { workspace.join(dir) }
        }
        None => workspace.join("target"),
    };
    target.join("console-screenshots")
}
