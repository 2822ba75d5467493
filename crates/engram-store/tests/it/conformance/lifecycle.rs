//! The memory lifecycle on every backend: forgetting, purging, expiry and retention, insight
//! promotion, the end of a run, consolidation, export and import, stats and policy warnings.

use std::sync::atomic::{AtomicU64, Ordering};

use engram_store::{
    FetchRequest, Fetched, Lifecycle, Postings, PostingsRequest, RecordKind, ScanRequest, StateScan, Stats, Store,
    StoreExt, build_memory_packet,
};
use engram_types::{
    BuildRequest, CompressionLevel, ConsolidateRequest, EpisodeInput, EventInput, FactInput, ForgetRequest,
    InsightInput, ListQuery, OmissionReason, ProcedureInput, PromoteInsight, Promotion, Purpose, Receipt,
    RetentionPolicy, Scope, ShortTermUpdate, SweepRequest, ValidationState, WorkingStatePatch,
};
use serde_json::json;

use crate::support::{base_time, build, comparable, default_scope, message, minutes, scope};

fn responder(scope: &Scope, query: &str) -> BuildRequest {
    BuildRequest::new(scope.clone(), Purpose::Responder).with_now(base_time() + minutes(24 * 60)).with_query(query)
}

/// A user's memory of every kind: events in two sessions, a fact with a superseded version,
/// an episode, a procedure, an insight, working and short-term state.
pub fn seed_user(store: &dyn Store, user: &str) -> Scope {
    let own = scope("t1", user, "s1", "r1");
    let later = scope("t1", user, "s2", "r2");
    let mut events = Vec::new();
    for index in 0..6 {
        let text = format!("{user} talks about the garden shed roof repair, step {index}");
        events.push(message(&own, &format!("{user}-e{index}"), index, "user", &text));
    }
    events.push(message(&later, &format!("{user}-e9"), 60, "assistant", "the shed roof needs cedar shingles"));
    store.append_events(events).unwrap();
    let mut fact = FactInput::new(own.clone(), "shed.material", json!("pine"));
    fact.recorded_at = Some(base_time());
    store.upsert_fact(fact).unwrap();
    let mut fact = FactInput::new(own.clone(), "shed.material", json!("cedar"));
    fact.recorded_at = Some(base_time() + minutes(5));
    store.upsert_fact(fact).unwrap();
    store
        .append_episode(EpisodeInput {
            scope: own.clone(),
            episode_id: Some(format!("{user}-ep")),
            start_ts: base_time(),
            end_ts: base_time() + minutes(10),
            summary: "Planned the shed roof repair".into(),
            highlights: vec!["cedar shingles chosen".into()],
            tags: vec!["garden".into()],
            entities: vec![],
            sources: vec![format!("{user}-e0")],
            compression_level: CompressionLevel::Raw,
            importance: Some(0.7),
            scope_level: engram_types::ScopeLevel::User,
            expires_at: None,
            embedding: None,
        })
        .unwrap();
    store
        .upsert_procedure(ProcedureInput {
            scope: own.clone(),
            procedure_id: Some(format!("{user}-proc")),
            task_type: "roof_repair".into(),
            title: "Replace shed shingles".into(),
            steps: vec!["remove old shingles".into(), "nail cedar shingles".into()],
            content: None,
            priority: None,
            applicability: None,
            tags: vec![],
            entities: vec![],
            scope_level: engram_types::ScopeLevel::User,
            updated_at: Some(base_time()),
            expires_at: None,
            embedding: None,
        })
        .unwrap();
    let mut insight = own_insight(&own, "cedar lasts longer on the shed roof");
    insight.insight_id = Some(format!("{user}-ins"));
    insight.created_at = Some(base_time());
    store.append_insight(insight).unwrap();
    let mut patch = WorkingStatePatch::new(own.clone());
    patch.goal = Some("repair the shed roof".into());
    patch.updated_at = Some(base_time());
    store.patch_working_state(patch).unwrap();
    let mut update = ShortTermUpdate::new(own.clone());
    update.rolling_summary = Some("shed talk".into());
    update.updated_at = Some(base_time());
    store.update_short_term(update).unwrap();
    own
}

fn own_insight(scope: &Scope, text: &str) -> InsightInput {
    let mut insight = crate::conformance::records::insight("", text, ValidationState::Unvalidated);
    insight.scope = scope.clone();
    insight.insight_id = None;
    insight.confidence = None;
    insight
}

fn user_records(store: &dyn Store, user: &str) -> usize {
    RecordKind::ALL
        .into_iter()
        .map(|kind| {
            let mut scan = ScanRequest::new(kind, 1000);
            scan.tenant_id = Some("t1".into());
            scan.user_id = Some(user.into());
            store.scan(&scan).unwrap().len()
        })
        .sum()
}

fn user_postings(store: &dyn Store, scope: &Scope) -> u64 {
    RecordKind::ALL
        .into_iter()
        .map(|kind| {
            let postings = store
                .postings(&PostingsRequest {
                    kind,
                    tenant_id: scope.tenant_id.clone(),
                    spaces: vec![
                        engram_store::record::space_key(scope, engram_types::ScopeLevel::User),
                        engram_store::record::run_space_key(scope),
                    ],
                    terms: vec!["shed".into(), "roof".into()],
                    per_term: 100,
                })
                .unwrap();
            postings.document_count + postings.terms.values().map(|term| term.document_frequency).sum::<u64>()
        })
        .sum()
}

