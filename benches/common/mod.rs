//! Shared by the bench targets: the workloads (`examples/representative.toml`, the
//! repository's one copy of the representative document, and the scaling files of
//! `benches/data/`), the typed programs built on them, the generator of the scaling parse
//! files, and the hand-written baseline.
//!
//! Each bench target uses only part of this module.
#![allow(dead_code)]

use forge::program::Workflow;
use forge::resources::{Binding, ListSampler};

// Parsed and linted at compile time, like a user's program (paths relative to the root
// Cargo.toml).
forge::include_udpl!(pub mod prompts = "examples/representative.toml");
forge::include_udpl!(pub mod single = "benches/data/single_block_sequence.toml");

/// The representative workload's UDPL text, for the run-time parser.
pub const REPRESENTATIVE: &str = include_str!("../../examples/representative.toml");
/// The shared 100-sequence parse file; [`sequences_file`] must reproduce it byte for byte.
pub const PARSE_100: &str = include_str!("../data/parse_100_sequences.toml");
/// The single-block scaling workload.
pub const SINGLE_BLOCK: &str = include_str!("../data/single_block_sequence.toml");

/// The user question bound to the `prompt` argument.
pub const PROMPT: &str = "How do I keep a sourdough starter alive?";

/// Zones of the representative workflow, per the workload's README.
pub const REPRESENTATIVE_ZONES: usize = 69;

/// The 50 strings of the `constitution` list sampler.
pub fn principles() -> Vec<String> {
    (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."))
        .collect()
}

/// How the `constitution` list sampler is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constitution {
    /// One sampler for the whole program (as `examples/representative.rs` binds it): its cycles
    /// span the samples of a dataset, each sample drawing its index-addressed positions of the
    /// dataset stream (nothing shared is written).
    Instance,
    /// A fresh copy of the sampler in every sample (a full pool each time): the same draws as
    /// the hand-written baseline, byte for byte.
    CachedFactory,
    /// One sampler whose pool lives in each sample (`ListSampler::per_sample`): the same draws
    /// as `CachedFactory`, without a lock or a per-sample copy.
    PerSample,
}

impl Constitution {
    /// Label used in bench ids.
    pub fn label(self) -> &'static str {
        match self {
            Constitution::Instance => "instance",
            Constitution::CachedFactory => "cached_factory",
            Constitution::PerSample => "per_sample",
        }
    }

    /// The binding of a list sampler over `items`.
    pub fn binding(self, items: Vec<String>) -> Binding {
        let sampler = ListSampler::new(items).expect("non-empty list");
        match self {
            Constitution::Instance => Binding::instance(sampler),
            Constitution::CachedFactory => Binding::cached_factory(move || sampler.fresh()),
            Constitution::PerSample => Binding::instance(sampler.per_sample()),
        }
    }
}

/// Build and compile the representative program (the shape of `examples/representative.rs`):
/// setup; loop on `loop_control` (min 2, max 5) over `reason`; when `decide` then `reason`
/// otherwise `conclude`; `conclude`; two extractions.
pub fn representative_workflow(constitution: Binding) -> Workflow {
    let mut program = prompts::builder()
        .constitution(constitution)
        .build()
        .expect("build");
    program.run(prompts::Setup).expect("run setup");
    program
        .loop_(prompts::LoopControl { min: 2, max: 5 }, |body| {
            body.run(prompts::Reason)?;
            Ok(())
        })
        .expect("loop");
    program
        .when(
            prompts::Decide,
            |then| {
                then.run(prompts::Reason)?;
                Ok(())
            },
            |otherwise| {
                otherwise.run(prompts::Conclude)?;
                Ok(())
            },
        )
        .expect("when");
    program.run(prompts::Conclude).expect("run conclude");
    program
        .extract("training", &[prompts::Tag::Training])
        .expect("extract training");
    program
        .extract("final", &[prompts::Tag::Final, prompts::Tag::Correct])
        .expect("extract final");
    program.compile().expect("compile")
}

/// The arguments of one representative sample (a fresh binding of the user question, as a
/// caller sampling many questions would pass).
pub fn args() -> prompts::Args {
    prompts::Args {
        prompt: PROMPT.into(),
    }
}

/// Check the representative workflow's shape: 69 zones and 2 jump edges.
pub fn check_representative(workflow: &Workflow) {
    let meta = workflow.meta();
    assert_eq!(meta.zones.len(), REPRESENTATIVE_ZONES, "zones");
    let jumps = meta.zones.iter().filter(|z| z.jump.is_some()).count();
    assert_eq!(jumps, 2, "jump edges");
}

