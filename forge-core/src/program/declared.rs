//! Applying the program a document declares in `[program]` (docs/programs.md §3).

use super::{Call, LoopBounds, Program, ProgramError};
use crate::resources::Bindings;
use crate::udpl::names::did_you_mean;
use crate::udpl::{DeclaredCall, DeclaredStep, ResourceKind, StepKind};

impl Program {
    /// Append the steps of the program the document declares (`[program]`) and declare its
    /// extractions; `with` values bind the custom resources of each step's sequence (as
    /// their text). Fails with [`ProgramError::NoDeclaredProgram`] if the document declares
    /// none.
    ///
    /// The parser has checked every name, `with` key and bound at its file:line:col, so on a
    /// parsed document this fails only as the same commands written by hand would.
    ///
    /// ```
    /// use forge::program::Program;
    /// use forge::resources::Bindings;
    ///
    /// let doc = forge::udpl::parse_str(r#"
    /// [config]
    /// zone_patterns = ["[P]", "[A]"]
    /// required_patterns = ["[P]"]
    /// valid_tags = ["Out"]
    /// default_max_token_length = 10
    /// sequences = ["ctl", "think"]
    /// control_pattern = "[J]"
    /// escape_patterns = ["[E]", "[/E]"]
    ///
    /// [[ctl]]
    /// text = "[P] Round {n}. Say [E][J][/E] to stop."
    /// tags = [[]]
    /// [ctl.n]
    /// name = "n"
    /// type = "custom"
    ///
    /// [[think]]
    /// text = "[P] Think. [A]"
    /// tags = [["Out"]]
    ///
    /// [program]
    /// extract = { thoughts = ["Out"] }
    /// [[program.step]]
    /// loop = "ctl"
    /// at_most = 2
    /// with = { n = 1 }
    /// body = [{ run = "think" }]
    /// "#, "p.toml")?.document;
    ///
    /// let mut program = Program::new(doc, Bindings::new())?;
    /// program.run_declared()?;
    /// let workflow = program.compile()?;
    /// let jump = workflow.meta().zones[1].jump.as_ref().unwrap();
    /// assert_eq!(jump.bounds.and_then(|b| b.max()), Some(2));
    /// assert_eq!(workflow.meta().extractions[0].name, "thoughts");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_declared(&mut self) -> Result<&mut Self, ProgramError> {
        self.run_declared_steps(&Bindings::new())?;
        let doc = self.document().clone();
        for e in doc.program.iter().flat_map(|p| &p.extractions) {
            self.extract(&e.name, &e.tags)?;
        }
        Ok(self)
    }

    /// The steps of [`run_declared`](Self::run_declared) without its extractions, with
    /// `custom` bindings that take the place of the `with` values (and defaults) of every step
    /// whose sequence has a custom resource of that name (the command line's `--set` of a
    /// custom resource). A name that is not a custom resource of the document is an error.
    pub fn run_declared_steps(&mut self, custom: &Bindings) -> Result<&mut Self, ProgramError> {
        let doc = self.document().clone();
        let Some(declared) = &doc.program else {
            return Err(ProgramError::NoDeclaredProgram);
        };
        let known: Vec<&str> = doc
            .resources_of_kind(ResourceKind::Custom)
            .map(|r| r.name.name.as_str())
            .collect();
        let unknown: Vec<(String, String)> = custom
            .names()
            .filter(|n| !known.contains(n))
            .map(|n| {
                let hint = match did_you_mean(n, known.iter().copied()) {
                    Some(s) => {
                        format!("not a custom resource of the document; did you mean `{s}`?")
                    }
                    None => "not a custom resource of the document".to_owned(),
                };
                (n.to_owned(), hint)
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ProgramError::Resources {
                kind: ResourceKind::Custom,
                context: "the declared program".to_owned(),
                missing: Vec::new(),
                unknown,
            });
        }
        apply(self, &declared.steps, custom)?;
        Ok(self)
    }
}

/// The [`Call`] a declared step makes: its `with` values, then the overrides that name a
/// custom resource of its sequence.
fn call(p: &Program, c: &DeclaredCall, custom: &Bindings) -> Call {
    let mut call = Call::new(c.sequence.as_str());
    for (name, value) in &c.with {
        if custom.get(name).is_none() {
            call = call.with(name.as_str(), value.to_string());
        }
    }
    if let Some(seq) = p.document().sequence(&c.sequence) {
        for r in seq.resources_of_kind(ResourceKind::Custom) {
            if let Some(b) = custom.get(r) {
                call = call.with(r, b.clone());
            }
        }
    }
    call
}

/// Append `steps` (nesting is bounded by the parser).
fn apply(p: &mut Program, steps: &[DeclaredStep], custom: &Bindings) -> Result<(), ProgramError> {
    for step in steps {
        let c = call(p, &step.call, custom);
        match &step.kind {
            StepKind::Run => {
                p.run(c)?;
            }
            StepKind::Loop {
                at_least,
                at_most,
                body,
            } => {
                let mut bounds = LoopBounds::new().at_least(*at_least);
                if let Some(m) = at_most {
                    bounds = bounds.at_most(*m);
                }
                p.loop_bounded(c, bounds, |b| apply(b, body, custom))?;
            }
            StepKind::When { then, otherwise } => {
                p.when(
                    c,
                    |b| apply(b, then, custom),
                    |b| apply(b, otherwise, custom),
                )?;
            }
            StepKind::Capture { tool } => {
                p.capture(c, tool)?;
            }
            StepKind::Feed => {
                p.feed(c)?;
            }
        }
    }
    Ok(())
}
