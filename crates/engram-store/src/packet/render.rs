//! Text of the packet. Every block (a heading or one item) ends with a newline and the next
//! block starts with `-`, `#` or `<`; BPE pre-tokenization never merges across such a
//! boundary, so a packet's token count is exactly the sum of its blocks' counts. That lets
//! the assembler charge each item its exact cost once, and `meta.tokens` equal the count of
//! `rendered` without recounting it.
//!
//! A record's line and block are written through [`std::fmt::Display`], once: into a string
//! for the packet, or into a [`Floor`] that only counts the runs a string would hold, so most
//! candidates (left out, with no form that fits) are measured without being rendered.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

use chrono::{Datelike, Timelike};
use engram_types::{ItemForm, OutputFormat, Section, ShortTermState, Timestamp, WorkingState};

use crate::prepare::STORED_TOKENIZER;
use crate::record::Record;
use crate::tokens::count_tokens;

/// Longest compact text, in characters, before the ellipsis.
const COMPACT_CHARS: usize = 160;

pub(super) fn heading(section: Section, format: OutputFormat) -> String {
    match format {
        OutputFormat::Markdown => format!("## {}\n", section.title()),
        OutputFormat::Xml => format!("<{}>\n", section.as_str()),
    }
}

/// The closing line a section needs in this format, if any.
pub(super) fn closing(section: Section, format: OutputFormat) -> Option<String> {
    match format {
        OutputFormat::Markdown => None,
        OutputFormat::Xml => Some(format!("</{}>\n", section.as_str())),
    }
}

/// One item's block: its lines as `- line` (markdown) or one `<item>` element (xml, with the
/// record's `id` attribute when ids are shown).
pub(super) fn block(format: OutputFormat, id: Option<&str>, form: ItemForm, lines: &[String]) -> String {
    let lines: Vec<&dyn Display> = lines.iter().map(|line| line as &dyn Display).collect();
    Block { format, id, form, lines: &lines }.to_string()
}

/// [`block`] of lines written as they are displayed, never joined first.
pub(super) struct Block<'a> {
    pub format: OutputFormat,
    pub id: Option<&'a str>,
    pub form: ItemForm,
    pub lines: &'a [&'a dyn Display],
}

impl Display for Block<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            OutputFormat::Markdown => {
                for line in self.lines {
                    out.write_str("- ")?;
                    line.fmt(out)?;
                    out.write_str("\n")?;
                }
                Ok(())
            }
            OutputFormat::Xml => {
                let form = match self.form {
                    ItemForm::Full => "full",
                    ItemForm::Compact => "compact",
                    ItemForm::Reference => "reference",
                };
                match self.id {
                    Some(id) => write!(out, "<item id=\"{}\" form=\"{form}\">", EscapeXml(&id))?,
                    None => write!(out, "<item form=\"{form}\">")?,
                }
                for (index, line) in self.lines.iter().enumerate() {
                    if index > 0 {
                        out.write_str(" | ")?;
                    }
                    write!(out, "{}", EscapeXml(line))?;
                }
                out.write_str("</item>\n")
            }
        }
    }
}

/// A value displayed with `&`, `<`, `>` and `"` escaped for XML.
struct EscapeXml<'a, T: Display + ?Sized>(&'a T);

impl<T: Display + ?Sized> Display for EscapeXml<'_, T> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl fmt::Write for Escaping<'_, '_> {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                let mut rest = text;
                while let Some(at) = rest.find(['&', '<', '>', '"']) {
                    self.0.write_str(&rest[..at])?;
                    self.0.write_str(match rest.as_bytes()[at] {
                        b'&' => "&amp;",
                        b'<' => "&lt;",
                        b'>' => "&gt;",
                        _ => "&quot;",
                    })?;
                    rest = &rest[at + 1..];
                }
                self.0.write_str(rest)
            }
        }
        write!(Escaping(out), "{}", self.0)
    }
}

/// The [`token_floor`](crate::tokens::token_floor) of what is written to it (its runs of
/// non-whitespace), without keeping the text.
#[derive(Debug, Default)]
pub(super) struct Floor {
    runs: u32,
    in_run: bool,
}

