//! Stage 3: fill the budget. Sections claim tokens in the purpose's order; within a section
//! items go best first, each in the richest form that fits (full, then compact, then a
//! reference); what fits in no form is left out with the reason. Budgets are hard limits.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};

use engram_types::{
    BuildRequest, Degradation, Event, ItemForm, OmissionReason, OmittedItem, OutputFormat, Section, ShortTermState,
    Tokenizer, WorkingState,
};
use smallvec::SmallVec;

use super::candidates::Candidate;
use super::changes::value_words;
use super::purpose::{recall_fills_budget, section_order};
use super::render;
use crate::prepare::STORED_TOKENIZER;
use crate::tokens::{cached_count, count_tokens_cached, token_floor};

/// What competes for budget: a scored record, a conversation turn, or a piece of state.
#[derive(Debug, Clone)]
pub(super) enum Content {
    Record(Box<Candidate>),
    Turn(Event),
    WorkingState(WorkingState),
    Summary(ShortTermState),
    Quotes(ShortTermState),
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub section: Section,
    pub score: f64,
    /// 1-based rank within the section.
    pub rank: u32,
    pub content: Content,
}

impl Entry {
    /// The record's or turn's id, or the state's name.
    pub(super) fn id(&self) -> &str {
        match &self.content {
            Content::Record(candidate) => candidate.id(),
            Content::Turn(event) => &event.event_id,
            Content::WorkingState(_) => "working_state",
            Content::Summary(_) => "rolling_summary",
            Content::Quotes(_) => "key_quotes",
        }
    }

    fn time(&self) -> Option<engram_types::Timestamp> {
        match &self.content {
            Content::Record(candidate) => Some(candidate.record.time()),
            Content::Turn(event) => Some(event.ts),
            _ => None,
        }
    }

    /// The recalled event this entry is a context turn of.
    fn context_of(&self) -> Option<&str> {
        match &self.content {
            Content::Record(candidate) => candidate.context_of.as_deref(),
            _ => None,
        }
    }

    /// The text of a record or turn as written (empty for state, whose lines are rendered per form).
    fn written_text(&self) -> &str {
        match &self.content {
            Content::Record(candidate) => render::main_text(&candidate.record),
            Content::Turn(event) => &event.text,
            _ => "",
        }
    }
}

/// One entry's forms as one placement measures and renders them: the texts they share are made
/// once, on first use, and a record's form is measured (its floor) without being rendered.
struct Forms<'a> {
    entry: &'a Entry,
    format: OutputFormat,
    show_ids: bool,
    /// What a record's line says beyond the record.
    notes: Option<render::Notes>,
    /// The full text on one line: a long text whose full form does not fit is never joined.
    full: OnceCell<String>,
    /// Where the compact text is cut, `None` when the text is short already.
    cut: OnceCell<Option<render::Cut>>,
    /// The floor of a record's markdown line with an empty text: what its full and compact
    /// lines hold before their text.
    head_floor: OnceCell<u32>,
}

impl<'a> Forms<'a> {
    fn new(entry: &'a Entry, format: OutputFormat, show_ids: bool) -> Self {
        let notes = match &entry.content {
            Content::Record(candidate) => Some(notes(candidate, show_ids)),
            _ => None,
        };
        Self {
            entry,
            format,
            show_ids,
            notes,
            full: OnceCell::new(),
            cut: OnceCell::new(),
            head_floor: OnceCell::new(),
        }
    }

    fn full_text(&self) -> &str {
        self.full.get_or_init(|| render::one_line(self.entry.written_text()))
    }

