//! Items: namespaced documents with a JSON value and an optional blob, read back by namespace
//! (or prefix), keys, key ranges and value filters; expired ones are gone for every read.

use engram_store::{ErrorKind, Items, Lifecycle, Store, StoreExt};
use engram_types::{ItemQuery, ItemSearch, ItemWrite, NamespaceQuery, OnConflict, SweepRequest};
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
        ttl_seconds: None,
        index: None,
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

/// Key bounds compare bytes, as keys sort: `"k"` is before `"k "` and `"k\t"` (a collation that
/// pads with spaces, as MySQL's does, would call them equal or `"k"` the greater).
pub fn key_bounds_compare_bytes(store: &dyn Store) {
    let writes = ["j", "k", "k k", "l"].map(|key| item("t1", &["bounds"], key, json!(key)));
    store.put_items(writes.to_vec(), OnConflict::Replace).unwrap();
    let bounded = |before: Option<&str>, after: Option<&str>, descending: bool| {
        let mut query = ItemQuery::new("t1", namespace(&["bounds"]), 10);
        query.before_key = before.map(str::to_string);
        query.after_key = after.map(str::to_string);
        query.descending = descending;
        keys(store, &query)
    };
    for before in ["k ", "k\t", "k  ", "k\u{1}x"] {
        assert_eq!(bounded(Some(before), None, false), ["j", "k"], "before {before:?}");
        assert_eq!(bounded(Some(before), None, true), ["k", "j"], "before {before:?}, descending");
    }
    assert_eq!(bounded(Some("k k"), None, false), ["j", "k"]);
    assert_eq!(bounded(Some("k l"), None, false), ["j", "k", "k k"]);
    for after in ["k ", "k\t", "k  "] {
        assert_eq!(bounded(None, Some(after), false), ["k k", "l"], "after {after:?}");
    }
    assert_eq!(bounded(None, Some("j\t"), false), ["k", "k k", "l"]);
    assert_eq!(bounded(Some("l"), Some("j "), false), ["k", "k k"]);
    assert_eq!(bounded(Some(" "), None, false), Vec::<String>::new());
    assert_eq!(bounded(None, Some(" "), false), ["j", "k", "k k", "l"]);
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

pub fn items_list_with_their_children_in_one_read(store: &dyn Store) {
    // Two checkpoints of a thread and their pending writes, one more than a page for the first.
    let mut writes = vec![item("t1", &["cp", "t"], "c1", json!({"step": 1})), item("t1", &["cp", "t"], "c2", json!(2))];
    for index in 0..501 {
        let mut write = item("t1", &["w", "t", "c1"], &format!("task{index:03}"), json!({"idx": index}));
        write.blob = Some(vec![1, 2, 3]);
        writes.push(write);
    }
    let mut gone = item("t1", &["w", "t", "c2"], "expired", json!(0));
    gone.expires_at = Some(base_time());
    writes.extend([gone, item("t1", &["w", "t", "c2"], "b", json!(1)), item("t1", &["w", "t", "c2"], "a", json!(1))]);
    // Neither another tenant's nor a deeper namespace's items are children.
    writes.extend([
        item("t2", &["w", "t", "c2"], "other", json!(1)),
        item("t1", &["w", "t", "c2", "x"], "deep", json!(1)),
    ]);
    store.put_items(writes, OnConflict::Replace).unwrap();

    let mut query = ItemQuery::new("t1", namespace(&["cp", "t"]), 10);
    query.descending = true;
    assert!(store.list_items(&query).unwrap().iter().all(|item| item.children.is_none()), "only when asked");
    query.children = Some(namespace(&["w", "t"]));
    let found = store.list_items(&query).unwrap();
    let children: Vec<Vec<String>> = found
        .iter()
        .map(|item| item.children.as_ref().unwrap().iter().map(|child| child.key.clone()).collect())
        .collect();
    assert_eq!((found[0].key.as_str(), children[0].clone()), ("c2", vec!["a".to_string(), "b".to_string()]));
    assert_eq!(children[1].len(), 501, "every child, past the first page");
    assert_eq!(children[1][500], "task500");
    let first = &found[1].children.as_ref().unwrap()[0];
    assert_eq!((first.namespace.clone(), first.value.clone()), (namespace(&["w", "t", "c1"]), json!({"idx": 0})));
    assert_eq!(first.blob.as_deref(), Some(&[1, 2, 3][..]));
    query.without_blobs = true;
    let found = store.list_items(&query).unwrap();
    assert!(found[1].children.as_ref().unwrap().iter().all(|child| child.blob.is_none()));

    let mut deep = query.clone();
    deep.children = Some((0..16).map(|index| format!("l{index}")).collect());
    let error = store.list_items(&deep).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("children"), "{error}");
    deep.children = Some(namespace(&["w", ""]));
    assert!(store.list_items(&deep).unwrap_err().to_string().contains("children[1]"));
}

