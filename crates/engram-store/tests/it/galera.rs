//! engram's MySQL backend on a three-node MariaDB Galera cluster started by the test: causal
//! reads across nodes, certification failures, a node outside the primary component, and a
//! node killed and brought back while writers go through every node. Skipped when Galera is
//! not installed, unless `ENGRAM_REQUIRE_SERVERS=1`, where that fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use engram_store::{Error, ErrorKind, MySqlStore, Store, StoreExt};
use engram_types::{BuildRequest, EventQuery, FactInput, FactWriteOutcome, ListQuery, Purpose};
use serde_json::json;

use crate::galera_cluster::{Cluster, Tools};
use crate::servers::servers_required;
use crate::support::{build, comparable, default_scope, long_tests, message};

const NODES: usize = 3;

#[test]
fn engram_on_a_galera_cluster_reads_causally_and_loses_no_acknowledged_write_when_a_node_dies() {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(missing) if !servers_required() => return eprintln!("skipped: Galera needs {missing}"),
        Err(missing) => panic!("ENGRAM_REQUIRE_SERVERS=1 but Galera needs {missing}"),
    };
    let started = Instant::now();
    let mut cluster = Cluster::start(tools, NODES);
    eprintln!("galera: {NODES} nodes up in {:.1} s", started.elapsed().as_secs_f64());
    a_write_acknowledged_through_one_node_is_read_through_every_other(&cluster);
    concurrent_writes_through_two_nodes_are_certified_and_retried_inside_engram(&cluster);
    a_node_outside_the_primary_component_is_unavailable_until_it_rejoins(&cluster);
    writes_through_every_node_survive_a_killed_node(&mut cluster);
}

fn open(cluster: &Cluster, node: usize, database: &str) -> engram_store::Result<MySqlStore> {
    MySqlStore::new(&cluster.dsn(node, database))
}

/// Reads wait for every write the cluster committed before them (`wsrep_sync_wait`): a write
/// acknowledged through one node is seen by the next read through any other. Without that, the
/// other node has often not applied it yet. (Two active facts of a key cannot come of it: the
/// unique index over active facts is certified across nodes.)
fn a_write_acknowledged_through_one_node_is_read_through_every_other(cluster: &Cluster) {
    let stores: Vec<MySqlStore> = (0..NODES).map(|node| open(cluster, node, "engram_causal").unwrap()).collect();
    let rounds = 150;
    for round in 0..rounds {
        let (writer, reader) = (round % NODES, (round + 1) % NODES);
        let key = format!("key{}", round % 10);
        let written = stores[writer].upsert_fact(FactInput::new(default_scope(), key.clone(), json!(round))).unwrap();
        let history = stores[reader].fact_history(&default_scope(), &key).unwrap();
        assert!(
            history.iter().any(|fact| fact.fact_id == written.fact.fact_id),
            "round {round}: node {reader} does not see the fact node {writer} acknowledged"
        );
        let event = message(&default_scope(), &format!("e{round}"), round as i64, "user", "causal");
        stores[writer].append_event(event).unwrap();
        let window = stores[reader].conversation_window(&default_scope(), 1).unwrap();
        assert_eq!(window.first().map(|event| event.event_id.clone()), Some(format!("e{round}")), "round {round}");
    }
    for store in &stores {
        let active = store.list_facts(&ListQuery::new(default_scope())).unwrap();
        assert_eq!(active.len(), 10, "one active fact per key");
        assert!(active.iter().all(|fact| fact.value.as_i64().unwrap() >= (rounds - 10) as i64), "{active:?}");
    }
}

