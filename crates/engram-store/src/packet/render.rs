//! Text of the packet. Every block (a heading or one item) ends with a newline and the next
//! block starts with `-`, `#` or `<`; BPE pre-tokenization never merges across such a
//! boundary, so a packet's token count is exactly the sum of its blocks' counts. That lets
//! the assembler charge each item its exact cost once, and `meta.tokens` equal the count of
//! `rendered` without recounting it.

use std::fmt::Write as _;

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
    match format {
        OutputFormat::Markdown => lines.iter().map(|line| format!("- {line}\n")).collect(),
        OutputFormat::Xml => {
            let form = match form {
                ItemForm::Full => "full",
                ItemForm::Compact => "compact",
                ItemForm::Reference => "reference",
            };
            let body = lines.iter().map(|line| escape_xml(line)).collect::<Vec<_>>().join(" | ");
            match id {
                Some(id) => format!("<item id=\"{}\" form=\"{form}\">{body}</item>\n", escape_xml(id)),
                None => format!("<item form=\"{form}\">{body}</item>\n"),
            }
        }
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
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

/// The compact form of a text as written: [`shorten`] of its [`one_line`], from its first words
/// only (a long text is not joined whole to be cut at `COMPACT_CHARS`).
pub(super) fn compact(text: &str) -> Option<String> {
    let mut line = String::new();
    let mut chars = 0;
    each_word(text, |word| {
        chars += usize::from(!line.is_empty()) + word.chars().count();
        push_word(&mut line, word);
        // Past COMPACT_CHARS, the rest changes neither the cut nor whether there is one.
        chars <= COMPACT_CHARS
    });
    shorten(&line)
}

/// The text cut at a word boundary near `COMPACT_CHARS`, or `None` if it is short already.
pub(super) fn shorten(text: &str) -> Option<String> {
    if text.chars().count() <= COMPACT_CHARS {
        return None;
    }
    let cut: String = text.chars().take(COMPACT_CHARS).collect();
    let at_word = cut.rfind(' ').filter(|&index| index > COMPACT_CHARS / 2).map_or(cut.as_str(), |index| &cut[..index]);
    Some(format!("{}…", at_word.trim_end()))
}

fn date(instant: Timestamp) -> String {
    let mut text = day(instant);
    let _ = write!(text, " {:02}:{:02}", instant.hour(), instant.minute());
    text
}

/// `%Y-%m-%d`, written directly for the years of four digits: parsing chrono's pattern for
/// every line was a visible share of rendering a packet.
fn day(instant: Timestamp) -> String {
    let mut text = String::with_capacity(16);
    if (0..=9999).contains(&instant.year()) {
        let _ = write!(text, "{:04}-{:02}-{:02}", instant.year(), instant.month(), instant.day());
    } else {
        let _ = write!(text, "{}", instant.format("%Y-%m-%d"));
    }
    text
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

/// A record's line given the (possibly shortened) text, or its reference line.
pub(super) fn record_line(record: &Record, text: &str, form: ItemForm, notes: &Notes) -> String {
    if form == ItemForm::Reference {
        let (kind, what) = match record {
            Record::Event(event) => ("event", format!("{} {}", date(event.ts), spoken_role(&event.role))),
            Record::Fact(fact) => ("fact", fact.fact_key.clone()),
            Record::Episode(episode) => {
                ("episode", format!("episode {} to {}", date(episode.start_ts), date(episode.end_ts)))
            }
            Record::Procedure(procedure) => ("procedure", format!("procedure {}", one_line(&procedure.title))),
            Record::Insight(insight) => ("insight", format!("{} insight", insight.kind.as_str())),
        };
        return if notes.show_ids { format!("[{kind} {}] {what}", record.id()) } else { format!("{what} {LEFT_OUT}") };
    }
    let outdated = if notes.outdated { "; outdated" } else { "" };
    match record {
        Record::Event(event) => format!("[{} {}{outdated}] {text}", date(event.ts), spoken_role(&event.role)),
        // Since when the value holds, and what it replaced lately, so a model can weigh it
        // against what a turn said earlier.
        Record::Fact(fact) => match &notes.was {
            Some(was) => format!("[since {}; was {was}] {text}", day(fact.valid_from)),
            None => format!("[since {}] {text}", day(fact.valid_from)),
        },
        Record::Episode(episode) => format!("{} to {}: {text}", date(episode.start_ts), date(episode.end_ts)),
        Record::Procedure(_) => text.to_string(),
        Record::Insight(insight) => format!(
            "({}, {}, confidence {:.2}) {text}",
            insight.kind.as_str(),
            insight.validation.as_str(),
            insight.confidence
        ),
    }
}

/// How the full markdown block of a record or a turn ends: a space, its one-line text, the
/// newline. What comes before (`- [date role]`, `- role:`, `-`, `- (kind, ...)`) ends in
/// punctuation, which BPE pre-tokenization never joins with a following space, so the block's
/// token count is the head's plus this tail's: the tail's is counted once, at write.
pub(super) fn line_tail(text: &str) -> String {
    format!(" {text}\n")
}

/// What precedes the [`line_tail`] of `text` in `block`, if the block ends with that tail.
pub(super) fn line_head<'block>(block: &'block str, text: &str) -> Option<&'block str> {
    block.strip_suffix('\n')?.strip_suffix(text)?.strip_suffix(' ')
}

/// Tokens ([`STORED_TOKENIZER`]) of the [`line_tail`] of a record's full form, kept with the
/// record when it is written.
pub(crate) fn line_tail_tokens(record: &Record) -> u32 {
    count_tokens(STORED_TOKENIZER, &line_tail(&one_line(main_text(record))))
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
                proptest::prop_assert_eq!(date(instant), instant.format("%Y-%m-%d %H:%M").to_string());
                proptest::prop_assert_eq!(day(instant), instant.format("%Y-%m-%d").to_string());
            }
        }

        #[test]
        fn compact_cuts_the_one_line_text(
            text in "(\\PC|[ \t\n\u{a0}\u{3000}\u{b}]){0,400}",
            words in "([A-Za-z\u{e9}]{1,12}[ \n\t]{1,3}){0,60}",
        ) {
            proptest::prop_assert_eq!(compact(&text), shorten(&one_line(&text)));
            proptest::prop_assert_eq!(compact(&words), shorten(&one_line(&words)));
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
