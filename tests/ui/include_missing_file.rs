forge::include_udpl!(mod prompts = "tests/ui/fixtures/nope.toml");

fn main() {}
