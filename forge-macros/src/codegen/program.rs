//! The program a document declares in `[program]`, generated as typed code: a function that
//! appends its steps to a built program with indexed calls, typed tags and tools.

use forge_core::udpl::{DeclaredCall, DeclaredProgram, DeclaredStep, StepKind, WithValue};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::ident;
use crate::plan::Plan;

/// `pub fn program(..)`, or nothing when the document declares no program.
pub(super) fn declared_program(p: &TokenStream, plan: &Plan) -> TokenStream {
    let Some(declared) = &plan.program else {
        return TokenStream::new();
    };
    let steps = steps(p, plan, &declared.steps, &quote! { program });
    let extractions = extractions(plan, declared);
    let doc = format!(
        "The program the document declares in `[program]` (at {}): appends its steps to \
         `program` (from `builder()…build()`) and declares its extractions, as \
         `Program::run_declared` does at run time. Then `program.compile()`.",
        declared.location
    );
    quote! {
        #[doc = #doc]
        pub fn program(program: &mut #p::Program) -> #p::Result<(), #p::ProgramError> {
            #steps
            #extractions
            #p::Result::Ok(())
        }
    }
}

fn steps(p: &TokenStream, plan: &Plan, list: &[DeclaredStep], on: &TokenStream) -> TokenStream {
    let each = list.iter().map(|step| {
        let call = call(p, plan, &step.call);
        match &step.kind {
            StepKind::Run => quote! { #on.run(#call)?; },
            StepKind::Feed => quote! { #on.feed(#call)?; },
            StepKind::Capture { tool } => {
                let tool = match plan.tools.iter().find(|t| t.name == *tool) {
                    Some(t) => {
                        let ty = ident(&t.pascal);
                        quote! { Tool::#ty }
                    }
                    None => quote! { #tool },
                };
                quote! { #on.capture(#call, #tool)?; }
            }
            StepKind::Loop {
                at_least,
                at_most,
                body,
            } => {
                let at_most = at_most.map(|m| quote! { .at_most(#m) });
                let body = steps(p, plan, body, &quote! { body });
                quote! {
                    #on.loop_bounded(
                        #call,
                        #p::LoopBounds::new().at_least(#at_least) #at_most,
                        |body| {
                            #body
                            #p::Result::Ok(())
                        },
                    )?;
                }
            }
            StepKind::When { then, otherwise } => {
                let then = steps(p, plan, then, &quote! { then });
                let otherwise = steps(p, plan, otherwise, &quote! { otherwise });
                quote! {
                    #on.when(
                        #call,
                        |then| {
                            let _ = &then;
                            #then
                            #p::Result::Ok(())
                        },
                        |otherwise| {
                            let _ = &otherwise;
                            #otherwise
                            #p::Result::Ok(())
                        },
                    )?;
                }
            }
            _ => {
                quote! { #p::compile_error!("forge: a declared step kind the macros do not know"); }
            }
        }
    });
    quote! { #(#each)* }
}

/// The indexed call of a step's sequence, with its `with` values.
fn call(p: &TokenStream, plan: &Plan, c: &DeclaredCall) -> TokenStream {
    let index = plan
        .sequences
        .iter()
        .position(|s| s.name == c.sequence)
        .unwrap_or_default() as u32;
    let name = &c.sequence;
    let with = c.with.iter().map(|(k, v)| {
        let value = match v {
            WithValue::Text(s) => quote! { #s },
            WithValue::Integer(n) => {
                let n = Literal::i64_suffixed(*n);
                quote! { #n }
            }
            WithValue::Float(x) if x.is_finite() => {
                let x = Literal::f64_suffixed(*x);
                quote! { #x }
            }
            // `inf`, `nan`: bound as their text, as `Display` writes it.
            WithValue::Float(x) => {
                let text = x.to_string();
                quote! { #text }
            }
            WithValue::Bool(b) => quote! { #b },
        };
        quote! { .with(#k, #value) }
    });
    quote! { #p::call(#index, #name) #(#with)* }
}

fn extractions(plan: &Plan, declared: &DeclaredProgram) -> TokenStream {
    let each = declared.extractions.iter().map(|e| {
        let name = &e.name;
        let tags = e
            .tags
            .iter()
            .map(|t| match plan.tags.iter().find(|x| x.name == *t) {
                Some(x) => {
                    let ty = ident(&x.pascal);
                    quote! { Tag::#ty.as_str() }
                }
                None => quote! { #t },
            });
        quote! { program.extract::<&str>(#name, &[#(#tags),*])?; }
    });
    quote! { #(#each)* }
}
