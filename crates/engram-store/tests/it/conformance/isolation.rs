use std::collections::{BTreeMap, BTreeSet};

use engram_store::lexical::{DocumentTerms, analyze, cue_term};
use engram_store::prepare::{document_terms, is_indexed};
use engram_store::record::visible_spaces;
use engram_store::{
    FetchRequest, Fetched, PostingsRequest, Reach, Record, RecordKind, ScanRequest, Selector, Stats, Store, StoreExt,
};
use engram_types::{
    BuildRequest, CompressionLevel, EpisodeInput, EventQuery, FactInput, InsightInput, ListQuery, ProcedureInput,
    Purpose, Scope, ScopeLevel, ShortTermUpdate, ValidationState, WorkingStatePatch,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::json;

use crate::support::{base_time, build, message, minutes, scope};

pub fn tenants_and_users_never_see_each_other(store: &dyn Store) {
    let alice = scope("t1", "alice", "s1", "r1");
    let bob = scope("t1", "bob", "s1", "r1");
    let other_tenant = scope("t2", "alice", "s1", "r1");
    for (who, secret) in [(&alice, "alpha"), (&bob, "bravo"), (&other_tenant, "charlie")] {
        store
            .append_event(message(
                who,
                &format!("{}-{}", who.tenant_id, who.user_id),
                0,
                "user",
                &format!("my password is {secret}"),
            ))
            .unwrap();
        store.upsert_fact(FactInput::new(who.clone(), "password", json!(secret))).unwrap();
    }
    for (who, secret) in [(&alice, "alpha"), (&bob, "bravo"), (&other_tenant, "charlie")] {
        let events = store.list_events(&EventQuery::new(who.clone())).unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].text.ends_with(secret));
        let facts = store.list_facts(&ListQuery::new(who.clone())).unwrap();
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].value, json!(secret));
        let mut later_session = who.clone();
        later_session.session_id = "s2".into();
        let packet = build(
            store,
            BuildRequest::new(later_session, Purpose::Responder).with_query("password alpha bravo charlie"),
        );
        for other in ["alpha", "bravo", "charlie"].into_iter().filter(|other| *other != secret) {
            assert!(
                !packet.rendered.contains(other),
                "{other} leaked into {}'s packet:\n{}",
                who.user_id,
                packet.rendered
            );
        }
        assert!(packet.rendered.contains(secret), "own memory is recalled:\n{}", packet.rendered);
    }
    // Fetching by sequence with every sequence there is still returns only the scope's own
    // records: the lexical index's document ids are not a way across users or tenants.
    for (kind, who) in [(RecordKind::Event, &alice), (RecordKind::Fact, &bob), (RecordKind::Event, &other_tenant)] {
        let every: Vec<i64> = (0..200).collect();
        let request = FetchRequest::new(kind, who.clone(), Reach::Space, Selector::Sequences(every), 200);
        let found = store.fetch(&request).unwrap();
        assert_eq!(found.len(), 1, "{kind:?} of {}: {found:?}", who.user_id);
        let owner = found[0].record.scope();
        assert_eq!((&owner.tenant_id, &owner.user_id), (&who.tenant_id, &who.user_id));
    }
}

pub fn query_syntax_in_text_cannot_widen_a_match(store: &dyn Store) {
    let owner = scope("t1", "u1", "s1", "r1");
    store.append_event(message(&owner, "target", 0, "user", "the launch code is zebra")).unwrap();
    let intruder = scope("t1", "u2", "s1", "r1");
    for hostile in
        ["* OR zebra", "zebra\" OR \"a", "NEAR(zebra launch)", "'; DROP TABLE events; --", "tenant_id:t1 zebra"]
    {
        let mut later = intruder.clone();
        later.session_id = "s2".into();
        let packet = build(store, BuildRequest::new(later, Purpose::Planner).with_query(hostile));
        assert!(
            !packet.rendered.contains("zebra is") && !packet.rendered.contains("launch code"),
            "{hostile} widened a match:\n{}",
            packet.rendered
        );
    }
    assert_eq!(store.list_events(&EventQuery::new(owner)).unwrap().len(), 1, "hostile text changed nothing");
}

// ---------------------------------------------------------------------------------------------
// random_multi_tenant_reads_stay_in_scope

/// Words every scope writes, so query terms collide across tenants, users and runs.
const VOCABULARY: &[&str] = &["shed", "roof", "cedar", "invoice", "lisbon", "dinner", "garden", "payment"];
/// Few fact keys, so keys collide across owners and shared levels (and supersede each other).
const FACT_KEYS: &[&str] = &["pref.color", "pref.city", "account.plan"];

