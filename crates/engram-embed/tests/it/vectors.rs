//! Vectors match the reference model (onnxruntime on the same file, `fixtures/reference_vectors.txt`).
//! Skipped, with a note, when the model file is absent (see `support::model_path`).

use engram_embed::{DIMENSIONS, Error, MiniLmEmbedder};
use engram_store::Embedder;

use crate::support::model_or_skip;

const REFERENCE: &str = include_str!("fixtures/reference_vectors.txt");

fn reference() -> Vec<(String, Vec<f32>)> {
    REFERENCE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(text, numbers)| {
            let vector = numbers.split(' ').map(|number| number.parse::<f32>().expect("a number")).collect();
            (text.to_string(), vector)
        })
        .collect()
}

fn cosine(left: &[f32], right: &[f32]) -> f32 {
    left.iter().zip(right).map(|(a, b)| a * b).sum()
}

#[test]
fn vectors_match_the_reference_model() {
    let Some(path) = model_or_skip("vectors_match_the_reference_model") else { return };
    let embedder = MiniLmEmbedder::load(&path).expect("the model loads");
    let reference = reference();
    assert_eq!(reference.len(), 6);
    let texts: Vec<String> = reference.iter().map(|(text, _)| text.clone()).collect();
    let vectors = embedder.embed(&texts).expect("embeds");
    for ((text, expected), actual) in reference.iter().zip(&vectors) {
        assert_eq!(actual.len(), DIMENSIONS);
        let similarity = cosine(expected, actual);
        assert!(similarity >= 0.9999, "{text:?}: cosine {similarity} with the reference");
        for (want, got) in expected.iter().zip(actual).take(8) {
            assert!((want - got).abs() < 0.0005, "{text:?}: {got} against {want}");
        }
    }
    // The pairwise similarities the reference gives (peanuts/snacks related, dancing pair related).
    for (left, right) in [(0, 1), (2, 3), (0, 4), (1, 5)] {
        let want = cosine(&reference[left].1, &reference[right].1);
        let got = cosine(&vectors[left], &vectors[right]);
        assert!((want - got).abs() < 0.01, "pair {left},{right}: {got} against {want}");
    }
}

#[test]
fn a_text_gets_the_same_vector_alone_or_in_any_batch() {
    let Some(path) = model_or_skip("a_text_gets_the_same_vector_alone_or_in_any_batch") else { return };
    let embedder = MiniLmEmbedder::load(&path).expect("the model loads").with_batch_size(3);
    let texts: Vec<String> = reference().into_iter().map(|(text, _)| text).collect();
    let batched = embedder.embed(&texts).expect("embeds");
    for (text, vector) in texts.iter().zip(&batched) {
        let alone = embedder.embed(std::slice::from_ref(text)).expect("embeds");
        assert!(cosine(&alone[0], vector) > 0.999_999, "{text:?}");
        assert_eq!(embedder.embed(std::slice::from_ref(text)).expect("embeds"), alone, "{text:?} twice");
    }
}

#[test]
fn texts_without_word_pieces_get_the_zero_vector() {
    let Some(path) = model_or_skip("texts_without_word_pieces_get_the_zero_vector") else { return };
    let embedder = MiniLmEmbedder::load(&path).expect("the model loads");
    let vectors = embedder.embed(&[String::new(), " \n\t".into(), "hello".into()]).expect("embeds");
    assert_eq!(vectors[0], vec![0.0; DIMENSIONS]);
    assert_eq!(vectors[1], vec![0.0; DIMENSIONS]);
    let length: f32 = vectors[2].iter().map(|value| value * value).sum::<f32>().sqrt();
    assert!((length - 1.0).abs() < 1e-5);
    assert!(embedder.embed(&[]).expect("embeds nothing").is_empty());
}

#[test]
fn a_missing_model_file_is_an_error_naming_the_path() {
    let error = MiniLmEmbedder::load("/nonexistent/engram/model.onnx").expect_err("no file");
    assert!(matches!(error, Error::ModelUnreadable { .. }), "{error:?}");
    assert!(error.to_string().contains("/nonexistent/engram/model.onnx"), "{error}");
}

#[test]
fn a_file_that_is_not_the_model_is_an_error_naming_the_path() {
    let path = std::env::temp_dir().join(format!("engram-embed-not-a-model-{}.onnx", std::process::id()));
    std::fs::write(&path, b"not an onnx graph").expect("writes");
    let error = MiniLmEmbedder::load(&path).expect_err("not a model");
    std::fs::remove_file(&path).ok();
    assert!(matches!(error, Error::ModelInvalid { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}
