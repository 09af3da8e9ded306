// A `[program]` table without steps.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/empty_program.toml");

fn main() {}
