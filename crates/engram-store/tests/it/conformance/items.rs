//! Items: namespaced documents with a JSON value and an optional blob, read back by namespace
//! (or prefix), keys, key ranges and value filters; expired ones are gone for every read.

use engram_store::{ErrorKind, Items, Lifecycle, Store};
use engram_types::{ItemQuery, ItemWrite, OnConflict, SweepRequest};
use serde_json::{Value, json};

use crate::support::base_time;

fn namespace(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|label| (*label).to_string()).collect()
}

fn item(tenant: &str, labels: &[&str], key: &str, value: Value) -> ItemWrite {
    ItemWrite {
        tenant_id: tenant.into(),
        namespace: namespace(labels),
        key: key.into(),
        value,
        blob: None,
        expires_at: None,
    }
}

fn keys(store: &dyn Store, query: &ItemQuery) -> Vec<String> {
    store.list_items(query).unwrap().into_iter().map(|item| item.key).collect()
}

pub fn items_round_trip_values_blobs_and_conflicts(store: &dyn Store) {
    let every_byte: Vec<u8> = (0..=255).collect();
    let mut with_blob = item("t1", &["threads", "a"], "k1", json!({"step": 1, "nested": {"x": [1, 2]}}));
    with_blob.blob = Some(every_byte.clone());
    let mut empty_blob = item("t1", &["threads", "a"], "k2", json!(null));
    empty_blob.blob = Some(Vec::new());
    store.put_items(vec![with_blob, empty_blob], OnConflict::Replace).unwrap();
    let query = ItemQuery::new("t1", namespace(&["threads", "a"]), 10);
    let found = store.list_items(&query).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].key.as_str(), found[0].blob.as_deref()), ("k1", Some(every_byte.as_slice())));
    assert_eq!(found[0].value, json!({"step": 1, "nested": {"x": [1, 2]}}));
    assert_eq!(found[1].blob.as_deref(), Some(&[][..]), "an empty blob is not a missing one");
    assert_eq!(found[0].namespace, namespace(&["threads", "a"]));

    // Keep leaves a taken key alone; Replace overwrites it and keeps created_at.
    store.put_items(vec![item("t1", &["threads", "a"], "k1", json!("kept?"))], OnConflict::Keep).unwrap();
    assert_eq!(store.list_items(&query).unwrap()[0].value["step"], json!(1));
    store.put_items(vec![item("t1", &["threads", "a"], "k1", json!("replaced"))], OnConflict::Replace).unwrap();
    let replaced = &store.list_items(&query).unwrap()[0];
    assert_eq!((replaced.value.clone(), replaced.blob.clone()), (json!("replaced"), None));
    assert_eq!(replaced.created_at, found[0].created_at);
    assert!(replaced.updated_at >= found[0].updated_at);

    let mut without = query.clone();
    without.without_blobs = true;
    assert!(store.list_items(&without).unwrap().iter().all(|item| item.blob.is_none()));
    // Another tenant sees nothing of it.
    assert!(store.list_items(&ItemQuery::new("t2", namespace(&["threads", "a"]), 10)).unwrap().is_empty());

    let mut bad = item("t1", &["threads", "a\u{7f}b"], "k", json!(1));
    let error = store.put_items(vec![bad.clone()], OnConflict::Replace).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("items[0].namespace[1]"), "{error}");
    bad.namespace = Vec::new();
    assert_eq!(store.put_items(vec![bad], OnConflict::Replace).unwrap_err().kind(), ErrorKind::InvalidInput);
}

