// UDPL warnings are compiler warnings at the macro call, first line `warning: use of deprecated
// macro `udpl_warning`: FILE:LINE:COL: MESSAGE`;
// `#[allow(udpl_warnings)]` silences them for one document only.
forge::include_udpl!(mod noisy = "forge-cli/tests/fixtures/warnings.toml");
forge::include_udpl!(#[allow(udpl_warnings)] mod quiet = "forge-cli/tests/fixtures/warnings.toml");

forge::forge!(mod inline = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = []
default_max_token_length = 10
sequences = ["s"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[s]]
text = "[P] hi [A]"
tags = [[]]
"#);

// Unknown attributes are errors, not silently ignored.
forge::forge!(#[allow(warnings)] mod other = "x");
forge::forge!(#[deny(udpl_warnings)] mod denied = "x");

fn main() {
    let _ = (noisy::document(), quiet::document(), inline::document());
    compile_error!("the end of the case: the warnings above are what it checks");
}
