use engram_store::{ErrorKind, Store, StoreExt};
use engram_types::{EpisodeInput, InsightInput, InsightUpdate, ListQuery, ProcedureInput, ValidationState};

use crate::support::{base_time, default_scope, minutes, scope};

pub fn episode(id: &str, minute: i64, summary: &str) -> EpisodeInput {
    EpisodeInput {
        scope: default_scope(),
        episode_id: Some(id.into()),
        start_ts: base_time() + minutes(minute),
        end_ts: base_time() + minutes(minute + 5),
        summary: summary.into(),
        highlights: vec![],
        tags: vec![],
        entities: vec![],
        sources: vec!["e1".into()],
        compression_level: Default::default(),
        importance: None,
        scope_level: Default::default(),
        expires_at: None,
        embedding: None,
    }
}

pub fn procedure(id: &str, title: &str) -> ProcedureInput {
    ProcedureInput {
        scope: default_scope(),
        procedure_id: Some(id.into()),
        task_type: "deploy".into(),
        title: title.into(),
        steps: vec!["build".into(), "ship".into()],
        content: None,
        priority: Some(0.7),
        applicability: None,
        tags: vec![],
        entities: vec![],
        scope_level: Default::default(),
        updated_at: Some(base_time()),
        expires_at: None,
        embedding: None,
    }
}

pub fn insight(id: &str, text: &str, validation: ValidationState) -> InsightInput {
    InsightInput {
        scope: default_scope(),
        insight_id: Some(id.into()),
        kind: Default::default(),
        text: text.into(),
        confidence: Some(0.6),
        validation,
        tags: vec![],
        entities: vec![],
        sources: vec![],
        created_at: Some(base_time()),
        expires_at: None,
    }
}

pub fn episodes_list_newest_first(store: &dyn Store) {
    store.append_episode(episode("ep-old", 0, "kickoff")).unwrap();
    store.append_episode(episode("ep-new", 60, "review")).unwrap();
    let ids: Vec<String> = store
        .list_episodes(&ListQuery::new(default_scope()))
        .unwrap()
        .into_iter()
        .map(|episode| episode.episode_id)
        .collect();
    assert_eq!(ids, ["ep-new", "ep-old"]);
    assert_eq!(store.append_episode(episode("ep-old", 0, "again")).unwrap_err().kind(), ErrorKind::Conflict);
}

pub fn procedure_upsert_replaces_and_keeps_use_count(store: &dyn Store) {
    let created = store.upsert_procedure(procedure("p1", "Deploy v1")).unwrap();
    assert_eq!(created.text, "Deploy v1 1. build 2. ship");
    store.upsert_procedure(procedure("p1", "Deploy v2")).unwrap();
    let procedures = store.list_procedures(&ListQuery::new(default_scope())).unwrap();
    assert_eq!(procedures.len(), 1);
    assert_eq!(procedures[0].title, "Deploy v2");
    assert_eq!(procedures[0].use_count, created.use_count);
    let mut stranger = procedure("p1", "hijack");
    stranger.scope = scope("t1", "intruder", "s1", "r1");
    assert_eq!(store.upsert_procedure(stranger).unwrap_err().kind(), ErrorKind::Conflict);
}

pub fn insights_update_within_their_run_only(store: &dyn Store) {
    store.append_insight(insight("i1", "retries fix the flaky test", ValidationState::Unvalidated)).unwrap();
    let update = InsightUpdate {
        scope: default_scope(),
        insight_id: "i1".into(),
        validation: Some(ValidationState::Validated),
        confidence: Some(0.9),
        expires_at: None,
        promoted_to: None,
    };
    let updated = store.update_insight(update.clone()).unwrap();
    assert_eq!(updated.validation, ValidationState::Validated);
    assert_eq!(updated.confidence, 0.9);

    let other_run = InsightUpdate { scope: scope("t1", "u1", "s1", "r2"), ..update.clone() };
    assert_eq!(store.update_insight(other_run).unwrap_err().kind(), ErrorKind::NotFound);
    let missing = InsightUpdate { insight_id: "nope".into(), ..update };
    assert_eq!(store.update_insight(missing).unwrap_err().kind(), ErrorKind::NotFound);

    store.append_insight(insight("i2", "rejected idea", ValidationState::Rejected)).unwrap();
    let mut query = ListQuery::new(default_scope());
    assert_eq!(store.list_insights(&query).unwrap().len(), 1);
    query.include_inactive = true;
    assert_eq!(store.list_insights(&query).unwrap().len(), 2);
    assert!(store.list_insights(&ListQuery::new(scope("t1", "u1", "s1", "r2"))).unwrap().is_empty());
}
