//! The phases of a parse, in order: TOML syntax per file, the merged top-level keys, the
//! config, then each sequence and its blocks, then the document's resources.

use std::collections::{HashMap, HashSet};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::declared::DocView;
use super::keys::required_keys_prose;
use super::placeholder::ResourceTable;
use super::source::{At, Linter, Span};
use super::syntax::syntax_error;
use super::value::describe;
use super::{Error, Parsed};
use crate::udpl::model::{Document, Name, Resource, Sequence};
use crate::udpl::names::{did_you_mean, pascal_case, snake_case};

/// A top-level key of one file: (file index, key, value).
type TopEntry<'a, 's> = (
    usize,
    &'a Spanned<std::borrow::Cow<'s, str>>,
    &'a Spanned<DeValue<'s>>,
);

impl<'s> Linter<'s> {
    /// Run every phase; the document, or every diagnostic found.
    pub(super) fn run(mut self) -> Result<Parsed, Error> {
        // 1. TOML syntax, per file. Syntax errors stop here: a recovered tree would only produce
        //    confusing follow-on errors.
        let mut tables = Vec::new();
        for file in 0..self.sources.len() {
            let text = self.sources[file].text;
            let (table, errors) = DeTable::parse_recoverable(text);
            if let Some(e) = syntax_error(text, &errors) {
                self.error(file, e.span, e.message)
                    .label(e.label)
                    .help_opt(e.help);
            }
            tables.push(table);
        }
        if self.has_errors() {
            return Err(self.finish_err());
        }

        // 2. Merge top-level keys of all files.
        let mut top: Vec<TopEntry<'_, 's>> = Vec::new();
        let mut seen: HashMap<&str, (usize, Span)> = HashMap::new();
        for (file, table) in tables.iter().enumerate() {
            for (k, v) in table.get_ref().iter() {
                let key: &str = k.get_ref();
                if let Some((first_file, first_span)) = seen.get(key).cloned() {
                    let first = self.location(first_file, first_span.start);
                    let other = self.sources[first_file].name.clone();
                    let here = self.sources[file].name.clone();
                    self.error(
                        file,
                        k.span(),
                        format!("top-level key `{key}` is defined in both `{other}` and `{here}`"),
                    )
                    .label("defined again here")
                    .note(Some(first), "first defined here")
                    .help("keep each sequence and `[config]` in exactly one file of the folder");
                    continue;
                }
                seen.insert(key, (file, k.span()));
                top.push((file, k, v));
            }
        }

        // 3. Config.
        let config = match top.iter().find(|(_, k, _)| k.get_ref() == "config") {
            Some(&(file, key, value)) => self.checked_config(file, key.span(), value),
            None => {
                let msg = if self.sources.len() > 1 {
                    "no file of the folder has a `[config]` table"
                } else {
                    "missing `[config]` table"
                };
                self.error(0, 0..0, msg).help(format!(
                    "add a `[config]` table with {}",
                    required_keys_prose()
                ));
                return Err(self.finish_err());
            }
        };

        // 4. Top-level keys other than config.
        let listed: Option<Vec<(String, Span)>> = config.sequences.clone();
        let listed_set: HashSet<&str> = listed.iter().flatten().map(|(n, _)| n.as_str()).collect();
        let top_keys: HashSet<&str> = top
            .iter()
            .map(|(_, k, _)| -> &str { k.get_ref() })
            .collect();
        let mut seq_values: HashMap<String, At<'_, 's>> = HashMap::new();
        let mut program: Option<TopEntry<'_, 's>> = None;
        for &(file, key, value) in &top {
            let name: &str = key.get_ref();
            if name == "config" {
                continue;
            }
            if name == "program" {
                if let Some((_, span)) = listed.iter().flatten().find(|(n, _)| n == "program") {
                    let table = self.location(file, key.span().start);
                    self.error(
                        config.file,
                        span.clone(),
                        "sequence `program` clashes with the `[program]` table",
                    )
                    .label("a sequence named `program`")
                    .note(
                        Some(table),
                        "the top-level key `program` is reserved for the declared program",
                    )
                    .help("rename the sequence");
                    continue;
                }
                program = Some((file, key, value));
                continue;
            }
            let is_listed = listed_set.contains(name);
            let is_aot = is_array_of_tables(value.get_ref());
            if is_listed {
                if is_aot {
                    seq_values.insert(name.to_owned(), At { file, value });
                } else {
                    self.error(
                        file,
                        value.span(),
                        format!(
                            "sequence `{name}` must be an array of tables (`[[{name}]]` blocks)"
                        ),
                    )
                    .label(format!("found {}", describe(value.get_ref())))
                    .help(format!(
                        "write each block as a `[[{name}]]` table with `text` and `tags`"
                    ));
                }
            } else if listed.is_some() || config.sequences_broken {
                if config.sequences_broken {
                    continue;
                }
                let suggestion = listed.as_ref().and_then(|l| {
                    did_you_mean(name, l.iter().map(|(n, _)| n.as_str()))
                        .map(|s| format!("did you mean `{s}`?"))
                });
                if is_aot {
                    let help = suggestion.unwrap_or_else(|| {
                        format!("add \"{name}\" to `config.sequences`, or remove these blocks")
                    });
                    self.error(
                        file,
                        key.span(),
                        format!("sequence `{name}` is not listed in `config.sequences`"),
                    )
                    .label("not a declared sequence")
                    .help(help);
                } else {
                    let help = suggestion.unwrap_or_else(|| {
                        "a UDPL document holds only `[config]` and `[[sequence]]` blocks".into()
                    });
                    self.error(file, key.span(), format!("unknown top-level key `{name}`"))
                        .label("not `config` or a sequence")
                        .help(help);
                }
            }
        }

        // 5. Sequences and their blocks.
        let mut sequences = Vec::new();
        let mut resources = ResourceTable::default();
        if let (Some(list), false) = (&listed, config.sequences_broken) {
            for (name, span) in list {
                let Some(at) = seq_values.get(name).copied() else {
                    if !top_keys.contains(name.as_str()) {
                        self.error(
                            config.file,
                            span.clone(),
                            format!("sequence `{name}` has no blocks"),
                        )
                        .label("declared here")
                        .help(format!(
                            "add at least one `[[{name}]]` block with `text` and `tags`"
                        ));
                    }
                    continue;
                };
                let location = self.location(config.file, span.start);
                let blocks = self.sequence(name, at, &config.view, &mut resources);
                let snake = snake_case(name).unwrap_or_default();
                let pascal = pascal_case(name).unwrap_or_default();
                sequences.push(Sequence {
                    name: Name {
                        name: name.clone(),
                        snake,
                        pascal,
                    },
                    location,
                    blocks,
                });
            }
        }
        self.check_resources(&resources);
        // Every placeholder gets its resource's default, whichever spec declared it.
        for p in sequences
            .iter_mut()
            .flat_map(|s| &mut s.blocks)
            .flat_map(|b| &mut b.placeholders)
        {
            p.default = resources.default_of(&p.resource);
        }

        // 6. The declared program, once the sequences and their resources are known. A
        //    document with errors elsewhere is not linted further: its program would only
        //    report follow-on errors (a broken placeholder is no custom resource to bind).
        let declared = match (&program, &config.model) {
            (Some((file, key, value)), Some(cfg)) if !self.has_errors() => {
                let view = DocView {
                    config: cfg,
                    sequences: &sequences,
                };
                self.declared_program(*file, key.span(), value, &view)
            }
            _ => None,
        };

        if self.has_errors() {
            return Err(self.finish_err());
        }
        let Some(cfg) = config.model else {
            return Err(self.finish_err());
        };
        let document = Document {
            files: self.sources.iter().map(|s| s.name.clone()).collect(),
            tags: names_of(&cfg.valid_tags),
            tools: names_of(&cfg.tools),
            config: cfg,
            sequences,
            program: declared,
            resources: resources
                .entries
                .into_iter()
                .map(|e| Resource {
                    name: Name {
                        snake: snake_case(&e.name).unwrap_or_default(),
                        pascal: pascal_case(&e.name).unwrap_or_default(),
                        name: e.name,
                    },
                    kind: e.kind,
                    location: e.location,
                    default: e.default.map(|(text, _)| text),
                })
                .collect(),
        };
        let warnings = self.sorted();
        Ok(Parsed { document, warnings })
    }
}

fn names_of(list: &[String]) -> Vec<Name> {
    list.iter()
        .map(|n| Name {
            name: n.clone(),
            snake: snake_case(n).unwrap_or_default(),
            pascal: pascal_case(n).unwrap_or_default(),
        })
        .collect()
}

fn is_array_of_tables(v: &DeValue<'_>) -> bool {
    matches!(v, DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_table()))
}
