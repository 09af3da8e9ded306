//! Spec tables, the placeholders of a block's text, and the resources they name.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::source::{Linter, Span};
use super::value::describe;
use crate::diagnostics::Location;
use crate::udpl::model::{Arguments, Placeholder, ResourceKind};
use crate::udpl::names::{did_you_mean, snake_case};
use crate::udpl::strings::StrMap;

const SPEC_KEYS: &[&str] = &["name", "type", "default", "arguments"];
const TYPES: &[&str] = &["standard", "custom", "argument"];

/// The resources of a document, in order of first use.
#[derive(Default)]
pub(super) struct ResourceTable {
    pub(super) entries: Vec<ResourceEntry>,
    by_name: HashMap<String, usize>,
}

pub(super) struct ResourceEntry {
    pub(super) name: String,
    pub(super) kind: ResourceKind,
    pub(super) location: Location,
    file: usize,
    /// The `name` value of its first spec (name collisions point here).
    span: Span,
    /// Where its first spec decides the kind (see [`Spec::kind_span`]).
    kind_location: Location,
    /// The default text, and where it is declared.
    pub(super) default: Option<(Arc<str>, Location)>,
}

/// A spec table found in a block, before it is matched with placeholders.
pub(super) struct Spec {
    key: String,
    key_span: Span,
    resource: Option<String>,
    kind: ResourceKind,
    arguments: Arguments,
    has_arguments: bool,
    header: Span,
    /// The `name` value.
    name_span: Option<Span>,
    /// The `type` value.
    type_span: Option<Span>,
    /// The `arguments` value.
    arguments_span: Option<Span>,
    /// The `default` text and its value's span.
    default: Option<(Arc<str>, Span)>,
}

impl Spec {
    /// Where the resource's binding kind is decided: the `type` value, else the `name` value
    /// (no `type` means `standard`), else the table.
    fn kind_span(&self) -> Span {
        self.type_span
            .clone()
            .or_else(|| self.name_span.clone())
            .unwrap_or_else(|| self.header.clone())
    }
}

impl<'s> Linter<'s> {
    /// Match the placeholders found in a block's text with the block's spec tables; record
    /// the resources they name.
    pub(super) fn placeholders(
        &mut self,
        seq: &str,
        file: usize,
        specs: &[Spec],
        found: &[(String, Range<usize>)],
        map: &StrMap,
        resources: &mut ResourceTable,
    ) -> Vec<Placeholder> {
        let mut placeholders = Vec::new();
        for (key, range) in found {
            let sp = map.source_offset(range.start)..map.source_end(range.end);
            match specs.iter().find(|s| s.key == *key) {
                Some(spec) => {
                    if let Some(resource) = &spec.resource {
                        placeholders.push(Placeholder {
                            key: key.clone(),
                            resource: resource.clone(),
                            kind: spec.kind,
                            arguments: spec.arguments.clone(),
                            has_arguments: spec.has_arguments,
                            spec_location: self.location(file, spec.header.start),
                            arguments_location: self.location(
                                file,
                                spec.arguments_span.as_ref().unwrap_or(&spec.header).start,
                            ),
                            // The resource's default, filled in once every spec is read.
                            default: None,
                            location: self.location(file, sp.start),
                        });
                    }
                }
                None => {
                    // A spec table of this block that no placeholder uses, named close to
                    // this one, is most likely the table meant for it (or the text has a typo).
                    let unused = specs
                        .iter()
                        .filter(|s| !found.iter().any(|(k, _)| *k == s.key))
                        .map(|s| s.key.as_str());
                    let help = match did_you_mean(key, unused) {
                        Some(close) => format!(
                            "did you mean `{{{close}}}`? This block has a spec table `[{seq}.{close}]` \
                             that no placeholder uses; otherwise add a table `[{seq}.{key}]`"
                        ),
                        None => format!(
                            "add a table after this block: `[{seq}.{key}]` with `name = \"<resource>\"` \
                             (and optionally `type` and `arguments`)"
                        ),
                    };
                    self.error(
                        file,
                        sp,
                        format!("placeholder `{{{key}}}` has no spec table"),
                    )
                    .label("undeclared placeholder")
                    .help(help);
                }
            }
        }
        for spec in specs {
            if !found.iter().any(|(k, _)| *k == spec.key) {
                self.warning(
                    file,
                    spec.key_span.clone(),
                    format!(
                        "spec table `[{seq}.{}]` is not used by any placeholder of this block",
                        spec.key
                    ),
                )
                .label("unused")
                .help(format!(
                    "write `{{{}}}` in the block's text, or remove the table",
                    spec.key
                ));
            }
        }
        for spec in specs {
            if let Some(resource) = &spec.resource
                && found.iter().any(|(k, _)| *k == spec.key)
            {
                resources.add(self, file, spec, resource);
            }
        }
        placeholders
    }

