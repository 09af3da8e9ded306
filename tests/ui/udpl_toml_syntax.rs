forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"
sequences = ["a"]
"#);

fn main() {}
