// The document has an error, but the items user code names still exist: the only errors are
// the UDPL ones, not a pile of "cannot find" follow-ons.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/bad.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut program = prompts::builder().build()?;
    program.run(prompts::Ask)?;
    program.extract("final", &[prompts::Tag::Final])?;
    let workflow = program.compile()?;
    workflow.sample(prompts::Args { question: "why?" })?;
    Ok(())
}
