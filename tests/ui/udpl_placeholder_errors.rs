forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Final"]
default_max_token_length = 100
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
sequences = ["a"]

[[a]]
text = """[Prompt] Hello {user}, see {0} and {x:>4}
and JSON {"a": 1} [Answer]"""
tags = [[], []]

[a.usr]
nme = "user"
"#);

fn main() {}