/// After purge_user no read returns anything of the user (records, states, postings), the
/// receipt counts what went, and the other user's packet is byte-identical.
pub fn purge_user_leaves_nothing_of_the_user(store: &dyn Store) {
    let first = seed_user(store, "u1");
    let second = seed_user(store, "u2");
    let before = build(store, responder(&second, "shed roof cedar"));
    assert!(user_records(store, "u1") >= 12 && user_postings(store, &first) > 0);

    let receipt = store.purge_user("t1", "u1").unwrap();
    assert_eq!(receipt.count("events"), 7);
    assert_eq!(receipt.count("facts"), 2, "both versions: {receipt:?}");
    assert_eq!(receipt.count("episodes"), 1);
    assert_eq!(receipt.count("procedures"), 1);
    assert_eq!(receipt.count("insights"), 1);
    assert_eq!(receipt.count("working_states"), 1);
    assert_eq!(receipt.count("short_terms"), 1);
    assert!(receipt.count("event_postings") >= 7 && receipt.count("lexical_terms") > 0, "{receipt:?}");
    assert!(receipt.count("lexical_spaces") >= 4, "the user's spaces go too: {receipt:?}");

    assert_eq!(user_records(store, "u1"), 0);
    assert_eq!(user_postings(store, &first), 0);
    let states = store
        .scan_states(&StateScan {
            tenant_id: Some("t1".into()),
            user_id: Some("u1".into()),
            limit: 100,
            ..StateScan::default()
        })
        .unwrap();
    assert!(states.is_empty());
    assert_eq!(store.get_working_state(&first).unwrap().version, 0);
    assert!(store.fact_history(&first, "shed.material").unwrap().is_empty());
    let packet = build(store, responder(&first, "shed roof cedar"));
    assert!(packet.explain.selected.is_empty(), "{:?}", packet.explain.selected);
    assert_eq!(comparable(&before), comparable(&build(store, responder(&second, "shed roof cedar"))));
    // Nothing left to purge, and purging again is harmless.
    assert_eq!(store.purge_user("t1", "u1").unwrap().total(), 0);
    assert!(store.purge_user("t1", "").unwrap_err().to_string().contains("user_id"));
}

/// Compacting a purge's receipt keeps its counts and rewrites at most the tables it counts
/// (none where deletion already erased, or nothing is on disk); the other user reads and
/// writes as before. A receipt naming a table engram does not have is refused on every store.
pub fn compacting_a_purge_keeps_every_other_user(store: &dyn Store) {
    seed_user(store, "u1");
    let second = seed_user(store, "u2");
    let before = build(store, responder(&second, "shed roof cedar"));
    let receipt = store.purge_user("t1", "u1").unwrap();

    let compacted = store.compact(receipt.clone()).unwrap();
    assert_eq!(compacted.rows, receipt.rows);
    let rewritten: Vec<&String> = compacted.erased.difference(&receipt.erased).collect();
    assert!(rewritten.iter().all(|table| receipt.count(table) > 0), "only touched tables: {compacted:?}");
    assert_eq!(comparable(&before), comparable(&build(store, responder(&second, "shed roof cedar"))));
    store.append_event(message(&second, "u2-after", 90, "user", "the cedar shingles arrived")).unwrap();
    let packet = build(store, responder(&second, "cedar shingles arrived"));
    assert!(packet.explain.selected.iter().any(|selected| selected.id == "u2-after"), "{:?}", packet.explain.selected);

    assert_eq!(store.compact(Receipt::default()).unwrap(), Receipt::default(), "nothing deleted, nothing to do");
    let mut hostile = Receipt::default();
    hostile.add("events; DROP TABLE facts", 1);
    let error = store.compact(hostile).unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::InvalidInput, "{error}");
    assert!(error.to_string().contains("receipt.rows"), "{error}");
    assert_eq!(user_records(store, "u2"), 13);
}

/// A store engram wrote, purged and compacted is sound by the database's own checks (SQLite's
/// integrity_check and FTS5's per postings index; the servers and memory report nothing here).
pub fn integrity_check_finds_a_written_store_sound(store: &dyn Store) {
    seed_user(store, "u1");
    seed_user(store, "u2");
    let receipt = store.purge_user("t1", "u1").unwrap();
    store.compact(receipt).unwrap();
    assert_eq!(store.check_integrity().unwrap(), Vec::<String>::new());
}

/// Export, purge, import: the same packet, byte for byte. Importing again is a conflict that
/// writes nothing.
pub fn export_import_round_trip_gives_identical_packets(store: &dyn Store) {
    let own = seed_user(store, "u1");
    seed_user(store, "u2");
    let request = responder(&own, "shed roof cedar shingles").with_budget(engram_types::Budget::with_max_tokens(4000));
    let mut planner = request.clone();
    planner.purpose = Purpose::Planner;
    let before = (build(store, request.clone()), build(store, planner.clone()));
    assert!(before.0.explain.selected.len() >= 4);

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("u1.jsonl");
    let exported = store.export_scope(&own, &path).unwrap();
    assert_eq!(exported.count("events"), 7);
    assert_eq!(exported.count("facts"), 2);
    assert_eq!(exported.count("working_states") + exported.count("short_terms"), 2);
    store.purge_user("t1", "u1").unwrap();
    let imported = store.import_scope(&path).unwrap();
    assert_eq!(imported.count("events"), 7);
    assert_eq!(imported.count("facts"), 2);
    assert_eq!(comparable(&before.0), comparable(&build(store, request.clone())));
    assert_eq!(comparable(&before.1), comparable(&build(store, planner)));
    assert_eq!(store.fact_history(&own, "shed.material").unwrap().len(), 2);

    let error = store.import_scope(&path).unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::Conflict, "{error}");
    assert_eq!(user_records(store, "u1"), 12);
    assert_eq!(comparable(&before.0), comparable(&build(store, request)));

    std::fs::write(&path, "{\"type\": \"something else\"}\n").unwrap();
    assert_eq!(store.import_scope(&path).unwrap_err().kind(), engram_store::ErrorKind::InvalidInput);
    let missing = store.import_scope(&directory.path().join("missing.jsonl")).unwrap_err();
    assert!(missing.to_string().contains("path"), "{missing}");
}

