//! An ONNX file read as data: its named tensors (weights) and the nodes that connect them.
//!
//! engram runs one known architecture, so it needs no ONNX runtime: it reads the weights and
//! finds which matrix feeds which layer by following the graph's `MatMul -> Add(bias)` pairs.
//! Weights stored as int8 with a scale (`NAME_q`, `NAME_scale`, dequantized by `Cast`/`Mul` nodes
//! in the graph) are dequantized here the same way.

use std::collections::HashMap;

use crate::protobuf::{Fields, Malformed, Value, push_varints};

/// ONNX `TensorProto.DataType` codes this reader decodes.
const FLOAT: i64 = 1;
const INT8: i64 = 3;
/// `TensorProto.DataLocation.EXTERNAL`: the bytes live in another file.
const EXTERNAL: u64 = 1;

/// A float tensor: its shape and values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Floats {
    pub(crate) dims: Vec<usize>,
    pub(crate) values: Vec<f32>,
}

/// The parts of an ONNX model the embedder reads.
#[derive(Debug, Default)]
pub(crate) struct Graph<'a> {
    initializers: HashMap<&'a str, Initializer<'a>>,
    nodes: Vec<Node<'a>>,
    inputs: Vec<&'a str>,
}

#[derive(Debug, Default)]
struct Initializer<'a> {
    dims: Vec<i64>,
    data_type: i64,
    raw: &'a [u8],
    float_data: Vec<f32>,
    external: bool,
}

#[derive(Debug, Default)]
struct Node<'a> {
    op_type: &'a str,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
}

impl From<Malformed> for String {
    fn from(malformed: Malformed) -> Self {
        format!("not a protobuf message ({})", malformed.0)
    }
}

fn text(bytes: Value<'_>) -> Result<&str, String> {
    match bytes {
        Value::Bytes(bytes) => std::str::from_utf8(bytes).map_err(|_| "a name is not UTF-8".to_string()),
        _ => Err("a name is not a string".into()),
    }
}

fn message(value: Value<'_>) -> Result<&[u8], String> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        _ => Err("a message field is not length-delimited".into()),
    }
}

