// A folder document: a sequence defined in two files is an error naming both.
forge::include_udpl!(mod prompts = "tests/ui/fixtures/bad_folder");

fn main() {}