/// A program that runs `step` of `single_block_sequence.toml` `n` times (3 zones each).
pub fn single_block_workflow(n: usize, constitution: Binding) -> Workflow {
    let mut program = single::builder()
        .constitution(constitution)
        .build()
        .expect("build");
    for _ in 0..n {
        program.run(single::Step).expect("run step");
    }
    program.compile().expect("compile")
}

/// A scaling parse file with `n` sequences, in the exact format of `parse_100_sequences.toml`
/// (`sequences_file(100) == PARSE_100`, checked by [`check_generator`]).
pub fn sequences_file(n: usize) -> String {
    use std::fmt::Write as _;
    assert!(n <= 10_000, "sequence names have four digits");
    let names: Vec<String> = (0..n).map(|i| format!("\"seq_{i:04}\"")).collect();
    let mut s = String::with_capacity(400 + n * 330);
    s.push_str(
        "[config]\n\
         zone_patterns = [\"[Prompt]\", \"[Answer]\", \"[EOS]\"]\n\
         required_patterns = [\"[Prompt]\", \"[Answer]\"]\n\
         valid_tags = [\"Training\", \"Final\"]\n\
         default_max_token_length = 1000\n",
    );
    let _ = writeln!(s, "sequences = [{}]", names.join(", "));
    s.push_str(
        "control_pattern = \"[Jump]\"\n\
         escape_patterns = [\"[Escape]\", \"[EndEscape]\"]\n\
         tools = []\n",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "\n[[seq_{i:04}]]\n\
             text = \"\"\"[Prompt] Sequence seq_{i:04}, first block. Consider: {{item}}\n\
             [Answer]\"\"\"\n\
             tags = [[\"Training\"], []]\n\
             \n\
             [seq_{i:04}.item]\n\
             name = \"items\"\n\
             arguments = {{ num_samples = 3 }}\n\
             \n\
             [[seq_{i:04}]]\n\
             text = \"\"\"[Prompt] Sequence seq_{i:04}, second block. State your answer. [Answer]\"\"\"\n\
             tags = [[], [\"Final\"]]\n"
        );
    }
    s
}

