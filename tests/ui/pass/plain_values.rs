// Handle and `Args` fields take plain values (integers, floats, bools, strings) and resources
// as they are, without `.into()`; `Binding` values and `.into()` with a known type still work.
use forge::resources::{Binding, ListSampler, StaticString};

forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let list = ListSampler::new(["a", "b", "c"])?;
    let mut p = prompts::builder().system("sys").constitution(list).build()?;
    p.run(prompts::Setup)?;
    p.run(prompts::LoopControl { min: 1, max: 2.5 })?;
    p.run(prompts::LoopControl { min: true, max: String::from("many") })?;
    p.run(prompts::LoopControl { min: StaticString::new("x"), max: Binding::from(3u8) })?;
    let typed: prompts::LoopControl = prompts::LoopControl { min: 7.into(), max: "8".into() };
    p.run(typed)?;
    let w = p.compile()?;
    let s = w.sample_seeded(prompts::Args { question: "why?" }, 0)?;
    assert!(s.zone(1).text().ends_with(" why? [Answer]"), "{}", s.zone(1).text());
    let texts: Vec<&str> = s.zones().map(|z| z.text()).collect();
    assert_eq!(
        &texts[3..],
        [
            " between 1 and 2.5 [Answer]",
            "[Prompt]",
            " between true and many [Answer]",
            "[Prompt]",
            " between x and 3 [Answer]",
            "[Prompt]",
            " between 7 and 8 [Answer]",
        ]
    );
    let s = w.sample_seeded(prompts::Args { question: 42 }, 0)?;
    assert!(s.zone(1).text().ends_with(" 42 [Answer]"));
    Ok(())
}
