// A sequence named `program` clashes with the declared program's table.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/program_sequence.toml");

fn main() {}