/// How the second and third tenant, user, agent, session or run is spelt: a plain other name,
/// or a look-alike of the first (`té0` against `té0\u{200b}`, `TÉ0`, `te\u{301}0`), which must be
/// just as separate. (`té0 ` is refused: ids never end in whitespace, which MySQL would ignore.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Plain,
    ZeroWidthSpace,
    Upper,
    Decomposed,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    prop_oneof![
        6 => Just(Spelling::Plain),
        1 => Just(Spelling::ZeroWidthSpace),
        1 => Just(Spelling::Upper),
        1 => Just(Spelling::Decomposed),
    ]
}

/// Distinct names for one dimension; the first is `{prefix}é0`.
fn names(prefix: &str, spellings: &[Spelling]) -> Vec<String> {
    let first = format!("{prefix}é0");
    let mut names: Vec<String> = Vec::new();
    for (index, spelling) in spellings.iter().enumerate() {
        let name = match spelling {
            _ if index == 0 => first.clone(),
            Spelling::Plain => format!("{prefix}{index}"),
            Spelling::ZeroWidthSpace => format!("{first}\u{200b}"),
            Spelling::Upper => first.to_uppercase(),
            Spelling::Decomposed => first.replace('é', "e\u{301}"),
        };
        // Two look-alikes spelt the same way would be one name.
        let name = if names.contains(&name) { format!("{prefix}{index}") } else { name };
        names.push(name);
    }
    names
}

/// One record to write: its kind, owner (an index into the scopes), sharing level (facts,
/// episodes, procedures), words, fact key and insight validation.
#[derive(Debug, Clone)]
struct Plan {
    kind: RecordKind,
    owner: Index,
    level: ScopeLevel,
    words: Vec<usize>,
    key: usize,
    validation: ValidationState,
}

/// A packet build: purpose, query shape, which other scopes' secrets and which words it asks for.
#[derive(Debug, Clone)]
struct Probe {
    purpose: Purpose,
    foreign: Vec<Index>,
    words: Vec<usize>,
    syntax: usize,
    cues: bool,
}

#[derive(Debug, Clone)]
struct World {
    tenants: Vec<Spelling>,
    users: Vec<Spelling>,
    agents: Vec<Spelling>,
    sessions: Vec<Spelling>,
    runs: Vec<Spelling>,
    records: Vec<Plan>,
    working_states: Vec<Index>,
    short_terms: Vec<Index>,
    probes: Vec<Probe>,
}

fn plan() -> impl Strategy<Value = Plan> {
    let kinds = [RecordKind::Event, RecordKind::Fact, RecordKind::Episode, RecordKind::Procedure, RecordKind::Insight];
    let levels = [ScopeLevel::User, ScopeLevel::User, ScopeLevel::Agent, ScopeLevel::Tenant];
    let validations = [ValidationState::Unvalidated, ValidationState::Validated, ValidationState::Rejected];
    (
        select(kinds.to_vec()),
        any::<Index>(),
        select(levels.to_vec()),
        prop::collection::vec(0..VOCABULARY.len(), 1..4),
        0..FACT_KEYS.len(),
        select(validations.to_vec()),
    )
        .prop_map(|(kind, owner, level, words, key, validation)| Plan {
            kind,
            owner,
            level,
            words,
            key,
            validation,
        })
}

/// Query shapes: plain words, FTS5 operators, column filters, SQL, wildcards. `{f}` is a
/// secret of a record the reader must not see, `{w}` a shared word, `{t}` / `{u}` another
/// tenant / user.
const QUERY_SHAPES: &[&str] = &[
    "{w} {f}",
    "\"{f}\" OR {w}",
    "* OR {f}",
    "NEAR({f} {w})",
    "tenant_id:{t} {f}",
    "user_id:{u} AND {f} OR {w}",
    "'; DROP TABLE events; -- {f}",
    "{f}* {w}% _",
    "{f}",
];

fn probe() -> impl Strategy<Value = Probe> {
    let purposes = [Purpose::Planner, Purpose::Tool, Purpose::Responder];
    (
        select(purposes.to_vec()),
        prop::collection::vec(any::<Index>(), 1..4),
        prop::collection::vec(0..VOCABULARY.len(), 1..3),
        0..QUERY_SHAPES.len(),
        any::<bool>(),
    )
        .prop_map(|(purpose, foreign, words, syntax, cues)| Probe { purpose, foreign, words, syntax, cues })
}

fn world() -> impl Strategy<Value = World> {
    (
        (
            prop::collection::vec(spelling(), 2..=3),
            prop::collection::vec(spelling(), 2..=3),
            prop::collection::vec(spelling(), 2..=2),
            prop::collection::vec(spelling(), 1..=2),
            prop::collection::vec(spelling(), 1..=2),
        ),
        prop::collection::vec(plan(), 8..32),
        prop::collection::vec(any::<Index>(), 0..4),
        prop::collection::vec(any::<Index>(), 0..3),
        prop::collection::vec(probe(), 4..8),
    )
        .prop_map(|((tenants, users, agents, sessions, runs), records, working_states, short_terms, probes)| {
            World { tenants, users, agents, sessions, runs, records, working_states, short_terms, probes }
        })
}

