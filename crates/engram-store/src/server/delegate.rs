//! `PostgresStore` and `MySqlStore` wrap a [`ServerStore`](super::ServerStore); this forwards
//! the `Store` trait to it, once for both.

/// Implements `Store` for a wrapper whose `inner` field is a `ServerStore`.
macro_rules! delegate_store {
    ($wrapper:ty) => {
        impl $crate::store::Store for $wrapper {
            fn limits(&self) -> &engram_types::Limits {
                self.inner.limits()
            }
            fn append_events(&self, events: Vec<engram_types::EventInput>) -> $crate::Result<Vec<engram_types::Event>> {
                self.inner.append_events(events)
            }
            fn upsert_fact(&self, fact: engram_types::FactInput) -> $crate::Result<engram_types::FactWrite> {
                self.inner.upsert_fact(fact)
            }
            fn fact_history(
                &self,
                scope: &engram_types::Scope,
                fact_key: &str,
            ) -> $crate::Result<Vec<engram_types::Fact>> {
                self.inner.fact_history(scope, fact_key)
            }
            fn append_episode(&self, episode: engram_types::EpisodeInput) -> $crate::Result<engram_types::Episode> {
                self.inner.append_episode(episode)
            }
            fn upsert_procedure(
                &self,
                procedure: engram_types::ProcedureInput,
            ) -> $crate::Result<engram_types::Procedure> {
                self.inner.upsert_procedure(procedure)
            }
            fn append_insight(&self, insight: engram_types::InsightInput) -> $crate::Result<engram_types::Insight> {
                self.inner.append_insight(insight)
            }
            fn update_insight(&self, update: engram_types::InsightUpdate) -> $crate::Result<engram_types::Insight> {
                self.inner.update_insight(update)
            }
            fn get_working_state(&self, scope: &engram_types::Scope) -> $crate::Result<engram_types::WorkingState> {
                self.inner.get_working_state(scope)
            }
            fn patch_working_state(
                &self,
                patch: engram_types::WorkingStatePatch,
            ) -> $crate::Result<engram_types::WorkingState> {
                self.inner.patch_working_state(patch)
            }
            fn get_short_term(&self, scope: &engram_types::Scope) -> $crate::Result<engram_types::ShortTermState> {
                self.inner.get_short_term(scope)
            }
            fn update_short_term(
                &self,
                update: engram_types::ShortTermUpdate,
            ) -> $crate::Result<engram_types::ShortTermState> {
                self.inner.update_short_term(update)
            }
            fn fetch(&self, request: &$crate::FetchRequest) -> $crate::Result<Vec<$crate::Fetched>> {
                self.inner.fetch(request)
            }
            fn fetch_sequences(&self, request: &$crate::FetchRequest) -> $crate::Result<Vec<i64>> {
                self.inner.fetch_sequences(request)
            }
            fn vectors(&self, request: &$crate::VectorRequest) -> $crate::Result<$crate::Vectors> {
                self.inner.vectors(request)
            }
            fn postings(&self, request: &$crate::PostingsRequest) -> $crate::Result<$crate::Postings> {
                self.inner.postings(request)
            }
            fn stats(&self, scope: &engram_types::Scope) -> $crate::Result<$crate::Stats> {
                self.inner.stats(scope)
            }
            fn scan(&self, request: &$crate::maintenance::ScanRequest) -> $crate::Result<Vec<$crate::Fetched>> {
                self.inner.scan(request)
            }
            fn scan_states(
                &self,
                request: &$crate::maintenance::StateScan,
            ) -> $crate::Result<Vec<$crate::maintenance::StoredState>> {
                self.inner.scan_states(request)
            }
            fn delete(&self, request: &$crate::maintenance::DeleteRequest) -> $crate::Result<engram_types::Receipt> {
                self.inner.delete(request)
            }
            fn restore(
                &self,
                records: Vec<$crate::Record>,
                states: Vec<$crate::maintenance::StoredState>,
            ) -> $crate::Result<engram_types::Receipt> {
                self.inner.restore(records, states)
            }
            fn write_items(
                &self,
                items: Vec<$crate::IndexedItem>,
                on_conflict: engram_types::OnConflict,
            ) -> $crate::Result<()> {
                self.inner.write_items(items, on_conflict)
            }
            fn item_postings(&self, request: &$crate::ItemPostingsRequest) -> $crate::Result<$crate::ItemPostings> {
                self.inner.item_postings(request)
            }
            fn refresh_items(
                &self,
                tenant_id: &str,
                expiries: &[(String, String, engram_types::Timestamp)],
            ) -> $crate::Result<()> {
                self.inner.refresh_items(tenant_id, expiries)
            }
            fn scan_items(&self, scan: &$crate::ItemScan) -> $crate::Result<Vec<engram_types::Item>> {
                self.inner.scan_items(scan)
            }
            fn remove_items(
                &self,
                tenant_id: &str,
                keys: &[(String, String)],
            ) -> $crate::Result<engram_types::Receipt> {
                self.inner.remove_items(tenant_id, keys)
            }
            fn remove_expired_items(&self, now: engram_types::Timestamp) -> $crate::Result<engram_types::Receipt> {
                self.inner.remove_expired_items(now)
            }
            fn rewrite_tables(
                &self,
                tables: &std::collections::BTreeSet<String>,
            ) -> $crate::Result<std::collections::BTreeSet<String>> {
                self.inner.rewrite_tables(tables)
            }
        }
    };
}

pub(crate) use delegate_store;
