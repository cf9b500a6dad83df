//! Entry point: read settings, start logging, then serve or answer the health check.

use std::process::ExitCode;

use clap::Parser;
use leave_calendar::config::{Cli, Command};
use leave_calendar::startup::Application;
use leave_calendar::{healthcheck, telemetry};

/// mimalloc rather than the system allocator: glibc's took a quarter of a month page's CPU, and
/// musl's (in the static build of the container image) is slow under threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = cli.settings;
    if let Some(Command::Healthcheck) = cli.command {
        return match healthcheck::check(settings.bind_address, settings.port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("unhealthy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = telemetry::init(settings.log_format, &settings.log_level) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async {
        let app = Application::build(&settings).await?;
        tracing::info!(address = %app.local_addr(), "listening");
        app.run_until_stopped().await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "fatal");
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
