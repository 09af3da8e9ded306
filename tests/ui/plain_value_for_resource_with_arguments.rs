forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
valid_tags = ["Training", "Final"]
default_max_token_length = 100
sequences = ["setup", "loop_control"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
tools = ["search"]

[[setup]]
text = "[Prompt] {system} {principles} {question} [Answer]"
tags = [["Final"]]
[setup.system]
name = "system"
[setup.principles]
name = "constitution"
arguments = { num_samples = 2 }
[setup.question]
name = "question"
type = "argument"

[[loop_control]]
text = "[Prompt] between {min} and {max} [Answer]"
tags = [[]]
[loop_control.min]
name = "min"
type = "custom"
[loop_control.max]
name = "max"
type = "custom"
"#);

fn main() {
    // `constitution` placeholders pass `num_samples`: a static string cannot take it.
    let _ = prompts::builder().system("s").constitution("be kind").build();
}
