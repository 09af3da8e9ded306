//! Macro input: `krate = PATH; [#[allow(udpl_warnings)]] [VIS mod NAME =] "literal"`.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token, Visibility};

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `include_udpl!`: the literal is a path.
    File,
    /// `forge!`: the literal is UDPL text.
    Inline,
}

/// Parsed macro input.
pub struct Input {
    /// Tokens of the path to the `forge` crate (`$crate` from the facade's wrapper).
    pub krate: TokenStream,
    /// `VIS mod NAME =`, when the items go into a module.
    pub module: Option<(Visibility, Ident)>,
    /// The path or the UDPL text.
    pub lit: LitStr,
    /// `#[allow(udpl_warnings)]`: the document's UDPL warnings are not reported.
    pub allow_warnings: bool,
}

/// Parses the attributes before the document: only `#[allow(udpl_warnings)]` is known.
fn allow_warnings(attrs: &[syn::Attribute]) -> syn::Result<bool> {
    let mut allow = false;
    for attr in attrs {
        let known = attr.path().is_ident("allow")
            && attr
                .parse_args::<Ident>()
                .is_ok_and(|lint| lint == "udpl_warnings");
        if !known {
            return Err(syn::Error::new_spanned(
                attr,
                "unsupported attribute: the only attribute before a UDPL document is `#[allow(udpl_warnings)]`, which silences its UDPL warnings",
            ));
        }
        allow = true;
    }
    Ok(allow)
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        if key != "krate" {
            return Err(syn::Error::new(key.span(), "expected `krate = PATH;`"));
        }
        input.parse::<Token![=]>()?;
        let mut krate = TokenStream::new();
        loop {
            if input.is_empty() {
                return Err(input.error("expected `;` after the crate path"));
            }
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
                break;
            }
            let tt: TokenTree = input.parse()?;
            krate.extend([tt]);
        }
        let allow_warnings = allow_warnings(&input.call(syn::Attribute::parse_outer)?)?;
        let module = if input.peek(LitStr) {
            None
        } else {
            let vis: Visibility = input.parse()?;
            input.parse::<Token![mod]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a string literal, or `mod NAME = \"...\"` (optionally with `pub`)",
                )
            })?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some((vis, name))
        };
        let lit: LitStr = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the string literal"));
        }
        Ok(Input {
            krate,
            module,
            lit,
            allow_warnings,
        })
    }
}
