//! Sharding by tenant (README "Sharding by tenant (Citus)"): the schema engram migrates a server
//! database to can be distributed by `tenant_id`, every table co-located with the others. Read
//! from the server's catalog after a store has migrated a fresh database:
//!
//! - every table has a `tenant_id` column, except the reference tables listed below (copied
//!   whole to every node); the tenant is given by the client: never NULL, no default, not an
//!   identity or generated column;
//! - every table has a primary key, and it and every unique index lead with `tenant_id` (a
//!   distributed table's unique keys must hold its distribution column; leading with it also
//!   keeps each tenant's rows together on one server);
//! - a foreign key between tenant tables leads with `tenant_id` on both sides.
//!
//! Identity columns (`seq`, `space_id`) stay: they number a tenant's rows, never place them.
//! The statements engram sends while serving take no advisory lock, neither listen nor notify,
//! and read no sequence by hand: the migration lock at open (`server/migrate.rs`) is the only
//! one. And schema 10, which made the keys so, migrates a populated database in place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use engram_store::{Store, StoreExt};
use engram_types::{FactInput, Limits, Scope};
use serde_json::json;
use sqlx::{AssertSqlSafe, ConnectOptions, Executor};

use crate::servers::{Server, ServerDatabase};
use crate::support::{build, comparable, scope};

/// Tables without a tenant: Citus reference tables.
const REFERENCE_TABLES: &[&str] = &["engram_migrations"];

/// The only source file that may take a server-wide lock: migrations, at open.
const MIGRATION_LOCK_FILE: &str = "server/migrate.rs";

/// One table as the catalog describes it.
#[derive(Debug, Default)]
struct Table {
    tenant: Option<TenantColumn>,
    /// The primary key and the unique indexes and constraints.
    unique_keys: Vec<UniqueKey>,
    foreign_keys: Vec<ForeignKey>,
}

#[derive(Debug)]
struct TenantColumn {
    nullable: bool,
    /// A default, identity or generated value: the database, not the client, would choose it.
    filled_by_database: bool,
}

#[derive(Debug)]
struct UniqueKey {
    name: String,
    primary: bool,
    /// In key order; an expression is `(expression)`.
    columns: Vec<String>,
}

#[derive(Debug)]
struct ForeignKey {
    name: String,
    columns: Vec<String>,
    referenced_table: String,
    referenced_columns: Vec<String>,
}

/// Every rule broken by the tables of `catalog`, each naming its table and key.
fn violations(catalog: &BTreeMap<String, Table>) -> Vec<String> {
    let mut found = Vec::new();
    for reference in REFERENCE_TABLES {
        if !catalog.contains_key(*reference) {
            found.push(format!("{reference}: listed as a reference table, but the schema has no such table"));
        }
    }
    for (name, table) in catalog {
        let reference = REFERENCE_TABLES.contains(&name.as_str());
        match (&table.tenant, reference) {
            (None, false) => {
                found.push(format!("{name}: no tenant_id column (a table of no tenant is a reference table: list it)"))
            }
            (Some(_), true) => found.push(format!("{name}: listed as a reference table, but it has a tenant_id")),
            (Some(tenant), false) => {
                if tenant.nullable {
                    found.push(format!("{name}.tenant_id: may be NULL"));
                }
                if tenant.filled_by_database {
                    found.push(format!(
                        "{name}.tenant_id: has a default, identity or generated value (the client gives the tenant)"
                    ));
                }
            }
            (None, true) => {}
        }
        if !table.unique_keys.iter().any(|key| key.primary) {
            found.push(format!("{name}: no primary key"));
        }
        if reference {
            continue;
        }
        for key in &table.unique_keys {
            if key.columns.first().map(String::as_str) != Some("tenant_id") {
                let kind = if key.primary { "primary key" } else { "unique index" };
                found.push(format!(
                    "{name}: {kind} {} ({}) does not lead with tenant_id",
                    key.name,
                    key.columns.join(", ")
                ));
            }
        }
        for foreign in &table.foreign_keys {
            let to_reference = REFERENCE_TABLES.contains(&foreign.referenced_table.as_str());
            let leads = |columns: &[String]| columns.first().map(String::as_str) == Some("tenant_id");
            let co_located = leads(&foreign.columns) && leads(&foreign.referenced_columns);
            if !(to_reference || co_located) {
                found.push(format!(
                    "{name}: foreign key {} ({}) -> {} ({}) does not lead with tenant_id on both sides",
                    foreign.name,
                    foreign.columns.join(", "),
                    foreign.referenced_table,
                    foreign.referenced_columns.join(", ")
                ));
            }
        }
    }
    found
}

/// The tables of `database` on `server`, from its catalog.
fn catalog(server: Server, database: &str) -> BTreeMap<String, Table> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        match server {
            #[cfg(feature = "postgres")]
            Server::Postgres => postgres_catalog(database).await,
            #[cfg(feature = "mysql")]
            Server::MySql => mysql_catalog(database).await,
        }
    })
}

#[cfg(feature = "postgres")]
async fn postgres_connection(database: &str) -> sqlx::PgConnection {
    sqlx::postgres::PgConnectOptions::from_str(&Server::Postgres.dsn())
        .unwrap()
        .database(database)
        .connect()
        .await
        .unwrap()
}

