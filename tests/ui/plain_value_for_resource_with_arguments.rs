forge::include_udpl!(mod prompts = "tests/ui/fixtures/typed.toml");

fn main() {
    // `constitution` placeholders pass `num_samples`: a static string cannot take it.
    let _ = prompts::builder().system("s").constitution("be kind").build();
    // Nor a list of strings: only a resource takes arguments.
    let _ = prompts::builder().system("s").constitution(vec!["a", "b"]).build();
}