/// An expired fact never enters a packet (reason `expired`); the sweep deletes expired
/// records of every tenant and returns counts; retention trims raw events.
pub fn sweep_deletes_expired_records_and_applies_retention(store: &dyn Store) {
    let own = default_scope();
    let mut expired = FactInput::new(own.clone(), "promo.code", json!("SPRING"));
    expired.expires_at = Some(base_time());
    store.upsert_fact(expired).unwrap();
    let other_tenant = scope("t2", "u9", "s1", "r1");
    let mut elsewhere = FactInput::new(other_tenant.clone(), "promo.code", json!("WINTER"));
    elsewhere.expires_at = Some(base_time() + minutes(1));
    store.upsert_fact(elsewhere).unwrap();
    let mut lasting = FactInput::new(own.clone(), "promo.channel", json!("email"));
    lasting.expires_at = Some(base_time() + minutes(24 * 60 * 365));
    store.upsert_fact(lasting).unwrap();

    let packet = build(store, responder(&own, "promo code"));
    assert!(!packet.rendered.contains("SPRING"));
    let omitted = packet.explain.omitted.iter().find(|item| item.reason == OmissionReason::Expired).unwrap();
    assert_eq!(omitted.section, engram_types::Section::Facts);

    let receipt =
        store.sweep_expired(&SweepRequest { now: Some(base_time() + minutes(2)), ..SweepRequest::default() }).unwrap();
    assert_eq!(receipt.count("facts"), 2, "both tenants: {receipt:?}");
    let mut all = ListQuery::new(own.clone());
    all.include_inactive = true;
    let keys: Vec<String> = store.list_facts(&all).unwrap().into_iter().map(|fact| fact.fact_key).collect();
    assert_eq!(keys, ["promo.channel"]);
    assert!(store.fact_history(&other_tenant, "promo.code").unwrap().is_empty());

    // Retention: 10 events in s1, 3 in s2, the oldest 4 of s1 older than 30 days.
    let mut events = Vec::new();
    for index in 0..10 {
        let mut event = message(&own, &format!("r{index}"), index, "user", &format!("turn {index}"));
        if index < 4 {
            event.ts = Some(base_time() - chrono::Duration::days(40) + minutes(index));
        }
        events.push(event);
    }
    let other = scope("t1", "u1", "s2", "r2");
    for index in 0..3 {
        events.push(message(&other, &format!("q{index}"), index, "user", &format!("other {index}")));
    }
    store.append_events(events).unwrap();
    let retention = RetentionPolicy { max_event_age_days: Some(30), max_events_per_session: None };
    let receipt = store.sweep_expired(&SweepRequest { now: Some(base_time()), retention }).unwrap();
    assert_eq!(receipt.count("events"), 4);
    let retention = RetentionPolicy { max_event_age_days: None, max_events_per_session: Some(5) };
    let receipt = store.sweep_expired(&SweepRequest { now: Some(base_time()), retention }).unwrap();
    assert_eq!(receipt.count("events"), 1, "s1 had 6 left, s2 only 3");
    let mut query = engram_types::EventQuery::new(own.clone());
    query.session_wide = true;
    let left: Vec<String> = store.list_events(&query).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(left, ["r9", "r8", "r7", "r6", "r5"]);
}

/// A promoted insight becomes a fact (with a source link back) that responder packets use;
/// the insight is validated and records what it became.
pub fn promoted_insight_becomes_a_fact_the_responder_uses(store: &dyn Store) {
    let own = default_scope();
    let mut insight = own_insight(&own, "the customer prefers invoices by email");
    insight.insight_id = Some("ins-invoice".into());
    insight.sources = vec!["e1".into()];
    store.append_insight(insight).unwrap();
    let before = build(store, responder(&own, "how does the customer want invoices"));
    assert!(before.long_term.facts.is_empty() && before.insight.is_empty());

    let promoted = store
        .promote_insight(&PromoteInsight {
            scope: own.clone(),
            insight_id: "ins-invoice".into(),
            promotion: Promotion::Fact {
                fact_key: "billing.invoice_channel".into(),
                value: None,
                scope_level: Default::default(),
            },
        })
        .unwrap();
    let fact = promoted.fact.unwrap();
    assert_eq!(fact.sources, ["e1", "insight:ins-invoice"]);
    assert_eq!(promoted.insight.validation, ValidationState::Validated);
    assert_eq!(promoted.insight.promoted_to, Some(format!("fact:{}", fact.fact_id)));
    let packet = build(store, responder(&own, "how does the customer want invoices"));
    let keys: Vec<_> = packet.long_term.facts.iter().filter_map(|item| item.fact_key.clone()).collect();
    assert_eq!(keys, ["billing.invoice_channel"]);

    let again = PromoteInsight {
        scope: own.clone(),
        insight_id: "ins-invoice".into(),
        promotion: Promotion::Procedure {
            task_type: "billing".into(),
            title: None,
            steps: vec![],
            scope_level: Default::default(),
        },
    };
    assert_eq!(store.promote_insight(&again).unwrap_err().kind(), engram_store::ErrorKind::Conflict);
    let mut other = own_insight(&own, "send reminders two days before the due date");
    other.insight_id = Some("ins-reminder".into());
    store.append_insight(other).unwrap();
    let procedure = store
        .promote_insight(&PromoteInsight { insight_id: "ins-reminder".into(), ..again })
        .unwrap()
        .procedure
        .unwrap();
    assert_eq!(procedure.steps, ["send reminders two days before the due date"]);
    let elsewhere = PromoteInsight {
        scope: scope("t1", "u1", "s1", "r2"),
        insight_id: "ins-reminder".into(),
        promotion: Promotion::Fact { fact_key: "x".into(), value: None, scope_level: Default::default() },
    };
    assert_eq!(store.promote_insight(&elsewhere).unwrap_err().kind(), engram_store::ErrorKind::NotFound);
}

/// end_run expires the run's unpromoted insights and ends its working state: readable as
/// history, out of packets, deleted by the sweep.
pub fn end_run_expires_insights_and_ends_working_state(store: &dyn Store) {
    let own = default_scope();
    for (id, text) in [("keep", "retry with backoff works"), ("drop", "the cache is cold at night")] {
        let mut insight = own_insight(&own, text);
        insight.insight_id = Some(id.into());
        insight.validation = ValidationState::Validated;
        store.append_insight(insight).unwrap();
    }
    store
        .promote_insight(&PromoteInsight {
            scope: own.clone(),
            insight_id: "keep".into(),
            promotion: Promotion::Fact { fact_key: "ops.retry".into(), value: None, scope_level: Default::default() },
        })
        .unwrap();
    let mut patch = WorkingStatePatch::new(own.clone());
    patch.goal = Some("stabilize the nightly job".into());
    store.patch_working_state(patch).unwrap();
    let mut planner = responder(&own, "nightly cache retry");
    planner.purpose = Purpose::Planner;
    assert!(build(store, planner.clone()).rendered.contains("stabilize the nightly job"));

    let ended_at = base_time() + minutes(60);
    let ended = store.end_run(&own, Some(ended_at)).unwrap();
    assert_eq!(ended.expired_insights, ["drop"]);
    assert_eq!(ended.working_state.ended_at, Some(ended_at));
    let mut all = ListQuery::new(own.clone());
    all.include_inactive = true;
    let insights = store.list_insights(&all).unwrap();
    let expiry = |id: &str| insights.iter().find(|insight| insight.insight_id == id).unwrap().expires_at;
    assert_eq!((expiry("drop"), expiry("keep")), (Some(ended_at), None));
    assert_eq!(store.get_working_state(&own).unwrap().goal.as_deref(), Some("stabilize the nightly job"));
    let packet = build(store, planner);
    assert!(!packet.rendered.contains("stabilize the nightly job"), "{}", packet.rendered);
    assert!(packet.explain.omitted.iter().any(|item| item.id == "drop" && item.reason == OmissionReason::Expired));

    // An insight that expired with its run is not promoted (its link would dangle after a sweep).
    let late = PromoteInsight {
        scope: own.clone(),
        insight_id: "drop".into(),
        promotion: Promotion::Fact { fact_key: "ops.cache".into(), value: None, scope_level: Default::default() },
    };
    let error = store.promote_insight(&late).unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::InvalidInput, "{error}");

    let receipt = store.sweep_expired(&SweepRequest { now: Some(ended_at), ..SweepRequest::default() }).unwrap();
    assert_eq!((receipt.count("working_states"), receipt.count("insights")), (1, 1), "{receipt:?}");
    assert_eq!(store.get_working_state(&own).unwrap().version, 0);
}

