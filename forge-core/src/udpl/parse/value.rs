//! TOML values to numbers and [`toml::Value`]s, and how a value is named in messages.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::source::Linter;

/// A value's kind, as messages name it ("found a string").
pub(super) fn describe(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'s> Linter<'s> {
    /// An integer ≥ 1 (booleans and floats are not integers).
    pub(super) fn positive_int(
        &mut self,
        file: usize,
        key: &str,
        v: &Spanned<DeValue<'s>>,
    ) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                match i128::from_str_radix(&digits, i.radix()) {
                    Ok(n) if n >= 1 && n <= i128::from(u64::MAX) => u64::try_from(n).ok(),
                    Ok(n) if n < 1 => {
                        self.error(file, v.span(), format!("`{key}` must be at least 1"))
                            .label(format!("found {n}"));
                        None
                    }
                    _ => {
                        self.error(file, v.span(), format!("`{key}` is too large"))
                            .label("does not fit in 64 bits");
                        None
                    }
                }
            }
            other => {
                self.error(file, v.span(), format!("`{key}` must be an integer"))
                    .label(format!("found {}", describe(other)))
                    .help_opt(matches!(other, DeValue::Boolean(_)).then(|| {
                        "booleans are not integers in UDPL; write a number such as 1".to_owned()
                    }));
                None
            }
        }
    }

    pub(super) fn convert_table(&mut self, file: usize, t: &DeTable<'s>) -> Option<toml::Table> {
        let mut out = toml::Table::new();
        for (k, v) in t.iter() {
            out.insert(k.get_ref().to_string(), self.convert_value(file, v)?);
        }
        Some(out)
    }

    pub(super) fn convert_value(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
    ) -> Option<toml::Value> {
        Some(match v.get_ref() {
            DeValue::String(s) => toml::Value::String(s.to_string()),
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                match i64::from_str_radix(&digits, i.radix()) {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => {
                        self.error(file, v.span(), "integer argument does not fit in 64 bits")
                            .label("too large");
                        return None;
                    }
                }
            }
            DeValue::Float(f) => {
                let digits: String = f.as_str().chars().filter(|&c| c != '_').collect();
                let parsed = match digits.trim_start_matches(['+', '-']) {
                    "inf" => Some(f64::INFINITY),
                    "nan" => Some(f64::NAN),
                    _ => digits.parse::<f64>().ok(),
                };
                let Some(mut x) = parsed else {
                    self.error(file, v.span(), "invalid float")
                        .label("cannot read this number");
                    return None;
                };
                if digits.starts_with('-') && x > 0.0 {
                    x = -x;
                }
                toml::Value::Float(x)
            }
            DeValue::Boolean(b) => toml::Value::Boolean(*b),
            DeValue::Datetime(d) => toml::Value::Datetime(*d),
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for el in a.iter() {
                    out.push(self.convert_value(file, el)?);
                }
                toml::Value::Array(out)
            }
            DeValue::Table(t) => toml::Value::Table(self.convert_table(file, t)?),
        })
    }
}
