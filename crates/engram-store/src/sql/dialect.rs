//! How some SQL is spelled on each database engram speaks. Every statement is written once with
//! `?` placeholders; [`Dialect::sql`] spells it for the database.

use super::select::ColumnClass;

/// A SQL database engram stores into: SQLite through rusqlite, the servers through sqlx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code, reason = "a build without every backend never constructs the others' variants")]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// How an upsert changes a column of the row already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Update {
    /// Takes the new value.
    Replace,
    /// Adds the new value to the stored one, never going below zero.
    AddAtLeastZero,
}

impl Dialect {
    /// The backend's name in errors and logs.
    pub(crate) const fn backend(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    /// `sql` with its `?` placeholders numbered `$1, $2, ...` for Postgres. engram's SQL has no
    /// `?` inside literals, so every `?` is a placeholder.
    pub(crate) fn sql(self, sql: &str) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Sqlite | Self::MySql => std::borrow::Cow::Borrowed(sql),
            Self::Postgres => {
                let mut numbered = String::with_capacity(sql.len() + sql.len() / 8);
                let mut index = 0_usize;
                for character in sql.chars() {
                    if character == '?' {
                        index += 1;
                        numbered.push('$');
                        numbered.push_str(&index.to_string());
                    } else {
                        numbered.push(character);
                    }
                }
                std::borrow::Cow::Owned(numbered)
            }
        }
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    /// The statement that rewrites `table` into new files holding only its live rows (and
    /// rebuilds its indexes): Postgres `VACUUM (FULL)` (an exclusive lock while it runs), MySQL
    /// `ALTER TABLE ... FORCE` (InnoDB's online rebuild, what `OPTIMIZE TABLE` does, with errors
    /// reported as errors rather than as result rows).
    pub(crate) fn rewrite_table(self, table: &str) -> String {
        match self {
            Self::Sqlite => "VACUUM".to_string(),
            Self::Postgres => format!("VACUUM (FULL) {table}"),
            Self::MySql => format!("ALTER TABLE {table} FORCE"),
        }
    }

    /// The clause that turns an `INSERT INTO table ...` into an upsert on the `key` columns.
    pub(crate) fn upsert(self, table: &str, key: &str, updates: &[(&str, Update)]) -> String {
        let assignments: Vec<String> = updates
            .iter()
            .map(|(column, update)| match (self, update) {
                (Self::Sqlite | Self::Postgres, Update::Replace) => format!("{column} = EXCLUDED.{column}"),
                (Self::Sqlite, Update::AddAtLeastZero) => {
                    format!("{column} = MAX({table}.{column} + EXCLUDED.{column}, 0)")
                }
                (Self::Postgres, Update::AddAtLeastZero) => {
                    format!("{column} = GREATEST({table}.{column} + EXCLUDED.{column}, 0)")
                }
                (Self::MySql, Update::Replace) => format!("{column} = VALUES({column})"),
                (Self::MySql, Update::AddAtLeastZero) => format!("{column} = GREATEST({column} + VALUES({column}), 0)"),
            })
            .collect();
        match self {
            Self::Sqlite | Self::Postgres => format!("ON CONFLICT ({key}) DO UPDATE SET {}", assignments.join(", ")),
            Self::MySql => format!("ON DUPLICATE KEY UPDATE {}", assignments.join(", ")),
        }
    }

    /// The clause that makes an insert of an existing key do nothing.
    pub(crate) fn ignore_existing(self, key: &str, any_column: &str) -> String {
        match self {
            Self::Sqlite | Self::Postgres => format!("ON CONFLICT ({key}) DO NOTHING"),
            // A no-op assignment: unlike INSERT IGNORE, other errors still fail the statement.
            Self::MySql => format!("ON DUPLICATE KEY UPDATE {any_column} = {any_column}"),
        }
    }

    /// [`Self::ignore_existing`] for an insert run by `statement::inserted`, which tells
    /// whether it inserted: on MySQL the no-op assignment also sets `LAST_INSERT_ID(1)`.
    pub(crate) fn ignore_existing_reporting(self, key: &str, any_column: &str) -> String {
        match self {
            Self::Sqlite | Self::Postgres => self.ignore_existing(key, any_column),
            Self::MySql => {
                format!("ON DUPLICATE KEY UPDATE {any_column} = IF(LAST_INSERT_ID(1), {any_column}, {any_column})")
            }
        }
    }

