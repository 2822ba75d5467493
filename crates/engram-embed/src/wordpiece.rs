//! BERT-base-uncased WordPiece, as Hugging Face `tokenizers` runs it for all-MiniLM-L6-v2
//! (`BertNormalizer` with lowercase, `BertPreTokenizer`, `WordPiece`, `[CLS] ... [SEP]`).
//!
//! The vocabulary (`vocab.txt`, 30,522 entries) is Google's BERT-base-uncased vocabulary,
//! Apache-2.0, as shipped with sentence-transformers/all-MiniLM-L6-v2; it is compiled in so Rust
//! users need no file.

use std::collections::HashMap;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// The BERT-base-uncased vocabulary, one token a line; the line number is the token id.
const VOCAB: &str = include_str!("vocab.txt");
/// A word longer than this (in chars) is one `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;
const CONTINUATION: &str = "##";

/// Turns text into BERT-uncased token ids, `[CLS]` first and `[SEP]` last.
#[derive(Debug)]
pub struct WordPiece {
    ids: HashMap<&'static str, u32>,
    unknown: u32,
    classify: u32,
    separator: u32,
}

impl Default for WordPiece {
    fn default() -> Self {
        Self::new()
    }
}

impl WordPiece {
    /// The tokenizer over the compiled-in vocabulary.
    pub fn new() -> Self {
        let ids: HashMap<&'static str, u32> = VOCAB.lines().zip(0u32..).collect();
        let id = |token: &str, fallback: u32| ids.get(token).copied().unwrap_or(fallback);
        // The fallbacks are the ids these tokens have in vocab.txt.
        let (unknown, classify, separator) = (id("[UNK]", 100), id("[CLS]", 101), id("[SEP]", 102));
        Self { ids, unknown, classify, separator }
    }

    /// The id of `[PAD]`, which pads a batch.
    pub const fn padding_id(&self) -> u32 {
        0
    }

    /// `[CLS]`, the word pieces of `text`, `[SEP]`: at most `max_tokens` ids (at least the two
    /// markers), the word pieces truncated at the end.
    pub fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let room = max_tokens.saturating_sub(2);
        let mut ids = vec![self.classify];
        let normalized = normalize(text);
        'words: for word in pre_tokenize(&normalized) {
            for id in self.word_pieces(word) {
                if ids.len() > room {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.separator);
        ids
    }

    /// Greedy longest-match-first pieces of one word; `[UNK]` alone when a part has no piece.
    fn word_pieces(&self, word: &str) -> Vec<u32> {
        if word.chars().count() > MAX_WORD_CHARS {
            return vec![self.unknown];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                candidate.clear();
                if start > 0 {
                    candidate.push_str(CONTINUATION);
                }
                candidate.push_str(word.get(start..end).unwrap_or_default());
                if let Some(id) = self.ids.get(candidate.as_str()) {
                    found = Some(*id);
                    break;
                }
                end = previous_boundary(word, end);
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unknown],
            }
            start = end;
        }
        pieces
    }
}

/// The byte index of the char boundary before `end`.
fn previous_boundary(word: &str, end: usize) -> usize {
    word.get(..end).and_then(|head| head.char_indices().next_back()).map_or(0, |(index, _)| index)
}

/// BertNormalizer: drop control chars and turn whitespace into spaces, put spaces around CJK
/// ideographs, strip accents (NFD, then no nonspacing marks), lowercase.
fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_chinese(c) {
            cleaned.extend([' ', c, ' ']);
        } else {
            cleaned.push(c);
        }
    }
    cleaned
        .nfd()
        .filter(|c| get_general_category(*c) != GeneralCategory::NonspacingMark)
        .flat_map(char::to_lowercase)
        .collect()
}

/// BertPreTokenizer: split on whitespace, and every punctuation char is a word of its own.
fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    text.split(char::is_whitespace).flat_map(split_punctuation).filter(|word| !word.is_empty())
}

fn split_punctuation(chunk: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    for (index, c) in chunk.char_indices() {
        if is_punctuation(c) {
            words.extend(chunk.get(start..index));
            words.extend(chunk.get(index..index + c.len_utf8()));
            start = index + c.len_utf8();
        }
    }
    words.extend(chunk.get(start..));
    words
}

fn is_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// Other (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return, which are whitespace.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
    )
}

/// ASCII punctuation (`$`, `+`, `^`, ... included, as in BERT) or a Unicode punctuation category.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            GeneralCategory::ConnectorPunctuation
                | GeneralCategory::DashPunctuation
                | GeneralCategory::OpenPunctuation
                | GeneralCategory::ClosePunctuation
                | GeneralCategory::InitialPunctuation
                | GeneralCategory::FinalPunctuation
                | GeneralCategory::OtherPunctuation
        )
}

/// The CJK Unified Ideographs blocks BERT treats as one word per char.
fn is_chinese(c: char) -> bool {
    matches!(
        u32::from(c),
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