fn indexed(tenant: &str, labels: &[&str], key: &str, value: Value) -> ItemWrite {
    let mut write = item(tenant, labels, key, value);
    write.index = Some(vec!["$".into()]);
    write
}

fn search(tenant: &str, labels: &[&str], query: Option<&str>, limit: u32) -> ItemSearch {
    ItemSearch {
        tenant_id: tenant.into(),
        namespace: namespace(labels),
        query: query.map(str::to_string),
        filter: Default::default(),
        offset: 0,
        limit,
        without_blobs: false,
        refresh_ttl: false,
    }
}

fn ranked(store: &dyn Store, search: &ItemSearch) -> Vec<(String, f64)> {
    store.search_items(search).unwrap().into_iter().map(|found| (found.item.key, found.score.unwrap_or(-1.0))).collect()
}

/// A query ranks the indexed items under a prefix by BM25 over their indexed text; the index
/// follows replacements and deletions exactly: a tenant that got its items through rewrites
/// and deletes scores like one that was written its final items once.
pub fn item_search_ranks_by_bm25_and_follows_every_change(store: &dyn Store) {
    let final_items = |tenant: &str| {
        vec![
            indexed(
                tenant,
                &["docs", "a"],
                "deploy",
                json!({"title": "Deploy guide", "body": "deploy the billing service with the deploy tool"}),
            ),
            indexed(
                tenant,
                &["docs", "a"],
                "billing",
                json!({"title": "Billing", "body": "invoices and the billing service", "tier": 2}),
            ),
            indexed(
                tenant,
                &["docs", "b"],
                "holiday",
                json!({"title": "Holidays", "body": "the office closes for the holidays", "tier": 1}),
            ),
            item(tenant, &["docs", "b"], "hidden", json!({"title": "Deploy secrets", "body": "deploy deploy deploy"})),
            indexed(tenant, &["other"], "deploy", json!({"body": "deploy elsewhere"})),
        ]
    };
    store.put_items(final_items("t2"), OnConflict::Replace).unwrap();
    // t1 reaches the same state through a replacement of every text and two deletions.
    let mut first = vec![
        indexed("t1", &["docs", "a"], "deploy", json!({"body": "rollback notes, nothing about that"})),
        indexed("t1", &["docs", "a"], "billing", json!({"body": "an older billing text about refunds refunds"})),
        indexed("t1", &["docs", "b"], "gone", json!({"body": "deploy billing holidays all in one"})),
        indexed("t1", &["docs", "c"], "gone", json!({"body": "deploy"})),
    ];
    first.extend(final_items("t1").into_iter().filter(|write| write.key == "holiday"));
    store.put_items(first, OnConflict::Replace).unwrap();
    store.put_items(final_items("t1"), OnConflict::Replace).unwrap();
    let mut gone = ItemQuery::new("t1", namespace(&["docs"]), 10);
    gone.prefix = true;
    gone.keys = vec!["gone".into()];
    store.delete_items(&gone).unwrap();
    gone.namespace = namespace(&["docs", "b"]);
    gone.prefix = false;
    store.delete_items(&gone).unwrap();
    gone.namespace = namespace(&["docs", "c"]);
    store.delete_items(&gone).unwrap();

    let deploy = search("t1", &["docs"], Some("Deploying the service"), 10);
    let t1 = ranked(store, &deploy);
    let keys: Vec<&str> = t1.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["deploy", "billing"], "best match first; unindexed and other-namespace items left out");
    assert!(t1[0].1 > t1[1].1 && t1[1].1 > 0.0);
    let t2 = ranked(store, &ItemSearch { tenant_id: "t2".into(), ..deploy.clone() });
    assert_eq!(t1, t2, "scores do not remember replaced or deleted text");

    // Without a query: every item under the prefix (indexed or not), in (namespace, key) order.
    let listed: Vec<String> =
        ranked(store, &search("t1", &["docs"], None, 10)).into_iter().map(|(key, _)| key).collect();
    assert_eq!(listed, ["billing", "deploy", "hidden", "holiday"]);
    let stop_words_only = ranked(store, &search("t1", &["docs"], Some("the and"), 10));
    assert_eq!(stop_words_only.len(), 4, "a query with no searchable word lists");

    // Filters, offsets and the whole tenant as the prefix.
    let mut filtered = search("t1", &[], Some("billing service holidays"), 10);
    filtered.filter.insert("tier".into(), json!({"$gte": 1}));
    let keys: Vec<String> = ranked(store, &filtered).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["holiday", "billing"], "the rarer term weighs more");
    filtered.offset = 1;
    assert_eq!(ranked(store, &filtered).len(), 1);
    let everywhere = ranked(store, &search("t1", &[], Some("deploy"), 10));
    assert_eq!(everywhere.len(), 2, "docs/a/deploy and other/deploy: {everywhere:?}");
    assert!(ranked(store, &search("t3", &[], Some("deploy"), 10)).is_empty(), "another tenant finds nothing");

    let mut bad = search("t1", &["docs"], Some("x"), 10);
    bad.limit = 0;
    assert_eq!(store.search_items(&bad).unwrap_err().kind(), ErrorKind::InvalidInput);
    let mut bad_path = indexed("t1", &["docs"], "k", json!(1));
    bad_path.index = Some(vec!["a[".into()]);
    let error = store.put_items(vec![bad_path], OnConflict::Replace).unwrap_err();
    assert!(error.to_string().contains("items[0].index[0]"), "{error}");
}