/// Counts what a packet build reads from the store: calls and rows.
#[derive(Debug)]
struct Counting<'a> {
    inner: &'a dyn Store,
    calls: AtomicU64,
    rows: AtomicU64,
}

impl Counting<'_> {
    fn count(&self, rows: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
    }
}

impl Store for Counting<'_> {
    fn limits(&self) -> &engram_types::Limits {
        self.inner.limits()
    }
    fn read(
        &self,
        work: &mut (dyn FnMut(&mut dyn engram_store::Snapshot) -> engram_store::Result<()> + Send),
    ) -> engram_store::Result<()> {
        self.inner.read(&mut |snapshot| work(&mut CountingSnapshot { inner: snapshot, counting: self }))
    }
    fn write(
        &self,
        mode: engram_store::WriteMode,
        work: &mut (dyn FnMut(&mut dyn engram_store::Transaction) -> engram_store::Result<()> + Send),
    ) -> engram_store::Result<()> {
        self.inner.write(mode, work)
    }
    fn erase(
        &self,
        work: &mut (dyn FnMut(&mut dyn engram_store::Transaction) -> engram_store::Result<Receipt> + Send),
    ) -> engram_store::Result<Receipt> {
        self.inner.erase(work)
    }
    fn rolls_back(&self) -> bool {
        self.inner.rolls_back()
    }
}

/// A snapshot of the store under [`Counting`], counting the reads a packet makes.
struct CountingSnapshot<'a, 'b> {
    inner: &'a mut dyn engram_store::Snapshot,
    counting: &'b Counting<'b>,
}

impl engram_store::Snapshot for CountingSnapshot<'_, '_> {
    fn fetch(&mut self, request: &FetchRequest) -> engram_store::Result<Vec<Fetched>> {
        let fetched = self.inner.fetch(request)?;
        self.counting.count(fetched.len());
        Ok(fetched)
    }
    fn fetch_sequences(&mut self, request: &FetchRequest) -> engram_store::Result<Vec<i64>> {
        let sequences = self.inner.fetch_sequences(request)?;
        self.counting.count(sequences.len());
        Ok(sequences)
    }
    fn postings(&mut self, request: &PostingsRequest) -> engram_store::Result<Postings> {
        let postings = self.inner.postings(request)?;
        self.counting.count(postings.terms.values().map(|term| term.sequences.len()).sum());
        Ok(postings)
    }
    fn vectors(&mut self, request: &engram_store::VectorRequest) -> engram_store::Result<engram_store::Vectors> {
        let vectors = self.inner.vectors(request)?;
        self.counting.count(vectors.vectors.len());
        Ok(vectors)
    }
    fn stats(&mut self, scope: &Scope) -> engram_store::Result<Stats> {
        self.inner.stats(scope)
    }
    fn scan(&mut self, request: &ScanRequest) -> engram_store::Result<Vec<Fetched>> {
        self.inner.scan(request)
    }
    fn scan_state_table(
        &mut self,
        request: &StateScan,
        working: bool,
    ) -> engram_store::Result<Vec<engram_store::StoredState>> {
        self.inner.scan_state_table(request, working)
    }
    fn find(&mut self, kind: RecordKind, tenant_id: &str, id: &str) -> engram_store::Result<Option<Fetched>> {
        self.inner.find(kind, tenant_id, id)
    }
    fn taken_ids(
        &mut self,
        kind: RecordKind,
        tenant_id: &str,
        ids: &[&str],
    ) -> engram_store::Result<std::collections::HashSet<String>> {
        self.inner.taken_ids(kind, tenant_id, ids)
    }
    fn facts_of_key(
        &mut self,
        tenant_id: &str,
        spaces: &[String],
        fact_key: &str,
        active_only: bool,
    ) -> engram_store::Result<Vec<(i64, engram_types::Fact)>> {
        self.inner.facts_of_key(tenant_id, spaces, fact_key, active_only)
    }
    fn stored_state(
        &mut self,
        owner: &engram_store::StateOwner,
    ) -> engram_store::Result<Option<engram_store::StoredState>> {
        self.counting.count(1);
        self.inner.stored_state(owner)
    }
    fn item_postings(
        &mut self,
        request: &engram_store::ItemPostingsRequest,
    ) -> engram_store::Result<engram_store::ItemPostings> {
        self.inner.item_postings(request)
    }
    fn scan_items(&mut self, scan: &engram_store::ItemScan) -> engram_store::Result<Vec<engram_types::Item>> {
        self.inner.scan_items(scan)
    }
}

