//! Embed, then store: the one-call writes (and packet build) for a caller with an embedder.
//!
//! Each function fills the vectors the input lacks with the embedder (see [`crate::embedding`]:
//! vectors the caller passed are kept), then makes the store call. Without an embedder it is
//! the plain store call. The embedder runs before anything is written, so an embedder that
//! fails writes nothing.

use engram_types::{
    BuildRequest, Episode, EpisodeInput, Event, EventInput, FactInput, FactWrite, MemoryPacket, Procedure,
    ProcedureInput,
};

use crate::StoreExt;
use crate::embedding::{Embedder, embed_episode, embed_events, embed_fact, embed_procedure, embed_query};
use crate::error::Result;
use crate::store::Store;

/// [`StoreExt::append_event`], the event's vector filled first.
pub fn append_event_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut event: EventInput,
) -> Result<Event> {
    if let Some(embedder) = embedder {
        embed_events(embedder, std::slice::from_mut(&mut event))?;
    }
    store.append_event(event)
}

/// [`Store::append_events`], the missing vectors filled first in one embedder call.
pub fn append_events_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut events: Vec<EventInput>,
) -> Result<Vec<Event>> {
    if let Some(embedder) = embedder {
        embed_events(embedder, &mut events)?;
    }
    store.append_events(events)
}

/// [`Store::upsert_fact`], the fact's vector filled first.
pub fn upsert_fact_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut fact: FactInput,
) -> Result<FactWrite> {
    if let Some(embedder) = embedder {
        embed_fact(embedder, &mut fact)?;
    }
    store.upsert_fact(fact)
}

/// [`Store::append_episode`], the episode's vector filled first.
pub fn append_episode_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut episode: EpisodeInput,
) -> Result<Episode> {
    if let Some(embedder) = embedder {
        embed_episode(embedder, &mut episode)?;
    }
    store.append_episode(episode)
}

/// [`Store::upsert_procedure`], the procedure's vector filled first.
pub fn upsert_procedure_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut procedure: ProcedureInput,
) -> Result<Procedure> {
    if let Some(embedder) = embedder {
        embed_procedure(embedder, &mut procedure)?;
    }
    store.upsert_procedure(procedure)
}

/// [`crate::build_memory_packet`], the query's vector filled first (when it has a query).
pub fn build_memory_packet_embedded(
    store: &dyn Store,
    embedder: Option<&dyn Embedder>,
    mut request: BuildRequest,
) -> Result<MemoryPacket> {
    if let Some(embedder) = embedder {
        embed_query(embedder, &mut request)?;
    }
    crate::build_memory_packet(store, request)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    use engram_types::{EventKind, Purpose, Scope};
    use serde_json::json;

    use super::*;
    use crate::InMemoryStore;
    use crate::error::Error;

    /// Embeds a text as (1, count of 'a', count of 'e'): the same text, the same vector.
    #[derive(Debug)]
    struct Letters;

    impl Embedder for Letters {
        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|text| vec![1.0, text.matches('a').count() as f32, text.matches('e').count() as f32])
                .collect())
        }
    }

    /// Always fails, as a model that cannot be reached would.
    #[derive(Debug)]
    struct Broken;

    impl Embedder for Broken {
        fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>> {
            Err(Error::invalid("embedder", "unreachable"))
        }
    }

    fn scope() -> Scope {
        Scope {
            tenant_id: "t".into(),
            user_id: "u".into(),
            agent_id: "a".into(),
            session_id: "s".into(),
            run_id: "s".into(),
        }
    }

    fn message(text: &str) -> EventInput {
        EventInput::new(scope(), EventKind::Message, json!({"role": "user", "text": text}))
    }

    #[test]
    fn events_are_stored_with_the_embedders_vectors_and_given_vectors_are_kept() {
        let store = InMemoryStore::new();
        let mut given = message("kept as given");
        given.embedding = Some(vec![9.0, 9.0, 9.0]);
        let events = append_events_embedded(&store, Some(&Letters), vec![message("banana"), given]).unwrap();
        let vectors: Vec<Option<Vec<f32>>> = events.into_iter().map(|event| event.embedding).collect();
        assert_eq!(vectors, [Some(vec![1.0, 3.0, 0.0]), Some(vec![9.0, 9.0, 9.0])]);
        let one = append_event_embedded(&store, Some(&Letters), message("tree")).unwrap();
        assert_eq!(one.embedding, Some(vec![1.0, 0.0, 2.0]));
    }

    #[test]
    fn without_an_embedder_records_are_stored_without_vectors() {
        let store = InMemoryStore::new();
        let event = append_event_embedded(&store, None, message("banana")).unwrap();
        assert_eq!(event.embedding, None);
        let fact = upsert_fact_embedded(&store, None, FactInput::new(scope(), "fruit", json!("banana"))).unwrap();
        assert_eq!(fact.fact.embedding, None);
    }

    #[test]
    fn facts_episodes_and_procedures_are_stored_with_vectors() {
        let store = InMemoryStore::new();
        let fact = upsert_fact_embedded(&store, Some(&Letters), FactInput::new(scope(), "fruit", json!("banana")));
        assert!(fact.unwrap().fact.embedding.is_some());
        let episode: EpisodeInput = serde_json::from_value(json!({
            "scope": scope(),
            "start_ts": "2025-01-01T00:00:00Z",
            "end_ts": "2025-01-01T01:00:00Z",
            "summary": "ate a banana",
        }))
        .unwrap();
        let episode = append_episode_embedded(&store, Some(&Letters), episode).unwrap();
        assert_eq!(episode.embedding, Some(vec![1.0, 5.0, 1.0]));
        let procedure: ProcedureInput =
            serde_json::from_value(json!({"scope": scope(), "task_type": "peel", "title": "peel a banana"})).unwrap();
        assert!(upsert_procedure_embedded(&store, Some(&Letters), procedure).unwrap().embedding.is_some());
    }

    #[test]
    fn an_embedder_that_fails_writes_nothing() {
        let store = InMemoryStore::new();
        let error = append_events_embedded(&store, Some(&Broken), vec![message("banana")]).unwrap_err();
        assert!(error.to_string().contains("unreachable"), "{error}");
        let listed = store.list_events(&serde_json::from_value(json!({"scope": scope()})).unwrap());
        assert!(listed.unwrap().is_empty());
        assert!(upsert_fact_embedded(&store, Some(&Broken), FactInput::new(scope(), "k", json!(1))).is_err());
        let facts = store.list_facts(&serde_json::from_value(json!({"scope": scope()})).unwrap());
        assert!(facts.unwrap().is_empty());
    }

    #[test]
    fn a_packet_query_is_embedded_so_stored_vectors_score() {
        let store = InMemoryStore::new();
        upsert_fact_embedded(&store, Some(&Letters), FactInput::new(scope(), "fruit", json!("banana"))).unwrap();
        let request = BuildRequest::new(scope(), Purpose::Responder).with_query("banana");
        let packet = build_memory_packet_embedded(&store, Some(&Letters), request.clone()).unwrap();
        let scored = packet.explain.selected.iter().find(|item| item.signals.vector > 0.0);
        assert!(scored.is_some(), "no item scored by vector: {:?}", packet.explain.selected);
        let plain = build_memory_packet_embedded(&store, None, request).unwrap();
        assert!(plain.explain.selected.iter().all(|item| item.signals.vector == 0.0));
    }
}