#[cfg(feature = "postgres")]
async fn postgres_catalog(database: &str) -> BTreeMap<String, Table> {
    let mut connection = postgres_connection(database).await;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for name in names {
        tables.insert(name, Table::default());
    }
    let tenants: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT table_name::text, is_nullable = 'YES',
                column_default IS NOT NULL OR is_identity = 'YES' OR is_generated <> 'NEVER'
         FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'tenant_id'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, nullable, filled_by_database) in tenants {
        tables.entry(table).or_default().tenant = Some(TenantColumn { nullable, filled_by_database });
    }
    // Key columns only (not INCLUDE ones), in order; attnum 0 is an expression.
    let keys: Vec<(String, String, bool, Vec<String>)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, x.indisprimary,
                ARRAY(SELECT COALESCE(a.attname::text, '(expression)')
                      FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                      WHERE k.position <= x.indnkeyatts ORDER BY k.position)
         FROM pg_index x
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND x.indisunique",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, name, primary, columns) in keys {
        tables.entry(table).or_default().unique_keys.push(UniqueKey { name, primary, columns });
    }
    // (table, name, referenced table, columns, referenced columns)
    type ForeignRow = (String, String, String, Vec<String>, Vec<String>);
    let foreign: Vec<ForeignRow> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.conname::text, c.confrelid::regclass::text,
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.position),
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.position)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = current_schema() AND c.contype = 'f'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, name, referenced_table, columns, referenced_columns) in foreign {
        let key = ForeignKey { name, columns, referenced_table, referenced_columns };
        tables.entry(table).or_default().foreign_keys.push(key);
    }
    tables
}

#[cfg(feature = "mysql")]
async fn mysql_connection(database: &str) -> sqlx::MySqlConnection {
    sqlx::mysql::MySqlConnectOptions::from_str(&Server::MySql.dsn())
        .unwrap()
        .database(database)
        .connect()
        .await
        .unwrap()
}

#[cfg(feature = "mysql")]
async fn mysql_catalog(database: &str) -> BTreeMap<String, Table> {
    let split = |columns: String| columns.split(',').map(str::to_string).collect::<Vec<_>>();
    let mut connection = mysql_connection(database).await;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for name in names {
        tables.insert(name, Table::default());
    }
    let tenants: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(IS_NULLABLE = 'YES' AS SIGNED),
                CAST(COLUMN_DEFAULT IS NOT NULL OR EXTRA <> '' AS SIGNED)
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'tenant_id'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, nullable, filled_by_database) in tenants {
        let tenant = TenantColumn { nullable: nullable != 0, filled_by_database: filled_by_database != 0 };
        tables.entry(table).or_default().tenant = Some(tenant);
    }
    let keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR),
                CAST(GROUP_CONCAT(COALESCE(COLUMN_NAME, '(expression)') ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS CHAR)
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0
         GROUP BY TABLE_NAME, INDEX_NAME",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, name, columns) in keys {
        let key = UniqueKey { primary: name == "PRIMARY", name, columns: split(columns) };
        tables.entry(table).or_default().unique_keys.push(key);
    }
    let foreign: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR),
                CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ',') AS CHAR),
                CAST(GROUP_CONCAT(REFERENCED_COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ',') AS CHAR)
         FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
         GROUP BY TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    for (table, name, referenced_table, columns, referenced_columns) in foreign {
        let key = ForeignKey {
            name,
            columns: split(columns),
            referenced_table,
            referenced_columns: split(referenced_columns),
        };
        tables.entry(table).or_default().foreign_keys.push(key);
    }
    tables
}

/// The keys of the schema before version 10: the record tables and `lexical_spaces` keyed by
/// their identity column alone.
fn rewind_to_schema_9(server: Server, database: &str) {
    const KEYED_BY_IDENTITY: [(&str, &str); 6] = [
        ("events", "seq"),
        ("facts", "seq"),
        ("episodes", "seq"),
        ("procedures", "seq"),
        ("insights", "seq"),
        ("lexical_spaces", "space_id"),
    ];
    let mut statements = Vec::new();
    for (table, column) in KEYED_BY_IDENTITY {
        let record_table = column == "seq";
        statements.extend(match server {
            #[cfg(feature = "postgres")]
            Server::Postgres => {
                let mut rewound = vec![format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, ADD CONSTRAINT {table}_pkey PRIMARY KEY ({column})"
                )];
                if record_table {
                    rewound.push(format!("DROP INDEX {table}_seq"));
                }
                rewound
            }
            #[cfg(feature = "mysql")]
            Server::MySql => {
                let index = if record_table { format!("{table}_seq") } else { format!("{table}_{column}") };
                vec![format!("ALTER TABLE {table} DROP PRIMARY KEY, ADD PRIMARY KEY ({column}), DROP INDEX {index}")]
            }
        });
    }
    statements.push("DELETE FROM engram_migrations WHERE version >= 10".to_string());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        match server {
            #[cfg(feature = "postgres")]
            Server::Postgres => {
                let mut connection = postgres_connection(database).await;
                for statement in statements {
                    connection.execute(AssertSqlSafe(statement)).await.unwrap();
                }
            }
            #[cfg(feature = "mysql")]
            Server::MySql => {
                let mut connection = mysql_connection(database).await;
                for statement in statements {
                    connection.execute(AssertSqlSafe(statement)).await.unwrap();
                }
            }
        }
    });
}

