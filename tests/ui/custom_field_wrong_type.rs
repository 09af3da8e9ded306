forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() {
    // Plain values bind as they are; a unit or a vector is neither a value nor a resource.
    let _: forge::program::Call = prompts::LoopControl { min: 1, max: () }.into();
    let _: forge::program::Call = prompts::LoopControl { min: vec![1], max: 2 }.into();
}
