//! Resolved parameter values: parsed, range-checked and completed with defaults
//! against an [`ItemSpec`]. The host resolves command-line text with
//! [`ItemSpec::resolve`]; plugins read the result with the typed getters of [`Params`].

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

use crate::{Bound, ItemSpec, ParamKind, ParamSpec, ParamValue, PluginError};

/// One resolved parameter.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter's name as declared.
    pub name: RString,
    /// Its value, of the declared type.
    pub value: ParamValue,
}

/// Every declared parameter of an item with its value.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default, PartialEq)]
pub struct Params {
    /// One entry per declared parameter that has a value.
    pub entries: RVec<Param>,
}

impl Params {
    /// The value of `name`, if present.
    pub fn find(&self, name: &str) -> Option<&ParamValue> {
        self.entries.iter().find(|p| p.name == name).map(|p| &p.value)
    }

    fn get(&self, name: &str) -> Result<&ParamValue, PluginError> {
        self.find(name).ok_or_else(|| PluginError::invalid_param(name, "is required but was not given"))
    }

    fn wrong_type(name: &str, want: &str, got: &ParamValue) -> PluginError {
        PluginError::invalid_param(name, format!("expected a {want}, got '{got}'"))
    }

    /// The float `name` (integers are widened).
    pub fn float(&self, name: &str) -> Result<f64, PluginError> {
        match self.get(name)? {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            other => Err(Self::wrong_type(name, "number", other)),
        }
    }

    /// The integer `name`.
    pub fn int(&self, name: &str) -> Result<i64, PluginError> {
        match self.get(name)? {
            ParamValue::Int(v) => Ok(*v),
            other => Err(Self::wrong_type(name, "whole number", other)),
        }
    }

    /// The switch `name`.
    pub fn bool(&self, name: &str) -> Result<bool, PluginError> {
        match self.get(name)? {
            ParamValue::Bool(v) => Ok(*v),
            other => Err(Self::wrong_type(name, "true/false", other)),
        }
    }

    /// The text, choice or path `name`.
    pub fn text(&self, name: &str) -> Result<&str, PluginError> {
        match self.get(name)? {
            ParamValue::Text(v) => Ok(v.as_str()),
            other => Err(Self::wrong_type(name, "text", other)),
        }
    }
}

impl ItemSpec {
    /// Parses `given` (name, text) pairs, checks them and fills in defaults.
    /// A switch given with an empty text means true.
    pub fn resolve<'a>(
        &self,
        given: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Params, PluginError> {
        let mut values: Vec<Option<ParamValue>> = vec![None; self.params.len()];
        for (name, text) in given {
            let index = self.params.iter().position(|p| p.name == name).ok_or_else(|| {
                PluginError::invalid_param(name, "unknown parameter").with_help(self.param_list())
            })?;
            if values[index].is_some() {
                return Err(PluginError::invalid_param(name, "given more than once"));
            }
            values[index] = Some(self.params[index].parse(text)?);
        }
        let mut entries = RVec::new();
        for (spec, value) in self.params.iter().zip(values) {
            let value = match (value, spec.default.as_ref().into_option()) {
                (Some(v), _) => v,
                (None, Some(default)) => default.clone(),
                (None, None) => {
                    return Err(PluginError::invalid_param(&spec.name, "is required but was not given")
                        .with_help(format!("give --{} <{}>", spec.name, spec.kind.as_str())));
                }
            };
            entries.push(Param { name: spec.name.clone(), value });
        }
        Ok(Params { entries })
    }

    fn param_list(&self) -> String {
        if self.params.is_empty() {
            return format!("{} takes no parameters", self.name);
        }
        let names: Vec<String> = self.params.iter().map(|p| format!("--{}", p.name)).collect();
        format!("{} takes {}", self.name, names.join(", "))
    }
}