    /// Read a spec table `[seq.key]`.
    pub(super) fn spec(
        &mut self,
        seq: &str,
        key: &str,
        key_span: Span,
        file: usize,
        header: Span,
        table: &DeTable<'s>,
    ) -> Spec {
        let mut spec = Spec {
            key: key.to_owned(),
            key_span,
            resource: None,
            kind: ResourceKind::Standard,
            arguments: Arguments::new(),
            has_arguments: false,
            header: header.clone(),
            name_span: None,
            type_span: None,
            arguments_span: None,
            default: None,
        };
        let mut has_name = false;
        for (k, v) in table.iter() {
            let name: &str = k.get_ref();
            match name {
                "type" => spec.type_span = Some(v.span()),
                "arguments" => spec.arguments_span = Some(v.span()),
                _ => {}
            }
            match name {
                "name" => {
                    has_name = true;
                    spec.name_span = Some(v.span());
                    match v.get_ref() {
                        DeValue::String(s) if s.is_empty() => {
                            self.error(file, v.span(), "resource `name` must not be empty")
                                .label("empty")
                                .help("name the resource that fills this placeholder");
                        }
                        DeValue::String(s) => {
                            if snake_case(s).is_none() {
                                self.error(
                                    file,
                                    v.span(),
                                    format!("resource name `{s}` cannot be a Rust identifier"),
                                )
                                .label("no identifier for this name")
                                .help(
                                    "use ASCII letters, digits, `_` or `-`, starting with a letter",
                                );
                            } else {
                                spec.resource = Some(s.to_string());
                            }
                        }
                        other => {
                            self.error(file, v.span(), "resource `name` must be a string")
                                .label(format!("found {}", describe(other)));
                        }
                    }
                }
                "type" => match v.get_ref() {
                    DeValue::String(s) => match s.as_ref() {
                        "standard" => spec.kind = ResourceKind::Standard,
                        "custom" => spec.kind = ResourceKind::Custom,
                        "argument" => spec.kind = ResourceKind::Argument,
                        other => {
                            let help = did_you_mean(other, TYPES.iter().copied())
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| "use `standard`, `custom` or `argument`".into());
                            self.error(file, v.span(), format!("unknown resource type `{other}`"))
                                .label("not a resource type")
                                .help(help);
                        }
                    },
                    other => {
                        self.error(file, v.span(), "resource `type` must be a string")
                            .label(format!("found {}", describe(other)))
                            .help("use `standard`, `custom` or `argument`");
                    }
                },
                "default" => match v.get_ref() {
                    DeValue::String(s) => spec.default = Some((Arc::from(s.as_ref()), v.span())),
                    other => {
                        self.error(file, v.span(), "`default` must be a string")
                            .label(format!("found {}", describe(other)))
                            .help("write the text that fills the placeholder when no resource is bound, e.g. `default = \"none\"`");
                    }
                },
                "arguments" => match v.get_ref() {
                    DeValue::Table(t) => {
                        spec.has_arguments = true;
                        match self.convert_table(file, t) {
                            Some(t) => spec.arguments = t,
                            None => spec.resource = None,
                        }
                    }
                    other => {
                        self.error(file, v.span(), "`arguments` must be a table")
                            .label(format!("found {}", describe(other)))
                            .help("for example `arguments = { num_samples = 3 }`");
                    }
                },
                _ => {
                    let help = did_you_mean(name, SPEC_KEYS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            "spec tables hold `name`, `type`, `default` and `arguments`".into()
                        });
                    self.error(
                        file,
                        k.span(),
                        format!("unknown key `{name}` in spec table `[{seq}.{key}]`"),
                    )
                    .label("unknown key")
                    .help(help);
                }
            }
        }
        if !has_name {
            self.error(
                file,
                header,
                format!("spec table `[{seq}.{key}]` has no `name`"),
            )
            .label("this table")
            .help("add `name = \"<resource>\"`: the resource that fills the placeholder");
        }
        spec
    }

    /// Resource names that collide once converted to identifiers.
    pub(super) fn check_resources(&mut self, resources: &ResourceTable) {
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, e) in resources.entries.iter().enumerate() {
            let Some(ident) = snake_case(&e.name) else {
                continue;
            };
            if let Some((_, j)) = seen.iter().find(|(id, _)| *id == ident) {
                let other = &resources.entries[*j];
                let other_name = other.name.clone();
                let other_loc = self.location(other.file, other.span.start);
                self.error(
                    e.file,
                    e.span.clone(),
                    format!(
                        "resource names `{}` and `{other_name}` both become the Rust identifier `{ident}`",
                        e.name
                    ),
                )
                .label("collides after case conversion")
                .note(Some(other_loc), format!("`{other_name}` is declared here"))
                .help("rename one of the resources");
            } else {
                seen.push((ident, i));
            }
        }
    }
}

