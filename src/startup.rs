//! Builds the application from settings and serves it until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Settings, StoreKind};
use crate::dynamodb;
use crate::http::{self, AppState};
use crate::store::LeaveStore;
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::EmbeddedStore;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    shutdown_timeout: Duration,
}

impl Application {
    /// Opens the store and binds the port. Every error names the setting at fault.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = open_store(settings).await?;
        Self::with_store(settings, store).await
    }

    /// Like [`Application::build`] with a store chosen by the caller (tests).
    pub async fn with_store(
        settings: &Settings,
        store: Arc<dyn LeaveStore>,
    ) -> anyhow::Result<Self> {
        let address = SocketAddr::new(settings.bind_address, settings.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (BIND_ADDRESS, PORT)"))?;
        let router = http::router(AppState::new(store), settings);
        Ok(Self {
            listener,
            router,
            shutdown_timeout: settings.shutdown_timeout(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting, lets in-flight requests finish
    /// for at most the shutdown timeout, and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; then drains as [`Application::run_until_stopped`] does.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            stop.await;
            tracing::info!("shutting down: no new connections, draining in-flight requests");
            let _ = stopping_tx.send(());
        };
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(stop);
        let bound = self.shutdown_timeout;
        let drain_deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(bound).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = server => served.context("server failed")?,
            () = drain_deadline => tracing::warn!(timeout_secs = bound.as_secs(), "in-flight requests did not finish in time; exiting anyway"),
        }
        tracing::info!("stopped");
        Ok(())
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn LeaveStore>> {
    match settings.store {
        StoreKind::Embedded => {
            tracing::info!(data_dir = %settings.data_dir.display(), "using the embedded store");
            Ok(Arc::new(
                EmbeddedStore::open(&settings.data_dir).context("DATA_DIR")?,
            ))
        }
        StoreKind::Dynamodb => {
            let table = settings
                .dynamodb_table
                .clone()
                .filter(|t| !t.trim().is_empty())
                .context("DYNAMODB_TABLE must be set when STORE=dynamodb")?;
            let client = dynamodb::Client::from_env(settings.store_timeout()).await?;
            tracing::info!(%table, "using DynamoDB");
            Ok(Arc::new(DynamoStore::new(client, table)))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
