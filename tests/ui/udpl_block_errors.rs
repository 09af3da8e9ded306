forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Final"]
default_max_token_length = 100
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
sequences = ["a", "b"]

[[a]]
text = "[Prompt] hi [Answer]"
tags = [["Trainig"]]

[[b]]
text = "[Prompt] hi [Answer]"
tag = [[], []]
repeats = 0
"#);

fn main() {}
