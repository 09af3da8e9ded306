//! Your program as a command-line tool: `my_cli.toml` checked at compile time, a typed program
//! (a bounded loop, a capture/feed pair around a Rust tool, extractions) and a word-counting
//! tool, served with the `forge` subcommands by `forge_cli::App` — `check`, `render`,
//! `graph`, `sample` and `run`, with their options, progress bar, resume and exit status, and
//! no document PATH.
//!
//! ```sh
//! cargo run --example my_cli -- check
//! cargo run --example my_cli -- render --set topic=tea
//! cargo run --example my_cli -- sample --count 100 --set topic=tea --out samples.jsonl
//! cargo run --example my_cli -- run --model smollm2-135m --streams 4 --set topic=tea --out runs.jsonl
//! ```

use std::process::ExitCode;

use forge::exec::Tools;
use forge::program::{LoopBounds, Program, ProgramError};

forge::include_udpl!(pub mod prompts = "examples/my_cli.toml");

/// The Rust tool: counts the words of the text the model wrote in `repeat`.
pub fn count_words(text: &str) -> String {
    format!(" {} words.", text.split_whitespace().count())
}

/// The program's tools: `count` is [`count_words`].
pub fn tools() -> Tools {
    let mut tools = Tools::new(prompts::Tool::ALL);
    tools
        .add(prompts::Tool::Count, |text: &str| {
            Ok::<_, std::convert::Infallible>(count_words(text))
        })
        .expect("`count` is declared");
    tools
}

/// task; loop(again, shorter) at most 2 times; capture(repeat, count); feed(words); verdict.
pub fn program(program: &mut Program) -> Result<(), ProgramError> {
    program.run(prompts::Task)?;
    program.loop_bounded(prompts::Again, LoopBounds::new().at_most(2), |body| {
        body.run(prompts::Shorter)?;
        Ok(())
    })?;
    program.capture(prompts::Repeat, prompts::Tool::Count)?;
    program.feed(prompts::Words)?;
    program.run(prompts::Verdict)?;
    program.extract("drafts", &[prompts::Tag::Draft])?;
    program.extract("count", &[prompts::Tag::Count])?;
    program.extract("verdict", &[prompts::Tag::Verdict])?;
    Ok(())
}

/// The command line: the document, the program and the tools.
pub fn app() -> forge_cli::App {
    forge_cli::App::new(prompts::document())
        .name("my_cli")
        .about("Sentences about a topic, shortened and counted.")
        .version(env!("CARGO_PKG_VERSION"))
        .tools(tools())
        .program(program)
}

fn main() -> ExitCode {
    app().main()
}
