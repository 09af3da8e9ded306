forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Final"]
default_max_token_length = 100
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
sequences = ["a", "b", "c", "d"]

[[a]]
text = "[Prompt] a [EOS] [Answer]"
tags = [[], []]

[[b]]
text = "intro [Prompt] b [Answer]"
tags = [[], []]

[[c]]
text = "[Prompt] only a prompt"
tags = [[], []]

[[d]]
text = """[Prompt] unclosed
[Escape] never closed [Answer]"""
tags = [[], []]
"#);

fn main() {}
