//! Proc macros of forge: `include_udpl!` and `forge!`. Not intended to be used directly: use
//! the `forge` crate, whose `macro_rules!` wrappers call these with the right crate path.
//!
//! The macros parse and lint UDPL with `forge_core::udpl`, the same parser the runtime uses,
//! and never re-check a rule themselves.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

mod codegen;
mod input;
mod paths;
mod plan;

/// `include_udpl_impl!(krate = $crate; [VIS mod NAME =] "path.toml")`.
#[doc(hidden)]
#[proc_macro]
pub fn include_udpl_impl(input: TokenStream) -> TokenStream {
    guard(|| codegen::expand(input.into(), input::Kind::File)).into()
}

/// `forge_impl!(krate = $crate; [VIS mod NAME =] r#"...UDPL..."#)`.
#[doc(hidden)]
#[proc_macro]
pub fn forge_impl(input: TokenStream) -> TokenStream {
    guard(|| codegen::expand(input.into(), input::Kind::Inline)).into()
}

/// Turn a panic during expansion into a compile error instead of "proc-macro panicked".
fn guard(f: impl FnOnce() -> TokenStream2) -> TokenStream2 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(tokens) => tokens,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let msg = format!("internal error in forge's macro, please report it: {what}");
            quote::quote! { ::core::compile_error!{ #msg } }
        }
    }
}