/// A 500-turn session consolidates into one episode whose sources are exactly the events
/// beyond the window; a packet built afterwards reads no more from the store (calls, rows)
/// than before, bar the episode row itself.
/// Two handles on one database (as two processes): the long-lived one has seen the user's
/// spaces; the other purges the user, who then writes again. Deletes and purges through the
/// long-lived handle resolve the spaces in their own transaction: the BM25 inputs (documents,
/// df) stay exact and the purge leaves none of the user's index rows (its receipt counts them).
pub fn stale_handles_delete_exactly(long_lived: &dyn Store, other: &dyn Store) {
    let user = scope("t1", "u-stale", "s1", "r1");
    let words = |store: &dyn Store| {
        let request = PostingsRequest {
            kind: RecordKind::Event,
            tenant_id: "t1".into(),
            spaces: engram_store::record::visible_spaces(&user, RecordKind::Event),
            terms: vec!["wombat".into(), "numbat".into()],
            per_term: 10,
        };
        let postings = store.postings(&request).unwrap();
        let df = |term: &str| postings.terms.get(term).map_or(0, |found| found.document_frequency);
        (postings.document_count, df("wombat"), df("numbat"))
    };
    long_lived.append_events(vec![message(&user, "old", 0, "user", "quokka sightings")]).unwrap();
    assert_eq!(words(long_lived), (1, 0, 0));
    other.purge_user("t1", "u-stale").unwrap();
    other
        .append_events(vec![
            message(&user, "kept", 1, "user", "wombat burrows"),
            message(&user, "gone", 2, "user", "wombat and numbat"),
        ])
        .unwrap();
    long_lived.delete_event(&user, "gone").unwrap();
    assert_eq!(words(long_lived), (1, 1, 0), "the deleted event's terms stay counted");
    let receipt = long_lived.purge_user("t1", "u-stale").unwrap();
    assert_eq!(words(other), (0, 0, 0));
    assert!(receipt.count("lexical_spaces") >= 1, "the user's space stays: {receipt:?}");
    assert!(receipt.count("lexical_terms") >= 1, "the user's terms stay: {receipt:?}");
}

/// Calls racing to consolidate one session (threads here; processes in the Python suite)
/// turn its events into one episode: each event is in exactly one episode's sources, round
/// after round, and the calls that lost the race consume nothing.
pub fn racing_consolidations_make_one_episode(store: &dyn Store) {
    let own = scope("t1", "u-race", "s-race", "r-race");
    for round in 0..6_i64 {
        let events: Vec<EventInput> = (0..40)
            .map(|index| {
                let minute = round * 100 + index;
                message(&own, &format!("race-{round}-{index:02}"), minute, "user", &format!("turn {minute}"))
            })
            .collect();
        store.append_events(events).unwrap();
        let barrier = std::sync::Barrier::new(3);
        let consumed: Vec<u32> = std::thread::scope(|threads| {
            let racers: Vec<_> = (0..3)
                .map(|_| {
                    threads.spawn(|| {
                        barrier.wait();
                        store.consolidate_session(&ConsolidateRequest::new(own.clone()), None).unwrap().consumed
                    })
                })
                .collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).collect()
        });
        assert_eq!(consumed.iter().filter(|count| **count > 0).count(), 1, "round {round}: {consumed:?}");
    }
    let mut query = ListQuery::new(own.clone());
    query.limit = 100;
    let episodes = store.list_episodes(&query).unwrap();
    assert_eq!(episodes.len(), 6);
    let mut sources: Vec<&String> = episodes.iter().flat_map(|episode| &episode.sources).collect();
    let total = sources.len();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), total, "an event was consolidated twice");
    // Everything but the last round's window is consolidated, once.
    let window = ConsolidateRequest::new(own.clone()).window as usize;
    assert_eq!(total, 6 * 40 - window);

    // A call that died after writing its episode and before moving the cursor (the cursor
    // put back as it was) holds nothing back: the next call finds the episode written, moves
    // the cursor past it, and the one after consolidates the new turns.
    let mut rewound = store.get_short_term(&own).unwrap();
    assert_eq!(rewound.consolidated_until, Some(base_time() + minutes(527)));
    assert_eq!(rewound.consolidated_ids, ["race-5-27"]);
    // Where round 4's consolidation left it: round 5's episode is written, its cursor is not.
    rewound.consolidated_until = Some(base_time() + minutes(427));
    rewound.consolidated_ids = vec!["race-4-27".into()];
    let owner = engram_store::StateOwner::of_session(&own);
    store.restore(Vec::new(), vec![engram_store::StoredState::ShortTerm { owner, state: rewound }]).unwrap();
    let retried = store.consolidate_session(&ConsolidateRequest::new(own.clone()), None).unwrap();
    assert_eq!((retried.consumed, retried.episode.is_none()), (0, true));
    assert_eq!(retried.short_term.consolidated_until, Some(base_time() + minutes(527)));
    let events: Vec<EventInput> = (0..40)
        .map(|index| message(&own, &format!("race-late-{index:02}"), 700 + index, "user", "a late turn"))
        .collect();
    store.append_events(events).unwrap();
    let late = store.consolidate_session(&ConsolidateRequest::new(own), None).unwrap();
    assert_eq!(late.consumed, 40);
    assert_eq!(late.episode.unwrap().sources.first().map(String::as_str), Some("race-5-28"));
}

/// The consolidation cursor is a time and the ids of that millisecond's events it covered: an
/// event of the cursor's millisecond left out by `max_events`, or written after the call, is
/// consolidated by the next call, and no event twice. A cursor without ids (stored before they
/// were kept) covers its whole millisecond.
pub fn consolidation_resumes_inside_a_millisecond(store: &dyn Store) {
    let own = scope("t1", "u-ms", "s-ms", "r-ms");
    let turns = [("e0", 0), ("e1", 1), ("e2", 2), ("e2b", 2), ("e3", 3), ("e4", 4), ("e5", 5), ("e6", 6)];
    for (id, minute) in turns {
        store.append_event(message(&own, id, minute, "user", &format!("turn {id}"))).unwrap();
    }
    let mut request = ConsolidateRequest::new(own.clone());
    (request.window, request.min_events, request.max_events) = (2, 1, 3);
    let first = store.consolidate_session(&request, None).unwrap();
    assert_eq!(first.episode.unwrap().sources, ["e0", "e1", "e2"], "max_events cuts inside minute 2");
    assert_eq!(first.short_term.consolidated_until, Some(base_time() + minutes(2)));
    assert_eq!(first.short_term.consolidated_ids, ["e2"]);
    let second = store.consolidate_session(&request, None).unwrap();
    assert_eq!(second.episode.unwrap().sources, ["e2b", "e3", "e4"], "the rest of minute 2 comes next");
    // An event of the cursor's millisecond written after the call (the window keeps e5 and e6).
    store.append_event(message(&own, "e4b", 4, "user", "a late turn")).unwrap();
    let late = store.consolidate_session(&request, None).unwrap();
    assert_eq!(late.episode.unwrap().sources, ["e4b"]);
    assert_eq!(late.short_term.consolidated_ids, ["e4", "e4b"]);
    assert_eq!(store.consolidate_session(&request, None).unwrap().consumed, 0, "nothing twice");

    let mut older = own.clone();
    older.session_id = "s-ms-older".into();
    for (id, minute) in [("o0", 0), ("o1", 1), ("o1b", 1), ("o2", 2), ("o3", 3)] {
        store.append_event(message(&older, id, minute, "user", "an older turn")).unwrap();
    }
    let mut cursor = engram_types::ShortTermUpdate::new(older.clone());
    cursor.consolidated_until = Some(base_time() + minutes(1));
    store.update_short_term(cursor).unwrap();
    let mut older_request = ConsolidateRequest::new(older);
    (older_request.window, older_request.min_events) = (1, 1);
    let resumed = store.consolidate_session(&older_request, None).unwrap();
    assert_eq!(resumed.episode.unwrap().sources, ["o2"], "minute 1 was covered whole, o3 is in the window");
}

