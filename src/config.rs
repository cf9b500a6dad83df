//! Settings, read from environment variables (or the equivalent command-line flags).
//!
//! Every setting is documented in the README's configuration table; `--help` prints them too.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "leave-calendar",
    version,
    about = "Team leave calendar: pages and JSON API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the calendar (the default).
    Serve,
    /// Exit 0 when the local server answers GET /health with 200, non-zero otherwise.
    Healthcheck,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on; the container sets 0.0.0.0.
    #[arg(long, env = "BIND_ADDRESS", default_value = "127.0.0.1")]
    pub bind_address: IpAddr,

    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Storage backend.
    #[arg(long, env = "STORE", value_enum, default_value_t = StoreKind::Embedded)]
    pub store: StoreKind,

    /// Directory of the embedded database (STORE=embedded).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// DynamoDB table name (required when STORE=dynamodb). Region and credentials come from
    /// the standard AWS chain (AWS_REGION, task role); AWS_ENDPOINT_URL_DYNAMODB overrides the endpoint.
    #[arg(long, env = "DYNAMODB_TABLE")]
    pub dynamodb_table: Option<String>,

    /// Total time for one DynamoDB call, retries included, before the request answers 503 (STORE=dynamodb).
    #[arg(long, env = "STORE_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub store_timeout_ms: u64,

    /// Time one HTTP request may take before it answers 503; its body must arrive within as long (else 408).
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub request_timeout_secs: u64,

    /// After SIGTERM or Ctrl-C, how long in-flight requests and closing the store may take before the process exits.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub shutdown_timeout_secs: u64,

    /// Requests handled at once; beyond it requests are refused at once with 503 instead of queueing.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_concurrent_requests: u64,

    /// Log format: `text` for people, `json` (one object per line) for log pipelines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, in tracing's `RUST_LOG` syntax.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Settings with every default, as a local run gets them; for tests and embedding.
    pub fn defaults() -> Self {
        Cli::parse_from(["leave-calendar"]).settings
    }

    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}
