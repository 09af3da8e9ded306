// Errors in a file name the file (relative to Cargo.toml), line and column.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/bad.toml");

fn main() {}
