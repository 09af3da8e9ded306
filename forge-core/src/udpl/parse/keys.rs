//! The `[config]` keys, listed once: the table drives reading, presence checks, examples and
//! `did you mean`. Reading checks each value's shape; [`super::config`] checks the values.

use toml::Spanned;
use toml::de::DeValue;

use super::source::{Linter, Span};
use super::value::describe;
use crate::udpl::names::did_you_mean;

/// The shape of a config value.
#[derive(Clone, Copy)]
enum Shape {
    /// An array of strings.
    Strings,
    /// One string.
    String,
    /// An integer ≥ 1.
    PositiveInt,
}

/// A `[config]` key; its position in [`CONFIG_KEYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    ZonePatterns,
    RequiredPatterns,
    ValidTags,
    DefaultMaxTokenLength,
    Sequences,
    ControlPattern,
    EscapePatterns,
    Tools,
}

/// One row of the key table.
pub(super) struct ConfigKey {
    pub(super) key: Key,
    pub(super) name: &'static str,
    shape: Shape,
    /// A document must set it.
    pub(super) required: bool,
    /// A valid line, shown when the key is missing or has the wrong type.
    pub(super) example: &'static str,
}

/// Every `[config]` key, in the order messages list them.
pub(super) const CONFIG_KEYS: [ConfigKey; 8] = [
    ConfigKey {
        key: Key::ZonePatterns,
        name: "zone_patterns",
        shape: Shape::Strings,
        required: true,
        example: "zone_patterns = [\"[Prompt]\", \"[Answer]\", \"[EOS]\"]",
    },
    ConfigKey {
        key: Key::RequiredPatterns,
        name: "required_patterns",
        shape: Shape::Strings,
        required: true,
        example: "required_patterns = [\"[Prompt]\", \"[Answer]\"]",
    },
    ConfigKey {
        key: Key::ValidTags,
        name: "valid_tags",
        shape: Shape::Strings,
        required: true,
        example: "valid_tags = [\"Training\"]",
    },
    ConfigKey {
        key: Key::DefaultMaxTokenLength,
        name: "default_max_token_length",
        shape: Shape::PositiveInt,
        required: true,
        example: "default_max_token_length = 2000",
    },
    ConfigKey {
        key: Key::Sequences,
        name: "sequences",
        shape: Shape::Strings,
        required: true,
        example: "sequences = [\"setup\"]",
    },
    ConfigKey {
        key: Key::ControlPattern,
        name: "control_pattern",
        shape: Shape::String,
        required: true,
        example: "control_pattern = \"[Jump]\"",
    },
    ConfigKey {
        key: Key::EscapePatterns,
        name: "escape_patterns",
        shape: Shape::Strings,
        required: true,
        example: "escape_patterns = [\"[Escape]\", \"[EndEscape]\"]",
    },
    ConfigKey {
        key: Key::Tools,
        name: "tools",
        shape: Shape::Strings,
        required: false,
        example: "tools = [\"search\"]",
    },
];

impl Key {
    pub(super) fn row(self) -> &'static ConfigKey {
        &CONFIG_KEYS[self as usize]
    }
}

