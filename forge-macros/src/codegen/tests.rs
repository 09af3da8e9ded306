//! Tests of the expansion.
//!
//! Parity: for a corpus of documents, the macro reports exactly the diagnostics the runtime
//! parser reports, with the same text.

use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;

use super::expand;
use crate::input::Kind;

/// The messages of every `compile_error!` in an expansion, in order (also those nested in
/// the stubs of a document with errors).
fn compile_errors(tokens: TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (k, tree) in trees.iter().enumerate() {
        if let [
            TokenTree::Ident(i),
            TokenTree::Punct(p),
            TokenTree::Group(g),
            ..,
        ] = &trees[k..]
            && i == "compile_error"
            && p.as_char() == '!'
        {
            let lit: syn::LitStr = syn::parse2(g.stream()).expect("a string literal");
            out.push(lit.value());
        } else if let TokenTree::Group(g) = tree
            && !(k >= 2 && matches!(&trees[k - 2], TokenTree::Ident(i) if i == "compile_error"))
        {
            out.extend(compile_errors(g.stream()));
        }
    }
    out
}

/// Every committed UDPL fixture of the workspace, relative to this crate.
fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["../tests/ui/fixtures", "../forge-cli/tests/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(format!(
                    "{dir}/{}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn macro_and_runtime_report_the_same_diagnostics_for_files() {
    let files = corpus();
    assert!(files.len() >= 5, "corpus too small: {files:?}");
    let mut invalid = 0;
    for file in &files {
        let expanded = expand(quote! { krate = ::forge; mod prompts = #file }, Kind::File);
        let from_macro = compile_errors(expanded);
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        let from_runtime: Vec<String> =
            match forge_core::udpl::parse_sources(&[(file.as_str(), text.as_str())]) {
                Ok(_) => Vec::new(),
                Err(e) => e.errors().map(|d| d.render_at_macro()).collect(),
            };
        assert_eq!(from_macro, from_runtime, "{file}");
        invalid += usize::from(!from_runtime.is_empty());
    }
    assert!(invalid >= 3, "the corpus must hold invalid documents");
}

#[test]
fn macro_and_runtime_report_the_same_diagnostics_inline() {
    for src in [
        "[config]\nzone_patterns = 3\n",
        "[config]\nzone_patterns = [\"[P]\", \"[A]\"]\nrequired_patterns = [\"[P]\"]\n\
         valid_tags = []\ndefault_max_token_length = 1\nsequences = [\"a\"]\n\
         control_pattern = \"[J]\"\nescape_patterns = [\"[E]\", \"[/E]\"]\n\
         [[a]]\ntext = \"x [P] {y.z} [A]\"\ntags = [[\"T\"]]\n",
        "not toml = = =",
    ] {
        let expanded = expand(quote! { krate = ::forge; #src }, Kind::Inline);
        let from_macro = compile_errors(expanded);
        // The origin the macro computes for the literal, which it also bakes into the
        // generated `document()`.
        let lit: syn::LitStr = syn::parse2(quote! { #src }).unwrap();
        let (file, origin) = super::literal_origin(&lit);
        let from_runtime: Vec<String> = forge_core::udpl::parse_embedded(src, &file, origin)
            .err()
            .map(|e| e.errors().map(|d| d.render_at_macro()).collect())
            .unwrap_or_default();
        assert!(!from_runtime.is_empty());
        assert_eq!(from_macro, from_runtime, "{src}");
    }
}

/// The generated code of a small document, pretty-printed and compared with the committed
/// snapshot, so a change to the generated code shows up in review. After an intended
/// change: `FORGE_BLESS=1 cargo test -p forge-macros expansion_snapshot`.
#[test]
#[allow(clippy::disallowed_methods)]
fn expansion_snapshot_of_a_small_document() {
    let src = "[config]\nzone_patterns = [\"[P]\", \"[A]\"]\nrequired_patterns = [\"[P]\"]\n\
         valid_tags = [\"Final\"]\ndefault_max_token_length = 10\nsequences = [\"setup\", \"loop_control\"]\n\
         control_pattern = \"[J]\"\nescape_patterns = [\"[E]\", \"[/E]\"]\ntools = [\"search\"]\n\
         [[setup]]\ntext = \"[P] {persona} asks {question} [A]\"\ntags = [[\"Final\"]]\n\
         [setup.persona]\nname = \"persona\"\n\
         [setup.question]\nname = \"question\"\ntype = \"argument\"\n\
         [[loop_control]]\ntext = \"[P] Again? At least {min} times. [A]\"\ntags = [[]]\n\
         [loop_control.min]\nname = \"min\"\ntype = \"custom\"\n";
    let expanded = expand(quote! { krate = ::forge; mod prompts = #src }, Kind::Inline);
    assert!(compile_errors(expanded.clone()).is_empty());
    let file: syn::File = syn::parse2(expanded).expect("the expansion is valid Rust");
    let pretty = format!(
        "// Generated by `forge!` for the document in `expansion_snapshot_of_a_small_document`\n\
         // (forge-macros/src/codegen/tests.rs). Not compiled; reviewed.\n\n{}",
        prettyplease::unparse(&file)
    );
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/small_document.expanded.rs");
    if std::env::var_os("FORGE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == pretty,
        "the generated code changed; review it and bless with \
         `FORGE_BLESS=1 cargo test -p forge-macros expansion_snapshot`:\n{pretty}"
    );
}

/// The notes of every `#[deprecated(note = ...)]` in an expansion: the UDPL warnings.
fn warning_notes(tokens: TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for tt in tokens {
        if let TokenTree::Group(g) = tt {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            if let [TokenTree::Ident(i), TokenTree::Group(args)] = &inner[..]
                && i == "deprecated"
            {
                let args: Vec<TokenTree> = args.stream().into_iter().collect();
                let lit: syn::LitStr = syn::parse2(args[2].clone().into()).unwrap();
                out.push(lit.value());
            } else {
                out.extend(warning_notes(g.stream()));
            }
        }
    }
    out
}

#[test]
fn warnings_are_reported_with_their_location_unless_allowed() {
    let file = "../forge-cli/tests/fixtures/warnings.toml";
    let notes = warning_notes(expand(
        quote! { krate = ::forge; mod p = #file },
        Kind::File,
    ));
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let parsed = forge_core::udpl::parse_sources(&[(file, text.as_str())]).unwrap();
    let expected: Vec<String> = parsed
        .warnings
        .iter()
        .map(|w| w.render_at_macro())
        .collect();
    assert_eq!(notes, expected);
    assert_eq!(notes.len(), 2);
    assert!(
        notes[1].starts_with(&format!("{file}:12:42: unescaped control pattern `[Jump]`")),
        "{}",
        notes[1]
    );
    let silenced = expand(
        quote! { krate = ::forge; #[allow(udpl_warnings)] mod p = #file },
        Kind::File,
    );
    assert!(warning_notes(silenced.clone()).is_empty());
    assert!(compile_errors(silenced).is_empty());
}

#[test]
fn bad_macro_input_is_an_error_not_a_panic() {
    for input in [
        quote! {},
        quote! { krate = ::forge },
        quote! { krate = ::forge; 42 },
        quote! { krate = ::forge; pub mod = "x" },
        quote! { krate = ::forge; "a.toml" extra },
        quote! { krate = ::forge; "/abs/path.toml" },
        quote! { krate = ::forge; "" },
        quote! { krate = ::forge; #[allow(warnings)] "a.toml" },
        quote! { krate = ::forge; #[allow] "a.toml" },
        quote! { krate = ::forge; #[doc = "x"] mod m = "a.toml" },
    ] {
        let out = expand(input.clone(), Kind::File).to_string();
        assert!(out.contains("compile_error"), "{input} -> {out}");
    }
}
