//! Which queries found a candidate: one [`Source`] each, kept as a set of bits (a candidate of
//! a full packet is one of thousands, and a set per candidate was a visible share of a build).

/// Which query found a candidate. Ordered by how telling the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    Lexical,
    Vector,
    Cue,
    Recent,
    Importance,
    Window,
    State,
    Context,
}

impl Source {
    /// Every source, in their order.
    const ALL: [Self; 8] = [
        Self::Lexical,
        Self::Vector,
        Self::Cue,
        Self::Recent,
        Self::Importance,
        Self::Window,
        Self::State,
        Self::Context,
    ];

    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Lexical => "lexical",
            Self::Vector => "vector",
            Self::Cue => "cue",
            Self::Recent => "recent",
            Self::Importance => "importance",
            Self::Window => "window",
            Self::State => "state",
            Self::Context => "context",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of sources, iterated in their order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sources(u8);

impl Sources {
    pub(super) const fn of(source: Source) -> Self {
        Self(source.bit())
    }

    pub(super) fn insert(&mut self, source: Source) {
        self.0 |= source.bit();
    }

    pub(super) const fn contains(self, source: Source) -> bool {
        self.0 & source.bit() != 0
    }

    pub(super) fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |source| self.contains(*source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_what_was_inserted_in_source_order() {
        let mut sources = Sources::of(Source::Importance);
        sources.insert(Source::Lexical);
        sources.insert(Source::Context);
        sources.insert(Source::Lexical);
        assert_eq!(sources.iter().collect::<Vec<_>>(), [Source::Lexical, Source::Importance, Source::Context]);
        assert!(sources.contains(Source::Context) && !sources.contains(Source::Vector));
        assert_eq!(Sources::default().iter().count(), 0);
    }
}