/// The keys a document must set, as prose: "a, b and c".
pub(super) fn required_keys_prose() -> String {
    let names: Vec<&str> = CONFIG_KEYS
        .iter()
        .filter(|k| k.required)
        .map(|k| k.name)
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

/// A config list: each element's text and span.
pub(super) type StrList = Vec<(String, Span)>;

/// A config value that has the right shape.
pub(super) enum RawValue {
    Strings(StrList),
    String(String, Span),
    Int(u64),
}

/// The `[config]` table as read: values of the right shape, before the checks across keys.
pub(super) struct RawConfig {
    pub(super) file: usize,
    pub(super) header: Span,
    /// Indexed by [`Key`].
    pub(super) values: [Option<RawValue>; CONFIG_KEYS.len()],
    /// Set when a key was present but invalid (or missing and reported), so dependent checks
    /// are skipped.
    pub(super) broken: [bool; CONFIG_KEYS.len()],
    /// Span of each config key's value.
    value_spans: [Option<Span>; CONFIG_KEYS.len()],
}

impl RawConfig {
    fn new(file: usize, header: Span) -> Self {
        RawConfig {
            file,
            header,
            values: Default::default(),
            broken: [false; CONFIG_KEYS.len()],
            value_spans: Default::default(),
        }
    }

    pub(super) fn list(&self, key: Key) -> Option<&StrList> {
        match &self.values[key as usize] {
            Some(RawValue::Strings(l)) => Some(l),
            _ => None,
        }
    }

    pub(super) fn string(&self, key: Key) -> Option<(&String, &Span)> {
        match &self.values[key as usize] {
            Some(RawValue::String(s, span)) => Some((s, span)),
            _ => None,
        }
    }

    pub(super) fn int(&self, key: Key) -> Option<u64> {
        match &self.values[key as usize] {
            Some(RawValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// The texts of a list (empty when absent or broken).
    pub(super) fn strings(&self, key: Key) -> Vec<String> {
        self.list(key)
            .map(|l| l.iter().map(|(s, _)| s.clone()).collect())
            .unwrap_or_default()
    }

    /// The span of a whole config value, for errors about the array itself.
    pub(super) fn value_span(&self, key: Key) -> Span {
        self.value_spans[key as usize]
            .clone()
            .unwrap_or_else(|| self.header.clone())
    }
}

impl<'s> Linter<'s> {
    /// Read the `[config]` value: each key's shape, unknown keys.
    pub(super) fn config(
        &mut self,
        file: usize,
        key_span: Span,
        value: &Spanned<DeValue<'s>>,
    ) -> RawConfig {
        let mut raw = RawConfig::new(file, value.span());
        let DeValue::Table(table) = value.get_ref() else {
            self.error(file, value.span(), "`config` must be a table")
                .label(format!("found {}", describe(value.get_ref())))
                .help("write it as a `[config]` table");
            raw.header = key_span;
            raw.broken = [true; CONFIG_KEYS.len()];
            return raw;
        };
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            let Some(row) = CONFIG_KEYS.iter().find(|row| row.name == key) else {
                let help = did_you_mean(key, CONFIG_KEYS.iter().map(|row| row.name))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        let names: Vec<&str> = CONFIG_KEYS.iter().map(|row| row.name).collect();
                        format!("valid keys are: {}", names.join(", "))
                    });
                self.error(file, k.span(), format!("unknown key `{key}` in `[config]`"))
                    .label("unknown key")
                    .help(help);
                continue;
            };
            let i = row.key as usize;
            raw.value_spans[i] = Some(v.span());
            let read = match row.shape {
                Shape::Strings => self.str_list(file, row.name, v).map(RawValue::Strings),
                Shape::String => match v.get_ref() {
                    DeValue::String(s) => Some(RawValue::String(s.to_string(), v.span())),
                    other => {
                        self.error(file, v.span(), format!("`{}` must be a string", row.name))
                            .label(format!("found {}", describe(other)))
                            .help(format!("for example `{}`", row.example));
                        None
                    }
                },
                Shape::PositiveInt => self.positive_int(file, row.name, v).map(RawValue::Int),
            };
            match read {
                Some(value) => raw.values[i] = Some(value),
                None => raw.broken[i] = true,
            }
        }
        raw
    }

    /// A list of strings; reports non-arrays and non-string elements.
    fn str_list(&mut self, file: usize, key: &str, v: &Spanned<DeValue<'s>>) -> Option<StrList> {
        let DeValue::Array(arr) = v.get_ref() else {
            self.error(
                file,
                v.span(),
                format!("`{key}` must be an array of strings"),
            )
            .label(format!("found {}", describe(v.get_ref())));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for el in arr.iter() {
            match el.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), el.span())),
                other => {
                    self.error(file, el.span(), format!("`{key}` must hold only strings"))
                        .label(format!("found {}", describe(other)))
                        .help("quote it");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table_rows_sit_at_their_key_index() {
        for (i, row) in CONFIG_KEYS.iter().enumerate() {
            assert_eq!(row.key as usize, i, "row `{}` is out of place", row.name);
            assert!(
                row.example.starts_with(row.name),
                "example of `{}`",
                row.name
            );
        }
        assert_eq!(
            required_keys_prose(),
            "zone_patterns, required_patterns, valid_tags, default_max_token_length, \
             sequences, control_pattern and escape_patterns"
        );
    }
}