impl<'a> Graph<'a> {
    /// The graph of a serialized `ModelProto`.
    pub(crate) fn parse(model: &'a [u8]) -> Result<Self, String> {
        let mut graph = None;
        for field in Fields::new(model) {
            if let (7, value) = field? {
                graph = Some(message(value)?);
            }
        }
        let graph = graph.ok_or("no graph")?;
        let mut parsed = Self::default();
        for field in Fields::new(graph) {
            match field? {
                (1, value) => parsed.nodes.push(Node::parse(message(value)?)?),
                (5, value) => {
                    let (name, initializer) = Initializer::parse(message(value)?)?;
                    parsed.initializers.insert(name, initializer);
                }
                (11, value) => {
                    // ValueInfoProto: its name is field 1.
                    for input in Fields::new(message(value)?) {
                        if let (1, name) = input? {
                            parsed.inputs.push(text(name)?);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The graph's declared input names, in order.
    pub(crate) fn inputs(&self) -> &[&'a str] {
        &self.inputs
    }

    /// Names of every stored tensor.
    pub(crate) fn tensor_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.initializers.keys().copied()
    }

    /// The float tensor `name`: stored as floats, or as `name_q` (int8) times `name_scale`
    /// (broadcast over rows or columns).
    pub(crate) fn floats(&self, name: &str) -> Result<Floats, String> {
        if let Some(stored) = self.initializers.get(name) {
            return stored.floats(name);
        }
        let (quantized, scale) = match (
            self.initializers.get(format!("{name}_q").as_str()),
            self.initializers.get(format!("{name}_scale").as_str()),
        ) {
            (Some(quantized), Some(scale)) => (quantized, scale.floats(name)?),
            _ => return Err(format!("no tensor {name}")),
        };
        if quantized.data_type != INT8 || quantized.external {
            return Err(format!("{name}_q is not int8 stored in the file"));
        }
        let dims = dimensions(&quantized.dims, name)?;
        let [rows, columns] = dims[..] else { return Err(format!("{name} is not a matrix")) };
        if Some(quantized.raw.len()) != rows.checked_mul(columns) {
            return Err(format!("{name}_q holds {} bytes for {rows}x{columns}", quantized.raw.len()));
        }
        let per_row = scale.values.len() == rows && scale.dims.last() == Some(&1);
        let per_column = scale.values.len() == columns && scale.dims.first() == Some(&1);
        if !per_row && !per_column {
            return Err(format!("{name}_scale of shape {:?} fits neither rows nor columns", scale.dims));
        }
        let values = quantized
            .raw
            .iter()
            .enumerate()
            .map(|(index, byte)| {
                let factor = if per_row { scale.values[index / columns] } else { scale.values[index % columns] };
                f32::from(i8::from_le_bytes([*byte])) * factor
            })
            .collect();
        Ok(Floats { dims, values })
    }

    /// The weight matrix multiplied just before `bias` is added (`Add(MatMul(x, weight), bias)`).
    pub(crate) fn weight_before(&self, bias: &str) -> Result<Floats, String> {
        let product = self
            .nodes
            .iter()
            .filter(|node| node.op_type == "Add" && node.inputs.contains(&bias))
            .flat_map(|node| node.inputs.iter().filter(|input| **input != bias))
            .find_map(|input| {
                self.nodes.iter().find(|node| node.op_type == "MatMul" && node.outputs.first() == Some(input))
            })
            .ok_or_else(|| format!("no MatMul feeds the Add of {bias}"))?;
        let weight = product.inputs.get(1).ok_or_else(|| format!("the MatMul before {bias} has one input"))?;
        self.floats(weight)
    }
}

fn dimensions(dims: &[i64], name: &str) -> Result<Vec<usize>, String> {
    dims.iter().map(|dim| usize::try_from(*dim).map_err(|_| format!("{name} has a negative dimension"))).collect()
}

impl<'a> Initializer<'a> {
    fn parse(tensor: &'a [u8]) -> Result<(&'a str, Self), String> {
        let mut name = "";
        let mut parsed = Self::default();
        for field in Fields::new(tensor) {
            match field? {
                (1, value) => push_varints(value, &mut parsed.dims)?,
                (2, Value::Varint(code)) => parsed.data_type = i64::try_from(code).unwrap_or(-1),
                (4, Value::Bytes(packed)) => parsed.float_data.extend(
                    packed.chunks_exact(4).map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
                ),
                (4, Value::Fixed32(bits)) => parsed.float_data.push(f32::from_bits(bits)),
                (8, value) => name = text(value)?,
                (9, value) => parsed.raw = message(value)?,
                (14, Value::Varint(location)) => parsed.external = location == EXTERNAL,
                _ => {}
            }
        }
        Ok((name, parsed))
    }

    fn floats(&self, name: &str) -> Result<Floats, String> {
        if self.data_type != FLOAT || self.external {
            return Err(format!("{name} is not float32 stored in the file"));
        }
        let dims = dimensions(&self.dims, name)?;
        let values: Vec<f32> = if self.raw.is_empty() {
            self.float_data.clone()
        } else {
            self.raw.chunks_exact(4).map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])).collect()
        };
        // A hostile shape must not overflow the product: it is then simply not this tensor's.
        let expected = dims.iter().try_fold(1usize, |product, dim| product.checked_mul(*dim));
        if Some(values.len()) != expected {
            return Err(format!("{name} holds {} values for shape {dims:?}", values.len()));
        }
        Ok(Floats { dims, values })
    }
}

impl<'a> Node<'a> {
    fn parse(node: &'a [u8]) -> Result<Self, String> {
        let mut parsed = Self::default();
        for field in Fields::new(node) {
            match field? {
                (1, value) => parsed.inputs.push(text(value)?),
                (2, value) => parsed.outputs.push(text(value)?),
                (4, value) => parsed.op_type = text(value)?,
                _ => {}
            }
        }
        Ok(parsed)
    }
}
