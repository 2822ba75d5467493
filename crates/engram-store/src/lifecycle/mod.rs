//! The memory lifecycle — forgetting, expiry and retention, consolidation, insight promotion,
//! export and import — written once over the [`Store`] primitives, so every backend behaves
//! the same. Each operation pages through bounded scans and writes in bounded transactions.

mod consolidate;
mod expiry;
mod extract;
mod forget;
mod insights;
mod session_events;
mod summarize;
mod transfer;

use std::path::Path;

use engram_types::{
    ConsolidateRequest, Consolidation, Event, ExtractRequest, ExtractedFact, Extraction, ForgetRequest, PromoteInsight,
    Promoted, Receipt, RunEnd, Scope, Summary, SweepRequest, Timestamp,
};

pub use summarize::summarize;

use crate::StoreExt;
use crate::error::Result;
use crate::store::Store;

/// Rows read per scan page and records deleted per transaction.
pub(crate) const PAGE: u32 = 1000;

/// Walks a scan page by page, oldest sequence first, moving its cursor past each page.
fn each_page(
    store: &dyn Store,
    scan: &mut crate::maintenance::ScanRequest,
    mut visit: impl FnMut(Vec<crate::record::Fetched>) -> Result<()>,
) -> Result<()> {
    loop {
        let page = store.scan(scan)?;
        let Some(last) = page.last() else { return Ok(()) };
        scan.after_sequence = last.sequence;
        let full = page.len() >= scan.limit as usize;
        visit(page)?;
        if !full {
            return Ok(());
        }
    }
}

/// A summarizer turns the events of one consolidation (oldest first) into a [`Summary`].
pub type Summarizer<'a> = &'a (dyn Fn(&[Event]) -> Result<Summary> + Sync);

/// An extractor reads a session's new message events (oldest first) and returns the facts
/// they state.
pub type Extractor<'a> = &'a (dyn Fn(&[Event]) -> Result<Vec<ExtractedFact>> + Sync);

/// Lifecycle operations, for every store.
pub trait Lifecycle: Store {
    /// Deletes one event of the scope's user and agent (any session), with its postings.
    /// `NotFound` when the tenant has no such event of that user and agent.
    fn delete_event(&self, scope: &Scope, event_id: &str) -> Result<Receipt> {
        forget::delete_event(self.as_store(), scope, event_id)
    }

    /// Deletes every version of a fact key the scope's user and agent wrote (history too).
    fn delete_fact(&self, scope: &Scope, fact_key: &str) -> Result<Receipt> {
        forget::delete_fact(self.as_store(), scope, fact_key)
    }

    /// Deletes the scope's user and agent's records matching every filter of the request.
    fn forget(&self, request: &ForgetRequest) -> Result<Receipt> {
        forget::forget(self.as_store(), request)
    }

    /// Deletes everything of a user in a tenant: records of every kind, agent and session,
    /// working and short-term states, postings and the user's lexical spaces.
    fn purge_user(&self, tenant_id: &str, user_id: &str) -> Result<Receipt> {
        forget::purge_user(self.as_store(), tenant_id, user_id)
    }

    /// Makes a deletion's receipt physical where the backend needs a second step: the tables
    /// it counts rows of are rewritten ([`Store::rewrite_tables`]) and named in `erased`. On
    /// Postgres and MySQL a deleted row's bytes otherwise stay in the table files until the
    /// server reuses the space; SQLite erased them already, in memory there are none.
    fn compact(&self, receipt: Receipt) -> Result<Receipt> {
        forget::compact(self.as_store(), receipt)
    }

    /// Deletes expired records of every tenant, ended runs' working states, and old events
    /// under the retention policy (each bound at least 1: a 0 is `InvalidInput`).
    fn sweep_expired(&self, request: &SweepRequest) -> Result<Receipt> {
        expiry::sweep(self.as_store(), request)
    }

    /// Promotes a run's insight to a fact or a procedure, keeping links both ways.
    fn promote_insight(&self, request: &PromoteInsight) -> Result<Promoted> {
        insights::promote(self.as_store(), request)
    }

    /// Ends a run: its unpromoted insights expire at `now`, its working state is marked ended
    /// (readable until swept, no longer in packets).
    fn end_run(&self, scope: &Scope, now: Option<Timestamp>) -> Result<RunEnd> {
        insights::end_run(self.as_store(), scope, now)
    }

    /// Turns the session's events beyond the conversation window into an episode. Without a
    /// summarizer the extractive [`summarize`] is used.
    fn consolidate_session(
        &self,
        request: &ConsolidateRequest,
        summarizer: Option<Summarizer<'_>>,
    ) -> Result<Consolidation> {
        consolidate::consolidate(self.as_store(), request, summarizer)
    }

    /// Sends the session's message events not sent yet (oldest first, `max_events` at most) to
    /// the extractor and writes the facts it returns as upserts sourced from those events. Bad
    /// output (too many facts, an invalid one) is `InvalidInput` naming `extractor` and writes
    /// nothing; the events are then sent again on the next call. Two calls at once may send
    /// the same events twice: an upsert of the same value only refreshes the fact.
    fn extract_facts(&self, request: &ExtractRequest, extractor: Extractor<'_>) -> Result<Extraction> {
        extract::extract(self.as_store(), request, extractor)
    }

    /// Writes every record and state of the scope's user and agent to `path` as JSONL.
    /// The receipt counts the rows written per table.
    fn export_scope(&self, scope: &Scope, path: &Path) -> Result<Receipt> {
        transfer::export(self.as_store(), scope, path)
    }

    /// Restores an export. Every line is checked before anything is written: as the write that
    /// made it was (this store's limits, unknown keys refused), and owned by the header's
    /// tenant, user and agent; a bad line is `InvalidInput` naming it (`line 3.tags`). Ids must
    /// be new in their tenant (`Conflict` otherwise; nothing of the failing batch is written).
    fn import_scope(&self, path: &Path) -> Result<Receipt> {
        transfer::import(self.as_store(), path)
    }

    #[doc(hidden)]
    fn as_store(&self) -> &dyn Store;
}

impl<T: Store + Sized> Lifecycle for T {
    fn as_store(&self) -> &dyn Store {
        self
    }
}

impl Lifecycle for dyn Store + '_ {
    fn as_store(&self) -> &dyn Store {
        self
    }
}