impl ParamSpec {
    /// Parses command-line text into a checked value of this parameter's type.
    pub fn parse(&self, text: &str) -> Result<ParamValue, PluginError> {
        let name = self.name.as_str();
        let value = match self.kind {
            ParamKind::Float => {
                let v: f64 = text.trim().parse().map_err(|_| {
                    PluginError::invalid_param(name, format!("expected a number, got '{text}'"))
                })?;
                ParamValue::Float(v)
            }
            ParamKind::Int => {
                let v: i64 = text.trim().parse().map_err(|_| {
                    PluginError::invalid_param(name, format!("expected a whole number, got '{text}'"))
                })?;
                ParamValue::Int(v)
            }
            ParamKind::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "" | "true" | "yes" | "on" | "1" => ParamValue::Bool(true),
                "false" | "no" | "off" | "0" => ParamValue::Bool(false),
                _ => {
                    return Err(PluginError::invalid_param(
                        name,
                        format!("expected true or false, got '{text}'"),
                    ))
                }
            },
            ParamKind::Choice | ParamKind::Text | ParamKind::Path => ParamValue::Text(text.into()),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// Checks a typed value against this parameter's type, range and choices.
    pub fn check(&self, value: &ParamValue) -> Result<(), PluginError> {
        let name = self.name.as_str();
        // Bounds compare as f64; messages show the value as given (an i64 past 2^53
        // would print rounded).
        let (number, shown) = match (self.kind, value) {
            (ParamKind::Float, ParamValue::Float(v)) => (*v, v.to_string()),
            (ParamKind::Int, ParamValue::Int(v)) => (*v as f64, v.to_string()),
            (ParamKind::Bool, ParamValue::Bool(_)) => return Ok(()),
            (ParamKind::Choice, ParamValue::Text(v)) => {
                if self.choices.iter().any(|c| c == v) {
                    return Ok(());
                }
                let list: Vec<&str> = self.choices.iter().map(|c| c.as_str()).collect();
                return Err(PluginError::invalid_param(
                    name,
                    format!("must be one of {}, got '{v}'", list.join(", ")),
                ));
            }
            (ParamKind::Text | ParamKind::Path, ParamValue::Text(_)) => return Ok(()),
            (kind, v) => {
                return Err(PluginError::invalid_param(
                    name,
                    format!("expected a {}, got '{v}'", kind.as_str()),
                ))
            }
        };
        if !number.is_finite() {
            return Err(PluginError::invalid_param(name, format!("must be a finite number, got {number}")));
        }
        if let Some(b) = self.min.into_option() {
            check_bound(name, (number, &shown), b, |v, lim| v > lim, ">")?;
        }
        if let Some(b) = self.max.into_option() {
            check_bound(name, (number, &shown), b, |v, lim| v < lim, "<")?;
        }
        Ok(())
    }
}

fn check_bound(
    name: &str,
    (v, shown): (f64, &str),
    b: Bound,
    strictly: fn(f64, f64) -> bool,
    op: &str,
) -> Result<(), PluginError> {
    let ok = strictly(v, b.value) || (b.inclusive && v == b.value);
    if ok {
        return Ok(());
    }
    let op = if b.inclusive { format!("{op}=") } else { op.to_string() };
    Err(PluginError::invalid_param(name, format!("must be {op} {}, got {shown}", b.value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn spec() -> ItemSpec {
        ItemSpec::operator("blur", "test")
            .param(ParamSpec::float("sigma", "width").greater_than(0.0).at_most(100.0))
            .param(ParamSpec::int("radius", "taps").at_least(0.0).default_int(3))
            .param(ParamSpec::switch("fast", "approximate"))
            .param(ParamSpec::choice("edge", "boundary", &["mirror", "zero"]).default_text("mirror"))
    }

    #[test]
    fn resolves_given_values_and_defaults() {
        let p = spec().resolve([("sigma", "2.5"), ("fast", "")]).unwrap();
        assert_eq!(p.float("sigma").unwrap(), 2.5);
        assert_eq!(p.int("radius").unwrap(), 3);
        assert!(p.bool("fast").unwrap());
        assert_eq!(p.text("edge").unwrap(), "mirror");
        assert_eq!(p.float("radius").unwrap(), 3.0);
    }

    #[test]
    fn refuses_bad_values_with_clear_messages() {
        let err = |given: &[(&'static str, &'static str)]| spec().resolve(given.iter().copied()).unwrap_err();
        assert_eq!(err(&[("sigma", "0")]).to_string(), "param 'sigma': must be > 0, got 0");
        assert_eq!(err(&[("sigma", "101")]).to_string(), "param 'sigma': must be <= 100, got 101");
        assert_eq!(err(&[("sigma", "NaN")]).to_string(), "param 'sigma': must be a finite number, got NaN");
        assert_eq!(err(&[("sigma", "x")]).to_string(), "param 'sigma': expected a number, got 'x'");
        assert_eq!(err(&[]).to_string(), "param 'sigma': is required but was not given");
        let unknown = err(&[("sigm", "1")]);
        assert_eq!(unknown.to_string(), "param 'sigm': unknown parameter");
        assert_eq!(unknown.help.unwrap().as_str(), "blur takes --sigma, --radius, --fast, --edge");
        assert_eq!(
            err(&[("sigma", "1"), ("edge", "wrap")]).to_string(),
            "param 'edge': must be one of mirror, zero, got 'wrap'"
        );
        assert_eq!(err(&[("sigma", "1"), ("sigma", "2")]).to_string(), "param 'sigma': given more than once");
        assert_eq!(err(&[("sigma", "1"), ("radius", "-1")]).kind, ErrorKind::InvalidParam);
    }
}
