//! The pieces BPE runs on, for ASCII text, found byte by byte.
//!
//! Both vocabularies first split text with a regex (tiktoken's patterns, quoted below) and run
//! BPE within each piece. That regex, run by a backtracking engine, was most of a count's cost
//! (two counts per event at write). For ASCII text the pattern's classes are plain byte
//! classes, so the same leftmost-first alternation is decided here by looking at a few bytes;
//! other text goes through tiktoken whole. A property test holds these splits to tiktoken's
//! counts.

use engram_types::Tokenizer;

/// Calls `visit` with each piece of `text` (ASCII only) in order; the pieces cover the text.
pub(super) fn for_each_piece<'text>(tokenizer: Tokenizer, text: &'text [u8], mut visit: impl FnMut(&'text [u8])) {
    let piece_end = match tokenizer {
        Tokenizer::O200kBase => o200k_piece_end,
        Tokenizer::Cl100kBase => cl100k_piece_end,
    };
    let mut start = 0;
    while start < text.len() {
        let end = piece_end(text, start);
        visit(&text[start..end]);
        start = end;
    }
}

/// `\s` on ASCII: Unicode White_Space (tab, newline, vertical tab, form feed, carriage return,
/// space); not the other control bytes.
fn is_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn is_line_break(byte: u8) -> bool {
    matches!(byte, b'\r' | b'\n')
}

/// `[^\s\p{L}\p{N}]`: punctuation, symbols and control bytes.
fn is_other(byte: u8) -> bool {
    !byte.is_ascii_alphanumeric() && !is_space(byte)
}

/// `[^\r\n\p{L}\p{N}]`: what may lead a word.
fn is_word_lead(byte: u8) -> bool {
    !byte.is_ascii_alphanumeric() && !is_line_break(byte)
}

/// The end of the run of bytes from `start` that `class` accepts.
fn run_end(text: &[u8], start: usize, class: impl Fn(u8) -> bool) -> usize {
    text[start..].iter().position(|byte| !class(*byte)).map_or(text.len(), |length| start + length)
}

/// Where a word starts when one starts at `at`: there, or after one leading byte.
fn word_start(text: &[u8], at: usize) -> Option<usize> {
    let byte = text[at];
    if byte.is_ascii_alphabetic() {
        Some(at)
    } else if is_word_lead(byte) && text.get(at + 1).is_some_and(u8::is_ascii_alphabetic) {
        Some(at + 1)
    } else {
        None
    }
}

/// The end of a contraction (`(?i:'s|'t|'re|'ve|'m|'ll|'d)`) at `at`, if one is there.
fn contraction_end(text: &[u8], at: usize, one_letter: &[u8], two_letters: &[&[u8]]) -> Option<usize> {
    if text.get(at) != Some(&b'\'') {
        return None;
    }
    let next = text.get(at + 1)?.to_ascii_lowercase();
    if one_letter.contains(&next) {
        return Some(at + 2);
    }
    let second = text.get(at + 2)?.to_ascii_lowercase();
    two_letters.iter().any(|pair| pair[0] == next && pair[1] == second).then_some(at + 3)
}

/// The whitespace alternatives both patterns end with, for the run of spaces at `start`:
/// `\s*[\r\n]+` (through the run's last line break), then a run that ends the text whole, then
/// `\s+(?!\S)` (the run but its last byte, which goes with the next word), then one byte.
fn space_piece_end(text: &[u8], start: usize) -> usize {
    let run = run_end(text, start, is_space);
    if let Some(last_break) = text[start..run].iter().rposition(|byte| is_line_break(*byte)) {
        return start + last_break + 1;
    }
    if run == text.len() || run - start == 1 { run } else { run - 1 }
}

/// o200k_base's pattern, alternatives in order:
/// `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
/// `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
/// `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
fn o200k_piece_end(text: &[u8], start: usize) -> usize {
    if let Some(word) = word_start(text, start) {
        // Capitals then small letters, or capitals alone: either way both runs, in that order.
        let capitals = run_end(text, word, |byte| byte.is_ascii_uppercase());
        let end = run_end(text, capitals, |byte| byte.is_ascii_lowercase());
        return contraction_end(text, end, b"stmd", &[b"re", b"ve", b"ll"]).unwrap_or(end);
    }
    other_piece_end(text, start, |byte| is_line_break(byte) || byte == b'/')
}

/// cl100k_base's pattern as tiktoken-rs writes it, alternatives in order:
/// `'(?i:[sdmt]|ll|ve|re)`, `[^\r\n\p{L}\p{N}]?+\p{L}++`, `\p{N}{1,3}+`,
/// ` ?[^\s\p{L}\p{N}]++[\r\n]*+`, `\s++$`, `\s*[\r\n]`, `\s+(?!\S)`, `\s`.
fn cl100k_piece_end(text: &[u8], start: usize) -> usize {
    if let Some(end) = contraction_end(text, start, b"sdmt", &[b"ll", b"ve", b"re"]) {
        return end;
    }
    if let Some(word) = word_start(text, start) {
        return run_end(text, word, |byte| byte.is_ascii_alphabetic());
    }
    other_piece_end(text, start, is_line_break)
}

/// The alternatives both patterns share after their words: up to three digits
/// (`\p{N}{1,3}`), then symbols with at most one space before them and the bytes `symbol_tail`
/// takes after them (` ?[^\s\p{L}\p{N}]+` and a tail), then the whitespace alternatives.
fn other_piece_end(text: &[u8], start: usize, symbol_tail: fn(u8) -> bool) -> usize {
    let byte = text[start];
    if byte.is_ascii_digit() {
        return run_end(text, start, |byte| byte.is_ascii_digit()).min(start + 3);
    }
    let symbols = if byte == b' ' { start + 1 } else { start };
    if text.get(symbols).is_some_and(|byte| is_other(*byte)) {
        let end = run_end(text, symbols, is_other);
        return run_end(text, end, symbol_tail);
    }
    space_piece_end(text, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(tokenizer: Tokenizer, text: &str) -> Vec<&str> {
        let mut pieces = Vec::new();
        for_each_piece(tokenizer, text.as_bytes(), |piece| {
            pieces.push(std::str::from_utf8(piece).unwrap_or_default());
        });
        pieces
    }

    #[test]
    fn splits_words_numbers_symbols_and_spaces_as_the_patterns_do() {
        assert_eq!(
            pieces(Tokenizer::O200kBase, "Hello, WORLDwide don't 12345  x\n\n  y.\n"),
            vec!["Hello", ",", " WORLDwide", " don't", " ", "123", "45", " ", " x", "\n\n", " ", " y", ".\n"]
        );
        assert_eq!(
            pieces(Tokenizer::Cl100kBase, "Hello, WORLDwide don't 12345  x\n\n  y.\n"),
            vec!["Hello", ",", " WORLDwide", " don", "'t", " ", "123", "45", " ", " x", "\n\n", " ", " y", ".\n"]
        );
    }

    #[test]
    fn a_run_of_spaces_leaves_its_last_space_to_the_next_word() {
        assert_eq!(pieces(Tokenizer::O200kBase, "a   b   "), vec!["a", "  ", " b", "   "]);
        assert_eq!(pieces(Tokenizer::Cl100kBase, "a \tb"), vec!["a", " ", "\tb"]);
    }
}
