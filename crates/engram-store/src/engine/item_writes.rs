//! Item writes inside one transaction, written once over a backend's [`ItemRows`]: a put (a
//! taken key kept or replaced), a removal by key and the sweep of expired items. An indexed
//! item's postings and its namespace's totals change with its row.

use engram_types::{OnConflict, Receipt, Timestamp};

use crate::error::Result;
use crate::items::{IndexedItem, ItemKey, ItemRow, ItemRows, TotalsChanges};

/// Writes items. A taken key is replaced (its `created_at` kept) or kept as stored, per
/// `on_conflict`.
pub(super) fn put(
    rows: &mut dyn ItemRows,
    items: &[IndexedItem],
    on_conflict: OnConflict,
    now: Timestamp,
) -> Result<()> {
    let mut totals = TotalsChanges::default();
    for IndexedItem { write, terms } in items {
        let key = ItemKey::of(write);
        let mut stored = rows.stored_index(&key)?;
        let row = ItemRow { key, write, now, index_length: terms.as_ref().map(|terms| terms.length) };
        // Another process's write may be creating a key no row held when this one looked: then
        // the create waits for it to end and does nothing, and the row is read again, locked.
        // Without this, both writes would take the key for new, and the later one would index
        // its text over the other's postings.
        let created = stored.is_none() && rows.create(&row)?;
        if stored.is_none() && !created {
            stored = rows.stored_index(&row.key)?;
        }
        if stored.is_some() && on_conflict == OnConflict::Keep {
            continue;
        }
        if let Some(length) = stored {
            unindex(rows, &mut totals, &row.key, length)?;
        }
        if !created {
            rows.replace(&row)?;
        }
        if let Some(terms) = terms {
            rows.index(&row.key, terms)?;
            totals.count(&row.key, 1, terms.length);
        }
    }
    rows.change_totals(totals)
}

/// Sets new expiries of items, by (joined namespace, key); missing ones are skipped.
pub(super) fn refresh(
    rows: &mut dyn ItemRows,
    tenant_id: &str,
    expiries: &[(String, String, Timestamp)],
) -> Result<()> {
    for (namespace, key, expires_at) in expiries {
        rows.refresh(&ItemKey::new(tenant_id, namespace.as_str(), key.as_str()), *expires_at)?;
    }
    Ok(())
}

/// Deletes items by (joined namespace, key); missing ones are skipped.
pub(super) fn remove(rows: &mut dyn ItemRows, tenant_id: &str, keys: &[(String, String)]) -> Result<Receipt> {
    let mut totals = TotalsChanges::default();
    let mut removed = 0;
    for (namespace, key) in keys {
        let key = ItemKey::new(tenant_id, namespace.as_str(), key.as_str());
        let Some(length) = rows.stored_index(&key)? else { continue };
        unindex(rows, &mut totals, &key, length)?;
        removed += rows.delete(&key)?;
    }
    rows.change_totals(totals)?;
    Ok(items_receipt(removed))
}

/// Deletes the items of every tenant with `expires_at <= now` (the sweep).
pub(super) fn remove_expired(rows: &mut dyn ItemRows, now: Timestamp) -> Result<Receipt> {
    let mut totals = TotalsChanges::default();
    for (key, length) in rows.expired(now)? {
        unindex(rows, &mut totals, &key, length)?;
    }
    rows.change_totals(totals)?;
    Ok(items_receipt(rows.delete_expired(now)?))
}

/// Removes a stored item's postings, if it is indexed (`length`), and counts it out.
fn unindex(rows: &mut dyn ItemRows, totals: &mut TotalsChanges, key: &ItemKey, length: Option<u32>) -> Result<()> {
    let Some(length) = length else { return Ok(()) };
    rows.unindex(key)?;
    totals.count(key, -1, length);
    Ok(())
}

fn items_receipt(removed: u64) -> Receipt {
    let mut receipt = Receipt::default();
    receipt.add("items", removed);
    receipt
}