/// TTLs set the expiry from the write, restart on reads that ask, and expired indexed items
/// leave the index with the sweep; namespaces list by prefix, suffix, wildcard and depth.
pub fn item_ttls_refresh_and_namespaces_list(store: &dyn Store) {
    let mut session = indexed("t1", &["sessions", "u1", "s1"], "note", json!({"text": "remember the blue door"}));
    session.ttl_seconds = Some(3600.0);
    let written = engram_store::prepare::now();
    store.put_items(vec![session.clone()], OnConflict::Replace).unwrap();
    let query = ItemQuery::new("t1", namespace(&["sessions", "u1", "s1"]), 10);
    let stored = store.list_items(&query).unwrap().remove(0);
    assert_eq!(stored.ttl_seconds, Some(3600.0));
    let expires = stored.expires_at.unwrap();
    assert!(
        expires >= written + chrono::Duration::seconds(3599) && expires <= written + chrono::Duration::seconds(3700)
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut refreshing = query.clone();
    refreshing.refresh_ttl = true;
    let refreshed = store.list_items(&refreshing).unwrap().remove(0).expires_at.unwrap();
    assert!(refreshed > expires, "a refreshing read moves the expiry");
    assert_eq!(store.list_items(&query).unwrap()[0].expires_at, Some(refreshed), "and stores it");
    let mut found = search("t1", &["sessions"], Some("blue"), 10);
    found.refresh_ttl = true;
    let again = store.search_items(&found).unwrap().remove(0).item.expires_at.unwrap();
    assert!(again >= refreshed);
    session.expires_at = Some(base_time());
    assert_eq!(
        store.put_items(vec![session.clone()], OnConflict::Replace).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    session.expires_at = None;
    session.ttl_seconds = Some(f64::NAN);
    assert_eq!(store.put_items(vec![session], OnConflict::Replace).unwrap_err().kind(), ErrorKind::InvalidInput);

    // An expired indexed item is never found, and the sweep takes its postings and totals with it.
    let mut stale = indexed("t1", &["sessions", "u2"], "old", json!({"text": "blue sky"}));
    stale.expires_at = Some(base_time());
    store.put_items(vec![stale], OnConflict::Replace).unwrap();
    let blue = search("t1", &["sessions"], Some("blue"), 10);
    assert_eq!(ranked(store, &blue).len(), 1);
    store.sweep_expired(&SweepRequest::default()).unwrap();
    store
        .put_items(
            vec![indexed("t4", &["sessions", "u1", "s1"], "note", json!({"text": "remember the blue door"}))],
            OnConflict::Replace,
        )
        .unwrap();
    let t4 = ranked(store, &ItemSearch { tenant_id: "t4".into(), ..blue.clone() });
    assert_eq!(ranked(store, &blue), t4, "no trace of the swept item in the scores");

    let spaces = [
        &["sessions", "u1", "s1"][..],
        &["sessions", "u1", "s2"],
        &["sessions", "u2", "s1"],
        &["users", "u1", "docs"],
        &["users", "u1 x"],
        &["users"],
    ];
    let writes = spaces.iter().map(|labels| item("t5", labels, "k", json!(1))).collect();
    store.put_items(writes, OnConflict::Replace).unwrap();
    let list = |prefix: &[&str], suffix: &[&str], max_depth: Option<u32>, offset: u32, limit: u32| -> Vec<String> {
        let query = NamespaceQuery {
            tenant_id: "t5".into(),
            prefix: namespace(prefix),
            suffix: namespace(suffix),
            max_depth,
            offset,
            limit,
        };
        store.list_namespaces(&query).unwrap().into_iter().map(|labels| labels.join("/")).collect()
    };
    assert_eq!(
        list(&[], &[], None, 0, 100),
        ["sessions/u1/s1", "sessions/u1/s2", "sessions/u2/s1", "users", "users/u1/docs", "users/u1 x"]
    );
    assert_eq!(list(&["sessions"], &[], Some(2), 0, 100), ["sessions/u1", "sessions/u2"]);
    assert_eq!(list(&["sessions", "*", "s1"], &[], None, 0, 100), ["sessions/u1/s1", "sessions/u2/s1"]);
    assert_eq!(list(&[], &["s1"], None, 0, 100), ["sessions/u1/s1", "sessions/u2/s1"]);
    assert_eq!(list(&["users"], &[], Some(1), 0, 100), ["users"]);
    assert_eq!(list(&[], &[], Some(1), 1, 1), ["users"]);
    assert!(list(&["nobody"], &[], None, 0, 100).is_empty());
}

pub fn sparse_filters_read_page_after_page(store: &dyn Store) {
    // 1,200 items in three namespaces, one in 97 passing the filter: the listing reads pages
    // of growing size until it has its items, across namespace boundaries.
    let mut writes = Vec::new();
    for index in 0..1200 {
        let labels = [["p", "x"], ["p", "y"], ["p", "z"]][index % 3];
        writes.push(item("t1", &labels, &format!("k{index:04}"), json!({"hit": index % 97 == 5, "index": index})));
    }
    store.put_items(writes, OnConflict::Replace).unwrap();
    let hits: Vec<(String, String)> = (0..1200)
        .filter(|index| index % 97 == 5)
        .map(|index| (["x", "y", "z"][index % 3].to_string(), format!("k{index:04}")))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(hits.len(), 13);
    let listed = |query: &ItemQuery| -> Vec<(String, String)> {
        store.list_items(query).unwrap().into_iter().map(|item| (item.namespace[1].clone(), item.key)).collect()
    };
    let mut query = ItemQuery::new("t1", namespace(&["p"]), 5);
    query.prefix = true;
    query.filter.insert("hit".into(), json!(true));
    assert_eq!(listed(&query), hits[..5]);
    query.offset = 4;
    query.limit = 100;
    assert_eq!(listed(&query), hits[4..]);
    query.offset = 0;
    query.limit = 3;
    query.descending = true;
    assert_eq!(listed(&query), hits.iter().rev().take(3).cloned().collect::<Vec<_>>());
    query.filter.insert("index".into(), json!({"$gt": 2000}));
    assert!(listed(&query).is_empty(), "no item passes: every page read, none returned");
}

pub fn concurrent_first_writes_of_a_key_index_it_once(store: &dyn Store) {
    race_first_writes(&[store; 4]);
}

/// Writers, one per store given, race to create the same new keys, each with its own text,
/// replacing or keeping what is there, one writing unindexed items: every write succeeds, and
/// each key ends with the postings of the text it holds (none when it is unindexed), counted
/// once in the totals. Servers are raced through several stores (as several processes would).
pub fn race_first_writes(stores: &[&dyn Store]) {
    const KEYS: usize = 12;
    const WORDS: [&str; 4] = ["alpha", "bravo", "tango", "zebra"];
    const UNINDEXED: &str = "zebra";
    std::thread::scope(|scope| {
        for (writer, store) in stores.iter().enumerate() {
            scope.spawn(move || {
                let word = WORDS[writer % WORDS.len()];
                let on_conflict = if writer % 2 == 1 { OnConflict::Keep } else { OnConflict::Replace };
                for key in 0..KEYS {
                    let (key, value) = (format!("k{key:02}"), json!({ "text": format!("shared {word}") }));
                    let write = if word == UNINDEXED {
                        item("t1", &["race"], &key, value)
                    } else {
                        indexed("t1", &["race"], &key, value)
                    };
                    store.put_items(vec![write], on_conflict).unwrap();
                }
            });
        }
    });
    let store = stores[0];
    // The words as the index holds them (analyzed).
    let term = |word: &str| engram_store::lexical::analyze(word).pop().unwrap();
    let words: Vec<String> = WORDS.iter().map(|word| term(word)).collect();
    let postings = store
        .item_postings(&engram_store::ItemPostingsRequest {
            tenant_id: "t1".into(),
            namespace: "race".into(),
            terms: std::iter::once(term("shared")).chain(words.iter().cloned()).collect(),
            per_term: 1000,
        })
        .unwrap();
    let keys_of = |term: &str| -> Vec<String> {
        postings
            .terms
            .get(term)
            .map(|list| list.iter().map(|posting| posting.key.clone()).collect())
            .unwrap_or_default()
    };
    let items = store.list_items(&ItemQuery::new("t1", namespace(&["race"]), 100)).unwrap();
    assert_eq!(items.len(), KEYS);
    let mut indexed_keys = Vec::new();
    for item in items {
        let text = item.value["text"].as_str().unwrap().to_string();
        let word = text.split(' ').nth(1).unwrap();
        let holds_postings = word != UNINDEXED;
        if holds_postings {
            indexed_keys.push(item.key.clone());
        }
        for (other, analyzed) in WORDS.iter().zip(&words) {
            let keys = keys_of(analyzed);
            let expected = holds_postings && other == &word;
            assert_eq!(keys.contains(&item.key), expected, "{} holds {text:?}; {other}: {keys:?}", item.key);
        }
    }
    assert_eq!(keys_of(&term("shared")), indexed_keys, "one posting per indexed key");
    assert_eq!(postings.documents, indexed_keys.len() as u64, "each indexed key counted once");
}