pub fn consolidating_500_turns_links_sources_and_costs_no_more(store: &dyn Store) {
    let own = default_scope();
    let topics = ["invoice", "shipping", "refund", "warranty", "delivery"];
    let events: Vec<EventInput> = (0..500)
        .map(|index| {
            let role = if index % 2 == 0 { "user" } else { "assistant" };
            let topic = topics[index % topics.len()];
            let text = format!("turn {index}: about the {topic} of order {}", index / 10);
            message(&own, &format!("t{index:03}"), i64::try_from(index).unwrap_or(0), role, &text)
        })
        .collect();
    store.append_events(events).unwrap();
    let request = BuildRequest::new(own.clone(), Purpose::Responder)
        .with_now(base_time() + minutes(600))
        .with_query("refund of order 12");
    let measure = |request: BuildRequest| {
        let counting = Counting { inner: store, calls: AtomicU64::new(0), rows: AtomicU64::new(0) };
        let packet = build_memory_packet(&counting, request).unwrap();
        (counting.calls.load(Ordering::Relaxed), counting.rows.load(Ordering::Relaxed), packet)
    };
    let (calls_before, rows_before, packet_before) = measure(request.clone());

    let consolidation = store.consolidate_session(&ConsolidateRequest::new(own.clone()), None).unwrap();
    let episode = consolidation.episode.unwrap();
    assert_eq!(consolidation.consumed, 488);
    let expected: Vec<String> = (0..488).map(|index| format!("t{index:03}")).collect();
    assert_eq!(episode.sources, expected);
    assert_eq!((episode.start_ts, episode.end_ts), (base_time(), base_time() + minutes(487)));
    assert!(!episode.summary.is_empty() && !episode.highlights.is_empty());
    assert_eq!(consolidation.short_term.consolidated_until, Some(base_time() + minutes(487)));
    assert!(consolidation.short_term.rolling_summary.is_some());
    assert!(!consolidation.short_term.key_quotes.is_empty());
    // Nothing new beyond the window: a second consolidation consumes nothing.
    let again = store.consolidate_session(&ConsolidateRequest::new(own.clone()), None).unwrap();
    assert_eq!((again.consumed, again.episode), (0, None));

    // A session with fewer turns than the window still consolidates the older tool events.
    let tools = scope("t1", "u7", "s-tools", "r1");
    let mut events: Vec<EventInput> = (0..30)
        .map(|index| {
            let mut event =
                EventInput::new(tools.clone(), engram_types::EventKind::ToolCall, json!({"tool": "search"}));
            event.event_id = Some(format!("tool{index:02}"));
            event.ts = Some(base_time() + minutes(index));
            event
        })
        .collect();
    events.extend((0..5).map(|index| message(&tools, &format!("m{index}"), 100 + index, "user", "hello")));
    store.append_events(events).unwrap();
    let tool_episode = store.consolidate_session(&ConsolidateRequest::new(tools.clone()), None).unwrap();
    assert_eq!(tool_episode.consumed, 30);
    let mut zero_window = ConsolidateRequest::new(tools);
    zero_window.window = 0;
    let error = store.consolidate_session(&zero_window, None).unwrap_err();
    assert!(error.to_string().contains("window"), "{error}");

    let (calls_after, rows_after, packet_after) = measure(request);
    // What the episode the consolidation wrote costs, and no more: its section's sources, read
    // together before the section's size is known, each name it (its postings for the three
    // query terms it holds, the whole-section, newest and most important reads), and it is
    // read (one more read: an empty section reads no records).
    let episode_rows = 3 + 3 + 1;
    assert!(calls_after <= calls_before + 1, "{calls_after} store calls after, {calls_before} before");
    assert!(rows_after <= rows_before + episode_rows, "{rows_after} rows after, {rows_before} before");
    assert!(packet_after.meta.tokens <= packet_after.budget_report.max_tokens);
    assert_eq!(packet_after.short_term.conversation_window.len(), packet_before.short_term.conversation_window.len());
    assert!(packet_after.long_term.episodes.iter().any(|item| item.id == episode.episode_id));
}

/// delete_event, delete_fact and forget delete exactly what they name, with receipts.
pub fn forgetting_deletes_exactly_what_it_names(store: &dyn Store) {
    let own = seed_user(store, "u1");
    seed_user(store, "u2");
    let receipt = store.delete_event(&own, "u1-e0").unwrap();
    assert_eq!((receipt.count("events"), receipt.count("event_postings") > 0), (1, true));
    assert_eq!(store.delete_event(&own, "u2-e1").unwrap_err().kind(), engram_store::ErrorKind::NotFound);
    assert_eq!(store.delete_event(&own, "u1-e0").unwrap_err().kind(), engram_store::ErrorKind::NotFound);

    let receipt = store.delete_fact(&own, "shed.material").unwrap();
    assert_eq!(receipt.count("facts"), 2);
    assert!(store.fact_history(&own, "shed.material").unwrap().is_empty());
    assert_eq!(store.fact_history(&scope("t1", "u2", "s1", "r1"), "shed.material").unwrap().len(), 2);

    let mut by_tag = ForgetRequest::new(own.clone());
    by_tag.tags = vec!["garden".into()];
    assert_eq!(store.forget(&by_tag).unwrap().count("episodes"), 1);
    let mut old_events = ForgetRequest::new(own.clone());
    old_events.before = Some(base_time() + minutes(3));
    old_events.kinds = vec![RecordKind::Event];
    assert_eq!(store.forget(&old_events).unwrap().count("events"), 2, "e1 and e2 (e0 is gone)");
    let mut query = engram_types::EventQuery::new(own.clone());
    query.session_wide = true;
    let left: Vec<String> = store.list_events(&query).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(left, ["u1-e5", "u1-e4", "u1-e3"]);
    assert_eq!(user_records(store, "u2"), 12, "the other user keeps everything");
    // A chat history's clear(): only the session's events, whatever their run.
    let mut later_session = ForgetRequest::new(scope("t1", "u1", "s2", "r-other"));
    later_session.session_only = true;
    later_session.kinds = vec![RecordKind::Event];
    assert_eq!(store.forget(&later_session).unwrap().count("events"), 1, "u1-e9");
    let left: Vec<String> = store.list_events(&query).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(left, ["u1-e5", "u1-e4", "u1-e3"], "the other session keeps its events");
    let error = store.forget(&ForgetRequest::new(own)).unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::InvalidInput);
}

