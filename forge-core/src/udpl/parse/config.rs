//! The `[config]` checks: every required key present, each list valid, and the pattern roles
//! (zone, control, escape) disjoint.

use std::collections::HashMap;

use toml::Spanned;
use toml::de::DeValue;

use super::keys::{Key, RawConfig, RawValue, StrList};
use super::source::{Linter, Span};
use crate::udpl::model::Config;
use crate::udpl::names::{did_you_mean, pascal_case, snake_case};

/// What the block-level checks need from a valid config.
pub(super) struct ConfigView {
    pub(super) zone: Option<Vec<String>>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) patterns_ok: bool,
    pub(super) required: Vec<String>,
    pub(super) control: String,
    pub(super) escape: [String; 2],
    pub(super) default_max: u64,
}

/// The checked config and what later phases need from it.
pub(super) struct CheckedConfig {
    pub(super) file: usize,
    pub(super) sequences: Option<StrList>,
    pub(super) sequences_broken: bool,
    pub(super) view: ConfigView,
    pub(super) model: Option<Config>,
}

/// The roles a pattern plays in a block's text. No string may play two: the text splitter
/// would not know which one it met.
#[derive(Clone, Copy)]
enum Role {
    Zone,
    Control,
    Escape,
}

impl Role {
    /// A pattern of this role, as the subject of a message.
    fn subject(self, pattern: &str) -> String {
        match self {
            Role::Zone => format!("zone pattern `{pattern}`"),
            Role::Control => format!("`control_pattern` `{pattern}`"),
            Role::Escape => format!("escape pattern `{pattern}`"),
        }
    }

    /// The role as the other side of a clash.
    fn other(self) -> &'static str {
        match self {
            Role::Zone => "a zone pattern",
            Role::Control => "the control pattern",
            Role::Escape => "an escape pattern",
        }
    }

    /// Every pattern of the role, as the object of "differ from".
    fn all(self) -> &'static str {
        match self {
            Role::Zone => "every zone pattern",
            Role::Control => "the control pattern",
            Role::Escape => "the escape patterns",
        }
    }

    /// What to choose instead, for the help line.
    fn choose(self) -> &'static str {
        match self {
            Role::Zone => "zone patterns that differ",
            Role::Control => "a control pattern that differs",
            Role::Escape => "escape patterns that differ",
        }
    }
}

impl<'s> Linter<'s> {
    /// Report duplicates (and empty strings) in a list; returns false if any.
    fn distinct(&mut self, file: usize, key: &str, list: &StrList) -> bool {
        let mut ok = true;
        let mut firsts: FirstSeen<&str, usize> = FirstSeen::default();
        for (s, span) in list {
            if s.is_empty() {
                self.error(file, span.clone(), format!("empty string in `{key}`"))
                    .label("must not be empty");
                ok = false;
                continue;
            }
            if let Some(first) = firsts.get(&s.as_str()) {
                let first = self.location(file, first);
                self.error(file, span.clone(), format!("duplicate `{s}` in `{key}`"))
                    .label("duplicate")
                    .note(Some(first), "first listed here")
                    .help("remove the duplicate");
                ok = false;
            } else {
                firsts.insert(s.as_str(), span.start);
            }
        }
        ok
    }

    /// Every name converts to an identifier and no two collide after conversion.
    fn identifiers(
        &mut self,
        file: usize,
        what: &str,
        list: &StrList,
        convert: fn(&str) -> Option<String>,
    ) -> bool {
        let mut ok = true;
        let mut seen: FirstSeen<String, (&str, usize)> = FirstSeen::default();
        for (s, span) in list {
            if s.is_empty() {
                continue;
            }
            let Some(ident) = convert(s) else {
                self.error(
                    file,
                    span.clone(),
                    format!("{what} `{s}` cannot be a Rust identifier"),
                )
                .label("no identifier for this name")
                .help("use ASCII letters, digits, `_` or `-`, starting with a letter");
                ok = false;
                continue;
            };
            if let Some((other, other_start)) = seen.get(&ident).filter(|(o, _)| o != s) {
                let first = self.location(file, other_start);
                let other = other.to_string();
                self.error(
                    file,
                    span.clone(),
                    format!("{what} `{s}` and `{other}` both become the Rust identifier `{ident}`"),
                )
                .label("collides after case conversion")
                .note(Some(first), format!("`{other}` is here"))
                .help("rename one of them");
                ok = false;
                continue;
            }
            if seen.get(&ident).is_none() {
                seen.insert(ident, (s, span.start));
            }
        }
        ok
    }

    fn no_braces(&mut self, file: usize, key: &str, s: &str, span: &Span) -> bool {
        if s.contains(['{', '}']) {
            self.error(
                file,
                span.clone(),
                format!("`{key}` entry `{s}` contains a brace"),
            )
            .label("braces delimit placeholders")
            .help("choose a pattern without `{` or `}`");
            return false;
        }
        true
    }

