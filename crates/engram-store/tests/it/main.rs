#![expect(clippy::unwrap_used, clippy::panic, reason = "a test fails loudly on the first surprise")]

//! engram-store integration tests, one binary. The conformance suite (`conformance/`) is a set
//! of functions over `&dyn Store`; `backends.rs` runs every one of them on every backend.

mod backends;
mod conformance;
mod cross_backend;
#[cfg(feature = "mysql")]
mod galera;
#[cfg(feature = "mysql")]
mod galera_cluster;
mod hostile_writes;
mod payloads;
mod schema;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server_connections;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server_erasure;
#[cfg(feature = "postgres")]
mod server_hosts;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod servers;
mod sqlite;
mod sqlite_erasure;
mod support;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tenant_sharding;
mod write_speed;