    /// The compact text as it is displayed, `None` when the text is short already.
    fn compact(&self) -> Option<render::Compact<'a>> {
        let text = self.entry.written_text();
        let cut = *self.cut.get_or_init(|| render::compact_cut(text));
        cut.map(|cut| render::Compact { text, cut })
    }

    fn id(&self) -> Option<&str> {
        self.show_ids.then_some(self.entry.id())
    }

    /// The [`token_floor`] of the form's block, `None` when the form adds nothing (e.g. a
    /// compact form of a text that is short already). A record's block is not rendered for it.
    fn floor(&self, form: ItemForm) -> Option<u32> {
        let (Content::Record(candidate), Some(notes)) = (&self.entry.content, &self.notes) else {
            return self.render(form).map(|(_, block)| token_floor(&block));
        };
        let floor = |text: &dyn Display| {
            let line = render::RecordLine { record: &candidate.record, text, form, notes };
            render::Floor::of(&render::Block { format: self.format, id: self.id(), form, lines: &[&line] })
        };
        let written = self.entry.written_text();
        // The full and compact lines share it.
        let head_floor = || *self.head_floor.get_or_init(|| floor(&""));
        match form {
            // A markdown line ends with its text after a space: each of the text's words is one
            // more run than the line of an empty text has.
            ItemForm::Full if self.format == OutputFormat::Markdown => {
                let runs = head_floor() + render::word_count(written);
                debug_assert_eq!(runs, floor(&render::OneLine(written)));
                Some(runs)
            }
            ItemForm::Full => Some(floor(&render::OneLine(written))),
            // The same, with the compact text's runs.
            ItemForm::Compact if self.format == OutputFormat::Markdown => {
                let compact = self.compact()?;
                let runs = head_floor() + compact.cut.runs();
                debug_assert_eq!(runs, floor(&compact));
                Some(runs)
            }
            ItemForm::Compact => Some(floor(&self.compact()?)),
            ItemForm::Reference => Some(floor(&"")),
        }
    }

    /// The item's text and block in a form; `None` when the form adds nothing.
    fn render(&self, form: ItemForm) -> Option<(String, String)> {
        let text = || match form {
            ItemForm::Full => Some(self.full_text().to_string()),
            ItemForm::Compact => self.compact().map(|compact| compact.to_string()),
            ItemForm::Reference => Some(String::new()),
        };
        let (text, lines) = match &self.entry.content {
            Content::Record(candidate) => {
                let notes = self.notes.as_ref()?;
                let text = text()?;
                let line = render::RecordLine { record: &candidate.record, text: &text, form, notes }.to_string();
                (if form == ItemForm::Reference { line.clone() } else { text }, vec![line])
            }
            Content::Turn(event) => {
                let text = match form {
                    ItemForm::Reference => render::turn_reference(event, self.show_ids),
                    _ => text()?,
                };
                let line =
                    if form == ItemForm::Reference { text.clone() } else { render::turn_line(&event.role, &text) };
                (text, vec![line])
            }
            Content::WorkingState(state) => {
                let lines = render::working_state_lines(state, form);
                if form == ItemForm::Compact && lines == render::working_state_lines(state, ItemForm::Full) {
                    return None;
                }
                (lines.join("\n"), lines)
            }
            Content::Summary(short_term) => non_empty(render::summary_lines(short_term, form))?,
            Content::Quotes(short_term) => non_empty(render::quote_lines(short_term, form))?,
        };
        let block = render::block(self.format, self.id(), form, &lines);
        Some((text, block))
    }

    /// A lower bound of a record's form's tokens known without measuring it: a block holds its
    /// bullet (`-`) and a run of its line, and a full one its kept tail after its head (see
    /// [`Self::kept_tail`]). A compact text is never empty, nor is a reference line, nor a full
    /// line with a head; a procedure's full line is its text alone, which may be empty (in XML
    /// the opening tag alone holds two runs). `None` for turns and state, measured as they are.
    fn least_floor(&self, form: ItemForm, kept_tail: Option<u32>) -> Option<u32> {
        let Content::Record(candidate) = &self.entry.content else { return None };
        Some(match (form, kept_tail) {
            (ItemForm::Full, Some(tail_tokens)) => 1 + tail_tokens,
            (ItemForm::Full, None)
                if self.format == OutputFormat::Markdown && !render::full_line_has_head(&candidate.record) =>
            {
                1
            }
            _ => 2,
        })
    }

    /// Whether [`Self::least_floor`]'s `bound` holds for the form (for debug checks).
    fn least_floor_holds(&self, form: ItemForm, bound: u32, tokenizer: Tokenizer) -> bool {
        match form {
            ItemForm::Full => self.count(form, tokenizer).is_none_or(|tokens| bound <= tokens),
            _ => self.floor(form).is_none_or(|floor| bound <= floor),
        }
    }

    /// The tokens a record kept at write for its full line's tail, when the block is the
    /// markdown line that count was made for: the block's exact tokens are then its head's
    /// (`- [date role]`, ...; see [`Self::write_head`]) plus these. Known before the text is
    /// joined into one line, so a long text that cannot fit costs nothing more.
    fn kept_tail(&self, tokenizer: Tokenizer) -> Option<u32> {
        let Content::Record(candidate) = &self.entry.content else { return None };
        (self.format == OutputFormat::Markdown && tokenizer == STORED_TOKENIZER).then_some(candidate.line_tokens?)
    }

    /// Writes the head of the full form's block into `head`; `None` when the head does not end
    /// in punctuation (which BPE never joins with the tail's space), so the kept tail does not
    /// add up with it.
    fn write_head(&self, head: &mut String) -> Option<()> {
        let (Content::Record(candidate), Some(notes)) = (&self.entry.content, &self.notes) else { return None };
        // Markdown names no ids, so the head is the same either way.
        let line = render::RecordLine { record: &candidate.record, text: &"", form: ItemForm::Full, notes };
        head.clear();
        write!(head, "{}", render::Block { format: self.format, id: None, form: ItemForm::Full, lines: &[&line] })
            .ok()?;
        // The block of an empty text is the head, then the tail of an empty text, which holds
        // no run: its floor is the head's, the floor the compact form's text adds to.
        let _ = self.head_floor.set(token_floor(head));
        head.truncate(render::line_head(head, "")?.len());
        let adds_up = head.ends_with(|last: char| last.is_ascii_punctuation());
        // Every kind's line is written so (see `render::line_tail`): the bound `place` rules
        // full forms out with before writing their head relies on it.
        debug_assert!(adds_up, "a markdown head ends in punctuation: {head:?}");
        adds_up.then_some(())
    }

    /// The full form's exact tokens from its head and kept tail.
    fn kept_full_count(&self, tokenizer: Tokenizer) -> Option<u32> {
        let tail_tokens = self.kept_tail(tokenizer)?;
        let mut head = String::new();
        self.write_head(&mut head)?;
        Some(count_tokens_cached(tokenizer, &head) + tail_tokens)
    }

    /// The form's exact tokens.
    fn count(&self, form: ItemForm, tokenizer: Tokenizer) -> Option<u32> {
        self.render(form).map(|(_, block)| count_tokens_cached(tokenizer, &block))
    }
}

