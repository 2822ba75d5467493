//! The memory lifecycle, written once over the [`Store`](crate::Store) primitives.

/// Lifecycle operations on every store.
pub trait Lifecycle: crate::Store {}

impl<T: crate::Store + ?Sized> Lifecycle for T {}