/// A record as written, with what decides who may read it.
#[derive(Debug, Clone)]
struct Written {
    kind: RecordKind,
    scope: Scope,
    level: ScopeLevel,
    id: String,
    secret: String,
    key: Option<String>,
    active: bool,
    validation: ValidationState,
    minute: i64,
}

fn same_owner(left: &Scope, right: &Scope) -> bool {
    left.tenant_id == right.tenant_id && left.user_id == right.user_id && left.agent_id == right.agent_id
}

fn same_session(left: &Scope, right: &Scope) -> bool {
    same_owner(left, right) && left.session_id == right.session_id
}

fn same_run(left: &Scope, right: &Scope) -> bool {
    same_session(left, right) && left.run_id == right.run_id
}

/// Which records a read may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// The reader's run: same tenant, user, agent, session and run.
    Run,
    /// The reader's session.
    Session,
    /// The reader's user and agent, any session.
    Owner,
    /// Facts, episodes, procedures: own, the agent's shared ones, the tenant's shared ones.
    Shared,
    /// An insight's memory space (`record::run_space_key`): the owner's run of that name in any
    /// session. Only the low-level `fetch` with `Reach::Space` and `postings` read it.
    RunSpace,
}

impl Written {
    fn visible(&self, reader: &Scope, reads: Reads) -> bool {
        match reads {
            Reads::Run => same_run(&self.scope, reader),
            Reads::Session => same_session(&self.scope, reader),
            Reads::Owner => same_owner(&self.scope, reader),
            Reads::RunSpace => same_owner(&self.scope, reader) && self.scope.run_id == reader.run_id,
            Reads::Shared => {
                self.scope.tenant_id == reader.tenant_id
                    && match self.level {
                        ScopeLevel::User => same_owner(&self.scope, reader),
                        ScopeLevel::Agent => self.scope.agent_id == reader.agent_id,
                        ScopeLevel::Tenant => true,
                    }
            }
        }
    }

    /// What a packet of the reader may hold: events of its user and agent (the window and
    /// recall), insights of its run, facts, episodes and procedures it shares.
    fn in_packets_of(&self, reader: &Scope) -> bool {
        match self.kind {
            RecordKind::Event => self.visible(reader, Reads::Owner),
            RecordKind::Insight => self.visible(reader, Reads::Run),
            _ => self.visible(reader, Reads::Shared),
        }
    }

    /// The memory space a `fetch` with `Reach::Space` and `postings` read.
    fn in_space_of(&self, reader: &Scope) -> bool {
        match self.kind {
            RecordKind::Event => self.visible(reader, Reads::Owner),
            RecordKind::Insight => self.visible(reader, Reads::RunSpace),
            _ => self.visible(reader, Reads::Shared),
        }
    }

    fn key(&self) -> (String, String) {
        (self.scope.tenant_id.clone(), self.id.clone())
    }
}

/// What one case wrote: the scopes, the records, the states, every secret.
#[derive(Debug)]
struct Model {
    scopes: Vec<Scope>,
    tenants: Vec<String>,
    users: Vec<String>,
    records: Vec<Written>,
    /// Run (as a scope) -> the goal written.
    working_states: Vec<(Scope, String)>,
    /// Session (as a scope) -> the rolling summary written.
    short_terms: Vec<(Scope, String)>,
}

impl Model {
    fn working_state(&self, reader: &Scope) -> Option<&String> {
        self.working_states.iter().find(|(owner, _)| same_run(owner, reader)).map(|(_, goal)| goal)
    }

    fn short_term(&self, reader: &Scope) -> Option<&String> {
        self.short_terms.iter().find(|(owner, _)| same_session(owner, reader)).map(|(_, summary)| summary)
    }

    /// Secrets a packet of the reader may contain.
    fn visible_secrets(&self, reader: &Scope) -> BTreeSet<String> {
        let records = self.records.iter().filter(|record| record.in_packets_of(reader)).map(|record| &record.secret);
        let states = self.working_state(reader).into_iter().chain(self.short_term(reader));
        records.cloned().chain(states.map(|text| secret_of(text))).collect()
    }

    fn all_secrets(&self) -> impl Iterator<Item = String> + '_ {
        let states = self.working_states.iter().chain(&self.short_terms).map(|(_, text)| secret_of(text));
        self.records.iter().map(|record| record.secret.clone()).chain(states)
    }
}