impl Floor {
    /// The floor of a value's text.
    pub(super) fn of(value: &dyn Display) -> u32 {
        let mut floor = Self::default();
        // Writing to a counter cannot fail; a Display that fails counts what it wrote.
        let _ = write!(floor, "{value}");
        floor.runs
    }
}

impl fmt::Write for Floor {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for byte in text.bytes() {
            let space = byte.is_ascii_whitespace();
            self.runs += u32::from(!space && !self.in_run);
            self.in_run = !space;
        }
        Ok(())
    }
}

/// Whitespace runs (newlines included) become single spaces: one item, one line.
pub(super) fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    each_word(text, |word| {
        push_word(&mut line, word);
        true
    });
    line
}

/// The number of words [`one_line`] joins (its runs of non-whitespace).
pub(super) fn word_count(text: &str) -> u32 {
    let mut words = 0_u32;
    each_word(text, |_| {
        words = words.saturating_add(1);
        true
    });
    words
}

/// [`one_line`] as it is displayed, without joining it first.
pub(super) struct OneLine<'a>(pub &'a str);

impl Display for OneLine<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut result = Ok(());
        let mut first = true;
        each_word(self.0, |word| {
            if !first {
                result = out.write_char(' ');
            }
            first = false;
            result = result.and_then(|()| out.write_str(word));
            result.is_ok()
        });
        result
    }
}

/// Visits the words [`one_line`] joins, in order, while `visit` says go on.
fn each_word(text: &str, mut visit: impl FnMut(&str) -> bool) {
    // ASCII text (most of it) splits byte by byte; Unicode whitespace needs the char walk.
    if text.is_ascii() {
        for word in text.split_ascii_whitespace() {
            if !visit(word) {
                return;
            }
        }
    } else {
        for word in text.split_whitespace() {
            if !visit(word) {
                return;
            }
        }
    }
}

fn push_word(line: &mut String, word: &str) {
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(word);
}

/// Where the compact form cuts a text's [`one_line`] (as [`shorten`] does): the whole words it
/// keeps, then the first bytes of the next word when no space lies past half of
/// `COMPACT_CHARS`. Known from the first words alone, without joining them, so a form's floor
/// costs no copy of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cut {
    words: usize,
    partial: usize,
}

impl Cut {
    /// The runs of non-whitespace of the compact text (its `token_floor`): each word kept, the
    /// piece of the next, the ellipsis joined to the last.
    pub(super) fn runs(self) -> u32 {
        u32::try_from(self.words + usize::from(self.partial > 0)).unwrap_or(u32::MAX).max(1)
    }
}

/// The [`Cut`] of a text's compact form, `None` when the text is short already.
pub(super) fn compact_cut(text: &str) -> Option<Cut> {
    // The line has no more characters than the text has bytes.
    if text.len() <= COMPACT_CHARS {
        return None;
    }
    // The line so far: its characters, its bytes, its words, the last word's bytes.
    let (mut chars, mut bytes, mut words, mut last_word) = (0, 0, 0, 0);
    let mut cut = None;
    each_word(text, |word| {
        let separator = usize::from(words > 0);
        let word_chars = if word.is_ascii() { word.len() } else { word.chars().count() };
        if chars + separator + word_chars <= COMPACT_CHARS {
            (chars, bytes, words, last_word) =
                (chars + separator + word_chars, bytes + separator + word.len(), words + 1, word.len());
            return true;
        }
        // The line's first COMPACT_CHARS characters end in this word, or at the space before it.
        let room = COMPACT_CHARS - chars;
        let piece = word.char_indices().nth(room.saturating_sub(separator)).map_or(word.len(), |(index, _)| index);
        // Their last space: the one before this word if they reach it, else the one before the
        // last whole word; the line is cut there when it lies past half of COMPACT_CHARS.
        let last_space = if separator == 1 && room >= 1 {
            Some((bytes, words))
        } else if words >= 2 {
            Some((bytes - last_word - 1, words - 1))
        } else {
            None
        };
        cut = Some(match last_space {
            Some((space, kept)) if space > COMPACT_CHARS / 2 => Cut { words: kept, partial: 0 },
            _ => Cut { words, partial: piece },
        });
        false
    });
    cut
}