    /// How a new row's generated key is read back: Postgres returns it from the insert itself;
    /// SQLite and MySQL report the last one inserted.
    pub(crate) const fn returns_generated_keys(self) -> bool {
        matches!(self, Self::Postgres)
    }

    /// The statement that begins a read-only transaction seeing one snapshot. MySQL's sessions
    /// read committed rows (see `server/database.rs`): its snapshot needs repeatable read for
    /// this transaction.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) const fn begin_snapshot(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN",
            Self::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Self::MySql => {
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
            }
        }
    }

    /// The function that returns the greater of two numbers.
    pub(crate) const fn greatest(self) -> &'static str {
        match self {
            Self::Sqlite => "MAX",
            Self::Postgres | Self::MySql => "GREATEST",
        }
    }

    /// Whether a multi-row insert can return its rows (`RETURNING`): MySQL cannot.
    pub(crate) const fn returns_inserted_rows(self) -> bool {
        !matches!(self, Self::MySql)
    }

    /// The clause that locks the rows a `SELECT` reads until the transaction ends. SQLite has
    /// none: its write transaction holds the whole database.
    pub(crate) const fn update_lock(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres | Self::MySql => " FOR UPDATE",
        }
    }

    /// Whether a read of several index ranges is sent as one `UNION ALL` statement (a round
    /// trip saved on a server) or run range by range from SQLite's statement cache.
    pub(crate) const fn unions_ranges(self) -> bool {
        !matches!(self, Self::Sqlite)
    }

    /// Whether a join may read a subquery per row of the tables before it (`LATERAL`):
    /// Postgres can; MariaDB cannot.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) const fn joins_laterally(self) -> bool {
        matches!(self, Self::Postgres)
    }

    /// A NULL of a column class, as a branch of a batch's `UNION ALL` fills the columns other
    /// branches use. Postgres types a union's columns pair by pair, and an untyped NULL met by
    /// another untyped one becomes text; MySQL types each column from every branch.
    pub(crate) const fn null_of(self, class: ColumnClass) -> &'static str {
        match (self, class) {
            (Self::Postgres, ColumnClass::Integer) => "NULL::bigint",
            (Self::Postgres, ColumnClass::Real) => "NULL::double precision",
            (Self::Postgres, ColumnClass::Text) => "NULL::text",
            (Self::Postgres, ColumnClass::Blob) => "NULL::bytea",
            (Self::Sqlite | Self::MySql, _) => "NULL",
        }
    }

    /// The clause that ends a `SELECT` locking the rows it reads against deletion (not against
    /// other readers) until the transaction ends. MariaDB has no `FOR SHARE`; both servers know
    /// `LOCK IN SHARE MODE`.
    pub(crate) const fn share_lock(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR SHARE",
            Self::MySql => " LOCK IN SHARE MODE",
        }
    }

    /// A record table as a `SELECT` names it that reads rows by the tenant and a list of
    /// sequences, through the primary key. On the servers that key is (tenant_id, seq); on
    /// SQLite it is the rowid, and its planner, given `tenant_id = ?`, would rather walk the
    /// tenant's (tenant_id, id) index and filter it: `NOT INDEXED` leaves it the rowid.
    pub(crate) fn by_primary_key(self, table: &str) -> String {
        match self {
            Self::Sqlite => format!("{table} NOT INDEXED"),
            Self::Postgres | Self::MySql => table.to_string(),
        }
    }

    /// A text column as an `ORDER BY` term sorting by bytes, as Rust sorts `String`s (the
    /// in-memory store's order). MySQL's tables are `utf8mb4_bin` already; a Postgres database
    /// sorts by its locale unless told otherwise.
    pub(crate) fn byte_order(self, column: &str) -> String {
        match self {
            Self::Postgres => format!("{column} COLLATE \"C\""),
            Self::Sqlite | Self::MySql => column.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        assert_eq!(Dialect::Postgres.sql("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        assert_eq!(Dialect::MySql.sql("a = ? AND b IN (?, ?)"), "a = ? AND b IN (?, ?)");
    }

    #[test]
    fn upserts_add_without_going_negative() {
        assert_eq!(
            Dialect::Postgres.upsert("t", "k", &[("df", Update::AddAtLeastZero)]),
            "ON CONFLICT (k) DO UPDATE SET df = GREATEST(t.df + EXCLUDED.df, 0)"
        );
        assert_eq!(
            Dialect::MySql.upsert("t", "k", &[("df", Update::AddAtLeastZero)]),
            "ON DUPLICATE KEY UPDATE df = GREATEST(df + VALUES(df), 0)"
        );
    }
}
