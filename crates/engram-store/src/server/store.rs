//! `ServerStore`: the `Store` implementation Postgres and MySQL share. `PostgresStore` and
//! `MySqlStore` are this store with their dialect.

use std::collections::BTreeSet;

use engram_types::{
    Episode, EpisodeInput, Event, EventInput, Fact, FactInput, FactWrite, Insight, InsightInput, InsightUpdate, Item,
    Limits, OnConflict, Procedure, ProcedureInput, Receipt, Scope, ShortTermState, ShortTermUpdate, Timestamp,
    WorkingState, WorkingStatePatch,
};

use super::database::Database;
use super::dialect::Dialect;
use super::error::{database_error, lost_race};
use super::options::{ServerOptions, Target};
use super::{compact, events, facts, fetch, items, maintenance, postings, records, state, stats, vectors};
use crate::error::{Error, Result};
use crate::item_search::{ItemPostings, ItemPostingsRequest};
use crate::items::{IndexedItem, ItemScan};
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState};
use crate::prepare;
use crate::record::{FetchRequest, Fetched, Postings, PostingsRequest, Record, Stats, VectorRequest, Vectors};
use crate::sql::NewSpaces;
use crate::store::Store;
use crate::vectors::{claim, event_claims, record_claims};

/// A store on a Postgres or MySQL server.
#[derive(Debug)]
pub(crate) struct ServerStore {
    database: Database,
    limits: Limits,
    /// Writes of this store run one at a time, as on SQLite: the read-check-write of an upsert
    /// (one active fact per key, procedure ownership) then never races within a process, and
    /// index upserts never deadlock one another.
    writer: tokio::sync::Mutex<()>,
}

/// Attempts of a write that reads before it writes, when it keeps losing races to writers in
/// other processes; the last loss is the caller's `Conflict`.
const ATTEMPTS: u32 = 8;

/// Runs `$body` (a future using `$connection`, `$created` and `$dialect`) in one transaction on
/// the store's writer: committed when it returns `Ok`, rolled back otherwise. With `retry`,
/// a transaction that lost a race to another process ([`lost_race`]) runs again from the
/// start, so it reads what the winner committed (`$body` is then made anew each time).
macro_rules! in_transaction {
    ($store:expr, |$connection:ident, $created:ident, $dialect:ident| $body:expr) => {{
        let store: &ServerStore = $store;
        let $dialect = store.database.dialect;
        store.database.run(|pool| async move {
            let _writer = store.writer.lock().await;
            transaction!(pool, |$connection, $created, $dialect| $body)
        })
    }};
    ($store:expr, retry, |$connection:ident, $created:ident, $dialect:ident| $body:expr) => {{
        let store: &ServerStore = $store;
        let $dialect = store.database.dialect;
        store.database.run(|pool| async move {
            let _writer = store.writer.lock().await;
            let mut attempt = 1;
            loop {
                match transaction!(pool, |$connection, $created, $dialect| $body) {
                    Err(error) if attempt < ATTEMPTS && lost_race(&error) => attempt += 1,
                    done => break done,
                }
            }
        })
    }};
}

/// One transaction of [`in_transaction`]: its value.
macro_rules! transaction {
    ($pool:expr, |$connection:ident, $created:ident, $dialect:ident| $body:expr) => {
        async {
            let mut transaction = $pool.begin().await.map_err(|error| database_error($dialect, error))?;
            let mut new_spaces = NewSpaces::default();
            let written = {
                let $connection = &mut *transaction;
                let $created = &mut new_spaces;
                $body.await
            };
            match written {
                Ok(value) => {
                    transaction.commit().await.map_err(|error| database_error($dialect, error))?;
                    Ok(value)
                }
                Err(error) => {
                    // Rolled back now rather than when the connection is next used, so its
                    // locks go before a retry. A failed rollback means a broken connection,
                    // which the pool discards; the write's own error is the one to report.
                    drop(transaction.rollback().await);
                    Err(error)
                }
            }
        }
        .await
    };
}

/// Runs `$body` on a pooled connection, outside any transaction (each read is one statement
/// or a few independent ones).
macro_rules! on_connection {
    ($store:expr, |$connection:ident, $dialect:ident| $body:expr) => {{
        let store: &ServerStore = $store;
        let $dialect = store.database.dialect;
        store.database.run(|pool| async move {
            let mut pooled = pool.acquire().await.map_err(|error| database_error($dialect, error))?;
            let $connection = &mut *pooled;
            $body.await
        })
    }};
}