/// A text's compact form: the words its [`Cut`] keeps, the piece of the next, an ellipsis.
pub(super) struct Compact<'a> {
    pub text: &'a str,
    pub cut: Cut,
}

impl Display for Compact<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Cut { words, partial } = self.cut;
        let mut written = 0;
        let mut result = Ok(());
        each_word(self.text, |word| {
            let piece = if written < words { word } else { word.get(..partial).unwrap_or(word) };
            if !piece.is_empty() {
                if written > 0 {
                    result = result.and_then(|()| out.write_char(' '));
                }
                result = result.and_then(|()| out.write_str(piece));
            }
            written += 1;
            result.is_ok() && written <= words
        });
        result.and_then(|()| out.write_char('…'))
    }
}

/// The text cut at a word boundary near `COMPACT_CHARS`, or `None` if it is short already.
pub(super) fn shorten(text: &str) -> Option<String> {
    if text.chars().count() <= COMPACT_CHARS {
        return None;
    }
    let mut line = text.to_string();
    cut(&mut line);
    Some(line)
}

/// Cuts a text longer than `COMPACT_CHARS` characters at a word boundary near it, in place,
/// and marks the cut with an ellipsis.
fn cut(line: &mut String) {
    let end = line.char_indices().nth(COMPACT_CHARS).map_or(line.len(), |(index, _)| index);
    line.truncate(end);
    if let Some(space) = line.rfind(' ').filter(|&index| index > COMPACT_CHARS / 2) {
        line.truncate(space);
    }
    line.truncate(line.trim_end().len());
    line.push('…');
}

/// `%Y-%m-%d %H:%M`.
struct Date(Timestamp);

impl Display for Date {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The UTC fields directly: a `DateTime`'s own accessors convert to local time each.
        let clock = self.0.naive_utc();
        let mut time = *b" 00:00";
        padded(&mut time[1..3], clock.hour());
        padded(&mut time[4..6], clock.minute());
        Day(self.0).fmt(out)?;
        out.write_str(std::str::from_utf8(&time).map_err(|_| fmt::Error)?)
    }
}

/// `%Y-%m-%d`, written directly for the years of four digits: parsing chrono's pattern (and
/// padding numbers through the formatter) for every line was a visible share of a packet.
struct Day(Timestamp);

impl Display for Day {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instant = self.0.naive_utc();
        match u32::try_from(instant.year()) {
            Ok(year) if year <= 9999 => {
                let mut day = *b"0000-00-00";
                padded(&mut day[0..4], year);
                padded(&mut day[5..7], instant.month());
                padded(&mut day[8..10], instant.day());
                out.write_str(std::str::from_utf8(&day).map_err(|_| fmt::Error)?)
            }
            _ => write!(out, "{}", instant.format("%Y-%m-%d")),
        }
    }
}

/// `%B %-d %Y %A` (`December 25 2023 Monday`): how an event's day is indexed, so that a question
/// naming the day finds it. Written directly, as [`Day`] is, for the years of four digits.
pub(crate) struct SpokenDay(pub Timestamp);

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

impl Display for SpokenDay {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instant = self.0.naive_utc();
        let month = MONTHS.get(instant.month0() as usize);
        let weekday = WEEKDAYS.get(instant.weekday().num_days_from_monday() as usize);
        match (u32::try_from(instant.year()), month, weekday) {
            (Ok(year), Some(month), Some(weekday)) if year <= 9999 => {
                let mut digits = *b"0000 00";
                padded(&mut digits[0..4], year);
                padded(&mut digits[5..7], instant.day());
                let (year, day) = digits.split_at(4);
                let day = if instant.day() < 10 { &day[2..] } else { &day[1..] };
                out.write_str(month)?;
                out.write_str(" ")?;
                out.write_str(std::str::from_utf8(day).map_err(|_| fmt::Error)?)?;
                out.write_str(" ")?;
                out.write_str(std::str::from_utf8(year).map_err(|_| fmt::Error)?)?;
                out.write_str(" ")?;
                out.write_str(weekday)
            }
            _ => write!(out, "{}", instant.format("%B %-d %Y %A")),
        }
    }
}

