//! The representative workload: parse `representative.toml`, bind resources, build the
//! program (run, loop, when, extract), compile, sample with a seed, and print the sampled
//! zones and the extractions.
//!
//! ```sh
//! cargo run --example representative [SEED]
//! ```

use forge::program::{Call, Program};
use forge::resources::{Bindings, ListSampler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = match std::env::args().nth(1) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SEED must be an integer, got `{s}`"))?,
        None => 42,
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/representative.toml");
    let parsed = forge::udpl::parse_file(path)?;
    for w in &parsed.warnings {
        eprintln!("{w}");
    }

    // Standard resources: bound once, at program setup.
    let principles = (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."));
    let mut standard = Bindings::new();
    standard.insert("constitution", ListSampler::new(principles)?);

    let mut program = Program::new(parsed.document, standard)?;
    program.run("setup")?;
    // Custom resources: bound by the command that names the sequence.
    program.loop_(
        Call::new("loop_control").with("min", 2).with("max", 5),
        |body| {
            body.run("reason")?;
            Ok(())
        },
    )?;
    program.when(
        "decide",
        |then| {
            then.run("reason")?;
            Ok(())
        },
        |otherwise| {
            otherwise.run("conclude")?;
            Ok(())
        },
    )?;
    program.run("conclude")?;
    program.extract("training", &["Training"])?;
    program.extract("final", &["Final", "Correct"])?;
    let workflow = program.compile()?;

    // Argument resources: bound when a workflow is sampled.
    let mut args = Bindings::new();
    args.insert("prompt", "How do I keep a sourdough starter alive?");
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
