// A default makes only its own resource optional: the others are still required.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/defaults.toml");

fn main() {
    let _ = prompts::builder().build();
    let _ = prompts::Turn {};
    let _ = prompts::Args {};
    // `max` has a default, so it is a method, not a field.
    let _ = prompts::Turn { round: 1, max: 3 };
}
