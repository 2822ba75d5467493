//! The BERT encoder all-MiniLM-L6-v2 is, written out: embeddings, then per layer self-attention
//! and a GELU feed-forward block, each followed by a residual add and layer normalization.
//!
//! Written here rather than run by an ONNX runtime because the architecture is fixed and small:
//! the weights come from the ONNX file ([`Graph`]), the matrix products from `ndarray`
//! (matrixmultiply's kernels, CPU features picked at run time), and the crate compiles in seconds.
//! Texts of a batch are stacked token by token, with no padding: the dense layers see one matrix,
//! attention runs per text, so a text's states never depend on its neighbours.

use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Slice};

use crate::onnx::{Floats, Graph};

/// all-MiniLM-L6-v2's attention heads (from its config; the weights do not say).
const HEADS: usize = 12;
/// BERT's layer normalization epsilon (the export's `LayerNormalization.epsilon`).
const NORM_EPSILON: f32 = 1e-12;

/// The encoder's weights, loaded once; runs from any thread.
#[derive(Debug)]
pub(crate) struct Bert {
    word: Array2<f32>,
    position: Array2<f32>,
    token_type: Array1<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
}

#[derive(Debug)]
struct Linear {
    weight: Array2<f32>,
    bias: Array1<f32>,
}

#[derive(Debug)]
struct Norm {
    scale: Array1<f32>,
    shift: Array1<f32>,
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// A loading helper: tensors under the export's name prefix, shapes checked.
struct Weights<'g, 'a> {
    graph: &'g Graph<'a>,
    prefix: String,
}

impl Weights<'_, '_> {
    fn tensor(&self, name: &str, dims: &[usize]) -> Result<Floats, String> {
        let name = format!("{}{name}", self.prefix);
        let tensor = self.graph.floats(&name)?;
        if tensor.dims != dims {
            return Err(format!("{name} has shape {:?}, expected {dims:?}", tensor.dims));
        }
        Ok(tensor)
    }

    fn vector(&self, name: &str, length: usize) -> Result<Array1<f32>, String> {
        Ok(Array1::from(self.tensor(name, &[length])?.values))
    }

    fn matrix(tensor: Floats) -> Result<Array2<f32>, String> {
        let [rows, columns] = tensor.dims[..] else { return Err("not a matrix".into()) };
        Array2::from_shape_vec((rows, columns), tensor.values).map_err(|error| error.to_string())
    }

    fn table(&self, name: &str, width: usize) -> Result<Array2<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let table = Self::matrix(self.graph.floats(&full)?)?;
        if table.ncols() != width {
            return Err(format!("{full} rows are {} wide, expected {width}", table.ncols()));
        }
        Ok(table)
    }

    fn linear(&self, name: &str, inputs: usize, outputs: usize) -> Result<Linear, String> {
        let bias_name = format!("{}{name}.bias", self.prefix);
        let weight = self.graph.weight_before(&bias_name)?;
        if weight.dims != [inputs, outputs] {
            return Err(format!("the weight before {bias_name} has shape {:?}", weight.dims));
        }
        Ok(Linear { weight: Self::matrix(weight)?, bias: self.vector(&format!("{name}.bias"), outputs)? })
    }

    fn norm(&self, name: &str, width: usize) -> Result<Norm, String> {
        Ok(Norm {
            scale: self.vector(&format!("{name}.weight"), width)?,
            shift: self.vector(&format!("{name}.bias"), width)?,
        })
    }

    fn layer(&self, index: usize, hidden: usize, inner: usize) -> Result<Layer, String> {
        let at = |part: &str| format!("encoder.layer.{index}.{part}");
        Ok(Layer {
            query: self.linear(&at("attention.self.query"), hidden, hidden)?,
            key: self.linear(&at("attention.self.key"), hidden, hidden)?,
            value: self.linear(&at("attention.self.value"), hidden, hidden)?,
            attention_output: self.linear(&at("attention.output.dense"), hidden, hidden)?,
            attention_norm: self.norm(&at("attention.output.LayerNorm"), hidden)?,
            intermediate: self.linear(&at("intermediate.dense"), hidden, inner)?,
            output: self.linear(&at("output.dense"), inner, hidden)?,
            output_norm: self.norm(&at("output.LayerNorm"), hidden)?,
        })
    }
}

impl Bert {
    /// The encoder whose weights `graph` holds, `hidden` wide.
    pub(crate) fn from_graph(graph: &Graph<'_>, hidden: usize) -> Result<Self, String> {
        const WORDS: &str = "embeddings.word_embeddings.weight";
        let prefix = graph
            .tensor_names()
            .find_map(|name| name.find(WORDS).map(|at| name[..at].to_string()))
            .ok_or("no word embeddings")?;
        let weights = Weights { graph, prefix };
        if !hidden.is_multiple_of(HEADS) {
            return Err(format!("hidden size {hidden} does not split into {HEADS} heads"));
        }
        let layer_count = (0..)
            .take_while(|index| {
                graph.floats(&format!("{}encoder.layer.{index}.attention.self.query.bias", weights.prefix)).is_ok()
            })
            .count();
        if layer_count == 0 {
            return Err("no encoder layers".into());
        }
        let inner = graph.floats(&format!("{}encoder.layer.0.intermediate.dense.bias", weights.prefix))?.values.len();
        let token_types = weights.table("embeddings.token_type_embeddings.weight", hidden)?;
        Ok(Self {
            word: weights.table(WORDS, hidden)?,
            position: weights.table("embeddings.position_embeddings.weight", hidden)?,
            token_type: token_types.row(0).to_owned(),
            embedding_norm: weights.norm("embeddings.LayerNorm", hidden)?,
            layers: (0..layer_count).map(|index| weights.layer(index, hidden, inner)).collect::<Result<_, _>>()?,
            hidden,
        })
    }

