//! Trace export (cargo feature `otlp`): the spans of jobs, instances and activity runs, sent in
//! batches to an OpenTelemetry collector over OTLP/HTTP (protobuf), from the SDK's own thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The exporter, kept for the process's life.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Starts exporting to `endpoint` (the collector's full traces URL).
    pub fn start(endpoint: &str) -> Result<Self, String> {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!(
                "--otlp-endpoint '{endpoint}': give the collector's OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces"
            ));
        }
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_headers(Default::default())
            .build()
            .map_err(|e| format!("--otlp-endpoint '{endpoint}': {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("scorch").build())
            .build();
        Ok(Self { provider })
    }

    /// The layer turning scorch's spans (at info, whatever the log filter) into exported spans.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("scorch"))
            .with_filter(Targets::new().with_target("scorch", Level::INFO))
    }

    /// Sends what is still queued, then stops.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("scorch: exporting the last traces failed: {e}");
        }
    }
}
