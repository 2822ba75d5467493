//! Insights at the end of their run: promotion to long-term memory, expiry with the run.

use std::sync::Arc;

use engram_types::{
    FactInput, Insight, InsightUpdate, ProcedureInput, PromoteInsight, Promoted, Promotion, RecordKind, RunEnd, Scope,
    Timestamp, ValidationState, WorkingStatePatch,
};

use super::{PAGE, each_page};
use crate::StoreExt;
use crate::error::{Error, Result};
use crate::maintenance::{DeleteRequest, ScanRequest};
use crate::prepare;
use crate::record::Record;
use crate::store::Store;

/// Titles made from an insight's text keep its first words, up to this many bytes.
const TITLE_BYTES: usize = 80;

pub(super) fn promote(store: &dyn Store, request: &PromoteInsight) -> Result<Promoted> {
    request.validate(store.limits())?;
    let insight = find_in_run(store, &request.scope, &request.insight_id)?;
    if insight.validation == ValidationState::Rejected {
        return Err(Error::invalid(
            "insight_id",
            format!("{:?} was rejected; only live insights are promoted", insight.insight_id),
        ));
    }
    if insight.expires_at.is_some_and(|expires_at| expires_at <= prepare::now()) {
        return Err(Error::invalid(
            "insight_id",
            format!("{:?} has expired (its run ended); only live insights are promoted", insight.insight_id),
        ));
    }
    if let Some(target) = &insight.promoted_to {
        return Err(Error::already_promoted(&insight.insight_id, target));
    }
    let link = format!("insight:{}", insight.insight_id);
    let (fact, procedure, promoted_to) = match &request.promotion {
        Promotion::Fact { fact_key, value, scope_level } => {
            let mut input = FactInput::new(
                request.scope.clone(),
                fact_key.clone(),
                value.clone().unwrap_or_else(|| serde_json::Value::String(insight.text.clone())),
            );
            input.text = value.is_none().then(|| insight.text.clone());
            input.confidence = Some(insight.confidence);
            input.sources = insight.sources.iter().cloned().chain(std::iter::once(link)).collect();
            input.tags.clone_from(&insight.tags);
            input.entities.clone_from(&insight.entities);
            input.scope_level = *scope_level;
            let written = store.upsert_fact(input)?;
            let promoted_to = format!("fact:{}", written.fact.fact_id);
            (Some(written.fact), None, promoted_to)
        }
        Promotion::Procedure { task_type, title, steps, scope_level } => {
            let input = ProcedureInput {
                scope: request.scope.clone(),
                procedure_id: None,
                task_type: task_type.clone(),
                title: title.clone().unwrap_or_else(|| title_of(&insight.text)),
                steps: if steps.is_empty() { vec![insight.text.clone()] } else { steps.clone() },
                content: None,
                priority: Some(insight.confidence),
                applicability: Some(link),
                tags: insight.tags.clone(),
                entities: insight.entities.clone(),
                scope_level: *scope_level,
                updated_at: None,
                expires_at: None,
                embedding: None,
            };
            let written = store.upsert_procedure(input)?;
            let promoted_to = format!("procedure:{}", written.procedure_id);
            (None, Some(written), promoted_to)
        }
    };
    let mut update = InsightUpdate::new(request.scope.clone(), insight.insight_id.clone());
    update.validation = Some(ValidationState::Validated);
    update.promoted_to = Some(promoted_to);
    // The claim: a promotion that raced this one and claimed first makes it a `Conflict`
    // (`prepare::update_insight`). The loser's fact write refreshed the winner's fact (same key
    // and value); the procedure it made is its own, and goes.
    let insight = match store.update_insight(update) {
        Err(lost @ Error::Conflict { .. }) => {
            if let Some(procedure) = &procedure {
                store.delete(&DeleteRequest {
                    tenant_id: request.scope.tenant_id.clone(),
                    records: vec![(RecordKind::Procedure, procedure.procedure_id.clone())],
                    states: Vec::new(),
                    drop_empty_spaces: true,
                })?;
            }
            return Err(lost);
        }
        claimed => claimed?,
    };
    Ok(Promoted { insight, fact, procedure })
}

pub(super) fn end_run(store: &dyn Store, scope: &Scope, now: Option<Timestamp>) -> Result<RunEnd> {
    scope.validate(store.limits().max_id_bytes)?;
    let now = now.map_or_else(prepare::now, prepare::normalize_time);
    let mut scan = ScanRequest::owned_by(RecordKind::Insight, scope, PAGE);
    scan.session_id = Some(scope.session_id.clone());
    scan.run_id = Some(scope.run_id.clone());
    let mut expired_insights = Vec::new();
    each_page(store, &mut scan, |page| {
        for fetched in page {
            let Record::Insight(insight) = Arc::unwrap_or_clone(fetched.record) else { continue };
            if insight.promoted_to.is_some() || insight.expires_at.is_some_and(|expires_at| expires_at <= now) {
                continue;
            }
            let mut update = InsightUpdate::new(scope.clone(), insight.insight_id.clone());
            update.expires_at = Some(now);
            store.update_insight(update)?;
            expired_insights.push(insight.insight_id);
        }
        Ok(())
    })?;
    let mut working_state = store.get_working_state(scope)?;
    if working_state.version > 0 && working_state.ended_at.is_none() {
        let mut patch = WorkingStatePatch::new(scope.clone());
        patch.ended_at = Some(now);
        patch.updated_at = Some(now);
        working_state = store.patch_working_state(patch)?;
    }
    Ok(RunEnd { expired_insights, working_state })
}

/// The insight, if it belongs to the scope's run.
fn find_in_run(store: &dyn Store, scope: &Scope, insight_id: &str) -> Result<Insight> {
    let mut scan = ScanRequest::owned_by(RecordKind::Insight, scope, 1);
    scan.session_id = Some(scope.session_id.clone());
    scan.run_id = Some(scope.run_id.clone());
    scan.ids = vec![insight_id.to_string()];
    match store.scan(&scan)?.into_iter().next().map(|fetched| Arc::unwrap_or_clone(fetched.record)) {
        Some(Record::Insight(insight)) => Ok(insight),
        _ => Err(Error::NotFound { entity: "insight", id: insight_id.to_string() }),
    }
}

fn title_of(text: &str) -> String {
    let mut title = String::new();
    for word in text.split_whitespace() {
        if title.len() + word.len() + 1 > TITLE_BYTES {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    if title.is_empty() { text.chars().take(TITLE_BYTES / 4).collect() } else { title }
}
