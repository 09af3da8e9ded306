//! The items of a document with errors: stubs that carry rustc's error type, so that code
//! naming them adds no error of its own.
//!
//! A skeleton with the names and fields the broken TOML still shows is not enough: a syntax
//! error hides everything the parser could not read past (a setter, a handle's field), and
//! rustc then reports every use of it ("no method `focus`", "`Revise` has no field `style`")
//! after the one error that matters. Instead, the first error is the value of a constant, and
//! every generated type is built on an array of that constant's length: a type that *refers
//! to an error*, on which rustc reports no method, field, trait or type mismatch. Sequence
//! handles are named (they are values as well as types in user code); a name the broken
//! document does not show is reported as unknown, which is right.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{allow_list, ident};

/// The stub items of a document whose errors are `first_error` and `other_errors`, with the
/// handles of `sequences` (PascalCase names) and `anchors` (the rebuild anchors of the files
/// read). Every error is a `compile_error!` at `span`, in order.
pub(super) fn stubs(
    span: Span,
    first_error: &str,
    other_errors: &[String],
    sequences: &[String],
    anchors: TokenStream,
) -> TokenStream {
    let allow = allow_list();
    // Spanned like every other error of the macros (`syn::Error`'s `::core::compile_error!`,
    // every token at the literal), so rustc points at the literal, not at the macro call.
    let error = syn::Error::new(span, first_error).to_compile_error();
    let others = other_errors
        .iter()
        .map(|e| syn::Error::new(span, e).to_compile_error());
    let handles = sequences.iter().map(|name| {
        let ty = ident(name);
        let doc = format!("The sequence handle `{name}` (the document has errors).");
        quote! {
            #[doc = #doc]
            #allow
            pub type #ty = __forge_invalid::Stub<__forge_invalid::Invalid>;
            #[doc = #doc]
            #allow
            #[allow(non_upper_case_globals)]
            pub const #ty: __forge_invalid::Invalid = ();
        }
    });
    quote! {
        #[doc(hidden)]
        #allow
        pub mod __forge_invalid {
            pub const ERROR: usize = #error;
            #(#others)*
            pub type Invalid = [(); ERROR];
            pub struct Stub<T> {
                value: T,
            }
        }
        #allow
        const _: () = { #anchors };
        /// The parsed document (the document has errors).
        #allow
        pub fn document() -> __forge_invalid::Invalid {
            loop {}
        }
        /// The program builder (the document has errors).
        #allow
        pub fn builder() -> __forge_invalid::Invalid {
            loop {}
        }
        /// The program builder (the document has errors).
        #allow
        pub type Builder = __forge_invalid::Stub<__forge_invalid::Invalid>;
        /// The argument resources (the document has errors).
        #allow
        pub type Args = __forge_invalid::Stub<__forge_invalid::Invalid>;
        /// The tags (the document has errors).
        #allow
        pub type Tag = __forge_invalid::Invalid;
        /// The tools (the document has errors).
        #allow
        pub type Tool = __forge_invalid::Invalid;
        #(#handles)*
    }
}