    /// The last hidden states of each text's token ids, stacked: `sum(lengths) x hidden`, row-major.
    pub(crate) fn run(&self, texts: &[&[u32]]) -> Result<Vec<f32>, String> {
        let total: usize = texts.iter().map(|ids| ids.len()).sum();
        let mut states = Array2::<f32>::zeros((total, self.hidden));
        let mut rows = states.rows_mut().into_iter();
        for ids in texts {
            if ids.len() > self.position.nrows() {
                return Err(format!("{} tokens, more than the model's {} positions", ids.len(), self.position.nrows()));
            }
            for ((id, position), mut row) in ids.iter().zip(self.position.rows()).zip(rows.by_ref()) {
                let word = usize::try_from(*id).ok().filter(|id| *id < self.word.nrows());
                let word = word.ok_or_else(|| format!("token id {id} is outside the vocabulary"))?;
                row.assign(&self.word.row(word));
                row += &position;
                row += &self.token_type;
            }
        }
        self.embedding_norm.apply(&mut states);
        let lengths: Vec<usize> = texts.iter().map(|ids| ids.len()).collect();
        for layer in &self.layers {
            layer.apply(&mut states, &lengths);
        }
        Ok(states.iter().copied().collect())
    }
}

impl Linear {
    fn apply(&self, input: &ArrayView2<'_, f32>) -> Array2<f32> {
        let mut output = input.dot(&self.weight);
        output += &self.bias;
        output
    }
}

impl Norm {
    fn apply(&self, states: &mut Array2<f32>) {
        let width = states.ncols() as f32;
        for mut row in states.rows_mut() {
            let mean = row.sum() / width;
            let variance = row.iter().map(|value| (value - mean) * (value - mean)).sum::<f32>() / width;
            let inverse = 1.0 / (variance + NORM_EPSILON).sqrt();
            row.mapv_inplace(|value| (value - mean) * inverse);
            row *= &self.scale;
            row += &self.shift;
        }
    }
}

impl Layer {
    /// One encoder layer over stacked texts of `lengths` tokens, in place.
    fn apply(&self, states: &mut Array2<f32>, lengths: &[usize]) {
        let view = states.view();
        let (query, key, value) = (self.query.apply(&view), self.key.apply(&view), self.value.apply(&view));
        let hidden = states.ncols();
        let head = hidden / HEADS;
        let scale = 1.0 / (head as f32).sqrt();
        let mut context = Array2::<f32>::zeros(states.raw_dim());
        let mut start = 0;
        for length in lengths {
            let rows = start..start + length;
            for columns in (0..hidden).step_by(head).map(|first| first..first + head) {
                let head_keys = block(key.view(), &rows, &columns);
                let head_values = block(value.view(), &rows, &columns);
                let mut scores = block(query.view(), &rows, &columns).dot(&head_keys.t());
                for mut row in scores.axis_iter_mut(Axis(0)) {
                    let largest = row.iter().fold(f32::NEG_INFINITY, |largest, value| largest.max(*value));
                    row.mapv_inplace(|value| ((value - largest) * scale).exp());
                    let sum = row.sum();
                    row /= sum;
                }
                block_mut(context.view_mut(), &rows, &columns).assign(&scores.dot(&head_values));
            }
            start += length;
        }
        *states += &self.attention_output.apply(&context.view());
        self.attention_norm.apply(states);
        let mut inner = self.intermediate.apply(&states.view());
        inner.mapv_inplace(gelu);
        *states += &self.output.apply(&inner.view());
        self.output_norm.apply(states);
    }
}

/// The rows and columns of a matrix (ndarray's `s!` macro expands to code the lints forbid).
fn block<'m>(matrix: ArrayView2<'m, f32>, rows: &Range<usize>, columns: &Range<usize>) -> ArrayView2<'m, f32> {
    matrix.slice_axis_move(Axis(0), Slice::from(rows.clone())).slice_axis_move(Axis(1), Slice::from(columns.clone()))
}

fn block_mut<'m>(
    matrix: ArrayViewMut2<'m, f32>,
    rows: &Range<usize>,
    columns: &Range<usize>,
) -> ArrayViewMut2<'m, f32> {
    matrix.slice_axis_move(Axis(0), Slice::from(rows.clone())).slice_axis_move(Axis(1), Slice::from(columns.clone()))
}

/// GELU as BERT defines it, with the exact error function (the export's `Erf`).
fn gelu(value: f32) -> f32 {
    0.5 * value * (1.0 + libm::erff(value * std::f32::consts::FRAC_1_SQRT_2))
}