/// States are written as `goal zq..k` / `summary zq..k`: the secret is the last word.
fn secret_of(text: &str) -> String {
    text.rsplit(' ').next().unwrap_or_default().to_string()
}

fn write_world(store: &dyn Store, case: u32, world: &World) -> Result<Model, String> {
    let tenants = names(&format!("iso{case}-t"), &world.tenants);
    let users = names("u", &world.users);
    let agents = names("a", &world.agents);
    let sessions = names("s", &world.sessions);
    let runs = names("r", &world.runs);
    let mut scopes = Vec::new();
    for tenant in &tenants {
        for user in &users {
            for agent in &agents {
                for session in &sessions {
                    for run in &runs {
                        scopes.push(Scope {
                            tenant_id: tenant.clone(),
                            user_id: user.clone(),
                            agent_id: agent.clone(),
                            session_id: session.clone(),
                            run_id: run.clone(),
                        });
                    }
                }
            }
        }
    }
    let mut records: Vec<Written> = Vec::new();
    // Ids count per tenant, so different tenants reuse the same ids.
    let mut per_tenant: BTreeMap<String, usize> = BTreeMap::new();
    for (index, plan) in world.records.iter().enumerate() {
        let scope = plan.owner.get(&scopes).clone();
        let number = per_tenant.entry(scope.tenant_id.clone()).or_insert(0);
        *number += 1;
        let secret = format!("zq{case}x{index}k");
        let words: Vec<&str> = plan.words.iter().map(|word| VOCABULARY[*word]).collect();
        let text = format!("{} {secret}", words.join(" "));
        let tags = vec![words[0].to_string(), secret.clone()];
        let minute = i64::try_from(index).unwrap_or(0);
        let at = base_time() + minutes(minute);
        let level =
            if matches!(plan.kind, RecordKind::Event | RecordKind::Insight) { ScopeLevel::User } else { plan.level };
        let mut written = Written {
            kind: plan.kind,
            scope: scope.clone(),
            level,
            id: format!("c{case}-{}{number}", &plan.kind.as_str()[..2]),
            secret,
            key: None,
            active: true,
            validation: plan.validation,
            minute,
        };
        let id = Some(written.id.clone());
        let outcome = match plan.kind {
            RecordKind::Event => {
                let mut event = message(&scope, &written.id, minute, "user", &text);
                event.tags = tags;
                store.append_event(event).map(drop)
            }
            RecordKind::Fact => {
                let key = FACT_KEYS[plan.key].to_string();
                let mut fact = FactInput::new(scope.clone(), key.clone(), json!(text));
                fact.fact_id = id;
                fact.recorded_at = Some(at);
                fact.scope_level = level;
                fact.tags = tags;
                // The new value supersedes the active fact of the same key in the same space.
                for older in records.iter_mut().filter(|older| {
                    older.kind == RecordKind::Fact
                        && older.active
                        && older.key.as_deref() == Some(key.as_str())
                        && older.level == level
                        && older.visible(&scope, Reads::Shared)
                        && written.visible(&older.scope, Reads::Shared)
                }) {
                    older.active = false;
                }
                written.key = Some(key);
                store.upsert_fact(fact).map(drop)
            }
            RecordKind::Episode => store
                .append_episode(EpisodeInput {
                    scope: scope.clone(),
                    episode_id: id,
                    start_ts: at,
                    end_ts: at,
                    summary: text,
                    highlights: vec![],
                    tags,
                    entities: vec![],
                    sources: vec![],
                    compression_level: CompressionLevel::Raw,
                    importance: None,
                    scope_level: level,
                    expires_at: None,
                    embedding: None,
                })
                .map(drop),
            RecordKind::Procedure => store
                .upsert_procedure(ProcedureInput {
                    scope: scope.clone(),
                    procedure_id: id,
                    task_type: "chores".into(),
                    title: text,
                    steps: vec![words[0].to_string()],
                    content: None,
                    priority: None,
                    applicability: None,
                    tags,
                    entities: vec![],
                    scope_level: level,
                    updated_at: Some(at),
                    expires_at: None,
                    embedding: None,
                })
                .map(drop),
            _ => store
                .append_insight(InsightInput {
                    scope: scope.clone(),
                    insight_id: id,
                    kind: Default::default(),
                    text,
                    confidence: None,
                    validation: plan.validation,
                    tags,
                    entities: vec![],
                    sources: vec![],
                    created_at: Some(at),
                    expires_at: None,
                })
                .map(drop),
        };
        outcome
            .map_err(|error| format!("writing {} {} of {scope:?} failed: {error}", plan.kind.as_str(), written.id))?;
        records.push(written);
    }
    let mut working_states: Vec<(Scope, String)> = Vec::new();
    for (index, at) in world.working_states.iter().enumerate() {
        let scope = at.get(&scopes).clone();
        if working_states.iter().any(|(owner, _)| same_run(owner, &scope)) {
            continue;
        }
        let goal = format!("goal zq{case}w{index}k");
        let mut patch = WorkingStatePatch::new(scope.clone());
        patch.goal = Some(goal.clone());
        patch.updated_at = Some(base_time());
        store.patch_working_state(patch).map_err(|error| format!("patching {scope:?} failed: {error}"))?;
        working_states.push((scope, goal));
    }
    let mut short_terms: Vec<(Scope, String)> = Vec::new();
    for (index, at) in world.short_terms.iter().enumerate() {
        let scope = at.get(&scopes).clone();
        if short_terms.iter().any(|(owner, _)| same_session(owner, &scope)) {
            continue;
        }
        let summary = format!("summary zq{case}s{index}k");
        let mut update = ShortTermUpdate::new(scope.clone());
        update.rolling_summary = Some(summary.clone());
        update.key_quotes = Some(vec![format!("quote {}", secret_of(&summary))]);
        update.updated_at = Some(base_time());
        store.update_short_term(update).map_err(|error| format!("updating {scope:?} failed: {error}"))?;
        short_terms.push((scope, summary));
    }
    Ok(Model { scopes, tenants, users, records, working_states, short_terms })
}

