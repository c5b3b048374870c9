//! Parameter schemas: each item declares its parameters once (name, type, range,
//! default, help) and the host generates the CLI, help text and validation from them.

use std::fmt;

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

/// What kind of thing an item is.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    /// A field → field operator, the unit of a pipeline.
    Operator,
    /// One reverse diffusion step.
    Sampler,
    /// A learned operator (denoise, encode, train).
    Model,
    /// A job driving other plugins (super-resolution, inpainting, training).
    Task,
}

impl ItemKind {
    /// The lower-case name used in listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            ItemKind::Operator => "operator",
            ItemKind::Sampler => "sampler",
            ItemKind::Model => "model",
            ItemKind::Task => "task",
        }
    }
}

/// The type of a parameter's value.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamKind {
    /// A finite floating-point number.
    Float,
    /// A whole number.
    Int,
    /// A switch: `--name` alone means true.
    Bool,
    /// One of a fixed list of words.
    Choice,
    /// Free text.
    Text,
    /// A file path.
    Path,
}

impl ParamKind {
    /// The name shown in help.
    pub fn as_str(&self) -> &'static str {
        match self {
            ParamKind::Float => "float",
            ParamKind::Int => "int",
            ParamKind::Bool => "bool",
            ParamKind::Choice => "choice",
            ParamKind::Text => "text",
            ParamKind::Path => "path",
        }
    }
}

/// A typed parameter value.
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ParamValue {
    /// For [`ParamKind::Float`].
    Float(f64),
    /// For [`ParamKind::Int`].
    Int(i64),
    /// For [`ParamKind::Bool`].
    Bool(bool),
    /// For [`ParamKind::Choice`], [`ParamKind::Text`] and [`ParamKind::Path`].
    Text(RString),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Text(v) => f.write_str(v),
        }
    }
}

/// One end of a numeric range.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The limit.
    pub value: f64,
    /// Whether the limit itself is allowed.
    pub inclusive: bool,
}

/// The declaration of one parameter.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name in kebab-case, given on the command line as `--name`.
    pub name: RString,
    /// Value type.
    pub kind: ParamKind,
    /// One line of help.
    pub summary: RString,
    /// Longer help, may be empty.
    pub help: RString,
    /// Value when not given; a parameter without default is required.
    pub default: ROption<ParamValue>,
    /// Lower limit for numbers.
    pub min: ROption<Bound>,
    /// Upper limit for numbers.
    pub max: ROption<Bound>,
    /// Allowed words for [`ParamKind::Choice`].
    pub choices: RVec<RString>,
}

impl ParamSpec {
    fn new(name: &str, kind: ParamKind, summary: &str) -> Self {
        Self {
            name: name.into(),
            kind,
            summary: summary.into(),
            help: RString::new(),
            default: ROption::RNone,
            min: ROption::RNone,
            max: ROption::RNone,
            choices: RVec::new(),
        }
    }

    /// A float parameter.
    pub fn float(name: &str, summary: &str) -> Self {
        Self::new(name, ParamKind::Float, summary)
    }

    /// An integer parameter.
    pub fn int(name: &str, summary: &str) -> Self {
        Self::new(name, ParamKind::Int, summary)
    }

    /// A switch, false unless given.
    pub fn switch(name: &str, summary: &str) -> Self {
        Self::new(name, ParamKind::Bool, summary).with_default(ParamValue::Bool(false))
    }

    /// A choice among `choices`.
    pub fn choice(name: &str, summary: &str, choices: &[&str]) -> Self {
        let mut spec = Self::new(name, ParamKind::Choice, summary);
        spec.choices = choices.iter().map(|c| RString::from(*c)).collect();
        spec
    }

    /// A free-text parameter.
    pub fn text(name: &str, summary: &str) -> Self {
        Self::new(name, ParamKind::Text, summary)
    }

    /// A file-path parameter.
    pub fn path(name: &str, summary: &str) -> Self {
        Self::new(name, ParamKind::Path, summary)
    }

    /// Sets the longer help.
    pub fn with_help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }

    /// Sets the default value.
    pub fn with_default(mut self, value: ParamValue) -> Self {
        self.default = ROption::RSome(value);
        self
    }

    /// Sets a float default.
    pub fn default_float(self, value: f64) -> Self {
        self.with_default(ParamValue::Float(value))
    }

    /// Sets an integer default.
    pub fn default_int(self, value: i64) -> Self {
        self.with_default(ParamValue::Int(value))
    }

    /// Sets a text or choice default.
    pub fn default_text(self, value: &str) -> Self {
        self.with_default(ParamValue::Text(value.into()))
    }

    /// Values must be ≥ `value`.
    pub fn at_least(mut self, value: f64) -> Self {
        self.min = ROption::RSome(Bound { value, inclusive: true });
        self
    }

    /// Values must be > `value`.
    pub fn greater_than(mut self, value: f64) -> Self {
        self.min = ROption::RSome(Bound { value, inclusive: false });
        self
    }

    /// Values must be ≤ `value`.
    pub fn at_most(mut self, value: f64) -> Self {
        self.max = ROption::RSome(Bound { value, inclusive: true });
        self
    }

    /// Values must be < `value`.
    pub fn less_than(mut self, value: f64) -> Self {
        self.max = ROption::RSome(Bound { value, inclusive: false });
        self
    }

    /// The allowed range in interval notation, e.g. `(0, 64]`; None when unbounded.
    pub fn range_text(&self) -> Option<String> {
        let (min, max) = (self.min.into_option(), self.max.into_option());
        if min.is_none() && max.is_none() {
            return None;
        }
        let lo = min
            .map_or("(-inf".to_string(), |b| format!("{}{}", if b.inclusive { "[" } else { "(" }, b.value));
        let hi =
            max.map_or("inf)".to_string(), |b| format!("{}{}", b.value, if b.inclusive { "]" } else { ")" }));
        Some(format!("{lo}, {hi}"))
    }
}

/// The declaration of one item a plugin provides.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemSpec {
    /// Name in kebab-case, unique among loaded plugins.
    pub name: RString,
    /// What kind of item it is.
    pub kind: ItemKind,
    /// One line saying what it does.
    pub summary: RString,
    /// Longer help, may be empty.
    pub help: RString,
    /// Parameters, in the order help lists them.
    pub params: RVec<ParamSpec>,
}

impl ItemSpec {
    /// An operator named `name`.
    pub fn operator(name: &str, summary: &str) -> Self {
        Self {
            name: name.into(),
            kind: ItemKind::Operator,
            summary: summary.into(),
            help: RString::new(),
            params: RVec::new(),
        }
    }

    /// Sets the longer help.
    pub fn with_help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }

    /// Appends a parameter.
    pub fn param(mut self, param: ParamSpec) -> Self {
        self.params.push(param);
        self
    }

    /// Adds `params` in order, e.g. the `params()` of a [`settings!`](crate::settings!)
    /// struct.
    pub fn with_params(mut self, params: impl IntoIterator<Item = ParamSpec>) -> Self {
        self.params.extend(params);
        self
    }

    /// The parameter called `name`, if declared.
    pub fn find_param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_text_uses_interval_notation() {
        assert_eq!(
            ParamSpec::float("s", "").greater_than(0.0).at_most(64.0).range_text().unwrap(),
            "(0, 64]"
        );
        assert_eq!(ParamSpec::float("s", "").at_least(-1.5).range_text().unwrap(), "[-1.5, inf)");
        assert_eq!(ParamSpec::float("s", "").range_text(), None);
    }
}