/// Galera certifies conflicting transactions of two nodes at commit and aborts one of them
/// (MySQL error 1213, SQLSTATE 40001). Nothing of it was stored, so engram runs it again: an
/// upsert then supersedes the winner's fact, an append (its postings rows were the conflict)
/// goes in after the winner's. The caller sees neither.
fn concurrent_writes_through_two_nodes_are_certified_and_retried_inside_engram(cluster: &Cluster) {
    let stores: Vec<MySqlStore> = (0..2).map(|node| open(cluster, node, "engram_certification").unwrap()).collect();
    let certification_failures = || -> u64 {
        (0..NODES).map(|node| cluster.status(node, "wsrep_local_cert_failures").unwrap().parse::<u64>().unwrap()).sum()
    };
    let before = certification_failures();
    // Ten times as many in `make test-long`.
    let rounds = if long_tests() { 600 } else { 60 };
    let (barrier, acknowledged) = (Barrier::new(2), Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for (writer, store) in stores.iter().enumerate() {
            let (barrier, acknowledged) = (&barrier, &acknowledged);
            scope.spawn(move || {
                for round in 0..rounds {
                    let key = format!("key{}", round % 10);
                    barrier.wait();
                    let value = json!(format!("{writer}-{round}"));
                    let written = store.upsert_fact(FactInput::new(default_scope(), key.clone(), value)).unwrap();
                    acknowledged.lock().unwrap().push((key, written));
                    let event = message(&default_scope(), &format!("w{writer}-{round}"), round, "user", "same scope");
                    barrier.wait();
                    store.append_event(event).unwrap();
                }
            });
        }
    });
    let failures = certification_failures() - before;
    eprintln!("galera certification: {failures} certification failures in {rounds} rounds, all retried inside engram");
    assert!(failures > 0, "the two nodes never certified conflicting writes");
    for node in 0..NODES {
        let store = open(cluster, node, "engram_certification").unwrap();
        let active = store.list_facts(&ListQuery::new(default_scope())).unwrap();
        assert_eq!(active.len(), 10, "node {node}: one active fact per key: {active:?}");
        for key in (0..10).map(|key| format!("key{key}")) {
            let history = store.fact_history(&default_scope(), &key).unwrap();
            let versions: Vec<String> =
                history.iter().map(|fact| format!("{} {:?}", fact.value, fact.status)).collect();
            // Each value is written once: an upsert that refreshed would mean an attempt the
            // database reported as failed had been stored after all.
            for (_, written) in acknowledged.lock().unwrap().iter().filter(|(written_key, _)| *written_key == key) {
                assert_ne!(written.outcome, FactWriteOutcome::Refreshed, "{} was stored twice", written.fact.value);
                assert!(
                    history.iter().any(|fact| fact.fact_id == written.fact.fact_id),
                    "node {node}: the acknowledged {:?} of {} is not a version of {key}: {versions:?}",
                    written.outcome,
                    written.fact.value,
                );
            }
            assert_eq!(
                history.len(),
                2 * rounds as usize / 10,
                "node {node}: every upsert is a version of {key}: {versions:?}"
            );
        }
        let mut query = EventQuery::new(default_scope());
        query.limit = 2 * rounds as u32;
        assert_eq!(store.list_events(&query).unwrap().len(), 2 * rounds as usize, "node {node}");
    }
}

/// A certification failure as engram reports it.
fn is_lost_certification(error: &Error) -> bool {
    matches!(error, Error::Conflict { entity: "transaction", .. })
}

