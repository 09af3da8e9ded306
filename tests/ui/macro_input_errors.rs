forge::include_udpl!(prompts.toml);

forge::forge!(pub mod = "x");

fn main() {}
