use std::path::PathBuf;

/// Everything that can go wrong in engram-embed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model file could not be opened or read.
    #[error("cannot read the MiniLM model {path}: {source}")]
    ModelUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not the ONNX all-MiniLM-L6-v2 this crate runs (not ONNX, other
    /// inputs, or vectors of another length).
    #[error("{path} is not an all-MiniLM-L6-v2 ONNX model: {detail}")]
    ModelInvalid { path: PathBuf, detail: String },
    /// Running the model failed on a batch.
    #[error("MiniLM inference failed: {detail}")]
    Inference { detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for engram_store::Error {
    fn from(error: Error) -> Self {
        Self::Storage { backend: "minilm", detail: error.to_string(), source: Some(Box::new(error)) }
    }
}
