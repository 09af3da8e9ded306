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
text = "[Prompt] {x} {y} [Answer]"
tags = [[], []]
[a.x]
name = "topic"
type = "custom"
[a.y]
name = "user-name"

[[b]]
text = "[Prompt] {x} {y} [Answer]"
tags = [[], []]
[b.x]
name = "topic"
type = "argument"
[b.y]
name = "user_name"
type = "standrd"
"#);

fn main() {}
