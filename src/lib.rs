//! Leave Calendar: a team leave calendar served as HTML pages and as a JSON API.
//!
//! Layout:
//! - [`config`]: settings from the environment and the command line;
//! - [`telemetry`]: logging, readable text locally and JSON lines in a container;
//! - [`domain`]: validated types and booking rules, no I/O;
//! - [`dynamodb`]: a small client for DynamoDB's JSON protocol;
//! - [`store`]: the storage trait with its embedded (redb) and DynamoDB backends;
//! - [`http`]: the router, pages, JSON API, health endpoints and error mapping;
//! - [`startup`]: builds the application and serves it until a shutdown signal;
//! - [`healthcheck`]: the client behind the `healthcheck` subcommand.

pub mod config;
pub mod domain;
pub mod dynamodb;
pub mod healthcheck;
pub mod http;
pub mod startup;
pub mod store;
pub mod telemetry;
