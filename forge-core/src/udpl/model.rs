//! The validated, lowered model of a UDPL document.
//!
//! Produced only by the parser ([`crate::udpl::parse_str`] and friends), so every value here has
//! passed every rule of the language: zone splitting succeeded, tags are valid, every
//! placeholder has a spec, resource names have one type each and convert to Rust identifiers.
//! The types that carry those guarantees ([`Document`], [`Config`], [`Sequence`], [`Block`],
//! [`Zone`], [`Resource`]) are `#[non_exhaustive]`: other crates read them but cannot build
//! one that skipped the rules. ([`Placeholder`] stays constructible, to test a resource's
//! binding by hand.)

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::declared::DeclaredProgram;
use crate::diagnostics::Location;

/// The TOML `arguments` table of a placeholder spec, handed to the resource when it is bound.
pub type Arguments = toml::Table;

/// A value of an [`Arguments`] table (a TOML value).
pub type ArgumentValue = toml::Value;

/// When a resource is bound (`docs/udpl.md` §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// Bound at program setup (the default).
    Standard,
    /// Bound when the sequence is invoked in flow control.
    Custom,
    /// Bound when a workflow is sampled.
    Argument,
}

impl ResourceKind {
    /// The keyword used in UDPL: `standard`, `custom` or `argument`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Standard => "standard",
            ResourceKind::Custom => "custom",
            ResourceKind::Argument => "argument",
        }
    }

    /// The stage at which resources of this kind are bound, for messages.
    pub fn stage(self) -> &'static str {
        match self {
            ResourceKind::Standard => "program setup",
            ResourceKind::Custom => "sequence invocation",
            ResourceKind::Argument => "sampling",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name from the document and the Rust identifiers generated for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    /// The name as written in the TOML.
    pub name: String,
    /// snake_case identifier, as Rust source (`r#loop` for the keyword `loop`).
    pub snake: String,
    /// PascalCase identifier, as Rust source.
    pub pascal: String,
}

/// The `[config]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Config {
    /// Zone patterns, in order (at least two).
    pub zone_patterns: Vec<String>,
    /// Patterns every block must contain (a non-empty subset of `zone_patterns`).
    pub required_patterns: Vec<String>,
    /// Tags blocks may use.
    pub valid_tags: Vec<String>,
    /// Generation limit of a zone whose block sets no `max_gen_tokens`.
    pub default_max_token_length: u64,
    /// Sequence names, in declaration order.
    pub sequences: Vec<String>,
    /// The pattern a model emits to take a jump edge.
    pub control_pattern: String,
    /// Opening and closing escape patterns.
    pub escape_patterns: [String; 2],
    /// Tool names (possibly empty).
    pub tools: Vec<String>,
}

/// A piece of zone text: literal text or a placeholder to fill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Text fed as is (`{{`/`}}` already unescaped).
    Text(String),
    /// Index into the block's [`Block::placeholders`].
    Placeholder(usize),
}

/// One zone of a block: its template text and the pattern that ends it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Zone {
    /// 0-based zone index within the block instance.
    pub index: usize,
    /// Template text (may be empty: the model generates the whole zone).
    pub segments: Vec<Segment>,
    /// The pattern whose appearance in the stream advances to the next zone.
    pub advance: String,
    /// Generation limit in tokens.
    pub max_gen_tokens: u64,
}

impl Zone {
    /// The template with placeholders written back as `{name}` (literal braces unescaped).
    pub fn template(&self, block: &Block) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Placeholder(i) => {
                    out.push('{');
                    out.push_str(&block.placeholders[*i].key);
                    out.push('}');
                }
            }
        }
        out
    }

    /// Does this zone's text contain no placeholder?
    pub fn is_static(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Text(_)))
    }
}

