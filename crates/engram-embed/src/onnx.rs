//! The ONNX graph, run by tract: token ids in, last hidden states out.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::{
    Framework, InferenceModelExt, IntoRunnable, TValue, Tensor, TypedRunnableModel, tract_ndarray, tvec,
};

use crate::error::{Error, Result};

/// The graph's inputs, in the order it declares them.
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

/// A loaded, optimized model; runs from any thread (each run has its own state).
#[derive(Debug)]
pub(crate) struct OnnxModel {
    plan: Arc<TypedRunnableModel>,
    hidden: usize,
}

/// One padded batch of token ids: `rows x columns`, with a mask of the real tokens.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) ids: Vec<i64>,
    pub(crate) mask: Vec<i64>,
}

impl OnnxModel {
    /// Reads and optimizes the model at `path`, then runs it once to check it returns
    /// `hidden`-wide states for the three BERT inputs.
    pub(crate) fn load(path: &Path, hidden: usize) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|source| Error::ModelUnreadable { path: path.to_path_buf(), source })?;
        let invalid = |detail: String| Error::ModelInvalid { path: path.to_path_buf(), detail };
        // The export's value_info pins shapes the dynamic inputs contradict; tract infers them.
        let model = tract_onnx::onnx()
            .with_ignore_value_info(true)
            .model_for_read(&mut bytes.as_slice())
            .map_err(|error| invalid(format!("{error:#}")))?;
        let names: Vec<&str> = model
            .input_outlets()
            .map_err(|error| invalid(format!("{error:#}")))?
            .iter()
            .map(|outlet| model.node(outlet.node).name.as_str())
            .collect();
        if names != INPUTS {
            return Err(invalid(format!("inputs are {names:?}, expected {INPUTS:?}")));
        }
        let plan = model
            .into_optimized()
            .and_then(|model| model.into_runnable())
            .map_err(|error| invalid(format!("{error:#}")))?;
        let loaded = Self { plan, hidden };
        let probe = Batch { rows: 1, columns: 2, ids: vec![101, 102], mask: vec![1, 1] };
        let states = loaded.run(&probe).map_err(|error| invalid(error.to_string()))?;
        if states.len() != 2 * hidden {
            return Err(invalid(format!("returned {} numbers for 2 tokens, expected {}", states.len(), 2 * hidden)));
        }
        Ok(loaded)
    }

    /// The last hidden states of a batch, row-major `rows x columns x hidden`.
    pub(crate) fn run(&self, batch: &Batch) -> Result<Vec<f32>> {
        let failed = |error: tract_onnx::prelude::TractError| Error::Inference { detail: format!("{error:#}") };
        let shape = (batch.rows, batch.columns);
        let tensor = |values: Vec<i64>| -> Result<TValue> {
            let array = tract_ndarray::Array2::from_shape_vec(shape, values)
                .map_err(|error| Error::Inference { detail: error.to_string() })?;
            Ok(Tensor::from(array).into())
        };
        let inputs = tvec!(
            tensor(batch.ids.clone())?,
            tensor(batch.mask.clone())?,
            tensor(vec![0; batch.rows * batch.columns])?
        );
        let outputs = self.plan.run(inputs).map_err(failed)?;
        let states =
            outputs.first().ok_or_else(|| Error::Inference { detail: "the model returned no output".into() })?;
        let view = states.to_plain_array_view::<f32>().map_err(failed)?;
        let expected = [batch.rows, batch.columns, self.hidden];
        if view.shape() != expected {
            return Err(Error::Inference { detail: format!("output shape {:?}, expected {expected:?}", view.shape()) });
        }
        Ok(view.iter().copied().collect())
    }
}
