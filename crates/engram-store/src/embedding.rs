//! Embedders: what turns text into vectors, when the caller does not pass them.
//!
//! With an embedder, a record written without `embedding` gets the vector of the text it is
//! indexed and rendered by, and a packet request with a `query` but no `query_embedding` gets
//! the query's. Vectors the caller passes are kept as given. A bulk append embeds its events in
//! one call, so a model batches them.

use engram_types::{BuildRequest, EpisodeInput, EventInput, FactInput, ProcedureInput};

use crate::error::{Error, Result};

/// Turns texts into vectors, one per text, in order, all of one length. Called from the
/// thread doing the store work.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
}

/// Fills the missing vectors of a batch of events, in one call.
pub fn embed_events(embedder: &dyn Embedder, events: &mut [EventInput]) -> Result<()> {
    let missing: Vec<usize> =
        events.iter().enumerate().filter(|(_, event)| event.embedding.is_none()).map(|(index, _)| index).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> =
        missing.iter().filter_map(|index| events.get(*index)).map(EventInput::derived_text).collect();
    let vectors = embed_exactly(embedder, &texts)?;
    for (index, vector) in missing.into_iter().zip(vectors) {
        if let Some(event) = events.get_mut(index) {
            event.embedding = Some(vector);
        }
    }
    Ok(())
}

pub fn embed_fact(embedder: &dyn Embedder, fact: &mut FactInput) -> Result<()> {
    if fact.embedding.is_none() {
        fact.embedding = Some(embed_one(embedder, fact.rendered_text())?);
    }
    Ok(())
}

pub fn embed_episode(embedder: &dyn Embedder, episode: &mut EpisodeInput) -> Result<()> {
    if episode.embedding.is_none() {
        let text = std::iter::once(episode.summary.as_str())
            .chain(episode.highlights.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        episode.embedding = Some(embed_one(embedder, text)?);
    }
    Ok(())
}

pub fn embed_procedure(embedder: &dyn Embedder, procedure: &mut ProcedureInput) -> Result<()> {
    if procedure.embedding.is_none() {
        procedure.embedding = Some(embed_one(embedder, procedure.rendered_text())?);
    }
    Ok(())
}

/// The query's vector, when the request has a query and no vector.
pub fn embed_query(embedder: &dyn Embedder, request: &mut BuildRequest) -> Result<()> {
    if request.query_embedding.is_some() {
        return Ok(());
    }
    if let Some(query) = request.query.as_deref().filter(|query| !query.trim().is_empty()) {
        request.query_embedding = Some(embed_one(embedder, query.to_string())?);
    }
    Ok(())
}

fn embed_one(embedder: &dyn Embedder, text: String) -> Result<Vec<f32>> {
    embed_exactly(embedder, &[text])?.into_iter().next().ok_or_else(|| wrong_count(1, 0))
}

/// Calls the embedder and checks it kept its promise: one vector per text. Each vector is then
/// checked like a vector the caller passed (finite numbers, the tenant's length).
fn embed_exactly(embedder: &dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let vectors = embedder.embed(texts)?;
    if vectors.len() != texts.len() {
        return Err(wrong_count(texts.len(), vectors.len()));
    }
    Ok(vectors)
}

fn wrong_count(texts: usize, vectors: usize) -> Error {
    Error::invalid("embedder", format!("returned {vectors} vectors for {texts} texts"))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    use engram_types::{EventKind, Scope};
    use serde_json::json;

    use super::*;

    /// Embeds a text as (length, count of 'a'), and records what it was asked.
    #[derive(Debug, Default)]
    struct Counting {
        calls: std::sync::Mutex<Vec<Vec<String>>>,
    }

    impl Embedder for Counting {
        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(texts.to_vec());
            }
            Ok(texts.iter().map(|text| vec![text.len() as f32, text.matches('a').count() as f32]).collect())
        }
    }

    #[derive(Debug)]
    struct Short;

    impl Embedder for Short {
        fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>> {
            Ok(Vec::new())
        }
    }

    fn scope() -> Scope {
        Scope {
            tenant_id: "t".into(),
            user_id: "u".into(),
            agent_id: "a".into(),
            session_id: "s".into(),
            run_id: "r".into(),
        }
    }

    #[test]
    fn a_batch_is_embedded_in_one_call_and_given_vectors_are_kept() {
        let embedder = Counting::default();
        let mut events = vec![
            EventInput::new(scope(), EventKind::Message, json!({"text": "banana"})),
            EventInput::new(scope(), EventKind::Message, json!({"text": "kept"})),
            EventInput::new(scope(), EventKind::Message, json!({"text": "cat"})),
        ];
        if let Some(event) = events.get_mut(1) {
            event.embedding = Some(vec![9.0, 9.0]);
        }
        embed_events(&embedder, &mut events).unwrap();
        let vectors: Vec<Option<Vec<f32>>> = events.iter().map(|event| event.embedding.clone()).collect();
        assert_eq!(vectors, [Some(vec![6.0, 3.0]), Some(vec![9.0, 9.0]), Some(vec![3.0, 1.0])]);
        assert_eq!(*embedder.calls.lock().unwrap(), [vec!["banana".to_string(), "cat".to_string()]]);
    }

    #[test]
    fn the_query_is_embedded_only_when_it_has_no_vector() {
        let embedder = Counting::default();
        let mut request = BuildRequest::new(scope(), engram_types::Purpose::Responder).with_query("a bar");
        embed_query(&embedder, &mut request).unwrap();
        assert_eq!(request.query_embedding, Some(vec![5.0, 2.0]));
        let mut blank = BuildRequest::new(scope(), engram_types::Purpose::Responder).with_query("  ");
        embed_query(&embedder, &mut blank).unwrap();
        assert_eq!(blank.query_embedding, None);
        assert_eq!(embedder.calls.lock().unwrap().len(), 1);
    }

    #[test]
    fn an_embedder_that_returns_too_few_vectors_is_an_error() {
        let mut events = vec![EventInput::new(scope(), EventKind::Message, json!({"text": "x"}))];
        let error = embed_events(&Short, &mut events).unwrap_err();
        assert!(error.to_string().contains("embedder: returned 0 vectors for 1 texts"), "{error}");
        assert!(events.first().is_some_and(|event| event.embedding.is_none()));
    }
}