/// A placeholder of a block, bound to a resource by its spec table.
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    /// The name written in the text (`{key}`) and the spec table's key.
    pub key: String,
    /// The resource that fills it (`name` in the spec table).
    pub resource: String,
    /// When the resource is bound.
    pub kind: ResourceKind,
    /// The spec's `arguments` table (empty when absent).
    pub arguments: Arguments,
    /// Whether the spec had an `arguments` key at all.
    pub has_arguments: bool,
    /// Where the spec table is declared.
    pub spec_location: Location,
    /// Where the spec's `arguments` value is (the spec table's location when it has none):
    /// errors about the arguments point here.
    pub arguments_location: Location,
    /// The resource's `default` text (`docs/udpl.md` §3, extension), from whichever spec naming the
    /// resource declares it: when no resource is bound, this text fills the placeholder as
    /// written, whatever `arguments` it passes.
    pub default: Option<Arc<str>>,
    /// Where the placeholder first appears in the block text.
    pub location: Location,
}

/// A `[[sequence]]` entry.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Block {
    /// 0-based index within its sequence.
    pub index: usize,
    /// The raw `text` value.
    pub text: String,
    /// Where the block's `text` value starts.
    pub location: Location,
    /// Exactly `zone_patterns.len()` zones.
    pub zones: Vec<Zone>,
    /// One entry per instance of the block (from `tags` × `repeats`, or `tagset`): the tags of
    /// each zone, `zone_patterns.len()` lists with the first always empty.
    pub instances: Vec<Vec<Vec<String>>>,
    /// The block's placeholders, in order of first appearance in the text.
    pub placeholders: Vec<Placeholder>,
}

/// A named sequence of blocks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sequence {
    /// The sequence's names.
    pub name: Name,
    /// Where the sequence is listed in `config.sequences`.
    pub location: Location,
    /// Its blocks in order.
    pub blocks: Vec<Block>,
}

impl Sequence {
    /// The distinct resources used by this sequence's placeholders of `kind`, by first use.
    pub fn resources_of_kind(&self, kind: ResourceKind) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.blocks.iter().flat_map(|b| &b.placeholders) {
            if p.kind == kind && !out.contains(&p.resource.as_str()) {
                out.push(&p.resource);
            }
        }
        out
    }

    /// Number of block instances this sequence contributes each time it runs.
    pub fn instance_count(&self) -> usize {
        self.blocks.iter().map(|b| b.instances.len()).sum()
    }
}

/// A resource the document refers to, with its single type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resource {
    /// The resource's names (`snake` is the setter / field name).
    pub name: Name,
    /// Its binding stage.
    pub kind: ResourceKind,
    /// The first spec table that names it.
    pub location: Location,
    /// Its `default` text, if a spec naming it declares one: the resource may then be left
    /// unbound (no setter call, no handle or `Args` field), and the text fills its placeholders.
    pub default: Option<Arc<str>>,
}

/// A validated UDPL document.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Document {
    /// The files the document came from (display paths), the config file first.
    pub files: Vec<Arc<str>>,
    /// The `[config]` table.
    pub config: Config,
    /// Sequences in `config.sequences` order.
    pub sequences: Vec<Sequence>,
    /// Every resource, by first appearance.
    pub resources: Vec<Resource>,
    /// Tag names and their generated identifiers, in `valid_tags` order.
    pub tags: Vec<Name>,
    /// Tool names and their generated identifiers, in `tools` order.
    pub tools: Vec<Name>,
    /// The program declared in the `[program]` table, if any (docs/programs.md §3).
    pub program: Option<DeclaredProgram>,
}

impl Document {
    /// The sequence called `name`.
    pub fn sequence(&self, name: &str) -> Option<&Sequence> {
        self.sequences.iter().find(|s| s.name.name == name)
    }

    /// The resource called `name`.
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name.name == name)
    }

    /// The resources of one kind, by first appearance.
    pub fn resources_of_kind(&self, kind: ResourceKind) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// Number of zones per block instance (`zone_patterns.len()`).
    pub fn zones_per_block(&self) -> usize {
        self.config.zone_patterns.len()
    }
}