/// What a candidate's line says beyond its record (see `changes.rs`).
fn notes(candidate: &Candidate, show_ids: bool) -> render::Notes {
    render::Notes {
        was: candidate.replaced.as_ref().map(|replaced| value_words(&replaced.value)),
        outdated: candidate.outdated_by.is_some(),
        show_ids,
    }
}

fn non_empty(lines: Vec<String>) -> Option<(String, Vec<String>)> {
    (!lines.is_empty()).then(|| (lines.join("\n"), lines))
}

/// An entry that made it, in the form it made it in.
#[derive(Debug, Clone)]
pub(super) struct Placed {
    pub entry: Entry,
    pub form: ItemForm,
    pub text: String,
    pub block: String,
    pub tokens: u32,
}

#[derive(Debug, Default)]
pub(super) struct Assembly {
    /// Included entries per section, in the order the sections render.
    pub placed: Vec<(Section, Vec<Placed>)>,
    pub omitted: Vec<OmittedItem>,
    pub degradations: Vec<Degradation>,
    pub section_usage: BTreeMap<Section, u32>,
    pub used_tokens: u32,
}

pub(super) fn assemble(mut entries: BTreeMap<Section, Vec<Entry>>, request: &BuildRequest) -> Assembly {
    let budget = &request.budget;
    let mut assembly = Assembly::default();
    // Most entries of a full packet are left out: room for all, so the list never regrows.
    assembly.omitted.reserve(entries.values().map(Vec::len).sum());
    let mut remaining_total = budget.max_tokens;
    // Recalled events past `max_recall` wait for what every other section leaves, then go in
    // best first.
    let fills = recall_fills_budget(request);
    let mut waiting: Option<(usize, SectionFill, Vec<Entry>)> = None;
    for section in section_order(request.purpose) {
        let Some(section_entries) = entries.remove(&section) else { continue };
        if section_entries.is_empty() {
            continue;
        }
        let mut fill = SectionFill::new(section, request);
        let cap = request.policy.cap_for(section) as usize;
        let deferring = fills && section == Section::Recall;
        let mut deferred = Vec::new();
        for entry in section_entries {
            let context_of = entry.context_of();
            // A context turn rides with its event: it enters only after it, and outside the cap.
            let orphan = context_of.is_some_and(|hit| !fill.holds(hit));
            if orphan || (context_of.is_none() && fill.counted >= cap) {
                if deferring {
                    deferred.push(entry);
                } else {
                    assembly.omitted.push(omission(&entry, OmissionReason::PolicyCap));
                }
                continue;
            }
            fill.place(entry, &mut remaining_total, &mut assembly);
        }
        // The section keeps its place in the rendering order even if it is empty for now.
        let index = assembly.placed.len();
        if deferring {
            assembly.placed.push((section, Vec::new()));
            waiting = Some((index, fill, deferred));
        } else if !fill.placed.is_empty() {
            assembly.placed.push((section, std::mem::take(&mut fill.placed)));
        }
    }
    if let Some((index, mut fill, deferred)) = waiting {
        for entry in deferred {
            if entry.context_of().is_some_and(|hit| !fill.holds(hit)) {
                assembly.omitted.push(omission(&entry, OmissionReason::PolicyCap));
                continue;
            }
            fill.place(entry, &mut remaining_total, &mut assembly);
        }
        if let Some((_, placed)) = assembly.placed.get_mut(index) {
            *placed = std::mem::take(&mut fill.placed);
        }
        assembly.placed.retain(|(_, placed)| !placed.is_empty());
    }
    assembly.used_tokens = budget.max_tokens - remaining_total;
    assembly
}

