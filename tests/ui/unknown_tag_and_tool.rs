forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sampler = forge::resources::ListSampler::new(["be kind"])?;
    let mut program = prompts::builder().system("s").constitution(sampler).build()?;
    program.capture(prompts::Setup, prompts::Tool::Serch)?;
    program.extract("x", &[prompts::Tag::Trainig])?;
    Ok(())
}
