//! Typed wrappers of [`Store::read`] and [`Store::write`], whose work is object-safe (`FnMut`
//! returning `()`): the value a closure computes comes back out here.

use crate::error::{Error, Result};
use crate::store::{Snapshot, Store, Transaction, WriteMode};

/// Runs `work` on one snapshot of `store` and returns its value.
pub(crate) fn read<S, T>(store: &S, mut work: impl FnMut(&mut dyn Snapshot) -> Result<T> + Send) -> Result<T>
where
    S: Store + ?Sized,
    T: Send,
{
    let mut value = None;
    store.read(&mut |snapshot| {
        value = Some(work(snapshot)?);
        Ok(())
    })?;
    value.ok_or_else(|| Error::storage("engram", "a read returned no value"))
}

/// Runs `work` in one write transaction of `store` and returns its value (of the attempt that
/// committed, when the mode retries).
pub(crate) fn write<S, T>(
    store: &S,
    mode: WriteMode,
    mut work: impl FnMut(&mut dyn Transaction) -> Result<T> + Send,
) -> Result<T>
where
    S: Store + ?Sized,
    T: Send,
{
    let mut value = None;
    store.write(mode, &mut |transaction| {
        value = Some(work(transaction)?);
        Ok(())
    })?;
    value.ok_or_else(|| Error::storage("engram", "a write returned no value"))
}
