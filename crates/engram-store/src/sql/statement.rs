//! One SQL statement with its parameters. Statements are written with `?` placeholders and
//! spelled for the database by its [`Dialect`](super::Dialect) when run (`run.rs`).

/// A parameter value. Nulls carry their type: Postgres types every parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Text(String),
    OptionalText(Option<String>),
    Integer(i64),
    OptionalInteger(Option<i64>),
    Real(f64),
    OptionalBlob(Option<Vec<u8>>),
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Self::Text(value.to_string())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&String> for Param {
    fn from(value: &String) -> Self {
        Self::Text(value.clone())
    }
}

impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Self {
        Self::OptionalText(value)
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<u32> for Param {
    fn from(value: u32) -> Self {
        Self::Integer(i64::from(value))
    }
}

impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Self::OptionalInteger(value)
    }
}

impl From<f64> for Param {
    fn from(value: f64) -> Self {
        Self::Real(value)
    }
}

impl From<Option<Vec<u8>>> for Param {
    fn from(value: Option<Vec<u8>>) -> Self {
        Self::OptionalBlob(value)
    }
}

/// SQL text and its parameters, in placeholder order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), params: Vec::new() }
    }

    /// Appends a parameter for the next `?`.
    #[must_use]
    pub(crate) fn bind(mut self, param: impl Into<Param>) -> Self {
        self.params.push(param.into());
        self
    }

    pub(crate) fn push(&mut self, param: impl Into<Param>) {
        self.params.push(param.into());
    }
}

/// `?, ?, ?` for `count` parameters (an `IN` list or a row of values).
pub(crate) fn placeholders(count: usize) -> String {
    let mut list = String::with_capacity(count * 3);
    for index in 0..count {
        if index > 0 {
            list.push_str(", ");
        }
        list.push('?');
    }
    list
}
