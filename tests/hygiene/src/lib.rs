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

/// A custom resource written with no dependency but forge: the argument type derives
/// `Deserialize` through forge's re-export of serde.
pub mod custom_resource {
    use renamed_forge::resources::{Deserialize, Resource, ResourceError, SampleContext};

    /// Repeats a word.
    pub struct Repeat(pub &'static str);

    /// `arguments = { times = N }`.
    #[derive(Deserialize)]
    #[serde(crate = "renamed_forge::resources::serde", deny_unknown_fields)]
    pub struct RepeatArgs {
        times: usize,
    }

    impl Resource for Repeat {
        type Args = RepeatArgs;
        fn sample(
            &self,
            args: &RepeatArgs,
            _: &mut SampleContext,
        ) -> Result<String, ResourceError> {
            Ok(vec![self.0; args.times].join(" "))
        }
    }
}

// The document has no tags on purpose (a UDPL warning), silenced for this document only.
crate::reexport::prompts_lib::include_udpl!(#[allow(udpl_warnings)] pub mod via_reexport = "prompts.toml");

#[cfg(test)]
mod tests {
    #[test]
    fn renamed_dependency() {
        let mut p = super::renamed::builder().build().unwrap();
        p.run(super::renamed::Ask).unwrap();
        let w = p.compile().unwrap();
        let s = w
            .sample_seeded(super::renamed::Args { question: "q?" }, 0)
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

    #[test]
    fn a_resource_implemented_with_forge_as_the_only_dependency() {
        use renamed_forge::program::{Call, Program};
        use renamed_forge::resources::{Binding, Bindings};
        let doc = renamed_forge::udpl::parse_str(
            r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = []
default_max_token_length = 10
sequences = ["say"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[say]]
text = "[P] {w} [A]"
tags = [[]]
[say.w]
name = "word"
type = "custom"
arguments = { times = 3 }
"#,
            "say.toml",
        )
        .unwrap()
        .document;
        let mut p = Program::new(doc, Bindings::new()).unwrap();
        p.run(Call::new("say").with(
            "word",
            Binding::instance(super::custom_resource::Repeat("la")),
        ))
        .unwrap();
        let s = p
            .compile()
            .unwrap()
            .sample_seeded(Bindings::new(), 0)
            .unwrap();
        assert_eq!(s.zone(1).text(), " la la la [A]");
    }
}