/// Compares what a read returned with what it should: exactly (`exact`) or as a subset.
struct Checker<'a> {
    reader: &'a Scope,
    violations: Vec<String>,
}

impl Checker<'_> {
    fn compare(&mut self, what: &str, expected: BTreeSet<(String, String)>, got: Vec<(String, String)>, exact: bool) {
        let returned: BTreeSet<(String, String)> = got.iter().cloned().collect();
        if returned.len() != got.len() {
            self.violations.push(format!("{what} for {:?}: duplicates in {got:?}", self.reader));
        }
        let leaked: Vec<_> = returned.difference(&expected).collect();
        if !leaked.is_empty() {
            self.violations.push(format!("LEAK {what} for {:?}: returned {leaked:?}", self.reader));
        }
        let missing: Vec<_> = expected.difference(&returned).collect();
        if exact && !missing.is_empty() {
            self.violations.push(format!("{what} for {:?}: missing {missing:?}", self.reader));
        }
    }

    fn check(&mut self, what: &str, holds: bool, detail: impl FnOnce() -> String) {
        if !holds {
            self.violations.push(format!("{what} for {:?}: {}", self.reader, detail()));
        }
    }
}

fn keys<T>(items: &[T], key: impl Fn(&T) -> (String, String)) -> Vec<(String, String)> {
    items.iter().map(key).collect()
}

fn record_key(record: &Record) -> (String, String) {
    (record.scope().tenant_id.clone(), record.id().to_string())
}

fn expected(model: &Model, kind: RecordKind, keep: impl Fn(&Written) -> bool) -> BTreeSet<(String, String)> {
    model.records.iter().filter(|record| record.kind == kind && keep(record)).map(Written::key).collect()
}

/// Every stored record of the case, with its sequence, read back by tenant.
fn stored(store: &dyn Store, model: &Model) -> BTreeMap<(RecordKind, String, String), Fetched> {
    let mut stored = BTreeMap::new();
    for tenant in &model.tenants {
        for kind in RecordKind::ALL {
            let mut scan = ScanRequest::new(kind, 1000);
            scan.tenant_id = Some(tenant.clone());
            for fetched in store.scan(&scan).unwrap() {
                let (tenant_id, id) = record_key(&fetched.record);
                stored.insert((kind, tenant_id, id), fetched);
            }
        }
    }
    stored
}

