// Every error of a declared `[program]` at its value's file:line:col, all at once: unknown
// step kind, sequence, tag and tool; an unknown and a missing `with` key; bounds out of
// order; a control sequence that cannot carry a jump edge.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/bad_program.toml");

fn main() {}
