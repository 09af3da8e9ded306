// User aliases and shadowing names that generated code must not pick up.
#![allow(dead_code)]
type Result<T> = std::result::Result<T, std::string::String>;
type Option = ();
struct String;
struct Arc;
mod core {}

forge::forge!(r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = []
default_max_token_length = 10
sequences = ["a"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[a]]
text = "[P] {x} [A]"
tags = [[]]
[a.x]
name = "x"
"#);

fn main() -> Result<()> {
    let mut program = builder().x(1).build().map_err(|e| e.to_string())?;
    program.run(A).map_err(|e| e.to_string())?;
    let w = program.compile().map_err(|e| e.to_string())?;
    let s = w.sample_seeded(Args {}, 0).map_err(|e| e.to_string())?;
    assert_eq!(s.zone(1).text(), " 1 [A]");
    assert!(Tag::ALL.is_empty());
    Ok(())
}