/// Panics unless the generator reproduces the shared 100-sequence file byte for byte.
pub fn check_generator() {
    let generated = sequences_file(100);
    if generated != PARSE_100 {
        let at = generated
            .bytes()
            .zip(PARSE_100.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(generated.len().min(PARSE_100.len()));
        panic!(
            "sequences_file(100) differs from parse_100_sequences.toml at byte {at}: {:?} vs {:?}",
            &generated[at..(at + 60).min(generated.len())],
            &PARSE_100[at..(at + 60).min(PARSE_100.len())]
        );
    }
}

/// Panics unless the baseline and forge (constitution bound as a cached factory) produce the
/// same text and zone boundaries for a few seeds.
pub fn check_baseline(workflow: &Workflow, items: &[String]) {
    for seed in [0, 1, 42, 7_777, u64::MAX] {
        let sample = workflow.sample_seeded(args(), seed).expect("sample");
        let (text, ends) = baseline::sample(seed, PROMPT, items);
        let forge_ends: Vec<usize> = sample
            .zones()
            .scan(0, |end, z| {
                *end += z.text().len();
                Some(*end)
            })
            .collect();
        assert_eq!(ends.len(), REPRESENTATIVE_ZONES);
        if text != sample.text() || ends != forge_ends {
            for (i, z) in sample.zones().enumerate() {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                let b = text.get(start..ends[i]).unwrap_or("<out of range>");
                assert_eq!(b, z.text(), "zone {i} differs (seed {seed})");
            }
            panic!("baseline text differs from forge's (seed {seed})");
        }
    }
}

/// The hand-written baseline: the representative workflow's 69 zone texts built directly, with
/// the same draws as forge (the same RNG type and seeding, the same uniform-index algorithm,
/// three distinct principles per `{principles}` placeholder drawn without replacement from one
/// pool per sample), into one `String` plus zone end offsets — forge's output representation.
/// No forge machinery: no document, no graph, no bindings, no type erasure.
pub mod baseline {
    use forge::resources::SampleRng;
    use rand::{RngCore, SeedableRng};

    const PROMPT: &str = "[Prompt]";

    /// Uniform index in `0..n`: Lemire's nearly divisionless multiply-and-reject (the
    /// algorithm forge documents for its built-in samplers, so the values are the same).
    #[inline]
    fn below(rng: &mut SampleRng, n: usize) -> usize {
        let n64 = n as u64;
        let mut product = u128::from(rng.next_u64()) * u128::from(n64);
        if (product as u64) < n64 {
            let threshold = n64.wrapping_neg() % n64;
            while (product as u64) < threshold {
                product = u128::from(rng.next_u64()) * u128::from(n64);
            }
        }
        (product >> 64) as usize
    }

    /// One sample's state: the output and the principle pool.
    struct Out<'a> {
        rng: SampleRng,
        pool: [u8; 64],
        left: usize,
        items: &'a [String],
        text: String,
        ends: Vec<usize>,
    }

    impl Out<'_> {
        /// Close the current zone.
        #[inline]
        fn end(&mut self) {
            self.ends.push(self.text.len());
        }

        /// A zone of fixed text.
        #[inline]
        fn zone(&mut self, s: &str) {
            self.text.push_str(s);
            self.end();
        }

        /// Three distinct principles, newline-separated, drawn without replacement.
        #[inline]
        fn principles(&mut self) {
            // 8 placeholders × 3 draws = 24 ≤ 50: the pool never runs out within one sample.
            for k in 0..3 {
                if k > 0 {
                    self.text.push('\n');
                }
                let j = below(&mut self.rng, self.left);
                let item = self.pool[j];
                self.left -= 1;
                self.pool[j] = self.pool[self.left];
                self.text.push_str(&self.items[usize::from(item)]);
            }
        }

        fn setup(&mut self, prompt: &str) {
            self.zone(PROMPT);
            self.text
                .push_str(" The user is asking the following of you: ");
            self.text.push_str(prompt);
            self.zone("\n[Answer]");
            self.zone(" Understood, I will think about it carefully. [EOS]");

            self.zone(PROMPT);
            self.text
                .push_str(" You operate under a constitution. A few of its principles are:\n");
            self.principles();
            self.zone("\nKeep them in mind.\n[Answer]");
            self.zone(" I understand. [EOS]");

            for _ in 0..3 {
                self.zone(PROMPT);
                self.text
                    .push_str(" Consider this additional principle and how it applies:\n");
                self.principles();
                self.zone("\n[Answer]");
                self.zone("");
            }
        }

        fn loop_control(&mut self, min: &str, max: &str) {
            self.zone(PROMPT);
            self.text.push_str(
                " You are in a loop control statement. If this is your first time\n\
                 seeing it, say \"proceed\". If you are satisfied with your answer emit\n\
                 [Escape] \"[Jump]\" [EndEscape]. Loop at least ",
            );
            self.text.push_str(min);
            self.text.push_str(" and at most ");
            self.text.push_str(max);
            self.zone(" times.\n[Answer]");
            self.zone("");
        }

        fn reason(&mut self) {
            self.zone(PROMPT);
            self.zone(" Think step by step about the request. [Answer]");
            self.zone("");
            for _ in 0..2 {
                self.zone(PROMPT);
                self.text
                    .push_str(" Produce an argument, then critique it. Remember the principles:\n");
                self.principles();
                self.zone("\n[Answer]");
                self.zone("");
            }
            self.zone(PROMPT);
            self.zone(" Summarize your reasoning so far in one paragraph. [Answer]");
            self.zone("");
            self.zone(PROMPT);
            self.zone(" List any open questions. JSON like {\"open\": [...]} is fine. [Answer]");
            self.zone("");
        }

        fn decide(&mut self) {
            self.zone(PROMPT);
            self.zone(
                " Do you want to revise once more? If not, emit [Escape] \"[Jump]\" \
                 [EndEscape].\n[Answer]",
            );
            self.zone("");
        }

        fn conclude(&mut self) {
            self.zone(PROMPT);
            self.zone(" Consider your reflections so far. [Answer]");
            self.zone("");
            self.zone(PROMPT);
            self.zone(
                " State a perfect final answer, as though you jumped straight to it.\n[Answer]",
            );
            self.zone("");
            self.zone(PROMPT);
            self.zone(" Thank you. [Answer]");
            self.zone(" You are welcome. [EOS]");
        }
    }

    /// The 69 zones of one representative sample: all texts concatenated, and each zone's end
    /// offset. `items` are the 50 principles.
    pub fn sample(seed: u64, prompt: &str, items: &[String]) -> (String, Vec<usize>) {
        assert!(items.len() <= 64 && items.len() >= 24);
        let mut pool = [0u8; 64];
        for (i, p) in pool.iter_mut().enumerate() {
            *p = i as u8;
        }
        let mut out = Out {
            rng: SampleRng::seed_from_u64(seed),
            pool,
            left: items.len(),
            items,
            text: String::with_capacity(4096),
            ends: Vec::with_capacity(69),
        };
        // Graph order of the representative program.
        out.setup(prompt);
        out.loop_control("2", "5");
        out.reason();
        out.decide();
        out.reason();
        out.conclude();
        out.conclude();
        (out.text, out.ends)
    }
}
