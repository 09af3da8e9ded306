//! The representative workload: `representative.toml` checked at compile time by
//! `include_udpl!`, the typed builder and handles, a program with run, loop, when and extract,
//! one seeded sample, and its zones and extractions printed.
//!
//! ```sh
//! cargo run --example representative [SEED]
//! ```

use forge::resources::ListSampler;

// Parsed and linted at compile time: a mistake in the TOML is a `cargo build` error.
forge::include_udpl!(mod prompts = "examples/representative.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = match std::env::args().nth(1) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SEED must be an integer, got `{s}`"))?,
        None => 42,
    };

    // Standard resources: `build()` does not compile until every one is set.
    let principles = (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."));
    let mut program = prompts::builder()
        .constitution(ListSampler::new(principles)?)
        .build()?;

    program.run(prompts::Setup)?;
    // Custom resources are the fields of the sequence's handle.
    program.loop_(prompts::LoopControl { min: 2, max: 5 }, |body| {
        body.run(prompts::Reason)?;
        Ok(())
    })?;
    program.when(
        prompts::Decide,
        |then| {
            then.run(prompts::Reason)?;
            Ok(())
        },
        |otherwise| {
            otherwise.run(prompts::Conclude)?;
            Ok(())
        },
    )?;
    program.run(prompts::Conclude)?;
    program.extract("training", &[prompts::Tag::Training])?;
    program.extract("final", &[prompts::Tag::Final, prompts::Tag::Correct])?;
    let workflow = program.compile()?;

    // Argument resources are the fields of `Args`, bound when a workflow is sampled.
    let args = prompts::Args {
        prompt: "How do I keep a sourdough starter alive?",
    };
    let sample = workflow.sample_seeded(args, seed)?;

    println!(
        "sampled {} zones (seed {seed}); entry zone {}",
        sample.len(),
        sample.entry()
    );
    for z in sample.zones() {
        let mut edges = match z.next {
            Some(n) => format!("next → {n}"),
            None => "next → end".to_owned(),
        };
        if let Some(j) = &z.jump {
            match j.target {
                Some(t) => edges.push_str(&format!(", {} → {t}", j.pattern)),
                None => edges.push_str(&format!(", {} → end", j.pattern)),
            }
        }
        println!(
            "--- zone {} · {} block {} #{} zone {} · tags [{}] · {edges}",
            z.index,
            z.sequence,
            z.block,
            z.instance,
            z.zone,
            z.tags.join(", ")
        );
        println!("{}", z.text());
    }
    for e in sample.extractions() {
        println!(
            "extraction `{}` (tags {:?}): zones {:?}",
            e.name, e.tags, e.zones
        );
    }
    Ok(())
}
