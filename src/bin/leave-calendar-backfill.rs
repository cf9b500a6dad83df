//! `leave-calendar-backfill`: gives the DynamoDB booking items written with their JSON alone
//! their fields (see `DynamoStore::backfill_fields`), with the app's settings (`STORE=dynamodb`,
//! `DYNAMODB_TABLE`, the AWS environment). A tool of its own rather than a subcommand of the
//! server, which the image ships: as one, it made the server's binary 0.4 MB larger.

use std::process::ExitCode;

use clap::Parser;
use leave_calendar::config::Settings;
use leave_calendar::startup;

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
    let runtime = match startup::logs_and_runtime(&settings) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    match runtime.block_on(startup::backfill(&settings)) {
        Ok(done) => {
            tracing::info!(
                updated = done.updated,
                skipped = done.skipped,
                unreadable = done.unreadable,
                "backfill done: items given their fields, those that had them or were gone, \
                 and those left for their unreadable JSON (named on standard error)"
            );
            if done.unreadable == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
