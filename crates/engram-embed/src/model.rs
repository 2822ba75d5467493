//! The model file to a runnable encoder: read, parsed, checked on a first run.

use std::path::Path;

use crate::bert::Bert;
use crate::error::{Error, Result};
use crate::onnx::Graph;

/// The graph's inputs, in the order it declares them (the Hugging Face BERT export).
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

/// all-MiniLM-L6-v2 loaded from its ONNX file.
#[derive(Debug)]
pub(crate) struct Model {
    encoder: Bert,
    hidden: usize,
}

impl Model {
    /// Reads the model at `path`, then runs it once to check it returns `hidden`-wide states.
    pub(crate) fn load(path: &Path, hidden: usize) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| Error::ModelUnreadable { path: path.to_path_buf(), source })?;
        let invalid = |detail: String| Error::ModelInvalid { path: path.to_path_buf(), detail };
        let graph = Graph::parse(&bytes).map_err(invalid)?;
        if graph.inputs() != INPUTS {
            return Err(invalid(format!("inputs are {:?}, expected {INPUTS:?}", graph.inputs())));
        }
        let model = Self { encoder: Bert::from_graph(&graph, hidden).map_err(invalid)?, hidden };
        let states = model.run(&[&[101, 102]]).map_err(|error| invalid(error.to_string()))?;
        if states.len() != 2 * hidden || states.iter().any(|value| !value.is_finite()) {
            return Err(invalid(format!(
                "returned {} numbers for 2 tokens, expected {} finite",
                states.len(),
                2 * hidden
            )));
        }
        Ok(model)
    }

    /// The last hidden states of each text's ids, stacked (`sum of lengths x hidden`).
    pub(crate) fn run(&self, texts: &[&[u32]]) -> Result<Vec<f32>> {
        let states = self.encoder.run(texts).map_err(|detail| Error::Inference { detail })?;
        debug_assert_eq!(states.len(), texts.iter().map(|ids| ids.len()).sum::<usize>() * self.hidden);
        Ok(states)
    }
}
