//! The process's logging: one `tracing` subscriber writing to stderr as text or JSON lines, its
//! filter from `RUST_LOG` (or `SCORCH_LOG`), and, with the `otlp` feature and an endpoint, the
//! job spans exported to an OpenTelemetry collector.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event, its spans' fields before the message.
    #[default]
    Text,
    /// One JSON object per line (with `spans` and `span`), for log shippers.
    Json,
}

/// What is logged when neither `RUST_LOG` nor `SCORCH_LOG` says: problems only.
const DEFAULT_FILTER: &str = "warn";

/// The filter's directives: `SCORCH_LOG` (the older name, kept working) wins over `RUST_LOG`.
#[allow(clippy::disallowed_methods, reason = "the binary reads the environment: RUST_LOG")]
fn directives() -> Option<(&'static str, String)> {
    ["SCORCH_LOG", "RUST_LOG"].into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    })
}

/// The filter in effect; a malformed one is reported and replaced by the default rather than
/// silencing every log line.
fn filter() -> EnvFilter {
    match directives() {
        None => EnvFilter::new(DEFAULT_FILTER),
        Some((name, text)) => EnvFilter::try_new(&text).unwrap_or_else(|e| {
            eprintln!("scorch: {name}='{text}' is not a log filter ({e}); logging '{DEFAULT_FILTER}' instead");
            EnvFilter::new(DEFAULT_FILTER)
        }),
    }
}

/// Keeps the trace exporter alive; dropping it flushes the spans not yet sent.
pub struct Guard {
    #[cfg(feature = "otlp")]
    traces: Option<crate::otlp::Traces>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(traces) = self.traces.take() {
            traces.shutdown();
        }
    }
}

/// Installs the process's subscriber. `otlp_endpoint` exports spans (the `otlp` feature's);
/// without the feature an endpoint is an error, so it is never silently ignored. Call within the
/// async runtime (the exporter sends from it).
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Guard, String> {
    let lines = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let registry = tracing_subscriber::registry().with(lines.with_filter(filter()));
    #[cfg(feature = "otlp")]
    {
        let traces = otlp_endpoint.map(crate::otlp::Traces::start).transpose()?;
        let layer = traces.as_ref().map(crate::otlp::Traces::layer);
        registry.with(layer).init();
        Ok(Guard { traces })
    }
    #[cfg(not(feature = "otlp"))]
    match otlp_endpoint {
        Some(_) => Err("--otlp-endpoint: this scorch was built without trace export (cargo feature `otlp`)".into()),
        None => {
            registry.init();
            Ok(Guard {})
        }
    }
}
