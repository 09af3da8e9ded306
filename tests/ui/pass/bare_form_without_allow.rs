// The bare form puts its items in the caller's module; a program that uses only some of them
// compiles without warnings, and typed tags and tools hash and compare as values.
#![deny(warnings)]

use std::collections::HashSet;

forge::forge!(r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Final", "Draft"]
default_max_token_length = 10
sequences = ["ask", "unused"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["search", "calc"]

[[ask]]
text = "[P] hi [A]"
tags = [["Final"]]

[[unused]]
text = "[P] never run [A]"
tags = [["Draft"]]
"#);

fn main() {
    let mut program = builder().build().unwrap();
    program.run(Ask).unwrap();
    program.extract("final", &[Tag::Final]).unwrap();
    let tags: HashSet<Tag> = [Tag::Final, Tag::Final, Tag::Draft].into_iter().collect();
    assert_eq!(tags.len(), 2);
    assert!(Tool::Search != Tool::Calc && Tool::Search == Tool::Search);
    assert_eq!(program.compile().unwrap().zone_count(), 2);
}