/// A node cut off from the others answers "WSREP has not yet prepared node for application use"
/// (1047, SQLSTATE 08S01): `Unavailable`, and the same store works again once it is back.
fn a_node_outside_the_primary_component_is_unavailable_until_it_rejoins(cluster: &Cluster) {
    let node = NODES - 1;
    let store = open(cluster, node, "engram_partition").unwrap();
    let event = |id: &str| message(&default_scope(), id, 0, "user", "partitioned");
    store.append_event(event("before")).unwrap();
    cluster.sql(node, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.status(node, "wsrep_cluster_status").as_deref() == Some("Primary") {
        assert!(Instant::now() < deadline, "node {node} never left the primary component");
        std::thread::sleep(Duration::from_millis(100));
    }
    let written = store.append_event(event("during"));
    let read = store.list_events(&EventQuery::new(default_scope()));
    cluster.sql(node, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'").unwrap();
    let error = written.expect_err("a write on a non-primary node");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    let error = read.expect_err("a read on a non-primary node");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.status(node, "wsrep_ready").as_deref() != Some("ON") {
        assert!(Instant::now() < deadline, "node {node} never rejoined");
        std::thread::sleep(Duration::from_millis(100));
    }
    store.append_event(event("after")).unwrap();
    let ids: BTreeSet<String> =
        store.list_events(&EventQuery::new(default_scope())).unwrap().into_iter().map(|event| event.event_id).collect();
    assert_eq!(ids, BTreeSet::from(["after".to_string(), "before".to_string()]));
}

/// What the writers of the failover run saw and had acknowledged.
#[derive(Default)]
struct Outcome {
    events: Vec<String>,
    /// (fact key, fact id) of every acknowledged upsert.
    facts: Vec<(String, String)>,
    failures: BTreeMap<String, u32>,
    /// The first message of each kind of failure on a node that was not killed.
    survivor_details: BTreeMap<String, String>,
    /// Writes acknowledged per node.
    through: [u32; NODES],
    /// When the killed node acknowledged its first write after the restart.
    back_at: Option<Instant>,
}

const WRITERS: usize = 6;
const FACT_KEYS: usize = 8;

/// Six writers append events (their own ids) and upsert facts through all three nodes at once;
/// one node is SIGKILLed mid-load and restarted. A writer whose node is down goes on through the
/// next one. Afterwards every node holds every acknowledged write, one active fact per key, and
/// builds the same packet.
fn writes_through_every_node_survive_a_killed_node(cluster: &mut Cluster) {
    let database = "engram_failover";
    drop(open(cluster, 0, database).unwrap()); // creates the database and its tables once
    let victim = NODES - 1;
    let (stop, outcome, killed) = (AtomicBool::new(false), Mutex::new(Outcome::default()), AtomicBool::new(false));
    let dsns: Vec<String> = (0..NODES).map(|node| cluster.dsn(node, database)).collect();
    let mut timeline = (Duration::ZERO, Duration::ZERO, Instant::now(), "");
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (stop, outcome, killed, dsns) = (&stop, &outcome, &killed, &dsns);
            scope.spawn(move || write_until_stopped(writer, dsns, stop, killed, outcome));
        }
        std::thread::sleep(Duration::from_secs(4));
        cluster.kill(victim);
        killed.store(true, Ordering::SeqCst);
        let killed_at = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let restarted_at = Instant::now();
        let transfer = cluster.restart(victim);
        timeline = (restarted_at - killed_at, restarted_at.elapsed(), restarted_at, transfer);
        let deadline = Instant::now() + Duration::from_secs(60);
        while outcome.lock().unwrap().back_at.is_none() {
            assert!(Instant::now() < deadline, "no write went through the restarted node");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::SeqCst);
    });
    let outcome = outcome.into_inner().unwrap();
    let (down, rejoin, restarted_at, transfer) = timeline;
    let back = outcome.back_at.map(|at| at - restarted_at).unwrap_or_default();
    let lost = check_every_node_holds(cluster, database, &outcome);
    eprintln!(
        "galera failover: {} events and {} upserts acknowledged (through nodes {:?}); failures seen {:?}; \
         node {victim} killed, down {:.1} s, rejoined ({transfer}) in {:.1} s after its restart, first write through it \
         {:.1} s after the restart; lost = {lost}",
        outcome.events.len(),
        outcome.facts.len(),
        outcome.through,
        outcome.failures,
        down.as_secs_f64(),
        rejoin.as_secs_f64(),
        back.as_secs_f64(),
    );
    for (node, detail) in &outcome.survivor_details {
        eprintln!("galera failover: {node} was unavailable too, first: {detail}");
    }
    assert_eq!(lost, 0);
    assert!(
        outcome.failures.keys().any(|kind| kind.starts_with("unavailable")),
        "no writer saw the node die: {:?}",
        outcome.failures
    );
}

