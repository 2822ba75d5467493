//! Sentence vectors from token states: the mean over real tokens, scaled to unit length.

/// The mean of the first `tokens` rows of `states` (`hidden` wide each), L2-normalized; the
/// zero vector when it has no length or is not finite.
pub(crate) fn mean_normalized(states: &[f32], tokens: usize, hidden: usize) -> Vec<f32> {
    let mut sum = vec![0.0f64; hidden];
    for row in states.chunks_exact(hidden).take(tokens) {
        for (total, value) in sum.iter_mut().zip(row) {
            *total += f64::from(*value);
        }
    }
    // The mean's scale cancels in the normalization, so the sum is normalized directly.
    let length = sum.iter().map(|value| value * value).sum::<f64>().sqrt();
    if !length.is_finite() || length == 0.0 {
        return vec![0.0; hidden];
    }
    #[expect(clippy::cast_possible_truncation, reason = "unit-vector components fit f32")]
    sum.iter().map(|value| (value / length) as f32).collect()
}
