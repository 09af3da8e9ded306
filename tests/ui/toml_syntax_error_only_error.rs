// A TOML syntax error is the only error: the code naming the document's items (a setter, a
// handle with a custom field, `Args`, a tag) adds none, although the broken syntax hides them.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/syntax_error.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut program = prompts::builder().focus("clarity").build()?;
    program.run(prompts::Ask)?;
    program.loop_(prompts::Revise { style: "terse" }, |body| {
        body.run(prompts::Ask)?;
        Ok(())
    })?;
    program.extract("final", &[prompts::Tag::Final])?;
    let workflow = program.compile()?;
    let sample = workflow.sample(prompts::Args { question: "why?" })?;
    println!("{}", prompts::document().config.sequences.len() + sample.zones().len());
    Ok(())
}