impl ResourceTable {
    /// The default text of resource `name`, if any spec declares one.
    pub(super) fn default_of(&self, name: &str) -> Option<Arc<str>> {
        let entry = &self.entries[*self.by_name.get(name)?];
        entry.default.as_ref().map(|(text, _)| text.clone())
    }

    fn add(&mut self, linter: &mut Linter<'_>, file: usize, spec: &Spec, resource: &str) {
        let location = linter.location(file, spec.header.start);
        let kind_span = spec.kind_span();
        let default = spec
            .default
            .as_ref()
            .map(|(text, span)| (text.clone(), linter.location(file, span.start)));
        if let Some(&i) = self.by_name.get(resource) {
            match (&self.entries[i].default, &spec.default) {
                (None, Some(_)) => self.entries[i].default = default.clone(),
                (Some((first, at)), Some((text, span))) if first != text => {
                    linter
                        .error(
                            file,
                            span.clone(),
                            format!(
                                "resource `{resource}` has two defaults: {text:?} here and {first:?} at {at}"
                            ),
                        )
                        .label("a different default")
                        .note(Some(at.clone()), format!("default {first:?} declared here"))
                        .help(format!(
                            "give every spec naming `{resource}` the same `default`, or omit it on all but one"
                        ));
                }
                _ => {}
            }
        }
        if let Some(existing) = self.by_name.get(resource).map(|&i| &self.entries[i]) {
            if existing.kind != spec.kind {
                let first_kind = existing.kind;
                let first = existing.kind_location.clone();
                linter
                    .error(
                        file,
                        kind_span,
                        format!(
                            "resource `{resource}` is `{}` here but `{first_kind}` at {first}",
                            spec.kind
                        ),
                    )
                    .label(if spec.type_span.is_some() {
                        format!("declared `{}` here", spec.kind)
                    } else {
                        format!("`{}` by default: this spec has no `type`", spec.kind)
                    })
                    .note(Some(first), format!("declared `{first_kind}` here"))
                    .help("a resource is bound at one stage: give every spec naming it the same `type`");
            }
            return;
        }
        self.by_name.insert(resource.to_owned(), self.entries.len());
        self.entries.push(ResourceEntry {
            name: resource.to_owned(),
            kind: spec.kind,
            location,
            file,
            span: spec
                .name_span
                .clone()
                .unwrap_or_else(|| spec.header.clone()),
            kind_location: linter.location(file, kind_span.start),
            default,
        });
    }
}