#[test]
fn every_key_of_the_migrated_schema_leads_with_tenant_id() {
    for server in Server::ALL {
        let Some(database) = ServerDatabase::create(*server) else { continue };
        let catalog = catalog(*server, &database.name);
        // The catalog read found engram's tables and their keys (a wrong query would pass empty).
        let events = catalog.get("events").unwrap_or_else(|| panic!("{server:?}: no events table in {catalog:?}"));
        assert!(events.unique_keys.iter().any(|key| key.primary), "{server:?}: {events:?}");
        assert!(catalog.len() >= 20, "{server:?}: {} tables: {catalog:?}", catalog.len());
        let broken = violations(&catalog);
        assert!(broken.is_empty(), "{server:?}: the schema cannot be distributed by tenant:\n{}", broken.join("\n"));
    }
}

/// A `.rs` file under `directory`, every one, recursively.
fn sources(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn serving_statements_take_no_server_lock_listen_or_read_a_sequence() {
    // Function names in any case; LISTEN and NOTIFY as SQL writes them (a word like "listen"
    // in prose is not a statement).
    const FUNCTIONS: [&str; 8] =
        ["pg_advisory", "pg_try_advisory", "get_lock(", "pg_notify", "nextval(", "currval(", "setval(", "lastval("];
    const KEYWORDS: [&str; 3] = ["LISTEN ", "NOTIFY ", "UNLISTEN "];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 50, "the crate's sources were not found under {}", root.display());
    let mut found = Vec::new();
    let mut migration_lock_seen = false;
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        if relative == MIGRATION_LOCK_FILE {
            migration_lock_seen = text.contains("pg_advisory_lock") && text.contains("GET_LOCK");
            continue;
        }
        let lower = text.to_lowercase();
        for (number, (line, lower_line)) in text.lines().zip(lower.lines()).enumerate() {
            let functions = FUNCTIONS.iter().filter(|function| lower_line.contains(*function));
            let keywords = KEYWORDS.iter().filter(|keyword| line.contains(*keyword));
            for what in functions.chain(keywords) {
                found.push(format!("src/{relative}:{}: {} in `{}`", number + 1, what.trim(), line.trim()));
            }
        }
    }
    assert!(migration_lock_seen, "src/{MIGRATION_LOCK_FILE} no longer takes the migration lock: update this test");
    assert!(
        found.is_empty(),
        "statements outside the migrations that would not shard by tenant:\n{}",
        found.join("\n")
    );
}

#[test]
fn schema_10_migrates_a_populated_database_in_place() {
    for server in Server::ALL {
        let Some(database) = ServerDatabase::create(*server) else { continue };
        let store = database.store();
        crate::cross_backend::seed(store);
        // Another tenant with the same ids and keys: only (tenant, id) keys hold both.
        let other = scope("t2", "u1", "s2", "r2");
        let mut twin = FactInput::new(other.clone(), "billing.fact_0", json!("the other tenant's"));
        twin.fact_id = Some("u1-fact-0".into());
        store.upsert_fact(twin).unwrap();
        let owner = scope("t1", "u1", "s2", "r2");
        let requests = crate::cross_backend::requests(&owner);
        let packets = |store: &dyn Store| -> Vec<String> {
            requests.iter().map(|request| comparable(&build(store, request.clone()))).collect()
        };
        let history = |store: &dyn Store, scope: &Scope| store.fact_history(scope, "billing.fact_0").unwrap();
        let before = (packets(store), history(store, &owner), history(store, &other));

        rewind_to_schema_9(*server, &database.name);
        let old_keys = violations(&catalog(*server, &database.name));
        assert_eq!(old_keys.len(), 6, "{server:?}: the rewound schema breaks the rules once per table: {old_keys:?}");
        assert!(old_keys.iter().any(|broken| broken.contains("events: primary key")), "{old_keys:?}");

        let reopened = server.open(&database.name, Limits::default()).unwrap();
        let broken = violations(&catalog(*server, &database.name));
        assert!(broken.is_empty(), "{server:?}: after migrating again:\n{}", broken.join("\n"));
        assert_eq!((packets(&*reopened), history(&*reopened, &owner), history(&*reopened, &other)), before);

        // Writes after the migration: a new version supersedes the tenant's active fact only.
        let mut newer = FactInput::new(owner.clone(), "billing.fact_0", json!("after the migration"));
        newer.fact_id = Some("u1-fact-v3-0".into());
        reopened.upsert_fact(newer).unwrap();
        let versions = history(&*reopened, &owner);
        assert_eq!(versions.len(), before.1.len() + 1, "{server:?}: {versions:?}");
        assert_eq!(history(&*reopened, &other), before.2, "{server:?}: the other tenant's fact changed");
    }
}
