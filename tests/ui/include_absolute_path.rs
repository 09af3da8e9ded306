forge::include_udpl!("/etc/prompts.toml");

fn main() {}
