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

/// `From` each Rust type a value is bound as: `type => Variant(conversion)`.
macro_rules! param_from {
    ($($type:ty => $variant:ident($convert:expr)),* $(,)?) => {
        $(impl From<$type> for Param {
            fn from(value: $type) -> Self {
                Self::$variant($convert(value))
            }
        })*
    };
}

param_from! {
    &str => Text(str::to_string),
    String => Text(std::convert::identity),
    &String => Text(String::clone),
    Option<String> => OptionalText(std::convert::identity),
    i64 => Integer(std::convert::identity),
    u32 => Integer(i64::from),
    Option<i64> => OptionalInteger(std::convert::identity),
    f64 => Real(std::convert::identity),
    Option<Vec<u8>> => OptionalBlob(std::convert::identity),
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

    /// Appends a parameter for each of `params`, in order (an `IN` list).
    pub(crate) fn push_all<P: Into<Param>>(&mut self, params: impl IntoIterator<Item = P>) {
        self.params.extend(params.into_iter().map(Into::into));
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