/// Stats count per type and state (episodes per level), and tell the database size where the
/// backend can; a packet warns when the active-fact guard is exceeded.
pub fn stats_count_states_and_packets_warn_past_guards(store: &dyn Store) {
    let own = seed_user(store, "u1");
    let stats = store.stats(&own).unwrap();
    assert_eq!(stats.events, 7);
    assert_eq!(stats.facts.get("active"), Some(&1));
    assert_eq!(stats.facts.get("superseded"), Some(&1));
    assert_eq!(stats.episode_levels.get("raw"), Some(&1));
    assert_eq!(stats.insights.get("unvalidated"), Some(&1));
    assert!(stats.database_bytes.is_none_or(|bytes| bytes > 0));

    let mut request = responder(&own, "shed material");
    request.policy.max_active_facts = 0;
    let packet = build(store, request.clone());
    assert!(
        packet.explain.warnings.iter().any(|warning| warning.contains("max_active_facts")),
        "{:?}",
        packet.explain.warnings
    );
    request.policy.max_active_facts = 10;
    assert!(build(store, request).explain.warnings.is_empty());
}

/// Aged episodes need stronger cues: a 40-day-old episode (milestone) enters with two matched
/// terms, not with one, and the explain says why.
pub fn aged_episodes_need_stronger_cues(store: &dyn Store) {
    let own = default_scope();
    let mut episode = EpisodeInput {
        scope: own.clone(),
        episode_id: Some("old".into()),
        start_ts: base_time() - chrono::Duration::days(41),
        end_ts: base_time() - chrono::Duration::days(40),
        summary: "Negotiated the datacenter lease renewal".into(),
        highlights: vec![],
        tags: vec![],
        entities: vec![],
        sources: vec![],
        compression_level: CompressionLevel::Raw,
        importance: None,
        scope_level: engram_types::ScopeLevel::User,
        expires_at: None,
        embedding: None,
    };
    store.append_episode(episode.clone()).unwrap();
    episode.episode_id = Some("fresh".into());
    episode.start_ts = base_time();
    episode.end_ts = base_time();
    episode.summary = "Negotiated the office lease".into();
    store.append_episode(episode).unwrap();
    let at = |query: &str| {
        BuildRequest::new(own.clone(), Purpose::Planner).with_now(base_time() + minutes(60)).with_query(query)
    };
    let weak = build(store, at("lease"));
    let ids: Vec<&str> = weak.long_term.episodes.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["fresh"]);
    assert!(weak.explain.omitted.iter().any(|item| item.id == "old" && item.reason == OmissionReason::WeakCue));
    let strong = build(store, at("datacenter lease"));
    assert!(strong.long_term.episodes.iter().any(|item| item.id == "old"));
}

/// A postings read without terms still reports the spaces' totals: the packet builder reads a
/// small section whole on that count (and the purge test counts documents with it).
pub fn postings_without_terms_report_totals(store: &dyn Store) {
    let own = seed_user(store, "u1");
    let totals = store
        .postings(&PostingsRequest {
            kind: RecordKind::Event,
            tenant_id: "t1".into(),
            spaces: engram_store::record::visible_spaces(&own, RecordKind::Event),
            terms: Vec::new(),
            per_term: 10,
        })
        .unwrap();
    assert_eq!((totals.document_count, totals.terms.len()), (7, 0));
    assert!(totals.total_length > 0);
}

/// A rule-based extractor: "I live in X" / "I moved to X" give `user.city`, "I am X" gives
/// `user.diet` for a few diets. Counts its calls and the events it saw.
fn city_rules(
    seen: &std::sync::Mutex<Vec<String>>,
) -> impl Fn(&[engram_types::Event]) -> engram_store::Result<Vec<engram_types::ExtractedFact>> + Sync + '_ {
    move |events| {
        let mut found = Vec::new();
        for event in events {
            seen.lock().unwrap().push(event.event_id.clone());
            let words: Vec<&str> = event.text.split_whitespace().collect();
            for pair in words.windows(3) {
                if matches!(pair, ["live", "in", _] | ["moved", "to", _]) {
                    let city = pair[2].trim_matches(|character: char| !character.is_alphanumeric());
                    found.push(engram_types::ExtractedFact {
                        fact_key: "user.city".into(),
                        value: json!(city),
                        text: None,
                        confidence: Some(0.9),
                        tags: vec!["home".into()],
                        sources: vec![event.event_id.clone()],
                    });
                }
            }
        }
        Ok(found)
    }
}