fn check_lists(store: &dyn Store, model: &Model, checker: &mut Checker<'_>) {
    let reader = checker.reader.clone();
    let mut run = EventQuery::new(reader.clone());
    run.limit = 1000;
    let events = store.list_events(&run).unwrap();
    let wanted = expected(model, RecordKind::Event, |record| record.visible(&reader, Reads::Run));
    checker.compare(
        "list_events",
        wanted,
        keys(&events, |event| (event.scope.tenant_id.clone(), event.event_id.clone())),
        true,
    );
    run.session_wide = true;
    let events = store.list_events(&run).unwrap();
    let wanted = expected(model, RecordKind::Event, |record| record.visible(&reader, Reads::Session));
    let got = keys(&events, |event| (event.scope.tenant_id.clone(), event.event_id.clone()));
    checker.compare("list_events(session_wide)", wanted, got, true);

    let mut list = ListQuery::new(reader.clone());
    list.limit = 1000;
    for include_inactive in [false, true] {
        list.include_inactive = include_inactive;
        let facts = store.list_facts(&list).unwrap();
        let wanted = expected(model, RecordKind::Fact, |record| {
            record.visible(&reader, Reads::Shared) && (include_inactive || record.active)
        });
        let got = keys(&facts, |fact| (fact.scope.tenant_id.clone(), fact.fact_id.clone()));
        checker.compare(&format!("list_facts(include_inactive={include_inactive})"), wanted, got, true);
        let insights = store.list_insights(&list).unwrap();
        let wanted = expected(model, RecordKind::Insight, |record| {
            record.visible(&reader, Reads::Run) && (include_inactive || record.validation != ValidationState::Rejected)
        });
        let got = keys(&insights, |insight| (insight.scope.tenant_id.clone(), insight.insight_id.clone()));
        checker.compare(&format!("list_insights(include_inactive={include_inactive})"), wanted, got, true);
    }
    for key in FACT_KEYS {
        let history = store.fact_history(&reader, key).unwrap();
        let wanted = expected(model, RecordKind::Fact, |record| {
            record.key.as_deref() == Some(*key) && record.visible(&reader, Reads::Shared)
        });
        let got = keys(&history, |fact| (fact.scope.tenant_id.clone(), fact.fact_id.clone()));
        checker.compare(&format!("fact_history({key})"), wanted, got, true);
    }
    let episodes = store.list_episodes(&list).unwrap();
    let wanted = expected(model, RecordKind::Episode, |record| record.visible(&reader, Reads::Shared));
    let got = keys(&episodes, |episode| (episode.scope.tenant_id.clone(), episode.episode_id.clone()));
    checker.compare("list_episodes", wanted, got, true);
    let procedures = store.list_procedures(&list).unwrap();
    let wanted = expected(model, RecordKind::Procedure, |record| record.visible(&reader, Reads::Shared));
    let got = keys(&procedures, |procedure| (procedure.scope.tenant_id.clone(), procedure.procedure_id.clone()));
    checker.compare("list_procedures", wanted, got, true);

    let working = store.get_working_state(&reader).unwrap();
    let goal = model.working_state(&reader);
    checker.check(
        "get_working_state",
        working.goal.as_ref() == goal && working.version == u64::from(goal.is_some()),
        || format!("{working:?}, expected goal {goal:?}"),
    );
    let short_term = store.get_short_term(&reader).unwrap();
    let summary = model.short_term(&reader);
    checker.check("get_stm", short_term.rolling_summary.as_ref() == summary, || {
        format!("{short_term:?}, expected summary {summary:?}")
    });

    let mut stats = store.stats(&reader).unwrap();
    stats.database_bytes = None;
    let mut wanted = Stats { working_state_version: u64::from(goal.is_some()), ..Stats::default() };
    for record in &model.records {
        match record.kind {
            RecordKind::Event if record.visible(&reader, Reads::Owner) => {
                wanted.events += 1;
                let at = base_time() + minutes(record.minute);
                wanted.oldest_event = Some(wanted.oldest_event.map_or(at, |oldest| oldest.min(at)));
                wanted.newest_event = Some(wanted.newest_event.map_or(at, |newest| newest.max(at)));
            }
            RecordKind::Fact if record.visible(&reader, Reads::Shared) => {
                let status = if record.active { "active" } else { "superseded" };
                wanted.add(RecordKind::Fact, status.into(), 1);
            }
            RecordKind::Episode if record.visible(&reader, Reads::Shared) => {
                wanted.add(RecordKind::Episode, "raw".into(), 1);
            }
            RecordKind::Procedure if record.visible(&reader, Reads::Shared) => {
                wanted.add(RecordKind::Procedure, String::new(), 1);
            }
            RecordKind::Insight if record.visible(&reader, Reads::Run) => {
                wanted.add(RecordKind::Insight, record.validation.as_str().into(), 1);
            }
            _ => {}
        }
    }
    checker.check("stats", stats == wanted, || format!("{stats:?}, expected {wanted:?}"));
}

