//! What to generate: names, documentation and typestate facts, from a validated document (a
//! document with errors gets stubs instead, see `codegen::stubs`).

use forge_core::udpl::{DeclaredProgram, Document, ResourceKind, snake_case};

/// A resource surface: a builder setter, a handle field or an `Args` field.
#[derive(Clone)]
pub struct ResPlan {
    pub name: String,
    pub snake: String,
    /// `file:line:col` of its first spec table.
    pub declared: String,
    /// Whether any placeholder bound to it passes `arguments`.
    pub with_args: bool,
    /// Its `default` text: the resource may be left unbound.
    pub default: Option<String>,
    pub doc: String,
}

pub struct SeqPlan {
    pub name: String,
    pub pascal: String,
    pub custom: Vec<ResPlan>,
    pub doc: String,
}

pub struct NamePlan {
    pub name: String,
    pub pascal: String,
}

pub struct Plan {
    pub sequences: Vec<SeqPlan>,
    pub standard: Vec<ResPlan>,
    pub arguments: Vec<ResPlan>,
    pub tags: Vec<NamePlan>,
    pub tools: Vec<NamePlan>,
    pub summary: String,
    /// The program the document declares in `[program]`, if any (valid documents only).
    pub program: Option<DeclaredProgram>,
}

/// Text safe inside a ```text fence of a doc comment.
fn fenced(text: &str) -> String {
    format!("```text\n{}\n```", text.replace("```", "` ` `"))
}

fn uses(doc: &Document, resource: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in &doc.sequences {
        for b in &s.blocks {
            for p in b.placeholders.iter().filter(|p| p.resource == resource) {
                out.push(format!(
                    "`{{{}}}` in sequence `{}`, block {} ({})",
                    p.key, s.name.name, b.index, p.location
                ));
            }
        }
    }
    out
}

fn res_plan(doc: &Document, name: &str, snake: &str, role: &str) -> ResPlan {
    let r = doc.resource(name);
    let declared = r.map(|r| r.location.to_string()).unwrap_or_default();
    let with_args = doc
        .sequences
        .iter()
        .flat_map(|s| &s.blocks)
        .flat_map(|b| &b.placeholders)
        .any(|p| p.resource == name && !p.arguments.is_empty());
    let mut docs = format!("{role} resource `{name}`, declared at {declared}.\n\nFills:\n");
    for u in uses(doc, name) {
        docs.push_str(&format!("- {u}\n"));
    }
    if with_args {
        docs.push_str(
            "\nIts placeholders pass `arguments`, so it must be a resource (not a plain value).\n",
        );
    }
    let default = r.and_then(|r| r.default.as_deref()).map(str::to_owned);
    if let Some(d) = &default {
        docs.push_str(&format!(
            "\nOptional: when it is not bound, its default {d:?} fills the placeholders.\n"
        ));
    }
    ResPlan {
        name: name.to_owned(),
        snake: snake.to_owned(),
        declared,
        with_args,
        default,
        doc: docs,
    }
}

impl Plan {
    pub fn from_document(doc: &Document, origin: &str) -> Plan {
        let res_of = |kind: ResourceKind, role: &str| {
            doc.resources_of_kind(kind)
                .map(|r| res_plan(doc, &r.name.name, &r.name.snake, role))
                .collect::<Vec<_>>()
        };
        let sequences = doc
            .sequences
            .iter()
            .map(|s| {
                let mut d = format!(
                    "Sequence `{}` ({} block{}, {} instance{} per run), listed at {}.\n\n\
                     Pass it to a flow-control command (`run`, `loop_`, `when`, `capture`, `feed`).\n",
                    s.name.name,
                    s.blocks.len(),
                    if s.blocks.len() == 1 { "" } else { "s" },
                    s.instance_count(),
                    if s.instance_count() == 1 { "" } else { "s" },
                    s.location
                );
                for b in &s.blocks {
                    d.push_str(&format!("\n**Block {}** ({}):\n\n{}\n", b.index, b.location, fenced(&b.text)));
                }
                SeqPlan {
                    name: s.name.name.clone(),
                    pascal: s.name.pascal.clone(),
                    custom: s
                        .resources_of_kind(ResourceKind::Custom)
                        .into_iter()
                        .map(|r| res_plan(doc, r, &snake_case(r).unwrap_or_default(), "Custom"))
                        .collect(),
                    doc: d,
                }
            })
            .collect();
        Plan {
            sequences,
            standard: res_of(ResourceKind::Standard, "Standard"),
            arguments: res_of(ResourceKind::Argument, "Argument"),
            tags: doc
                .tags
                .iter()
                .map(|t| NamePlan {
                    name: t.name.clone(),
                    pascal: t.pascal.clone(),
                })
                .collect(),
            tools: doc
                .tools
                .iter()
                .map(|t| NamePlan {
                    name: t.name.clone(),
                    pascal: t.pascal.clone(),
                })
                .collect(),
            summary: format!(
                "Items generated by forge from the UDPL document `{origin}`: zone patterns {:?}, \
                 sequences {:?}.",
                doc.config.zone_patterns, doc.config.sequences
            ),
            program: doc.program.clone(),
        }
    }

    /// Remove sequence handles and setters whose names would collide with fixed generated
    /// items, and explain each one.
    pub fn take_collisions(&mut self) -> Vec<String> {
        let out = self.collisions();
        self.sequences
            .retain(|s| !["Builder", "Args", "Tag", "Tool"].contains(&s.pascal.as_str()));
        self.standard.retain(|r| r.snake != "build");
        out
    }

    fn collisions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sequences {
            if ["Builder", "Args", "Tag", "Tool"].contains(&s.pascal.as_str()) {
                out.push(format!(
                    "sequence `{}` would generate a handle type `{}`, which collides with the generated `{}`; rename the sequence",
                    s.name, s.pascal, s.pascal
                ));
            }
        }
        for r in &self.standard {
            if r.snake == "build" {
                out.push(format!(
                    "standard resource `{}` would generate a setter `build`, which collides with `Builder::build`; rename the resource",
                    r.name
                ));
            }
        }
        out
    }
}