/// One writer: events `w{writer}-{index}` and upserts of the shared keys, through its own node
/// first and the next ones while that is down.
fn write_until_stopped(
    writer: usize,
    dsns: &[String],
    stop: &AtomicBool,
    killed: &AtomicBool,
    outcome: &Mutex<Outcome>,
) {
    let home = writer % NODES;
    let mut stores: Vec<Option<MySqlStore>> = (0..NODES).map(|_| None).collect();
    let mut down_until = [Instant::now(); NODES];
    let mut index = 0_i64;
    while !stop.load(Ordering::SeqCst) {
        let event_id = format!("w{writer}-{index}");
        let key = format!("key{}", index as usize % FACT_KEYS);
        // Until acknowledged (or known stored by an attempt whose answer was lost).
        let mut uncertain = false;
        loop {
            let node = (0..NODES).map(|step| (home + step) % NODES).find(|&node| down_until[node] <= Instant::now());
            let Some(node) = node else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let store = match &stores[node] {
                Some(store) => Ok(store),
                None => MySqlStore::new(&dsns[node]).map(|store| &*stores[node].insert(store)),
            };
            let written = store.and_then(|store| {
                if index % 2 == 0 {
                    let event =
                        message(&default_scope(), &event_id, index, "user", &format!("writer {writer} says {index}"));
                    store.append_event(event).map(|event| (event.event_id, None))
                } else {
                    let fact = FactInput::new(default_scope(), key.clone(), json!(format!("w{writer}-{index}")));
                    store.upsert_fact(fact).map(|written| (written.fact.fact_id, Some(key.clone())))
                }
            });
            let mut outcome = outcome.lock().unwrap();
            match written {
                Ok((id, fact_key)) => {
                    match fact_key {
                        Some(fact_key) => outcome.facts.push((fact_key, id)),
                        None => outcome.events.push(id),
                    }
                    outcome.through[node] += 1;
                    if node == NODES - 1 && killed.load(Ordering::SeqCst) && outcome.back_at.is_none() {
                        outcome.back_at = Some(Instant::now());
                    }
                    break;
                }
                // An attempt that failed mid-commit stored the event after all: its id is taken.
                Err(Error::Conflict { entity: "event", .. }) if uncertain => {
                    *outcome.failures.entry("event stored by an unanswered attempt".into()).or_default() += 1;
                    outcome.events.push(event_id.clone());
                    break;
                }
                // Lost races (certification failures, a key another node took first) are run
                // again inside engram; only a long losing streak on a hot key gets here, and
                // running the write again is what the caller does with a ConflictError.
                Err(error @ Error::Conflict { entity: "transaction" | "record", .. }) => {
                    let kind = if is_lost_certification(&error) { "certification" } else { "key taken" };
                    let operation = if index % 2 == 0 { "append" } else { "upsert" };
                    *outcome.failures.entry(format!("conflict ({kind}, {operation})")).or_default() += 1;
                }
                Err(error) if error.kind() == ErrorKind::Unavailable => {
                    *outcome.failures.entry(format!("unavailable (node {node})")).or_default() += 1;
                    if node != NODES - 1 {
                        outcome.survivor_details.entry(format!("node {node}")).or_insert_with(|| error.to_string());
                    }
                    down_until[node] = Instant::now() + Duration::from_secs(1);
                    // A broken pool is dropped: the next attempt connects anew.
                    stores[node] = None;
                    uncertain = true;
                }
                Err(error) => panic!("writer {writer} through node {node}: {error}"),
            }
        }
        index += 1;
    }
}

/// The acknowledged writes missing from any node (0 expected), after checking that every node
/// has one active fact per key and builds the same packet.
fn check_every_node_holds(cluster: &Cluster, database: &str, outcome: &Outcome) -> usize {
    let now = chrono::Utc::now();
    let mut lost = 0;
    let mut packets = Vec::new();
    for node in 0..NODES {
        let store = open(cluster, node, database).unwrap();
        let mut query = EventQuery::new(default_scope());
        query.limit = 10_000;
        let stored: BTreeSet<String> =
            store.list_events(&query).unwrap().into_iter().map(|event| event.event_id).collect();
        assert!(stored.len() < 10_000, "more events than one list shows");
        lost += outcome.events.iter().filter(|id| !stored.contains(*id)).count();
        let active = store.list_facts(&ListQuery::new(default_scope())).unwrap();
        let keys: BTreeSet<&str> = active.iter().map(|fact| fact.fact_key.as_str()).collect();
        assert_eq!(keys.len(), active.len(), "node {node}: two active facts share a key: {active:?}");
        let mut versions = BTreeSet::new();
        for key in keys {
            versions.extend(store.fact_history(&default_scope(), key).unwrap().into_iter().map(|fact| fact.fact_id));
        }
        lost += outcome.facts.iter().filter(|(_, id)| !versions.contains(id)).count();
        let request = BuildRequest::new(default_scope(), Purpose::Responder).with_now(now);
        packets.push(comparable(&build(&store as &dyn Store, request)));
    }
    for (node, packet) in packets.iter().enumerate().skip(1) {
        assert!(packet == &packets[0], "node {node} builds another packet than node 0");
    }
    lost
}