/// `fetch` by every sequence of the case (all tenants), by importance, and `postings` of every
/// word and secret: only the reader's reach comes back, exactly.
fn check_index(
    store: &dyn Store,
    model: &Model,
    stored: &BTreeMap<(RecordKind, String, String), Fetched>,
    checker: &mut Checker<'_>,
) {
    let reader = checker.reader.clone();
    let fetches: [(RecordKind, Reach, Reads); 8] = [
        (RecordKind::Event, Reach::Run, Reads::Run),
        (RecordKind::Event, Reach::Session, Reads::Session),
        (RecordKind::Event, Reach::Space, Reads::Owner),
        (RecordKind::Insight, Reach::Run, Reads::Run),
        (RecordKind::Insight, Reach::Space, Reads::RunSpace),
        (RecordKind::Fact, Reach::Space, Reads::Shared),
        (RecordKind::Episode, Reach::Space, Reads::Shared),
        (RecordKind::Procedure, Reach::Space, Reads::Shared),
    ];
    for (kind, reach, reads) in fetches {
        let sequences: Vec<i64> =
            stored.iter().filter(|((of, _, _), _)| *of == kind).map(|(_, fetched)| fetched.sequence).collect();
        let mut request = FetchRequest::new(kind, reader.clone(), reach, Selector::Sequences(sequences), 10_000);
        request.active_only = false;
        let found = store.fetch(&request).unwrap();
        let wanted = expected(model, kind, |record| record.visible(&reader, reads));
        let got = found.iter().map(|fetched| record_key(&fetched.record)).collect();
        checker.compare(&format!("fetch({kind:?}, {reach:?}, every sequence)"), wanted.clone(), got, true);
        if kind != RecordKind::Event {
            request.selector = Selector::MostImportant;
            let found = store.fetch(&request).unwrap();
            let got = found.iter().map(|fetched| record_key(&fetched.record)).collect();
            checker.compare(&format!("fetch({kind:?}, {reach:?}, most important)"), wanted, got, true);
        }
    }

    let mut terms: BTreeSet<String> = VOCABULARY.iter().flat_map(|word| analyze(word)).collect();
    for secret in model.all_secrets() {
        terms.extend(analyze(&secret));
        terms.insert(cue_term('#', &secret));
    }
    terms.extend(VOCABULARY.iter().map(|word| cue_term('#', word)));
    for kind in RecordKind::ALL {
        let request = PostingsRequest {
            kind,
            tenant_id: reader.tenant_id.clone(),
            spaces: visible_spaces(&reader, kind),
            terms: terms.iter().cloned().collect(),
            per_term: 100_000,
        };
        let postings = store.postings(&request).unwrap();
        let visible: BTreeSet<(String, String)> = expected(model, kind, |record| record.in_space_of(&reader));
        // The index holds what a read may find: superseded facts leave it.
        let indexed: Vec<(&Fetched, DocumentTerms)> = stored
            .iter()
            .filter(|((of, tenant_id, id), fetched)| {
                *of == kind && visible.contains(&(tenant_id.clone(), id.clone())) && is_indexed(&fetched.record)
            })
            .map(|(_, fetched)| (fetched, document_terms(&fetched.record)))
            .collect();
        let documents = u64::try_from(indexed.len()).unwrap_or(0);
        let length: u64 = indexed.iter().map(|(_, terms)| u64::from(terms.length)).sum();
        checker.check(
            &format!("postings({kind:?}) totals"),
            (postings.document_count, postings.total_length) == (documents, length),
            || {
                format!(
                    "{} documents of length {}, expected {documents} of {length}",
                    postings.document_count, postings.total_length
                )
            },
        );
        for term in &terms {
            let mut wanted: Vec<i64> = indexed
                .iter()
                .filter(|(_, terms)| terms.frequency(term) > 0)
                .map(|(fetched, _)| fetched.sequence)
                .collect();
            wanted.sort_unstable();
            let found = postings.terms.get(term).cloned().unwrap_or_default();
            let mut got = found.sequences.clone();
            got.sort_unstable();
            let leaked: Vec<&i64> = got.iter().filter(|sequence| !wanted.contains(sequence)).collect();
            checker.check(&format!("postings({kind:?}, {term})"), leaked.is_empty(), || {
                format!("LEAK of sequences {leaked:?} (visible: {wanted:?})")
            });
            checker.check(
                &format!("postings({kind:?}, {term})"),
                got == wanted && found.document_frequency == u64::try_from(wanted.len()).unwrap_or(0),
                || format!("df {} sequences {got:?}, expected {wanted:?}", found.document_frequency),
            );
        }
    }
}

