//! Cosine similarity between the request's `query_embedding` and stored vectors: the vector
//! source compares up to `policy.vector_candidates` of them per section, so this is its hot loop.

use crate::error::{Error, Result};

/// Lanes summed apart, so the compiler keeps the loop in SIMD registers; the order of the sums
/// is fixed, so every platform and backend gets the same bits.
const LANES: usize = 8;

/// The query vector with its norm, computed once per build.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueryVector<'a> {
    values: &'a [f32],
    norm: f32,
}

impl<'a> QueryVector<'a> {
    pub(super) fn new(values: &'a [f32]) -> Self {
        let (_, squares) = dot_and_squares(values, values);
        Self { values, norm: squares.sqrt() }
    }

    /// Cosine similarity in [-1, 1]; 0 when either vector is all zeros. A stored vector of
    /// another length is the caller's mistake (the store keeps one length per tenant).
    pub(super) fn similarity(&self, stored: &[f32]) -> Result<f64> {
        if stored.len() != self.values.len() {
            return Err(dimension_mismatch(self.values.len(), stored.len()));
        }
        let (dot, squares) = dot_and_squares(self.values, stored);
        let norms = self.norm * squares.sqrt();
        Ok(if norms > 0.0 { f64::from(dot / norms).clamp(-1.0, 1.0) } else { 0.0 })
    }
}

/// `query_embedding`'s length differs from the tenant's vectors.
pub(super) fn dimension_mismatch(query: usize, stored: usize) -> Error {
    Error::invalid("query_embedding", format!("has {query} dimensions; vectors in this tenant have {stored}"))
}

/// `(sum of left * right, sum of right * right)`, in float32 lanes.
fn dot_and_squares(left: &[f32], right: &[f32]) -> (f32, f32) {
    let mut dot = [0.0_f32; LANES];
    let mut squares = [0.0_f32; LANES];
    let left_chunks = left.chunks_exact(LANES);
    let right_chunks = right.chunks_exact(LANES);
    let (left_rest, right_rest) = (left_chunks.remainder(), right_chunks.remainder());
    for (left, right) in left_chunks.zip(right_chunks) {
        for lane in 0..LANES {
            dot[lane] += left[lane] * right[lane];
            squares[lane] += right[lane] * right[lane];
        }
    }
    let mut dot_sum: f32 = dot.iter().sum();
    let mut squares_sum: f32 = squares.iter().sum();
    for (left, right) in left_rest.iter().zip(right_rest) {
        dot_sum += left * right;
        squares_sum += right * right;
    }
    (dot_sum, squares_sum)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

    use super::*;

    #[test]
    fn similarity_is_the_cosine() {
        let query = [1.0_f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let query = QueryVector::new(&query);
        let same = query.similarity(&[2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]).unwrap();
        assert!((same - 1.0).abs() < 1e-6, "{same}");
        let opposite = query.similarity(&[-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]).unwrap();
        assert!((opposite + 1.0).abs() < 1e-6, "{opposite}");
        let half = query.similarity(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert!((half - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6, "{half}");
        assert_eq!(query.similarity(&[0.0; 10]).unwrap(), 0.0);
        let error = query.similarity(&[1.0, 2.0]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid input: query_embedding: has 10 dimensions; vectors in this tenant have 2"
        );
    }
}