/// Writes `value` into `digits` as decimal digits, zero-padded to its length (higher digits
/// than fit are dropped; callers pass values that fit).
fn padded(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The main text of a record as written.
pub(crate) fn main_text(record: &Record) -> &str {
    match record {
        Record::Event(event) => &event.text,
        Record::Fact(fact) => &fact.text,
        Record::Episode(episode) => &episode.summary,
        Record::Procedure(procedure) => &procedure.text,
        Record::Insight(insight) => &insight.text,
    }
}

/// What a packet line says beyond its record.
#[derive(Debug, Clone, Default)]
pub(super) struct Notes {
    /// A fact that changed lately: the value it replaced.
    pub was: Option<String>,
    /// A recalled turn that states what a newer fact replaced.
    pub outdated: bool,
    /// Name the record's id (`BuildRequest::show_ids`), for tools that fetch references.
    pub show_ids: bool,
}

/// What a reference line says in place of the item.
const LEFT_OUT: &str = "(left out for space)";

/// A record's line given the (possibly shortened) text, or its reference line (which ignores
/// the text).
pub(super) struct RecordLine<'a> {
    pub record: &'a Record,
    pub text: &'a dyn Display,
    pub form: ItemForm,
    pub notes: &'a Notes,
}

/// Whether a record's full line holds a run before its text (`[since ...]`, `[date role]`, ...):
/// a procedure's line is its text alone, which may be empty.
pub(super) fn full_line_has_head(record: &Record) -> bool {
    !matches!(record, Record::Procedure(_))
}

/// Writes `pieces` one after another. A packet measures thousands of lines: written piece by
/// piece, a line costs a fraction of what `write!` (its format string, padding each argument)
/// does.
fn write_all(out: &mut fmt::Formatter<'_>, pieces: &[&dyn Display]) -> fmt::Result {
    pieces.iter().try_for_each(|piece| piece.fmt(out))
}

/// Text written as it is: a `str` displays through padding, which a line never asks for.
struct Raw<'a>(&'a str);

impl Display for Raw<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str(self.0)
    }
}

impl Display for RecordLine<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { record, text, form, notes } = self;
        if *form == ItemForm::Reference {
            if notes.show_ids {
                write!(out, "[{} {}] ", record.kind().as_str(), record.id())?;
            }
            match record {
                Record::Event(event) => write_all(out, &[&Date(event.ts), &Raw(" "), &Raw(spoken_role(&event.role))])?,
                Record::Fact(fact) => out.write_str(&fact.fact_key)?,
                Record::Episode(episode) => {
                    write!(out, "episode {} to {}", Date(episode.start_ts), Date(episode.end_ts))?;
                }
                Record::Procedure(procedure) => write!(out, "procedure {}", OneLine(&procedure.title))?,
                Record::Insight(insight) => write!(out, "{} insight", insight.kind.as_str())?,
            }
            return if notes.show_ids { Ok(()) } else { write_all(out, &[&Raw(" "), &Raw(LEFT_OUT)]) };
        }
        let outdated = if notes.outdated { "; outdated" } else { "" };
        match record {
            Record::Event(event) => write_all(
                out,
                &[
                    &Raw("["),
                    &Date(event.ts),
                    &Raw(" "),
                    &Raw(spoken_role(&event.role)),
                    &Raw(outdated),
                    &Raw("] "),
                    text,
                ],
            ),
            // Since when the value holds, and what it replaced lately, so a model can weigh it
            // against what a turn said earlier.
            Record::Fact(fact) => match &notes.was {
                Some(was) => write_all(
                    out,
                    &[&Raw("[since "), &Day(fact.valid_from), &Raw("; was "), &Raw(was), &Raw("] "), text],
                ),
                None => write_all(out, &[&Raw("[since "), &Day(fact.valid_from), &Raw("] "), text]),
            },
            Record::Episode(episode) => {
                write!(out, "{} to {}: {text}", Date(episode.start_ts), Date(episode.end_ts))
            }
            Record::Procedure(_) => write!(out, "{text}"),
            Record::Insight(insight) => write!(
                out,
                "({}, {}, confidence {:.2}) {text}",
                insight.kind.as_str(),
                insight.validation.as_str(),
                insight.confidence
            ),
        }
    }
}

