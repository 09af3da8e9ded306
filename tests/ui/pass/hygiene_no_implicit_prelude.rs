#![no_implicit_prelude]

::forge::forge!(mod prompts = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["T"]
default_max_token_length = 10
sequences = ["loop", "self"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["search"]

[[loop]]
text = "[P] {s} {c} {a} [A]"
tags = [["T"]]
[loop.s]
name = "std"
[loop.c]
name = "type"
type = "custom"
[loop.a]
name = "Option"
type = "argument"

[[self]]
text = "[P] x {m} {d} {e} [A]"
tags = [[]]
[self.m]
name = "match"
[self.d]
name = "Some"
type = "custom"
default = "d"
[self.e]
name = "Ok"
type = "argument"
default = "e"
"#);

fn main() {
    let mut program = prompts::builder().std("s").r#match(7).build().unwrap();
    program
        .run(prompts::Loop {
            r#type: "c",
        })
        .unwrap();
    program.run(prompts::Self_).unwrap();
    program.run(prompts::Self_.some("D")).unwrap();
    program.extract("t", &[prompts::Tag::T]).unwrap();
    let w = program.compile().unwrap();
    let s = w
        .sample_seeded(
            prompts::Args {
                option: "a",
            },
            1,
        )
        .unwrap();
    ::std::assert_eq!(s.zone(1).text(), " s c a [A]");
    ::std::assert_eq!(s.zone(3).text(), " x 7 d e [A]");
    ::std::assert_eq!(s.zone(5).text(), " x 7 D e [A]");
    let s = w
        .sample_seeded(prompts::Args { option: "a" }.ok("E"), 1)
        .unwrap();
    ::std::assert_eq!(s.zone(5).text(), " x 7 D E [A]");
    ::std::assert_eq!(prompts::Tool::ALL.len(), 1);
}