pub fn item_queries_select_by_prefix_keys_ranges_and_filters(store: &dyn Store) {
    let mut writes = Vec::new();
    for (labels, count) in [(&["a"][..], 3), (&["a", "b"][..], 3), (&["a", "b", "c"][..], 2), (&["ab"][..], 2)] {
        for index in 0..count {
            let value = json!({"index": index, "run": format!("r{}", index % 2), "name": format!("n{index}")});
            writes.push(item("t1", labels, &format!("k{index}"), value));
        }
    }
    store.put_items(writes, OnConflict::Replace).unwrap();

    let mut query = ItemQuery::new("t1", namespace(&["a"]), 100);
    assert_eq!(keys(store, &query), ["k0", "k1", "k2"], "exact namespace only");
    query.prefix = true;
    let under: Vec<(Vec<String>, String)> =
        store.list_items(&query).unwrap().into_iter().map(|item| (item.namespace, item.key)).collect();
    assert_eq!(under.len(), 8, "a, a/b, a/b/c but never ab: {under:?}");
    assert!(under.windows(2).all(|pair| pair[0] < pair[1]), "(namespace, key) order: {under:?}");
    query.descending = true;
    let reversed: Vec<(Vec<String>, String)> =
        store.list_items(&query).unwrap().into_iter().map(|item| (item.namespace, item.key)).collect();
    assert_eq!(reversed, under.iter().rev().cloned().collect::<Vec<_>>());

    let mut latest = ItemQuery::new("t1", namespace(&["a", "b"]), 1);
    latest.descending = true;
    assert_eq!(keys(store, &latest), ["k2"]);
    latest.before_key = Some("k2".into());
    assert_eq!(keys(store, &latest), ["k1"]);
    let mut after = ItemQuery::new("t1", namespace(&["a", "b"]), 10);
    after.after_key = Some("k0".into());
    assert_eq!(keys(store, &after), ["k1", "k2"]);
    let mut chosen = ItemQuery::new("t1", namespace(&["a", "b"]), 10);
    chosen.keys = vec!["k2".into(), "k0".into(), "missing".into()];
    assert_eq!(keys(store, &chosen), ["k0", "k2"]);

    let mut filtered = ItemQuery::new("t1", namespace(&["a"]), 100);
    filtered.prefix = true;
    filtered.filter.insert("run".into(), json!("r1"));
    assert_eq!(store.list_items(&filtered).unwrap().len(), 3, "k1 of a, a/b (ab is not under a; a/b/c has k1)");
    filtered.filter.clear();
    filtered.filter.insert("index".into(), json!({"$gte": 1, "$lt": 2}));
    assert_eq!(store.list_items(&filtered).unwrap().len(), 3);
    filtered.filter.clear();
    filtered.filter.insert("name".into(), json!({"$in": ["n0", "n2"], "$ne": "n2"}));
    assert_eq!(store.list_items(&filtered).unwrap().len(), 3);
    filtered.offset = 1;
    filtered.limit = 1;
    assert_eq!(store.list_items(&filtered).unwrap().len(), 1);

    let mut everything = ItemQuery::new("t1", Vec::new(), 100);
    everything.prefix = true;
    assert_eq!(store.list_items(&everything).unwrap().len(), 10);
    let mut unknown = ItemQuery::new("t1", namespace(&["a"]), 10);
    unknown.filter.insert("index".into(), json!({"$regex": "x"}));
    assert_eq!(store.list_items(&unknown).unwrap_err().kind(), ErrorKind::InvalidInput);
}

pub fn items_expire_and_delete_by_query(store: &dyn Store) {
    let mut soon = item("t1", &["cache"], "soon", json!(1));
    soon.expires_at = Some(base_time());
    let later = item("t1", &["cache"], "later", json!(2));
    store.put_items(vec![soon, later], OnConflict::Replace).unwrap();
    let query = ItemQuery::new("t1", namespace(&["cache"]), 10);
    assert_eq!(keys(store, &query), ["later"], "an item past its expiry is gone for every read");
    let receipt = store.sweep_expired(&SweepRequest::default()).unwrap();
    assert_eq!(receipt.count("items"), 1);

    let runs = (0..1200).map(|index| {
        item(
            "t1",
            &["runs", &format!("thread{}", index % 3)],
            &format!("c{index:05}"),
            json!({"run_id": format!("r{}", index % 4)}),
        )
    });
    store.put_items(runs.collect(), OnConflict::Replace).unwrap();
    let mut doomed = ItemQuery::new("t1", namespace(&["runs"]), 1);
    doomed.prefix = true;
    doomed.filter.insert("run_id".into(), json!({"$in": ["r1", "r3"]}));
    assert_eq!(store.delete_items(&doomed).unwrap().count("items"), 600, "pages past the first, limit ignored");
    let mut left = ItemQuery::new("t1", namespace(&["runs"]), 2000);
    left.prefix = true;
    let runs: std::collections::BTreeSet<String> =
        store.list_items(&left).unwrap().into_iter().map(|item| item.value["run_id"].to_string()).collect();
    assert_eq!(runs.into_iter().collect::<Vec<_>>(), ["\"r0\"", "\"r2\""]);
    assert_eq!(keys(store, &query), ["later"], "other namespaces untouched");
}