/// How the full markdown block of a record or a turn ends: a space, its one-line text, the
/// newline. What comes before (`- [date role]`, `- role:`, `-`, `- (kind, ...)`) ends in
/// punctuation, which BPE pre-tokenization never joins with a following space, so the block's
/// token count is the head's plus this tail's: the tail's is counted once, at write.
pub(super) fn line_tail(text: &str) -> String {
    [" ", text, "\n"].concat()
}

/// What precedes the [`line_tail`] of `text` in `block`, if the block ends with that tail.
pub(super) fn line_head<'block>(block: &'block str, text: &str) -> Option<&'block str> {
    block.strip_suffix('\n')?.strip_suffix(text)?.strip_suffix(' ')
}

/// Tokens ([`STORED_TOKENIZER`]) of the [`line_tail`] of a record's full form, kept with the
/// record when it is written.
pub(crate) fn line_tail_tokens(record: &Record) -> u32 {
    let text = main_text(record);
    let line = if is_one_line(text) { Cow::Borrowed(text) } else { Cow::Owned(one_line(text)) };
    count_tokens(STORED_TOKENIZER, &line_tail(&line))
}

/// Whether [`one_line`] would give `text` back unchanged: ASCII text whose only whitespace is
/// single spaces between words (most written text), told by one pass over its bytes.
fn is_one_line(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.is_ascii()
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !bytes.iter().any(|byte| matches!(byte, b'\t' | b'\n' | b'\x0C' | b'\r'))
        && !bytes.windows(2).any(|pair| pair == b"  ")
}

/// A turn's reference line.
pub(super) fn turn_reference(event: &engram_types::Event, show_ids: bool) -> String {
    if show_ids {
        format!("[event {}] {}", event.event_id, spoken_role(&event.role))
    } else {
        format!("{} turn {LEFT_OUT}", spoken_role(&event.role))
    }
}

/// A conversation turn: `role: text`.
pub(super) fn turn_line(role: &str, text: &str) -> String {
    format!("{}: {text}", spoken_role(role))
}

/// The role as the model reads it: the names frameworks give the two sides of a chat (`human`
/// and `ai` in LangChain) become `user` and `assistant`; any other role is kept as written.
pub(super) fn spoken_role(role: &str) -> &str {
    let is = |names: &[&str]| names.iter().any(|name| role.eq_ignore_ascii_case(name));
    if is(&["user", "human"]) {
        "user"
    } else if is(&["assistant", "ai", "bot"]) {
        "assistant"
    } else {
        role
    }
}

/// The working state's lines; compact keeps goal, plan and open loops.
pub(super) fn working_state_lines(state: &WorkingState, form: ItemForm) -> Vec<String> {
    if form == ItemForm::Reference {
        return vec![format!("working state v{} (left out for space)", state.version)];
    }
    let mut lines = Vec::new();
    if let Some(goal) = &state.goal {
        lines.push(format!("goal: {}", one_line(goal)));
    }
    let lists: [(&str, &Vec<String>, bool); 6] = [
        ("plan", &state.plan, true),
        ("open loops", &state.open_loops, true),
        ("constraints", &state.constraints, false),
        ("decisions", &state.decisions, false),
        ("risks", &state.risks, false),
        ("tool evidence", &state.tool_evidence, false),
    ];
    for (name, list, in_compact) in lists {
        if !list.is_empty() && (form == ItemForm::Full || in_compact) {
            lines.push(format!("{name}: {}", list.iter().map(|item| one_line(item)).collect::<Vec<_>>().join("; ")));
        }
    }
    if form == ItemForm::Full {
        for (key, value) in &state.slots {
            let value = match value {
                serde_json::Value::String(text) => one_line(text),
                other => other.to_string(),
            };
            lines.push(format!("slot {key}: {value}"));
        }
    }
    if lines.is_empty() {
        lines.push(format!("working state v{} (empty)", state.version));
    }
    lines
}

