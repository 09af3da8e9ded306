//! `forge` renamed in Cargo.toml (`renamed_forge`) and re-exported under another path: the
//! generated code reaches its support items through `$crate`, so both work.

/// A crate that re-exports forge under another name.
pub mod reexport {
    pub use renamed_forge as prompts_lib;
}

renamed_forge::forge!(pub mod renamed = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["T"]
default_max_token_length = 10
sequences = ["ask"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[ask]]
text = "[P] {q} [A]"
tags = [["T"]]
[ask.q]
name = "question"
type = "argument"
"#);

crate::reexport::prompts_lib::include_udpl!(pub mod via_reexport = "prompts.toml");

#[cfg(test)]
mod tests {
    #[test]
    fn renamed_dependency() {
        let mut p = super::renamed::builder().build().unwrap();
        p.run(super::renamed::Ask).unwrap();
        let w = p.compile().unwrap();
        let s = w
            .sample_seeded(
                super::renamed::Args {
                    question: "q?".into(),
                },
                0,
            )
            .unwrap();
        assert_eq!(s.zone(1).text(), " q? [A]");
    }

    #[test]
    fn reexported_crate_and_manifest_relative_path() {
        let mut p = super::via_reexport::builder()
            .greeting("hi")
            .build()
            .unwrap();
        p.run(super::via_reexport::Hello).unwrap();
        let s = p
            .compile()
            .unwrap()
            .sample_seeded(super::via_reexport::Args {}, 0)
            .unwrap();
        assert_eq!(s.zone(1).text(), " hi [A]");
    }
}
