// Unknown config key with a suggestion, a missing key, a bad list element: all at once.
forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]", "[Answr]"]
valid_tags = ["Final"]
default_max_token_length = true
sequences = ["a"]
escape_patterns = ["[Escape]", "[EndEscape]"]
tool = ["search"]

[[a]]
text = "[Prompt] hi [Answer]"
tags = [[]]
"#);

fn main() {}
