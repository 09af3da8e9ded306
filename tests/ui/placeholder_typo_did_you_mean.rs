// A placeholder whose name is a typo of its block's spec table gets "did you mean"; the code
// naming the document's items adds no error (the document has errors).
forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
valid_tags = ["Final"]
default_max_token_length = 100
sequences = ["ask"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]

[[ask]]
text = "[Prompt] As {persona}, answer: {questoin} [Answer]"
tags = [["Final"]]
[ask.persona]
name = "persona"
[ask.question]
name = "question"
type = "argument"
"#);

// A resource name mistyped in Rust gets rustc's own suggestion from the generated items.
forge::forge!(mod valid = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
valid_tags = ["Final"]
default_max_token_length = 100
sequences = ["ask"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]

[[ask]]
text = "[Prompt] As {persona}, answer: {question} [Answer]"
tags = [["Final"]]
[ask.persona]
name = "persona"
[ask.question]
name = "question"
type = "argument"
"#);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut program = prompts::builder().persona("a tutor").build()?;
    program.run(prompts::Ask)?;
    let workflow = program.compile()?;
    workflow.sample(prompts::Args { question: "why?" })?;

    let mut program = valid::builder().persna("a tutor").build()?;
    program.run(valid::Ask)?;
    let workflow = program.compile()?;
    workflow.sample(valid::Args { questoin: "why?" })?;
    Ok(())
}