    /// The disjointness of pattern roles: reports `pattern` (playing `role`) if a role checked
    /// before it already uses the same string; false if so.
    fn disjoint(
        &mut self,
        file: usize,
        role: Role,
        pattern: &str,
        span: &Span,
        before: &[(Role, &[String])],
    ) -> bool {
        let Some((other, _)) = before
            .iter()
            .find(|(_, patterns)| patterns.iter().any(|p| p == pattern))
        else {
            return true;
        };
        self.error(
            file,
            span.clone(),
            format!("{} is also {}", role.subject(pattern), other.other()),
        )
        .label("ambiguous")
        .help(format!("choose {} from {}", role.choose(), other.all()));
        false
    }

    /// Read and check `[config]`: every key present with the right shape, each list valid,
    /// the pattern roles disjoint.
    pub(super) fn checked_config(
        &mut self,
        file: usize,
        key_span: Span,
        value: &Spanned<DeValue<'s>>,
    ) -> CheckedConfig {
        let raw = self.config(file, key_span, value);
        self.check_config(raw)
    }

    fn check_config(&mut self, mut raw: RawConfig) -> CheckedConfig {
        let file = raw.file;
        let header = raw.header.clone();
        for row in super::keys::CONFIG_KEYS.iter().filter(|row| row.required) {
            let i = row.key as usize;
            if raw.values[i].is_none() && !raw.broken[i] {
                self.error(
                    file,
                    header.clone(),
                    format!("`[config]` is missing `{}`", row.name),
                )
                .label("in this table")
                .help(format!("add `{}`", row.example));
                raw.broken[i] = true;
            }
        }

        // zone_patterns
        let mut zone_ok = false;
        if let Some(z) = raw.list(Key::ZonePatterns) {
            zone_ok = self.distinct(file, Key::ZonePatterns.row().name, z);
            for (s, span) in z {
                zone_ok &= self.no_braces(file, Key::ZonePatterns.row().name, s, span);
            }
            if z.len() < 2 {
                let span = raw.value_span(Key::ZonePatterns);
                self.error(file, span, "`zone_patterns` needs at least two patterns")
                    .label(format!("found {}", z.len()))
                    .help("a block has a prompt zone and at least one more, e.g. [\"[Prompt]\", \"[Answer]\"]");
                zone_ok = false;
            }
        }
        let zones: Vec<String> = raw.strings(Key::ZonePatterns);

        // required_patterns
        let mut required_ok = false;
        if let Some(r) = raw.list(Key::RequiredPatterns) {
            required_ok = self.distinct(file, Key::RequiredPatterns.row().name, r);
            if r.is_empty() {
                let span = raw.value_span(Key::RequiredPatterns);
                self.error(file, span, "`required_patterns` must not be empty")
                    .help("list at least the first zone pattern");
                required_ok = false;
            }
            if raw.list(Key::ZonePatterns).is_some() {
                for (s, span) in r {
                    if !s.is_empty() && !zones.contains(s) {
                        let help = did_you_mean(s, zones.iter().map(String::as_str))
                            .map(|m| format!("did you mean `{m}`?"))
                            .unwrap_or_else(|| {
                                "required patterns must be listed in `zone_patterns`".into()
                            });
                        self.error(
                            file,
                            span.clone(),
                            format!("required pattern `{s}` is not one of `zone_patterns`"),
                        )
                        .label("not a zone pattern")
                        .help(help);
                        required_ok = false;
                    }
                }
            }
        }

        // valid_tags
        let mut tags_ok = false;
        if let Some(t) = raw.list(Key::ValidTags) {
            tags_ok = self.distinct(file, Key::ValidTags.row().name, t);
            tags_ok &= self.identifiers(file, "tag", t, pascal_case);
            if t.is_empty() {
                let span = raw.value_span(Key::ValidTags);
                self.warning(
                    file,
                    span,
                    "`valid_tags` is empty: no block can carry a tag",
                )
                .label("empty")
                .help("list the tags your extractions will select, e.g. [\"Training\"]");
            }
        }

        // sequences
        let mut sequences_broken = raw.list(Key::Sequences).is_none();
        if let Some(s) = raw.list(Key::Sequences) {
            let mut ok = self.distinct(file, Key::Sequences.row().name, s);
            ok &= self.identifiers(file, "sequence", s, snake_case);
            if s.is_empty() {
                let span = raw.value_span(Key::Sequences);
                self.error(file, span, "`sequences` must not be empty")
                    .help("list the sequences of the document, e.g. [\"setup\"]");
            }
            // Names that are not distinct leave the sequence set ambiguous for later checks.
            if !ok {
                sequences_broken = s
                    .iter()
                    .enumerate()
                    .any(|(i, (n, _))| n.is_empty() || s[..i].iter().any(|(o, _)| o == n));
            }
        }

        // control_pattern
        let mut control_ok = false;
        let control_list: &[String] = match raw.values[Key::ControlPattern as usize] {
            Some(RawValue::String(ref c, _)) => std::slice::from_ref(c),
            _ => &[],
        };
        if let Some((c, span)) = raw.string(Key::ControlPattern) {
            control_ok = true;
            if c.is_empty() {
                self.error(file, span.clone(), "`control_pattern` must not be empty")
                    .help(format!(
                        "for example `{}`",
                        Key::ControlPattern.row().example
                    ));
                control_ok = false;
            } else {
                control_ok &= self.disjoint(file, Role::Control, c, span, &[(Role::Zone, &zones)]);
            }
            control_ok &= self.no_braces(file, Key::ControlPattern.row().name, c, span);
        }

        // escape_patterns
        let mut escape_ok = false;
        if let Some(e) = raw.list(Key::EscapePatterns) {
            escape_ok = true;
            if e.len() != 2 {
                let span = raw.value_span(Key::EscapePatterns);
                self.error(
                    file,
                    span,
                    "`escape_patterns` must hold exactly two patterns",
                )
                .label(format!("found {}", e.len()))
                .help(
                    "give an opening and a closing pattern, e.g. [\"[Escape]\", \"[EndEscape]\"]",
                );
                escape_ok = false;
            }
            let before = [
                (Role::Zone, zones.as_slice()),
                (Role::Control, control_list),
            ];
            for (i, (s, span)) in e.iter().enumerate() {
                if s.is_empty() {
                    self.error(file, span.clone(), "escape pattern must not be empty")
                        .label("empty");
                    escape_ok = false;
                } else if i == 1 && *s == e[0].0 {
                    self.error(file, span.clone(), "the two escape patterns must differ")
                        .label("same as the opening pattern")
                        .help("use distinct opening and closing patterns, e.g. [\"[Escape]\", \"[EndEscape]\"]");
                    escape_ok = false;
                } else {
                    escape_ok &= self.disjoint(file, Role::Escape, s, span, &before);
                }
                escape_ok &= self.no_braces(file, Key::EscapePatterns.row().name, s, span);
            }
        }

        // tools
        let mut tools_ok = true;
        if let Some(t) = raw.list(Key::Tools) {
            tools_ok = self.distinct(file, Key::Tools.row().name, t);
            tools_ok &= self.identifiers(file, "tool", t, pascal_case);
        }

        let default_max = raw.int(Key::DefaultMaxTokenLength);
        let patterns_ok = zone_ok && control_ok && escape_ok;
        let all_ok = patterns_ok
            && tags_ok
            && required_ok
            && tools_ok
            && !sequences_broken
            && default_max.is_some()
            && !self.has_errors();
        let escape = {
            let e = raw.strings(Key::EscapePatterns);
            [
                e.first().cloned().unwrap_or_default(),
                e.get(1).cloned().unwrap_or_default(),
            ]
        };
        let control = control_list.first().cloned().unwrap_or_default();
        let model = all_ok.then(|| Config {
            zone_patterns: zones.clone(),
            required_patterns: raw.strings(Key::RequiredPatterns),
            valid_tags: raw.strings(Key::ValidTags),
            default_max_token_length: default_max.unwrap_or(1),
            sequences: raw.strings(Key::Sequences),
            control_pattern: control.clone(),
            escape_patterns: escape.clone(),
            tools: raw.strings(Key::Tools),
        });
        CheckedConfig {
            file,
            sequences: raw.list(Key::Sequences).cloned(),
            sequences_broken,
            view: ConfigView {
                zone: zone_ok.then(|| zones.clone()),
                tags: tags_ok.then(|| raw.strings(Key::ValidTags)),
                patterns_ok,
                required: raw
                    .strings(Key::RequiredPatterns)
                    .into_iter()
                    .filter(|r| zones.contains(r))
                    .collect(),
                control,
                escape,
                default_max: default_max.unwrap_or(1),
            },
            model,
        }
    }
}

/// First occurrences by key: a scan for short lists (most config lists are), a hash map
/// beyond.
struct FirstSeen<K, V> {
    small: Vec<(K, V)>,
    map: Option<HashMap<K, V>>,
}

impl<K, V> Default for FirstSeen<K, V> {
    fn default() -> Self {
        FirstSeen {
            small: Vec::new(),
            map: None,
        }
    }
}

impl<K: Eq + std::hash::Hash + Clone, V: Copy> FirstSeen<K, V> {
    const SCAN_LIMIT: usize = 32;

    fn get(&self, key: &K) -> Option<V> {
        match &self.map {
            Some(map) => map.get(key).copied(),
            None => self.small.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
        }
    }

    /// Record `key` (which must not be present yet).
    fn insert(&mut self, key: K, value: V) {
        match &mut self.map {
            Some(map) => {
                map.insert(key, value);
            }
            None => {
                self.small.push((key, value));
                if self.small.len() > Self::SCAN_LIMIT {
                    self.map = Some(self.small.drain(..).collect());
                }
            }
        }
    }
}