/// One section's claim on the budget: what it placed, what it may still use.
struct SectionFill<'a> {
    section: Section,
    request: &'a BuildRequest,
    /// The heading's and closing line's tokens, paid with the first item.
    overhead: u32,
    remaining_section: u32,
    placed: Vec<Placed>,
    /// Items placed that count against the section's cap (context turns do not).
    counted: usize,
    /// The head of the entry being placed (see [`Forms::write_head`]), written over for each.
    head: String,
}

impl<'a> SectionFill<'a> {
    fn new(section: Section, request: &'a BuildRequest) -> Self {
        let (format, tokenizer) = (request.format, request.budget.tokenizer);
        let heading = render::heading(section, format);
        let closing = render::closing(section, format);
        let overhead = count_tokens_cached(tokenizer, &heading)
            + closing.as_deref().map_or(0, |line| count_tokens_cached(tokenizer, line));
        let remaining_section = request.budget.per_section.get(&section).copied().unwrap_or(u32::MAX);
        Self { section, request, overhead, remaining_section, placed: Vec::new(), counted: 0, head: String::new() }
    }

    fn holds(&self, id: &str) -> bool {
        self.placed.iter().any(|item| item.entry.id() == id)
    }

    /// Places the entry in the richest form that fits, or records why it is left out.
    ///
    /// A form whose token floor (see [`token_floor`]) already exceeds the room is neither
    /// rendered nor counted: most candidates of a full packet are left out, and rendering and
    /// counting their forms was most of the assembly's cost. Counts that the packet reports (a
    /// degraded item's saving, a section-budget reason) are still exact.
    fn place(&mut self, entry: Entry, remaining_total: &mut u32, assembly: &mut Assembly) {
        let (section, format, tokenizer) = (self.section, self.request.format, self.request.budget.tokenizer);
        let first_overhead = if self.placed.is_empty() { self.overhead } else { 0 };
        let room = self.remaining_section.min(*remaining_total);
        let mut tried: SmallVec<[Tried; 3]> = SmallVec::new();
        let mut chosen = None;
        let forms = Forms::new(&entry, format, self.request.show_ids);
        let kept_tail = forms.kept_tail(tokenizer);
        // The full block's exact tokens, once counted from its head and kept tail.
        let mut kept_count = None;
        for form in [ItemForm::Full, ItemForm::Compact, ItemForm::Reference] {
            // Most records of a full packet are ruled out by bounds, unmeasured.
            if let Some(bound) = forms.least_floor(form, kept_tail)
                && bound + first_overhead > room
            {
                debug_assert!(forms.least_floor_holds(form, bound, tokenizer), "{form:?} bound {bound}");
                tried.push(Tried { form, floor: bound, tokens: None, measured: false });
                continue;
            }
            let floor = match (form, kept_tail) {
                (ItemForm::Full, Some(tail_tokens)) if forms.write_head(&mut self.head).is_some() => {
                    let floor = forms.head_floor.get().copied().unwrap_or(1) + tail_tokens;
                    if floor + first_overhead > room {
                        tried.push(Tried { form, floor, tokens: None, measured: true });
                        continue;
                    }
                    let tokens = count_tokens_cached(tokenizer, &self.head) + tail_tokens;
                    if tokens + first_overhead > room {
                        tried.push(Tried { form, floor: tokens, tokens: Some(tokens), measured: true });
                        continue;
                    }
                    kept_count = Some(tokens);
                    tokens
                }
                _ => match forms.floor(form) {
                    Some(floor) => floor,
                    None => continue,
                },
            };
            if floor + first_overhead > room {
                tried.push(Tried { form, floor, tokens: None, measured: true });
                continue;
            }
            let Some((text, block)) = forms.render(form) else { continue };
            // A count kept or cached is as cheap as the floor; else count.
            let known = kept_count
                .filter(|_| {
                    form == ItemForm::Full
                        && forms.full.get().and_then(|text| render::line_head(&block, text)) == Some(self.head.as_str())
                })
                .or_else(|| cached_count(tokenizer, &block));
            let tokens = known.unwrap_or_else(|| count_tokens_cached(tokenizer, &block));
            if tokens + first_overhead <= room {
                chosen = Some((form, text, block, tokens));
                break;
            }
            tried.push(Tried { form, floor, tokens: Some(tokens), measured: true });
        }
        let Some((form, text, block, tokens)) = chosen else {
            // Left out: over the section's budget if even the smallest form is, else over the total.
            let over_section = self.request.budget.per_section.contains_key(&section)
                && (room == self.remaining_section || {
                    // A form ruled out by a bound may not exist (a short text has no compact
                    // form): only the forms as measured say whether the section is too small.
                    let measured: SmallVec<[Tried; 3]> =
                        tried.into_iter().filter_map(|form| form.measured(&forms)).collect();
                    measured.iter().all(|form| form.floor() + first_overhead > self.remaining_section)
                        || measured
                            .iter()
                            .all(|form| form.count(&forms, tokenizer) + first_overhead > self.remaining_section)
                });
            let reason = if over_section { OmissionReason::SectionBudget } else { OmissionReason::TotalBudget };
            tracing::debug!(section = section.as_str(), id = entry.id(), room, reason = ?reason, "budget trim: left out");
            assembly.omitted.push(omission(&entry, reason));
            return;
        };
        let full_tokens =
            tried.iter().find(|tried| tried.form == ItemForm::Full).map(|tried| tried.count(&forms, tokenizer));
        drop(forms);
        if form != ItemForm::Full {
            let saved = full_tokens.unwrap_or(tokens).saturating_sub(tokens);
            tracing::debug!(section = section.as_str(), id = entry.id(), form = ?form, saved, "budget trim: degraded");
            assembly.degradations.push(Degradation {
                id: entry.id().to_string(),
                section,
                from: ItemForm::Full,
                to: form,
                tokens_saved: saved,
            });
        }
        let cost = tokens + first_overhead;
        self.remaining_section -= cost;
        *remaining_total -= cost;
        *assembly.section_usage.entry(section).or_insert(0) += cost;
        if entry.context_of().is_none() {
            self.counted += 1;
        }
        self.placed.push(Placed { entry, form, text, block, tokens });
    }
}

