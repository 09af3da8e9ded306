forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() {
    let _ = prompts::LoopControl { min: 1 };
}
