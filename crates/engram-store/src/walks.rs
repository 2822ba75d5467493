//! The index walks a fetch makes, the same on every backend: one newest (or most important)
//! first in each visible space, or, for neighbours, two per anchor in each space: back and
//! forward from it within its session. The SQL backends run each walk as range queries over
//! their indexes (`sql/fetch.rs`), memory over its orderings (`memory/tables.rs`); what the
//! walks found is merged alike (`merge.rs`).

use crate::record::{Anchor, FetchRequest, Selector};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Before,
    After,
}

/// One walk of a fetch: for neighbours, the anchor's session and the anchor it starts from,
/// away from it in `Direction`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk<'a> {
    pub session_id: Option<&'a str>,
    pub from: Option<(Direction, &'a Anchor)>,
}

/// The walks of a fetch in each space (a by-sequence fetch looks its records up instead).
pub(crate) fn walks(request: &FetchRequest) -> Vec<Walk<'_>> {
    match &request.selector {
        Selector::Neighbours(anchors) => anchors
            .iter()
            .flat_map(|anchor| {
                let session_id = Some(anchor.session_id.as_str());
                [Direction::Before, Direction::After]
                    .map(|direction| Walk { session_id, from: Some((direction, anchor)) })
            })
            .collect(),
        Selector::Newest | Selector::MostImportant | Selector::Sequences(_) => {
            vec![Walk { session_id: None, from: None }]
        }
    }
}
