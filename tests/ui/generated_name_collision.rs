forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Final"]
default_max_token_length = 100
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
sequences = ["args"]

[[args]]
text = "[Prompt] {b} [Answer]"
tags = [[], []]
[args.b]
name = "build"
"#);

fn main() {}
