//! The migrations of every SQL database: one numbered list, each migration a SQL file per
//! database in `migrations/{database}/`, applied at open and recorded in `engram_migrations`.
//! Append only: a released migration never changes.

use crate::error::{Error, Result};

/// (version, name, SQL), in order.
pub(crate) type Migration = (i64, &'static str, &'static str);

/// The migrations of one database's folder (`{number}_{name}.sql` each), embedded in the binary.
macro_rules! migrations {
    ($database:literal) => {
        $crate::sql::migrations!($database:
            1 "0001" "init",
            2 "0002" "lifecycle",
            3 "0003" "items",
            4 "0004" "item_search",
            5 "0005" "vectors",
            6 "0006" "one_active_fact",
            7 "0007" "event_terms",
            8 "0008" "event_line_tokens",
            9 "0009" "fact_supersedes",
            10 "0010" "tenant_keys",
            11 "0011" "postings_page_size"
        )
    };
    ($database:literal: $($version:literal $number:literal $name:literal),*) => {
        &[$((
            $version,
            $name,
            include_str!(concat!("../../migrations/", $database, "/", $number, "_", $name, ".sql")),
        )),*]
    };
}
pub(crate) use migrations;

/// The migrations a database at schema version `latest` lacks; an error when it is newer than
/// this build knows.
pub(crate) fn pending(
    migrations: &'static [Migration],
    latest: i64,
    backend: &'static str,
) -> Result<&'static [Migration]> {
    let known = migrations.last().map_or(0, |(version, _, _)| *version);
    if latest > known {
        return Err(Error::storage(
            backend,
            format!("the database has schema version {latest}, this build knows up to {known}"),
        ));
    }
    Ok(&migrations[migrations.partition_point(|(version, _, _)| *version <= latest)..])
}
