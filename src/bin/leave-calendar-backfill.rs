//! `leave-calendar-backfill`: gives the DynamoDB booking items written with their JSON alone
//! their fields (see `DynamoStore::backfill_fields`), with the app's settings (`STORE=dynamodb`,
//! `DYNAMODB_TABLE`, the AWS environment). A tool of its own rather than a subcommand of the
//! server, which the image ships: as one, it made the server's binary 0.4 MB larger.

use std::process::ExitCode;

use clap::Parser;
use leave_calendar::config::Settings;
use leave_calendar::{startup, telemetry};

/// Give the DynamoDB booking items written with their JSON alone their fields: a one-off Scan
/// of the table, with credentials allowed dynamodb:Scan and dynamodb:UpdateItem on it.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    settings: Settings,
}

fn main() -> ExitCode {
    let settings = Args::parse().settings;
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
    match runtime.block_on(startup::backfill(&settings)) {
        Ok(done) => {
            tracing::info!(
                updated = done.updated,
                skipped = done.skipped,
                "backfill done: items given their fields, and those that had them or were gone"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