impl ServerStore {
    pub(crate) fn open(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<Self> {
        let target = Target::parse(dialect, dsn, options)?;
        Ok(Self {
            database: Database::open(dialect, &target)?,
            limits: Limits::default(),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Drops the database `dsn` (or `options.database`) names, if it exists.
    pub(crate) fn drop_database(dialect: Dialect, dsn: &str, options: ServerOptions) -> Result<()> {
        super::database::drop_database(dialect, &Target::parse(dialect, dsn, options)?)
    }

    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Whether the connections to the server are encrypted (Postgres only: `pg_stat_ssl`).
    pub(crate) fn uses_tls(&self) -> Result<bool> {
        on_connection!(self, |connection, dialect| async move {
            let row = super::statement::Statement::new(
                "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            )
            .fetch_optional(connection, dialect)
            .await?;
            Ok(match row {
                Some(row) => super::rows::get::<i32>(&row, dialect, 0)? == 1,
                None => false,
            })
        })
    }
}

impl Store for ServerStore {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn append_events(&self, events: Vec<EventInput>) -> Result<Vec<Event>> {
        let prepared = prepare::events(events, prepare::now(), &self.limits)?;
        let batch = &prepared;
        let written = in_transaction!(self, |connection, created, dialect| async {
            vectors::check_dimensions(connection, dialect, &event_claims(batch)).await?;
            events::insert(connection, dialect, batch, created).await
        });
        match written {
            Ok(()) => Ok(prepared.into_iter().map(|item| item.record).collect()),
            Err(error @ Error::Conflict { .. }) => {
                // A unique key refused an id; name the first offending event as the in-memory
                // store would (the batch was rolled back).
                let named =
                    on_connection!(self, |connection, dialect| events::first_conflict(connection, dialect, batch))?;
                Err(named.unwrap_or(error))
            }
            Err(error) => Err(error),
        }
    }

    fn upsert_fact(&self, fact: FactInput) -> Result<FactWrite> {
        let prepared = prepare::fact(fact, prepare::now(), &self.limits)?;
        let prepared = &prepared;
        // One active fact per key is the database's unique index: a writer in another process
        // that created or superseded the key first makes this run again, and supersede or
        // refresh what it wrote.
        in_transaction!(self, retry, |connection, created, dialect| async {
            let claims = claim(&prepared.record.scope.tenant_id, prepared.record.embedding.as_deref());
            vectors::check_dimensions(connection, dialect, &claims).await?;
            facts::upsert(connection, dialect, prepared.clone(), created).await
        })
    }

    fn fact_history(&self, scope: &Scope, fact_key: &str) -> Result<Vec<Fact>> {
        scope.validate(self.limits.max_id_bytes)?;
        engram_types::check_id("fact_key", fact_key, self.limits.max_id_bytes)?;
        on_connection!(self, |connection, dialect| facts::history(connection, dialect, scope, fact_key))
    }

    fn append_episode(&self, episode: EpisodeInput) -> Result<Episode> {
        let prepared = prepare::episode(episode, &self.limits)?;
        let record = &prepared;
        in_transaction!(self, |connection, created, dialect| async {
            let claims = claim(&record.record.scope.tenant_id, record.record.embedding.as_deref());
            vectors::check_dimensions(connection, dialect, &claims).await?;
            records::append_episode(connection, dialect, record, created).await
        })?;
        Ok(prepared.record)
    }

    fn upsert_procedure(&self, procedure: ProcedureInput) -> Result<Procedure> {
        // Bad input is refused before the lookup by id (Postgres cannot compare an id holding U+0000).
        procedure.validate(&self.limits)?;
        let limits = &self.limits;
        in_transaction!(self, |connection, created, dialect| async {
            let claims = claim(&procedure.scope.tenant_id, procedure.embedding.as_deref());
            vectors::check_dimensions(connection, dialect, &claims).await?;
            records::upsert_procedure(connection, dialect, procedure, limits, created).await
        })
    }

    fn append_insight(&self, insight: InsightInput) -> Result<Insight> {
        let prepared = prepare::insight(insight, prepare::now(), &self.limits)?;
        let record = &prepared;
        in_transaction!(self, |connection, created, dialect| records::append_insight(
            connection, dialect, record, created
        ))?;
        Ok(prepared.record)
    }

    fn update_insight(&self, update: InsightUpdate) -> Result<Insight> {
        update.validate(&self.limits)?;
        let update = &update;
        in_transaction!(self, |connection, _created, dialect| records::update_insight(connection, dialect, update))
    }

    fn get_working_state(&self, scope: &Scope) -> Result<WorkingState> {
        scope.validate(self.limits.max_id_bytes)?;
        on_connection!(self, |connection, dialect| state::working_state(connection, dialect, scope, false))
    }

    fn patch_working_state(&self, patch: WorkingStatePatch) -> Result<WorkingState> {
        patch.validate(&self.limits)?;
        let patch = &patch;
        // A run's first patch from another process makes this one run again, on its version.
        in_transaction!(self, retry, |connection, _created, dialect| state::patch_working_state(
            connection, dialect, patch
        ))
    }

    fn get_short_term(&self, scope: &Scope) -> Result<ShortTermState> {
        scope.validate(self.limits.max_id_bytes)?;
        on_connection!(self, |connection, dialect| state::short_term(connection, dialect, scope, false))
    }

    fn update_short_term(&self, update: ShortTermUpdate) -> Result<ShortTermState> {
        update.validate(&self.limits)?;
        let update = &update;
        // A session's first update from another process makes this one run again, on its state.
        in_transaction!(self, retry, |connection, _created, dialect| state::update_short_term(
            connection, dialect, update
        ))
    }

    fn fetch(&self, request: &FetchRequest) -> Result<Vec<Fetched>> {
        request.scope.validate(self.limits.max_id_bytes)?;
        request.validate()?;
        on_connection!(self, |connection, dialect| fetch::fetch(connection, dialect, request))
    }

    fn fetch_sequences(&self, request: &FetchRequest) -> Result<Vec<i64>> {
        request.scope.validate(self.limits.max_id_bytes)?;
        request.validate()?;
        on_connection!(self, |connection, dialect| fetch::fetch_sequences(connection, dialect, request))
    }

    fn postings(&self, request: &PostingsRequest) -> Result<Postings> {
        on_connection!(self, |connection, dialect| postings::read(connection, dialect, request))
    }

    fn vectors(&self, request: &VectorRequest) -> Result<Vectors> {
        request.validate(&self.limits)?;
        on_connection!(self, |connection, dialect| vectors::read(connection, dialect, request))
    }

    fn stats(&self, scope: &Scope) -> Result<Stats> {
        scope.validate(self.limits.max_id_bytes)?;
        on_connection!(self, |connection, dialect| stats::stats(connection, dialect, scope))
    }

    fn scan(&self, request: &ScanRequest) -> Result<Vec<Fetched>> {
        request.validate()?;
        on_connection!(self, |connection, dialect| fetch::scan(connection, dialect, request))
    }

    fn scan_states(&self, request: &StateScan) -> Result<Vec<StoredState>> {
        request.validate()?;
        on_connection!(self, |connection, dialect| state::scan(connection, dialect, request))
    }

    fn delete(&self, request: &DeleteRequest) -> Result<Receipt> {
        in_transaction!(self, |connection, _created, dialect| maintenance::delete(connection, dialect, request))
    }

    fn restore(&self, records: Vec<Record>, states: Vec<StoredState>) -> Result<Receipt> {
        let prepared =
            records.into_iter().map(|record| prepare::restored(record, &self.limits)).collect::<Result<Vec<_>>>()?;
        let states = &states;
        in_transaction!(self, |connection, created, dialect| async {
            vectors::check_dimensions(connection, dialect, &record_claims(&prepared)).await?;
            maintenance::restore(connection, dialect, prepared, states, created).await
        })
    }

    fn write_items(&self, items: Vec<IndexedItem>, on_conflict: OnConflict) -> Result<()> {
        let (items, now) = (&items, prepare::now());
        in_transaction!(self, |connection, _created, dialect| items::put(connection, dialect, items, on_conflict, now))
    }

    fn item_postings(&self, request: &ItemPostingsRequest) -> Result<ItemPostings> {
        on_connection!(self, |connection, dialect| items::postings(connection, dialect, request))
    }

    fn refresh_items(&self, tenant_id: &str, expiries: &[(String, String, Timestamp)]) -> Result<()> {
        in_transaction!(self, |connection, _created, dialect| items::refresh(connection, dialect, tenant_id, expiries))
    }

    fn scan_items(&self, scan: &ItemScan) -> Result<Vec<Item>> {
        on_connection!(self, |connection, dialect| items::scan(connection, dialect, scan))
    }

    fn remove_items(&self, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
        in_transaction!(self, |connection, _created, dialect| items::remove(connection, dialect, tenant_id, keys))
    }

    fn remove_expired_items(&self, now: Timestamp) -> Result<Receipt> {
        in_transaction!(self, |connection, _created, dialect| items::remove_expired(connection, dialect, now))
    }

    fn rewrite_tables(&self, tables: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let mut rewritten = BTreeSet::new();
        // One call per table: each rewrite gets the whole query timeout.
        for table in crate::tables::known_tables("tables", tables)? {
            on_connection!(self, |connection, dialect| compact::rewrite(connection, dialect, table))?;
            rewritten.insert(table.to_string());
        }
        Ok(rewritten)
    }
}