/// A form that did not fit: its floor and its count, if known.
struct Tried {
    form: ItemForm,
    floor: u32,
    tokens: Option<u32>,
    /// Whether the form was measured, or only ruled out by a bound that holds for any form
    /// (see [`Forms::least_floor`]).
    measured: bool,
}

impl Tried {
    /// The form as measured, `None` when it does not exist.
    fn measured(self, forms: &Forms<'_>) -> Option<Self> {
        if self.measured {
            return Some(self);
        }
        let floor = forms.floor(self.form)?.max(self.floor);
        Some(Self { floor, measured: true, ..self })
    }

    /// A lower bound of the form's tokens, without counting.
    fn floor(&self) -> u32 {
        self.tokens.unwrap_or(self.floor)
    }

    fn count(&self, forms: &Forms<'_>, tokenizer: Tokenizer) -> u32 {
        self.tokens
            .or_else(|| (self.form == ItemForm::Full).then(|| forms.kept_full_count(tokenizer)).flatten())
            .or_else(|| forms.count(self.form, tokenizer))
            .unwrap_or(self.floor)
    }
}

fn omission(entry: &Entry, reason: OmissionReason) -> OmittedItem {
    OmittedItem { id: entry.id().to_string(), section: entry.section, reason, score: Some(entry.score) }
}

/// The packet text: each section's heading, its blocks in display order, its closing line.
pub(super) fn render_text(assembly: &Assembly, request: &BuildRequest) -> String {
    let mut text = String::new();
    for (section, placed) in &assembly.placed {
        text.push_str(&render::heading(*section, request.format));
        let mut ordered: Vec<&Placed> = placed.iter().collect();
        if *section == Section::ConversationWindow {
            // Turns are chosen newest first (rank 1 is the newest) but read oldest first.
            ordered.sort_by_key(|item| std::cmp::Reverse(item.entry.rank));
        }
        if *section == Section::Recall {
            // Each recalled event reads with its context turns around it, in time order.
            let rank_of = |id: &str| placed.iter().find(|item| item.entry.id() == id).map_or(0, |item| item.entry.rank);
            ordered.sort_by_key(|item| {
                let anchor = item.entry.context_of().map_or(item.entry.rank, rank_of);
                (anchor, item.entry.time())
            });
        }
        for item in ordered {
            text.push_str(&item.block);
        }
        if let Some(line) = render::closing(*section, request.format) {
            text.push_str(&line);
        }
    }
    text
}
