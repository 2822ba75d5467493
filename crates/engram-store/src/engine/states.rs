//! Working state (per run) and short-term state (per session).

use engram_types::{Scope, ShortTermState, ShortTermUpdate, WorkingState, WorkingStatePatch};

use super::run::{read, write};
use crate::error::{Error, Result};
use crate::maintenance::{StateOwner, StoredState};
use crate::prepare;
use crate::store::{Store, WriteMode};

/// The run's working state; an empty state at version 0 when nothing was written.
pub(crate) fn get_working_state<S: Store + ?Sized>(store: &S, scope: &Scope) -> Result<WorkingState> {
    scope.validate(store.limits().max_id_bytes)?;
    Ok(read(store, |snapshot| snapshot.working_state(scope))?.unwrap_or_default())
}

/// Applies a patch atomically: the state is read locked, `expected_version` checked, the patch
/// applied and written back, so two patches of one run never both apply to the same version. A
/// run's first patch from another process makes this one run again, on its version.
pub(crate) fn patch_working_state<S: Store + ?Sized>(store: &S, patch: WorkingStatePatch) -> Result<WorkingState> {
    patch.validate(store.limits())?;
    let scope = &patch.scope;
    write(store, WriteMode::Retry, |transaction| {
        let stored = transaction.working_state(scope)?;
        let first = stored.is_none();
        let mut state = stored.unwrap_or_default();
        if let Some(expected) = patch.expected_version
            && expected != state.version
        {
            return Err(Error::stale_version(scope, expected, state.version));
        }
        patch.apply_to(&mut state, prepare::now());
        transaction
            .put_state(&StoredState::WorkingState { owner: StateOwner::of_run(scope), state: state.clone() }, first)?;
        Ok(state)
    })
}

/// The session's short-term state; empty when nothing was written.
pub(crate) fn get_short_term<S: Store + ?Sized>(store: &S, scope: &Scope) -> Result<ShortTermState> {
    scope.validate(store.limits().max_id_bytes)?;
    Ok(read(store, |snapshot| snapshot.short_term(scope))?.unwrap_or_default())
}

/// A session's first update from another process makes this one run again, on its state.
pub(crate) fn update_short_term<S: Store + ?Sized>(store: &S, update: ShortTermUpdate) -> Result<ShortTermState> {
    update.validate(store.limits())?;
    let scope = &update.scope;
    write(store, WriteMode::Retry, |transaction| {
        let stored = transaction.short_term(scope)?;
        let first = stored.is_none();
        let mut state = stored.unwrap_or_default();
        update.apply_to(&mut state, prepare::now());
        transaction
            .put_state(&StoredState::ShortTerm { owner: StateOwner::of_session(scope), state: state.clone() }, first)?;
        Ok(state)
    })
}
