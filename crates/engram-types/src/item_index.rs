//! Which text of an item's value is indexed for lexical search: paths like LangGraph's index
//! fields. `$` is the whole value; `a.b` a field; `a[*]` every element of a list, `a[2]` one,
//! `a[-1]` the last. A list met on the way is walked into, so `turns.text` reads every turn's
//! text. Strings and numbers under a selected value are its text; keys are not.

use serde_json::Value;

use crate::validation::ValidationError;

/// Most paths an item may index.
pub const MAX_INDEX_PATHS: usize = 32;
/// Longest index path, in bytes.
const MAX_INDEX_PATH_BYTES: usize = 256;

/// One parsed index path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPath {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Every,
    Element(i64),
}

impl IndexPath {
    pub fn parse(path: &str) -> Result<Self, String> {
        if path.len() > MAX_INDEX_PATH_BYTES {
            return Err(format!("is {} bytes, the limit is {MAX_INDEX_PATH_BYTES}", path.len()));
        }
        let rest = match path {
            "$" => return Ok(Self { steps: Vec::new() }),
            _ => path.strip_prefix("$.").unwrap_or(path),
        };
        let mut steps = Vec::new();
        for segment in rest.split('.') {
            let (name, mut brackets) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
            if name.is_empty() {
                return Err(format!("has an empty field name in `{path}`"));
            }
            steps.push(Step::Field(name.to_string()));
            while !brackets.is_empty() {
                let Some((inside, after)) = brackets.strip_prefix('[').and_then(|open| open.split_once(']')) else {
                    return Err(format!("has an unclosed or stray bracket in `{path}`"));
                };
                steps.push(match inside {
                    "*" => Step::Every,
                    index => Step::Element(
                        index.parse().map_err(|_| format!("has `[{index}]`, expected `[*]` or a list index"))?,
                    ),
                });
                brackets = after;
            }
        }
        Ok(Self { steps })
    }

    /// Appends the text under this path in `value` to `text`, words separated by spaces.
    pub fn collect_text(&self, value: &Value, text: &mut String) {
        select(value, &self.steps, text);
    }
}

fn select(value: &Value, steps: &[Step], text: &mut String) {
    let Some((step, rest)) = steps.split_first() else {
        push_leaves(value, text);
        return;
    };
    match (step, value) {
        (Step::Field(name), Value::Object(map)) => {
            if let Some(field) = map.get(name) {
                select(field, rest, text);
            }
        }
        (Step::Field(_), Value::Array(elements)) => elements.iter().for_each(|element| select(element, steps, text)),
        (Step::Every, Value::Array(elements)) => elements.iter().for_each(|element| select(element, rest, text)),
        (Step::Element(index), Value::Array(elements)) => {
            let position = if *index < 0 {
                elements.len().checked_sub(index.unsigned_abs() as usize)
            } else {
                Some(*index as usize)
            };
            if let Some(element) = position.and_then(|position| elements.get(position)) {
                select(element, rest, text);
            }
        }
        _ => {}
    }
}

fn push_leaves(value: &Value, text: &mut String) {
    let mut push = |word: &str| {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    };
    match value {
        Value::String(string) => push(string),
        Value::Number(number) => push(&number.to_string()),
        Value::Array(elements) => elements.iter().for_each(|element| push_leaves(element, text)),
        Value::Object(map) => map.values().for_each(|field| push_leaves(field, text)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Checks an item's index paths: at most [`MAX_INDEX_PATHS`], each one that parses.
pub(crate) fn check_index_paths(field: &str, paths: &[String]) -> Result<(), ValidationError> {
    if paths.len() > MAX_INDEX_PATHS {
        return Err(ValidationError::new(field, format!("has {} paths, the limit is {MAX_INDEX_PATHS}", paths.len())));
    }
    for (index, path) in paths.iter().enumerate() {
        IndexPath::parse(path).map_err(|problem| ValidationError::new(format!("{field}[{index}]"), problem))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(path: &str, value: &Value) -> String {
        let mut text = String::new();
        IndexPath::parse(path).map(|path| path.collect_text(value, &mut text)).ok();
        text
    }

    #[test]
    fn paths_select_fields_lists_and_elements() {
        let value = json!({"title": "Deploy", "turns": [{"text": "first"}, {"text": "last"}], "n": 3, "ok": true});
        assert_eq!(text("$", &value), "3 Deploy first last");
        assert_eq!(text("title", &value), "Deploy");
        assert_eq!(text("$.turns.text", &value), "first last");
        assert_eq!(text("turns[*].text", &value), "first last");
        assert_eq!(text("turns[-1].text", &value), "last");
        assert_eq!(text("turns[5].text", &value), "");
        assert_eq!(text("missing.field", &value), "");
    }

    #[test]
    fn malformed_paths_are_named() {
        for bad in ["", "a..b", "a[", "a[x]", ".a"] {
            let error = check_index_paths("index", &[bad.to_string()]).err();
            assert_eq!(error.map(|error| error.field), Some("index[0]".to_string()), "{bad:?}");
        }
        assert!(check_index_paths("index", &vec!["a".to_string(); MAX_INDEX_PATHS + 1]).is_err());
    }
}
