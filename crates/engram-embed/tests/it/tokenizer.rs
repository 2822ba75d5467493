//! The WordPiece ids equal Hugging Face `tokenizers`' for all-MiniLM-L6-v2's tokenizer.json
//! (reference ids from `Tokenizer.from_file(...).encode(text).ids`, no padding, truncation 256).

use engram_embed::{MAX_TOKENS, WordPiece};

const CASES: &[(&str, &[u32])] = &[
    ("Hello, world!", &[101, 7592, 1010, 2088, 999, 102]),
    ("I'm allergic to peanuts.", &[101, 1045, 1005, 1049, 27395, 2000, 27613, 1012, 102]),
    (
        "Caf\u{e9} na\u{ef}ve r\u{e9}sum\u{e9} \u{2014} \u{dc}n\u{ef}c\u{f6}d\u{e9} stra\u{df}e",
        &[101, 7668, 15743, 13746, 1517, 27260, 2358, 27807, 102],
    ),
    (
        "unaffable tokenization of 12,345.67 dollars",
        &[101, 14477, 20961, 3468, 19204, 3989, 1997, 2260, 1010, 23785, 1012, 6163, 6363, 102],
    ),
    (
        "\u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30c6}\u{30ad}\u{30b9}\u{30c8}\u{3068}\u{4e2d}\u{6587}",
        &[101, 1864, 1876, 1950, 1671, 30239, 30227, 30233, 30240, 30192, 1746, 1861, 102],
    ),
    ("", &[101, 102]),
    ("  \t\n ", &[101, 102]),
    (
        "The quick brown fox's e-mail: fox@example.com #tag",
        &[
            101, 1996, 4248, 2829, 4419, 1005, 1055, 1041, 1011, 5653, 1024, 4419, 1030, 2742, 1012, 4012, 1001, 6415,
            102,
        ],
    ),
    ("emoji \u{1f642} here\u{200b} zero-width", &[101, 7861, 29147, 2072, 100, 2182, 5717, 1011, 9381, 102]),
    (
        "\u{3a9}mega \u{3a3}\u{399}\u{393}\u{39c}\u{391} \u{41f}\u{440}\u{438}\u{432}\u{435}\u{442} \u{43c}\u{438}\u{440}",
        &[
            101, 1179, 4168, 3654, 1173, 18199, 29721, 29728, 14608, 1194, 16856, 10325, 25529, 15290, 22919, 1191,
            10325, 16856, 102,
        ],
    ),
];

#[test]
fn word_pieces_match_the_reference_tokenizer() {
    let tokenizer = WordPiece::new();
    for (text, expected) in CASES {
        assert_eq!(tokenizer.encode(text, MAX_TOKENS), *expected, "text {text:?}");
    }
}

#[test]
fn long_texts_are_cut_to_256_tokens_ending_with_sep() {
    let sentence = "Yesterday we met at the caf\u{e9} near the old harbour, talked about the trip to Lisbon, the budget \
                    (about 1,200 euros), and who books the train. ";
    let ids = WordPiece::new().encode(&sentence.repeat(12), MAX_TOKENS);
    assert_eq!(ids.len(), 256);
    assert_eq!(ids[..5], [101, 7483, 2057, 2777, 2012]);
    assert_eq!(ids[251..], [2055, 1996, 4440, 2000, 102]);
}

#[test]
fn a_word_longer_than_100_chars_is_one_unknown_token() {
    let ids = WordPiece::new().encode(&"a".repeat(101), MAX_TOKENS);
    assert_eq!(ids, [101, 100, 102]);
}
