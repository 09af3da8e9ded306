// Resources with a default may be left out of the builder, handles and `Args`; methods named
// after them bind them instead.
use forge::resources::ListSampler;

forge::include_udpl!(mod prompts = "tests/ui/fixtures/defaults.toml");

fn texts(s: &forge::program::SampledWorkflow) -> Vec<String> {
    s.zones().map(|z| z.text().to_owned()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every default used: no `rules` setter, no `max` field, no `tone` field.
    let mut p = prompts::builder().system("S").build()?;
    p.run(prompts::Setup)?;
    p.run(prompts::Turn { round: 1 })?;
    let s = p.compile()?.sample_seeded(prompts::Args { question: "Q" }, 0)?;
    assert_eq!(
        texts(&s)[1..],
        [
            " S Rules: be kind. Tone: neutral. [Answer]",
            "[Prompt]",
            " Round 1 of 3, tone neutral: Q [Answer]",
        ]
    );

    // Every default overridden: the setter, a handle method and an `Args` method.
    let rules = ListSampler::new(["r1", "r2"])?;
    let mut p = prompts::builder().system("S").rules(rules).build()?;
    p.run(prompts::Setup)?;
    p.run(prompts::Turn { round: 2 }.max(5))?;
    let args = prompts::Args { question: "Q" }.tone("formal");
    let s = p.compile()?.sample_seeded(args, 0)?;
    let t = texts(&s);
    assert!(t[1].starts_with(" S Rules: r"), "{}", t[1]);
    assert!(t[1].ends_with(". Tone: formal. [Answer]"), "{}", t[1]);
    assert_eq!(t[3], " Round 2 of 5, tone formal: Q [Answer]");
    Ok(())
}
