//! What `PostgresStore` and `MySqlStore` share: a [`Database`] with its limits, the type itself
//! written once ([`server_store!`]).

use super::database::Database;
use super::options::{ServerOptions, Target};
use crate::error::Result;
use crate::sql::Dialect;

/// Connects to the database `dsn` (or `options.database`) names on a `dialect` server.
pub(crate) fn open(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<Database> {
    Database::open(dialect, &Target::parse(dialect, dsn, options)?)
}

/// Drops the database `dsn` (or `options.database`) names, if it exists.
pub(crate) fn drop_database(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<()> {
    super::database::drop_database(dialect, &Target::parse(dialect, dsn, options)?)
}

/// Defines the public store type `$name` on a `$dialect` server, with its docs and those of its
/// `new` (which names the DSN's form).
macro_rules! server_store {
    ($(#[$doc:meta])* $name:ident on $dialect:expr; $(#[$new_doc:meta])*) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            database: $crate::server::Database,
            limits: engram_types::Limits,
        }

        impl $name {
            $(#[$new_doc])*
            pub fn new(dsn: &str) -> $crate::Result<Self> {
                Self::with_options(dsn, $crate::ServerOptions::default())
            }

            pub fn with_options(dsn: &str, options: $crate::ServerOptions) -> $crate::Result<Self> {
                let database = $crate::server::open($dialect, dsn, options)?;
                Ok(Self { database, limits: engram_types::Limits::default() })
            }

            /// Drops the database `dsn` (or `options.database`) names, with everything in it, if it
            /// exists. For tests and teardown; no store may be using it.
            pub fn drop_database(dsn: &str, options: $crate::ServerOptions) -> $crate::Result<()> {
                $crate::server::drop_database($dialect, dsn, options)
            }

            /// The same store enforcing `limits` on writes.
            #[must_use]
            pub fn with_limits(mut self, limits: engram_types::Limits) -> Self {
                self.limits = limits;
                self
            }
        }

        impl $crate::sql::SqlStore for $name {
            type Database = $crate::server::Database;

            fn database(&self) -> &$crate::server::Database {
                &self.database
            }

            fn store_limits(&self) -> &engram_types::Limits {
                &self.limits
            }
        }
    };
}

pub(crate) use server_store;