/// The rolling summary's line, shortened when compact.
pub(super) fn summary_lines(short_term: &ShortTermState, form: ItemForm) -> Vec<String> {
    let summary = one_line(short_term.rolling_summary.as_deref().unwrap_or(""));
    match form {
        ItemForm::Full => vec![summary],
        ItemForm::Compact => shorten(&summary).map(|short| vec![short]).unwrap_or_default(),
        ItemForm::Reference => vec!["a summary of this session exists (left out for space)".to_string()],
    }
}

/// Key quotes, each on its line; compact keeps the first three.
pub(super) fn quote_lines(short_term: &ShortTermState, form: ItemForm) -> Vec<String> {
    let quotes = short_term.key_quotes.iter().map(|quote| format!("\"{}\"", one_line(quote)));
    match form {
        ItemForm::Full => quotes.collect(),
        ItemForm::Compact if short_term.key_quotes.len() > 3 => quotes.take(3).collect(),
        ItemForm::Compact => Vec::new(),
        ItemForm::Reference => vec![format!("{} key quotes (left out for space)", short_term.key_quotes.len())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact form of a text as written, `None` when the text is short already.
    fn compact(text: &str) -> Option<String> {
        compact_cut(text).map(|cut| Compact { text, cut }.to_string())
    }

    #[test]
    fn roles_read_as_the_model_expects_and_references_name_no_sdk_call() {
        assert_eq!(turn_line("Human", "hi"), "user: hi");
        assert_eq!(turn_line("AI", "hello"), "assistant: hello");
        assert_eq!(turn_line("tool", "42"), "tool: 42");
        let short_term = ShortTermState {
            rolling_summary: Some("planning a trip".into()),
            key_quotes: vec!["a".into(), "b".into()],
            ..ShortTermState::default()
        };
        let state = WorkingState { version: 3, ..WorkingState::default() };
        let references = [
            summary_lines(&short_term, ItemForm::Reference),
            quote_lines(&short_term, ItemForm::Reference),
            working_state_lines(&state, ItemForm::Reference),
        ];
        for line in references.iter().flatten() {
            assert!(!line.contains("get_") && !line.contains("fetch"), "{line}");
        }
    }

    #[test]
    fn only_ascii_with_single_spaces_between_words_is_one_line_already() {
        assert!(is_one_line("a b, c.") && is_one_line(""));
        for text in ["a  b", " a", "a ", "a\tb", "a\nb", "a\rb", "a\u{c}b", "caf\u{e9} b"] {
            assert!(!is_one_line(text), "{text:?}");
        }
    }

    #[test]
    fn one_line_joins_every_whitespace_run_with_one_space() {
        assert_eq!(one_line("  a\n\tb  c \r\n"), "a b c");
        assert_eq!(one_line("x\u{a0}y\u{3000} z"), "x y z");
        assert_eq!(one_line(" \n "), "");
    }

    /// What a packet relies on when it adds a line's head count to the tail count kept from
    /// write: the two add up to the whole line's count, for any head ending in punctuation.
    fn adds_up(head: &str, text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let tail = line_tail(&one_line(text));
        for tokenizer in [engram_types::Tokenizer::O200kBase, engram_types::Tokenizer::Cl100kBase] {
            let whole = count_tokens(tokenizer, &format!("{head}{tail}"));
            proptest::prop_assert_eq!(
                whole,
                count_tokens(tokenizer, head) + count_tokens(tokenizer, &tail),
                "{:?}",
                (head, text)
            );
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn dates_read_as_chrono_writes_them(millis in chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis()..=chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis(), recent in 0_i64..4_102_444_800_000) {
            for millis in [millis, recent] {
                let instant = chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default();
                proptest::prop_assert_eq!(Date(instant).to_string(), instant.format("%Y-%m-%d %H:%M").to_string());
                proptest::prop_assert_eq!(Day(instant).to_string(), instant.format("%Y-%m-%d").to_string());
                proptest::prop_assert_eq!(SpokenDay(instant).to_string(), instant.format("%B %-d %Y %A").to_string());
            }
        }

        #[test]
        fn a_text_told_one_line_is_its_line(text in "[a-z \t\n\r\u{c}\u{b}\u{a0}.]{0,40}") {
            if is_one_line(&text) {
                proptest::prop_assert_eq!(one_line(&text), text);
            }
        }

        #[test]
        fn a_floor_is_the_floor_of_the_text_written(text in "(\\PC|[ \t\n\u{a0}\u{3000}]){0,200}") {
            proptest::prop_assert_eq!(Floor::of(&text), crate::tokens::token_floor(&text));
            proptest::prop_assert_eq!(Floor::of(&OneLine(&text)), crate::tokens::token_floor(&one_line(&text)));
            proptest::prop_assert_eq!(word_count(&text), crate::tokens::token_floor(&one_line(&text)));
            proptest::prop_assert_eq!(OneLine(&text).to_string(), one_line(&text));
        }

        /// Blocks read as they did when each line was escaped and joined into a string first.
        #[test]
        fn blocks_escape_and_join_their_lines(
            lines in proptest::collection::vec("(\\PC|[&<>\"|]){0,30}", 1..4),
            id in "(\\PC|[&<>\"]){1,12}",
        ) {
            let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
            let body = lines.iter().map(|line| escape(line)).collect::<Vec<_>>().join(" | ");
            let markdown: String = lines.iter().map(|line| format!("- {line}\n")).collect();
            proptest::prop_assert_eq!(block(OutputFormat::Markdown, Some(&id), ItemForm::Full, &lines), markdown);
            proptest::prop_assert_eq!(
                block(OutputFormat::Xml, Some(&id), ItemForm::Compact, &lines),
                format!("<item id=\"{}\" form=\"compact\">{body}</item>\n", escape(&id))
            );
            proptest::prop_assert_eq!(
                block(OutputFormat::Xml, None, ItemForm::Reference, &lines),
                format!("<item form=\"reference\">{body}</item>\n")
            );
        }

        #[test]
        fn compact_cuts_the_one_line_text(
            text in "(\\PC|[ \t\n\u{a0}\u{3000}\u{b}]){0,400}",
            words in "([A-Za-z\u{e9}]{1,12}[ \n\t]{1,3}){0,60}",
            long_words in "([a-z\u{e9}]{1,90}[ \n]){0,8}",
        ) {
            for text in [&text, &words, &long_words] {
                let compacted = compact(text);
                proptest::prop_assert_eq!(&compacted, &shorten(&one_line(text)));
                // What a floor reads off the cut is what the text holds.
                let runs = compact_cut(text).map(Cut::runs);
                proptest::prop_assert_eq!(runs, compacted.as_deref().map(crate::tokens::token_floor));
            }
        }

        #[test]
        fn a_line_counts_as_its_head_plus_its_tail(
            head in "(\\PC|[ \n]){0,24}[!-/:-@\\[-`{-~]",
            text in "(\\PC|[ \t\n\u{a0}\u{3000}'.,!:/-]){0,80}",
        ) {
            adds_up(&head, &text)?;
        }

        #[test]
        fn a_line_of_prose_counts_as_its_head_plus_its_tail(
            role in "[a-z_ ]{0,12}",
            text in "(['\"(]?[A-Za-z0-9']{1,14}[ .,;:!?()\n/-]{1,3}){0,40}",
        ) {
            adds_up(&format!("- [2024-03-01 09:30 {role}]"), &text)?;
            adds_up(&format!("- {role}:"), &text)?;
            adds_up("-", &text)?;
            adds_up("- (preference, validated, confidence 0.80)", &text)?;
        }
    }
}
