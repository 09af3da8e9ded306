//! Best-effort names from a document that failed to parse.
//!
//! When a UDPL document has errors, the macros still emit the public items (builder, sequence
//! handles, `Args`, tags, tools) so that user code naming them does not drown in follow-on
//! errors. This module reads whatever names the raw TOML offers; it validates nothing.

use toml::de::{DeTable, DeValue};

use super::load::SourceFile;
use super::model::ResourceKind;
use super::names::{pascal_case, snake_case};

/// Names recovered from a possibly invalid document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skeleton {
    /// Sequence names with the custom resources their blocks declare.
    pub sequences: Vec<(String, Vec<String>)>,
    /// Resource names and kinds (first declaration wins).
    pub resources: Vec<(String, ResourceKind)>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Tool names.
    pub tools: Vec<String>,
}

fn strings(v: Option<&DeValue<'_>>) -> Vec<String> {
    match v {
        Some(DeValue::Array(a)) => a
            .iter()
            .filter_map(|e| e.get_ref().as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn push_unique(list: &mut Vec<String>, s: String, convert: fn(&str) -> Option<String>) {
    if convert(&s).is_some() && !list.contains(&s) {
        list.push(s);
    }
}

impl Skeleton {
    /// Recover names from a document's sources. Never fails.
    pub fn recover(sources: &[SourceFile]) -> Skeleton {
        let mut sk = Skeleton::default();
        let tables: Vec<_> = sources
            .iter()
            .map(|f| DeTable::parse_recoverable(&f.text).0)
            .collect();
        let mut sequence_names = Vec::new();
        for t in &tables {
            for (k, v) in t.get_ref().iter() {
                if k.get_ref().as_ref() != "config" {
                    continue;
                }
                let DeValue::Table(cfg) = v.get_ref() else {
                    continue;
                };
                let get = |key: &str| {
                    cfg.iter()
                        .find(|(k, _)| k.get_ref().as_ref() == key)
                        .map(|(_, v)| v.get_ref())
                };
                for s in strings(get("sequences")) {
                    push_unique(&mut sequence_names, s, pascal_case);
                }
                for s in strings(get("valid_tags")) {
                    push_unique(&mut sk.tags, s, pascal_case);
                }
                for s in strings(get("tools")) {
                    push_unique(&mut sk.tools, s, pascal_case);
                }
            }
        }
        for name in sequence_names {
            let mut custom = Vec::new();
            for t in &tables {
                for (k, v) in t.get_ref().iter() {
                    if k.get_ref().as_ref() != name {
                        continue;
                    }
                    let DeValue::Array(blocks) = v.get_ref() else {
                        continue;
                    };
                    for block in blocks.iter() {
                        let DeValue::Table(block) = block.get_ref() else {
                            continue;
                        };
                        for (_, spec) in block.iter() {
                            let DeValue::Table(spec) = spec.get_ref() else {
                                continue;
                            };
                            let field = |key: &str| {
                                spec.iter()
                                    .find(|(k, _)| k.get_ref().as_ref() == key)
                                    .and_then(|(_, v)| v.get_ref().as_str())
                            };
                            let Some(resource) = field("name") else {
                                continue;
                            };
                            if snake_case(resource).is_none() {
                                continue;
                            }
                            let kind = match field("type") {
                                Some("custom") => ResourceKind::Custom,
                                Some("argument") => ResourceKind::Argument,
                                _ => ResourceKind::Standard,
                            };
                            if !sk.resources.iter().any(|(r, _)| r == resource) {
                                sk.resources.push((resource.to_owned(), kind));
                            }
                            if kind == ResourceKind::Custom {
                                push_unique(&mut custom, resource.to_owned(), snake_case);
                            }
                        }
                    }
                }
            }
            sk.sequences.push((name, custom));
        }
        sk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_names_from_a_broken_document() {
        let src = r#"
[config]
sequences = ["setup", "loop", 3]
valid_tags = ["Training", "Training"]
tools = ["search"]
bogus = true

[[setup]]
text = "no zones {x}"
[setup.x]
name = "user"
type = "argument"

[[loop]]
text = "[Prompt] {m}"
[loop.m]
name = "min"
type = "custom"
"#;
        let sk = Skeleton::recover(&[SourceFile::from_text("p.toml", src)]);
        assert_eq!(
            sk.sequences,
            [
                ("setup".to_string(), vec![]),
                ("loop".into(), vec!["min".into()])
            ]
        );
        assert_eq!(
            sk.resources,
            [
                ("user".to_string(), ResourceKind::Argument),
                ("min".into(), ResourceKind::Custom)
            ]
        );
        assert_eq!(sk.tags, ["Training"]);
        assert_eq!(sk.tools, ["search"]);
        assert_eq!(
            Skeleton::recover(&[SourceFile::from_text("x", "\u{0}[[[")]),
            Skeleton::default()
        );
    }
}
