//! Entry point: read settings, start logging, then serve or answer the health check.

use std::process::ExitCode;

use clap::Parser;
use leave_calendar::config::{Cli, Command};
use leave_calendar::healthcheck;
use leave_calendar::startup::{self, Application, HeldStopSignals};

/// mimalloc rather than the system allocator: glibc's took a quarter of a month page's CPU, and
/// musl's (in the static build of the container image) is slow under threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option: its place in `mi_option_e` (mimalloc 3's `mimalloc.h`), which
/// libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with mimalloc before it goes back to the OS. mimalloc 3 keeps it
/// 1000 ms, so a burst of requests raised the resident size by a second's worth of freed
/// buffers: 33 MiB at the peak of the create benchmark, 25 MiB with 10 ms (mimalloc 2's default),
/// at the same CPU per request. `MIMALLOC_PURGE_DELAY` in the environment still decides when set.
const PURGE_DELAY_MS: std::ffi::c_long = 10;

fn return_freed_memory_sooner() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set stores an integer in mimalloc's option table; it takes no
        // pointers and any value is valid for this option.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
        };
    }
}

fn main() -> ExitCode {
    return_freed_memory_sooner();
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
    // Before anything that takes time: a stop signal sent while the app starts waits for it
    // (see `HeldStopSignals`).
    let held_signals = HeldStopSignals::hold();
    let runtime = match startup::logs_and_runtime(&settings) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let served = runtime.block_on(async {
        let signals = held_signals.listen();
        let app = Application::build(&settings).await?;
        tracing::info!(address = %app.local_addr(), "listening");
        app.run_until_stopped(signals).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: reads an integer from mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
    }

    /// Guards the option's number: after a mimalloc upgrade that renumbers its options this
    /// would set another one.
    #[test]
    fn the_option_set_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        assert_eq!(purge_delay(), 1000, "mimalloc 3's default purge delay");
        return_freed_memory_sooner();
        assert_eq!(purge_delay(), PURGE_DELAY_MS);
    }
}