/// Extraction sends each message event once, oldest first and `max_events` at a time; the
/// facts it returns are upserts sourced from their events, so a changed value supersedes the
/// old one with history, and a packet cites where the fact came from.
pub fn extraction_sends_each_event_once_and_supersedes_through_upserts(store: &dyn Store) {
    let chat = default_scope();
    let seen = std::sync::Mutex::new(Vec::new());
    let extractor = city_rules(&seen);
    let mut request = engram_types::ExtractRequest::new(chat.clone());
    request.now = Some(base_time() + minutes(60));
    let nothing = store.extract_facts(&request, &extractor).unwrap();
    assert!(nothing.events.is_empty() && nothing.facts.is_empty());
    assert!(seen.lock().unwrap().is_empty(), "no new events: the extractor is not called");

    let turns = [("user", "Hi, I live in Lisbon."), ("assistant", "Nice city!"), ("user", "What should I cook?")];
    for (index, (role, text)) in turns.iter().enumerate() {
        store.append_event(message(&chat, &format!("e{index}"), i64::try_from(index).unwrap(), role, text)).unwrap();
    }
    let mut tool =
        EventInput::new(chat.clone(), engram_types::EventKind::ToolResult, json!({"text": "I live in Oslo"}));
    tool.ts = Some(base_time() + minutes(1));
    store.append_event(tool).unwrap();
    request.max_events = 2;
    let first = store.extract_facts(&request, &extractor).unwrap();
    assert_eq!(first.events, ["e0", "e1"], "oldest first, messages only, max_events at a time");
    let [written] = first.facts.as_slice() else { panic!("{:?}", first.facts) };
    assert_eq!((written.outcome, &written.fact.value), (engram_types::FactWriteOutcome::Created, &json!("Lisbon")));
    assert_eq!(written.fact.sources, ["e0"]);
    assert_eq!(first.short_term.extracted_until, Some(base_time() + minutes(1)));
    let second = store.extract_facts(&request, &extractor).unwrap();
    assert_eq!((second.events.as_slice(), second.facts.len()), (["e2".to_string()].as_slice(), 0));
    assert!(store.extract_facts(&request, &extractor).unwrap().events.is_empty());
    assert_eq!(second.short_term.extracted_ids, ["e2"]);
    // A message of the cursor's millisecond written after the extraction is still new.
    store.append_event(message(&chat, "e2b", 2, "user", "And what should I drink?")).unwrap();
    let late = store.extract_facts(&request, &extractor).unwrap();
    assert_eq!(late.events, ["e2b"], "sent, and the millisecond's earlier message not again");
    assert_eq!(late.short_term.extracted_until, second.short_term.extracted_until);
    assert_eq!(late.short_term.extracted_ids, ["e2", "e2b"]);
    assert!(store.extract_facts(&request, &extractor).unwrap().events.is_empty());
    assert_eq!(*seen.lock().unwrap(), ["e0", "e1", "e2", "e2b"], "every event sent once");
    // A cursor without ids (a state stored before they were kept) says its millisecond was sent.
    let mut older = chat.clone();
    older.session_id = "older-session".into();
    store.append_event(message(&older, "o0", 3, "user", "Hello from before")).unwrap();
    let mut cursor = engram_types::ShortTermUpdate::new(older.clone());
    cursor.extracted_until = Some(base_time() + minutes(3));
    store.update_short_term(cursor).unwrap();
    let mut older_request = engram_types::ExtractRequest::new(older);
    older_request.now = request.now;
    assert!(store.extract_facts(&older_request, &extractor).unwrap().events.is_empty());

    store.append_event(message(&chat, "e3", 10, "user", "Big news: I moved to Berlin!")).unwrap();
    let moved = store.extract_facts(&request, &extractor).unwrap();
    assert_eq!(moved.events, ["e3"]);
    assert_eq!(moved.facts[0].outcome, engram_types::FactWriteOutcome::Superseded);
    let history = store.fact_history(&chat, "user.city").unwrap();
    assert_eq!(history.iter().map(|fact| fact.value.clone()).collect::<Vec<_>>(), [json!("Lisbon"), json!("Berlin")]);
    assert_eq!(history[1].sources, ["e3"]);

    let packet = build(store, responder(&chat, "where does the user live?"));
    let citation = packet.citations.iter().find(|citation| citation.id == history[1].fact_id).unwrap();
    assert_eq!(citation.sources, ["e3"], "the packet says which turn the fact came from");
    let explained = packet.explain.selected.iter().find(|item| item.id == history[1].fact_id).unwrap();
    assert_eq!(explained.evidence, ["e3"], "and so does the explain");
}

/// What an extractor returns is checked whole before anything is written: too many facts, a
/// source that was not sent, an invalid fact are `InvalidInput` naming `extractor`; nothing is
/// written and the events are sent again next time. Events of one millisecond are never split.
pub fn bad_extractor_output_writes_nothing(store: &dyn Store) {
    let chat = default_scope();
    for index in 0..3 {
        store.append_event(message(&chat, &format!("m{index}"), 5, "user", &format!("I live in City{index}"))).unwrap();
    }
    store.append_event(message(&chat, "m3", 6, "user", "I live in Paris")).unwrap();
    let fact = |key: &str, sources: Vec<String>| engram_types::ExtractedFact {
        fact_key: key.into(),
        value: json!("x"),
        text: None,
        confidence: None,
        tags: Vec::new(),
        sources,
    };
    let mut request = engram_types::ExtractRequest::new(chat.clone());
    request.max_facts = 2;
    let cases: [(Vec<engram_types::ExtractedFact>, &str); 4] = [
        (vec![fact("a", vec![]), fact("b", vec![]), fact("c", vec![])], "extractor"),
        (vec![fact("a", vec![]), fact("b", vec!["elsewhere".into()])], "extractor[1].sources[0]"),
        (vec![fact("", vec![])], "extractor[0].fact_key"),
        (vec![engram_types::ExtractedFact { confidence: Some(7.0), ..fact("a", vec![]) }], "extractor[0].confidence"),
    ];
    for (returned, field) in cases {
        let bad = move |_: &[engram_types::Event]| Ok(returned.clone());
        let error = store.extract_facts(&request, &bad).unwrap_err();
        let engram_store::Error::InvalidInput(invalid) = &error else { panic!("{error}") };
        assert_eq!(invalid.field, field, "{error}");
        assert!(store.list_facts(&ListQuery::new(chat.clone())).unwrap().is_empty());
        assert_eq!(store.get_short_term(&chat).unwrap().extracted_until, None);
    }
    let seen = std::sync::Mutex::new(Vec::new());
    request.max_events = 2;
    request.max_facts = 20;
    let batch = store.extract_facts(&request, &city_rules(&seen)).unwrap();
    assert_eq!(batch.events, ["m0", "m1", "m2"], "the millisecond of m0..m2 is sent whole");
    assert_eq!(store.extract_facts(&request, &city_rules(&seen)).unwrap().events, ["m3"]);
    request.max_events = 0;
    let error = store.extract_facts(&request, &city_rules(&seen)).unwrap_err();
    assert_eq!(error.kind(), engram_store::ErrorKind::InvalidInput, "{error}");
}
