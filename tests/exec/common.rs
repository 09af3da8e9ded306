//! Shared helpers of the execution tests: a small document, and transcripts written as
//! `kind:text` spans so expected results can be worked out by hand.

#![allow(dead_code)]

use std::sync::Arc;

use forge::exec::{
    Output, RetryPolicy, RunOptions, Runner, Scripted, SpanKind, StreamResult, Tools, Transcript,
};
use forge::program::{Program, SampledWorkflow, Workflow};
use forge::resources::Bindings;
use forge::udpl::{self, Document};

/// Two zones per block: zone 0 is `[P]`, zone 1 ends with `[A]`. `q` leaves zone 1 to the
/// model; `full` is fully written; `ctl` is a loop/when control; `ask`/`show` pair with the
/// tool `upper`; `tight` has a 5-token budget; `jumpy` holds an unescaped control pattern.
pub const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Q", "Ctl", "Tool", "Out"]
default_max_token_length = 50
sequences = ["q", "full", "ctl", "ask", "show", "tight", "jumpy"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["upper", "fail"]

[[q]]
text = "[P] q"
tags = [["Q"]]

[[full]]
text = "[P] hi [A]"
tags = [[]]

[[ctl]]
text = "[P] more?"
tags = [["Ctl"]]

[[ask]]
text = "[P] ask"
tags = [["Tool"]]

[[show]]
text = "[P] got:"
tags = [["Out"]]

[[tight]]
text = "[P] t"
tags = [["Q"]]
max_gen_tokens = 5

[[jumpy]]
text = "[P] go [J] rest"
tags = [[]]
"#;

pub fn doc() -> Arc<Document> {
    Arc::new(udpl::parse_str(DOC, "rules.toml").unwrap().document)
}

/// Compile a program built by `build`, with extraction `q` (tag Q), `out` (Out) and `ctl`.
pub fn workflow(build: impl FnOnce(&mut Program)) -> Workflow {
    workflow_in(doc(), build)
}

/// Like [`workflow`], with a default budget of `budget` tokens per zone instead of 50.
pub fn workflow_with_budget(budget: u32, build: impl FnOnce(&mut Program)) -> Workflow {
    let src = DOC.replace(
        "default_max_token_length = 50",
        &format!("default_max_token_length = {budget}"),
    );
    let doc = Arc::new(udpl::parse_str(&src, "rules.toml").unwrap().document);
    workflow_in(doc, build)
}

fn workflow_in(doc: Arc<Document>, build: impl FnOnce(&mut Program)) -> Workflow {
    let mut p = Program::new(doc, Bindings::new()).unwrap();
    build(&mut p);
    p.extract("q", &["Q"]).unwrap();
    p.extract("out", &["Out"]).unwrap();
    p.extract("ctl", &["Ctl"]).unwrap();
    p.compile().unwrap()
}

pub fn sample(w: &Workflow) -> SampledWorkflow {
    w.sample_seeded(Bindings::new(), 0).unwrap()
}

/// The tools: `upper` upper-cases, `fail` fails.
pub fn tools() -> Tools {
    let mut t = Tools::new(["upper", "fail"]);
    t.add("upper", |s: &str| Ok::<_, std::io::Error>(s.to_uppercase()))
        .unwrap();
    t.add("fail", |s: &str| {
        Err::<String, _>(std::io::Error::other(format!("cannot handle `{s}`")))
    })
    .unwrap();
    t
}

pub fn options() -> RunOptions {
    RunOptions {
        retry: RetryPolicy::NONE,
        ..RunOptions::default()
    }
}

/// Run one stream of `w` against `outputs`.
pub fn run_one(w: &Workflow, outputs: Vec<Output>) -> StreamResult {
    let mut g = Scripted::new([outputs]);
    let runner = Runner::new(options()).unwrap().with_tools(tools());
    runner
        .run(&mut g, [sample(w)])
        .unwrap()
        .pop()
        .expect("one stream")
}

pub fn ok(r: StreamResult) -> Transcript {
    r.unwrap_or_else(|e| panic!("stream failed: {e}"))
}

/// Spans as `F:text|G:text|D:text|C:text` (forced, generated, fed, forced close).
pub fn spans(t: &Transcript) -> String {
    t.spans()
        .map(|s| {
            let k = match s.kind {
                SpanKind::Forced => 'F',
                SpanKind::Generated => 'G',
                SpanKind::Fed => 'D',
                SpanKind::ForcedClose => 'C',
            };
            format!("{k}:{}", s.text)
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Visits as `zone/end/tokens` separated by spaces.
pub fn visits(t: &Transcript) -> String {
    t.visits
        .iter()
        .map(|v| format!("{}/{}/{}", v.zone, v.end.as_str(), v.tokens))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Token chunks.
pub fn tokens(chunks: &[&str]) -> Output {
    Output::Tokens(chunks.iter().map(|c| (*c).to_owned()).collect())
}