/// A packet built with other scopes' secrets, shared words and query syntax as its query: every
/// item, citation, selected and omitted id is the reader's to see, and no secret it may not
/// see is anywhere in it (the echo of its own query terms aside).
fn check_packet(store: &dyn Store, model: &Model, probe: &Probe, checker: &mut Checker<'_>) {
    let reader = checker.reader.clone();
    let visible = model.visible_secrets(&reader);
    let foreign: Vec<String> = model.all_secrets().filter(|secret| !visible.contains(secret)).collect();
    let pick = |index: usize| {
        probe.foreign.get(index).filter(|_| !foreign.is_empty()).map_or_else(String::new, |at| at.get(&foreign).clone())
    };
    let other_tenant = model.tenants.iter().find(|tenant| **tenant != reader.tenant_id).cloned().unwrap_or_default();
    let other_user = model.users.iter().find(|user| **user != reader.user_id).cloned().unwrap_or_default();
    let words: Vec<&str> = probe.words.iter().map(|word| VOCABULARY[*word]).collect();
    let query = QUERY_SHAPES[probe.syntax]
        .replace("{f}", &format!("{} {}", pick(0), pick(1)))
        .replace("{w}", &words.join(" "))
        .replace("{t}", &other_tenant)
        .replace("{u}", &other_user);
    let mut request = BuildRequest::new(reader.clone(), probe.purpose)
        .with_now(base_time() + minutes(24 * 60))
        .with_query(query.clone());
    if probe.cues {
        request.cues.tags = vec![pick(2), words[0].to_string()].into_iter().filter(|tag| !tag.is_empty()).collect();
        request.cues.keywords = vec![pick(0)].into_iter().filter(|keyword| !keyword.is_empty()).collect();
    }
    let packet = build(store, request);

    let mut allowed: BTreeSet<&str> =
        model.records.iter().filter(|record| record.in_packets_of(&reader)).map(|record| record.id.as_str()).collect();
    // The states are items too, under fixed ids: only when the reader has them.
    if model.working_state(&reader).is_some() {
        allowed.insert("working_state");
    }
    if model.short_term(&reader).is_some() {
        allowed.extend(["rolling_summary", "key_quotes"]);
    }
    let items = packet
        .short_term
        .conversation_window
        .iter()
        .chain(&packet.long_term.facts)
        .chain(&packet.long_term.episodes)
        .chain(&packet.long_term.procedures)
        .chain(&packet.long_term.recall)
        .chain(&packet.insight)
        .map(|item| item.id.as_str());
    let explained = packet.explain.selected.iter().map(|item| item.id.as_str());
    let omitted = packet.explain.omitted.iter().map(|item| item.id.as_str());
    let cited = packet.citations.iter().map(|citation| citation.id.as_str());
    let strangers: BTreeSet<&str> =
        items.chain(explained).chain(omitted).chain(cited).filter(|id| !allowed.contains(id)).collect();
    checker.check("packet ids", strangers.is_empty(), || format!("LEAK of {strangers:?} (query {query:?})"));

    let mut echo = packet.clone();
    echo.explain.query_terms.clear();
    echo.explain.capped_terms.clear();
    let text = serde_json::to_string(&echo).unwrap_or_default();
    let leaked: Vec<&String> = foreign.iter().filter(|secret| text.contains(secret.as_str())).collect();
    checker.check("packet secrets", leaked.is_empty(), || {
        format!("LEAK of {leaked:?} (query {query:?}):\n{}", packet.rendered)
    });
    let goal = packet.short_term.working_state.as_ref().and_then(|state| state.goal.as_ref());
    checker.check("packet working state", goal == model.working_state(&reader), || format!("{goal:?}"));
    let summary = packet.short_term.rolling_summary.as_ref();
    checker.check("packet rolling summary", summary == model.short_term(&reader), || format!("{summary:?}"));
}

/// Random tenants, users, agents, sessions and runs (some spelt like each other), each writing
/// events, facts, episodes, procedures (shared at every level), insights and states with words
/// in common and a secret of their own. Every read API, from every scope, returns exactly what
/// that scope may see, and no packet holds a secret of a scope it may not see. Each case writes
/// to tenants of its own, so the store is shared across cases.
pub fn random_multi_tenant_reads_stay_in_scope(store: &dyn Store) {
    // MySQL compares with trailing spaces ignored, so no backend takes an id that ends in one.
    for padded in [scope("acme ", "u1", "s1", "r1"), scope("acme", "u1 ", "s1", "r1"), scope("acme", "u1", "s1", " r1")]
    {
        let error = store.append_event(message(&padded, "padded", 0, "user", "hello")).unwrap_err();
        assert_eq!(error.kind(), engram_store::ErrorKind::InvalidInput, "{padded:?}");
    }
    let config = Config {
        cases: 16,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x15_0a7e),
        // A failing case shrinks for at most 20 s: each try writes and reads a whole world.
        max_shrink_iters: 64,
        max_shrink_time: 20_000,
        ..Config::default()
    };
    let case = std::sync::atomic::AtomicU32::new(0);
    let outcome = TestRunner::new(config).run(&world(), |world| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let model = write_world(store, case, &world).map_err(TestCaseError::fail)?;
        let stored = stored(store, &model);
        let mut violations = Vec::new();
        for (index, reader) in model.scopes.iter().enumerate() {
            let mut checker = Checker { reader, violations: Vec::new() };
            check_lists(store, &model, &mut checker);
            check_index(store, &model, &stored, &mut checker);
            check_packet(store, &model, &world.probes[index % world.probes.len()], &mut checker);
            violations.extend(checker.violations);
        }
        if violations.is_empty() {
            return Ok(());
        }
        let shown: Vec<&String> = violations.iter().take(12).collect();
        Err(TestCaseError::fail(format!("{} violations, the first:\n{shown:#?}", violations.len())))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
