//! Expansion: input → parse with forge-core → generated items (or errors carried by stubs).

use forge_core::__private::Skeleton;
use forge_core::diagnostics::Diagnostic;
use forge_core::udpl::{self, Origin, SourceFile};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::input::{Input, Kind};
use crate::paths;
use crate::plan::{Plan, ResPlan};

/// Expand one macro invocation. Never panics on bad input: every problem becomes a
/// `compile_error!` at the literal.
pub fn expand(tokens: TokenStream, kind: Kind) -> TokenStream {
    let input: Input = match syn::parse2(tokens) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let span = input.lit.span();
    let error = |msg: &str| syn::Error::new(span, msg).to_compile_error();

    // Sources, as read (a file's path is the rebuild anchor) or as written inline.
    let (sources, origin) = match kind {
        Kind::File => match paths::load(&input.lit.value()) {
            Ok(files) => (files, None),
            Err(msg) => return error(&msg),
        },
        Kind::Inline => {
            let (file, origin) = literal_origin(&input.lit);
            (
                vec![SourceFile::from_text(file, input.lit.value())],
                Some(origin),
            )
        }
    };
    let parsed = match (origin, sources.as_slice()) {
        (Some(o), [inline]) => udpl::parse_embedded(&inline.text, &inline.name, o),
        _ => udpl::parse_files(&sources),
    };
    let origin_name = sources.first().map(|s| s.name.clone()).unwrap_or_default();
    let mut errors = TokenStream::new();
    let warnings: Vec<&Diagnostic> = match &parsed {
        Ok(p) => p.warnings.iter().collect(),
        Err(e) => e.diagnostics().iter().filter(|d| !d.is_error()).collect(),
    };
    let warnings = if input.allow_warnings {
        TokenStream::new()
    } else {
        warnings
            .into_iter()
            .map(|w| warning(span, &w.render_at_macro()))
            .collect()
    };
    let (items, summary) = match parsed {
        Ok(p) => {
            let mut plan = Plan::from_document(&p.document, &origin_name);
            for c in plan.take_collisions() {
                errors.extend(error(&c));
            }
            let items = generate(&input.krate, &plan, &sources, origin);
            (items, plan.summary)
        }
        Err(e) => {
            // The stubs carry the first error (as their type) and report the others after it.
            let mut messages: Vec<String> = e.errors().map(Diagnostic::render_at_macro).collect();
            if let udpl::Error::Io { .. } = e {
                messages.push(e.to_string());
            }
            let first = if messages.is_empty() {
                "the UDPL document has errors".to_owned()
            } else {
                messages.remove(0)
            };
            let p = &input.krate;
            let items = stubs::stubs(
                span,
                &first,
                &messages,
                &stub_handles(&sources),
                anchors(&quote! { #p::__private }, &sources),
            );
            let summary = format!("Items of the UDPL document `{origin_name}` (which has errors).");
            (items, summary)
        }
    };
    let allow = allow_list();
    let body = match &input.module {
        Some((vis, name)) => {
            quote! {
                #[doc = #summary]
                #allow
                #vis mod #name {
                    #items
                }
            }
        }
        None => items,
    };
    quote! { #errors #warnings #body }
}

/// A compiler warning at `span` on stable Rust, which has no API for a proc macro's own
/// warnings: the use of a `#[deprecated]` local macro whose note is the message. `cargo build`
/// prints `warning: use of deprecated macro `udpl_warning`: FILE:LINE:COL: MESSAGE`: of the
/// deprecation wordings (`constant `_::NAME``, `unit struct `_::NAME``, `function …`), a
/// macro's is the only one printed without a path, so the line names forge's warning and goes
/// on with the UDPL location. (`#[must_use = "…"]` would keep the message out of the first
/// line, so `--message-format=short` would lose it.) `#[allow(udpl_warnings)]` in the macro
/// input omits them.
fn warning(span: Span, message: &str) -> TokenStream {
    let name = Ident::new("udpl_warning", span);
    quote! {
        const _: () = {
            #[deprecated(note = #message)]
            macro_rules! udpl_warning { () => {} }
            #name!();
        };
    }
}

/// The PascalCase names of the sequence handles a broken document still shows (its
/// `config.sequences`, as far as they can be read), each once, without the names of the other
/// generated items.
fn stub_handles(sources: &[SourceFile]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in Skeleton::recover(sources).sequences {
        if let Some(pascal) = udpl::pascal_case(&name)
            && !["Builder", "Args", "Tag", "Tool"].contains(&pascal.as_str())
            && !out.contains(&pascal)
        {
            out.push(pascal);
        }
    }
    out
}

/// `include_str!` of every file read, so that editing one rebuilds the crate.
fn anchors(p: &TokenStream, sources: &[SourceFile]) -> TokenStream {
    sources
        .iter()
        .filter_map(|f| f.path.as_ref())
        .map(|path| {
            let path = path.to_string_lossy().into_owned();
            quote! { const _: &str = #p::include_str!(#path); }
        })
        .collect()
}

/// The display path and position of an inline literal's first UDPL character.
fn literal_origin(lit: &syn::LitStr) -> (String, Origin) {
    let span = lit.span();
    let start = span.start();
    if start.line == 0 {
        return ("<inline UDPL>".to_owned(), Origin::default());
    }
    let file = span.file();
    let token = lit.token().to_string();
    let prefix = token.find('"').map_or(1, |i| i + 1);
    let origin = Origin {
        line: u32::try_from(start.line).unwrap_or(1),
        column: u32::try_from(start.column + prefix + 1).unwrap_or(1),
    };
    (file, origin)
}

fn ident(s: &str) -> Ident {
    match s.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(s, Span::call_site()),
    }
}

/// The lints generated code is exempt from, in both macro forms: on the module of
/// `mod NAME = ...` and on every item (so the bare form, whose items land in the caller's
/// module, needs no `#![allow]` from its user). A document declares items a program may not
/// use (a tag, a tool, a handle), and names follow the UDPL file.
fn allow_list() -> TokenStream {
    quote! { #[allow(dead_code, non_camel_case_types, clippy::all)] }
}

fn generate(
    krate: &TokenStream,
    plan: &Plan,
    sources: &[SourceFile],
    origin: Option<Origin>,
) -> TokenStream {
    let p = quote! { #krate::__private };
    let t = quote! { #krate::typed };
    let allow = allow_list();

    // Sources, embedded. `include_str!` of the absolute path is also the rebuild anchor.
    let source_items = sources.iter().map(|f| {
        let (name, text) = (&f.name, &f.text);
        match &f.path {
            Some(path) => {
                let path = path.to_string_lossy().into_owned();
                quote! { (#name, #p::include_str!(#path)) }
            }
            None => quote! { (#name, #text) },
        }
    });
    let origin = match origin {
        Some(o) => {
            let (l, c) = (o.line, o.column);
            quote! { #p::Option::Some((#l, #c)) }
        }
        None => quote! { #p::Option::None },
    };

    // Builder with one typestate parameter per standard resource, named after it.
    let params = type_params(plan.standard.iter().map(|r| r.snake.as_str()), "Builder");
    let need: Vec<Ident> = plan.standard.iter().map(|r| ident(&r.snake)).collect();
    let unset = plan.standard.iter().map(|_| quote! { #t::Unset });
    let setters = plan.standard.iter().enumerate().map(|(i, r)| {
        let setter = ident(&r.snake);
        let name = &r.name;
        let doc = &r.doc;
        let out = params.iter().enumerate().map(|(j, q)| {
            if i == j {
                quote! { #t::Set }
            } else {
                quote! { #q }
            }
        });
        let bind = bind_trait(&t, r);
        quote! {
            #[doc = #doc]
            #[doc = "\nSetting it again replaces the earlier value."]
            pub fn #setter(
                mut self,
                value: impl #bind,
            ) -> Builder<#(#out),*> {
                self.bindings.insert(#name, #bind::into_binding(value));
                Builder { bindings: self.bindings, state: #p::PhantomData }
            }
        }
    });
    let need_markers = plan.standard.iter().zip(&need).map(|(r, m)| {
        let doc = format!(
            "Standard resource `{}`, declared at {}.",
            r.name, r.declared
        );
        quote! {
            #[doc = #doc]
            pub enum #m {}
        }
    });
    let bounds = {
        let b = params
            .iter()
            .zip(&need)
            .zip(&plan.standard)
            .filter(|(_, r)| r.default.is_none())
            .map(|((q, m), _)| quote! { #q: #t::ResourceSet<__forge_resource::#m> });
        quote! { where #(#b),* }
    };
    let builder_doc = format!(
        "Builder of the program. Set every standard resource ({}), then call `build()`; \
         `build()` does not compile until each one is set.",
        if plan.standard.is_empty() {
            "this document has none".to_owned()
        } else {
            plan.standard
                .iter()
                .map(|r| format!("`{}`", r.name))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    // Sequence handles: one type parameter per custom resource (default `Binding`), so a
    // field takes a plain value (`LoopControl { min: 1, max: 5 }`) or any resource. Each
    // converts into a call that carries the sequence's index.
    // Wrappers of handles and `Args` whose defaulted resources are bound (see `overrides`).
    let mut wrappers: Vec<TokenStream> = Vec::new();
    let handles = plan
        .sequences
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let index = index as u32;
            let ty = ident(&s.pascal);
            let name = &s.name;
            let doc = &s.doc;
            let record = Record::new(&p, &t, &s.custom, &s.pascal);
            let overrides = overrides(&p, &ty, &record, Target::Call, &mut wrappers);
            let Record {
                params,
                decl_params,
                bounds,
                fields,
                names,
                binds,
                ..
            } = &record;
            if fields.is_empty() {
                return quote! {
                    #[doc = #doc]
                    #allow
                    pub struct #ty;
                    #[automatically_derived] #allow
                    impl #p::From<#ty> for #p::Call {
                        fn from(handle: #ty) -> #p::Call {
                            let _ = handle;
                            #p::call(#index, #name)
                        }
                    }
                    #overrides
                };
            }
            let decl = record.declaration();
            quote! {
                #[doc = #doc]
                #allow
                pub struct #ty<#(#decl_params),*> { #(#decl),* }
                #[automatically_derived] #allow
                impl<#(#bounds),*> #p::From<#ty<#(#params),*>> for #p::Call {
                    fn from(handle: #ty<#(#params),*>) -> #p::Call {
                        #p::call(#index, #name)
                            #(.with(#names, #binds::into_binding(handle.#fields)))*
                    }
                }
                #overrides
            }
        })
        .collect::<Vec<_>>();

    // Args, with the same shape.
    let record = Record::new(&p, &t, &plan.arguments, "Args");
    let args_overrides = overrides(&p, &ident("Args"), &record, Target::Bindings, &mut wrappers);
    let args_doc = format!(
        "The argument resources, bound when a workflow is sampled: pass it to \
         `Workflow::sample`. Fields (each a plain value or a resource): {}.",
        if record.fields.is_empty() {
            "none".to_owned()
        } else {
            record
                .names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    ) + &if record.defaulted.is_empty() {
        String::new()
    } else {
        format!(
            " Resources with a default are methods instead: {}.",
            record
                .defaulted
                .iter()
                .map(|(r, _)| format!("`.{}(..)`", r.snake))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let args_items = {
        let Record {
            params,
            decl_params,
            bounds,
            fields,
            names,
            binds,
            ..
        } = &record;
        let decl = record.declaration();
        let count = fields.len();
        let unused = if fields.is_empty() {
            quote! { let _ = args; }
        } else {
            quote! {}
        };
        quote! {
            #[doc = #args_doc]
            #allow
            pub struct Args<#(#decl_params),*> { #(#decl),* }

            #[automatically_derived] #allow
            impl<#(#bounds),*> #p::From<Args<#(#params),*>> for #p::Bindings {
                fn from(args: Args<#(#params),*>) -> #p::Bindings {
                    #unused
                    let mut bindings = #p::Bindings::with_capacity(#count);
                    #(bindings.insert_static(#names, #binds::into_binding(args.#fields));)*
                    bindings
                }
            }
            #args_overrides
        }
    };

    let with_module = if wrappers.is_empty() {
        quote! {}
    } else {
        quote! {
            /// Handles and `Args` with defaulted resources bound by their methods.
            #[doc(hidden)]
            #allow
            pub mod __forge_with {
                #(#wrappers)*
            }
        }
    };
    let program_fn = program::declared_program(&p, plan);
    let tag_enum = name_enum(&p, "Tag", "A tag from `config.valid_tags`.", &plan.tags);
    let tool_enum = name_enum(&p, "Tool", "A tool from `config.tools`.", &plan.tools);

    quote! {
        #[doc(hidden)]
        #allow
        pub const __FORGE_SOURCES: &[(&str, &str)] = &[#(#source_items),*];

        /// The parsed UDPL document (parsed on first use, then shared).
        #allow
        pub fn document() -> #p::Arc<#p::Document> {
            static DOCUMENT: #p::OnceLock<#p::Arc<#p::Document>> = #p::OnceLock::new();
            #p::Clone::clone(DOCUMENT.get_or_init(|| #p::load_document(__FORGE_SOURCES, #origin)))
        }

        #[doc = #builder_doc]
        #allow
        #[must_use = "call `.build()` to get the program"]
        pub struct Builder<#(#params),*> {
            bindings: #p::Bindings,
            state: #p::PhantomData<fn() -> (#(#params,)*)>,
        }

        /// Start building the program: set each standard resource, then `build()`.
        #allow
        pub fn builder() -> Builder<#(#unset),*> {
            Builder { bindings: #p::Bindings::new(), state: #p::PhantomData }
        }

        #[automatically_derived] #allow
        impl<#(#params),*> Builder<#(#params),*> {
            #(#setters)*

            /// Bind the standard resources and start the program. Compiles only once every
            /// standard resource is set; fails if a resource cannot take its placeholders'
            /// `arguments` (with the placeholder's location).
            pub fn build(self) -> #p::Result<#p::Program, #p::ProgramError> #bounds {
                #p::Program::new(document(), self.bindings)
            }
        }

        /// Marker types naming the standard resources in "not set" errors.
        #[doc(hidden)]
        #allow
        pub mod __forge_resource {
            #(#need_markers)*
        }

        #(#handles)*

        #args_items

        #with_module

        #tag_enum
        #tool_enum

        #program_fn
    }
}

/// The trait a value binding resource `r` implements: only resources bind one whose
/// placeholders pass `arguments`.
fn bind_trait(t: &TokenStream, r: &ResPlan) -> TokenStream {
    if r.with_args {
        quote! { #t::BindResource }
    } else {
        quote! { #t::BindValue }
    }
}

/// What an override method adds its binding to.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// A sequence handle: a `Call`.
    Call,
    /// `Args`: a `Bindings` map.
    Bindings,
}

/// For the resources of a handle or `Args` that have a `default` (and so are not fields): one
/// method per resource on the handle that binds it, returning a wrapper (in the hidden module
/// `__forge_with`) with the same methods, so `LoopControl { min: 1 }.max(9)` overrides a
/// default and `LoopControl { min: 1 }` keeps it.
fn overrides(
    p: &TokenStream,
    ty: &Ident,
    record: &Record,
    target: Target,
    wrappers: &mut Vec<TokenStream>,
) -> TokenStream {
    let Record {
        params,
        bounds,
        defaulted,
        ..
    } = record;
    if defaulted.is_empty() {
        return TokenStream::new();
    }
    let allow = allow_list();
    let inner = match target {
        Target::Call => quote! { #p::Call },
        Target::Bindings => quote! { #p::Bindings },
    };
    let handle_ty = if params.is_empty() {
        quote! { #ty }
    } else {
        quote! { #ty<#(#params),*> }
    };
    let mut on_handle = Vec::new();
    let mut on_wrapper = Vec::new();
    for (r, bind) in defaulted {
        let method = ident(&r.snake);
        let name = &r.name;
        let doc = format!(
            "Binds resource `{name}` instead of its default {:?}.",
            r.default.as_deref().unwrap_or_default()
        );
        let add = |base: TokenStream| match target {
            Target::Call => quote! { #base.with(#name, #bind::into_binding(value)) },
            Target::Bindings => quote! {{
                let mut bindings = #base;
                bindings.insert_static(#name, #bind::into_binding(value));
                bindings
            }},
        };
        let from_handle = add(quote! { <#inner as #p::From<#handle_ty>>::from(self) });
        let from_wrapper = add(quote! { self.0 });
        on_handle.push(quote! {
            #[doc = #doc]
            pub fn #method(self, value: impl #bind) -> __forge_with::#ty {
                __forge_with::#ty(#from_handle)
            }
        });
        on_wrapper.push(quote! {
            #[doc = #doc]
            pub fn #method(self, value: impl #bind) -> Self {
                __forge_with::#ty(#from_wrapper)
            }
        });
    }
    let wrapper_doc = format!("`{ty}` with some of its defaulted resources bound.");
    wrappers.push(quote! {
        #[doc = #wrapper_doc]
        #allow
        pub struct #ty(pub(super) #inner);
    });
    quote! {
        #[automatically_derived] #allow
        impl<#(#bounds),*> #handle_ty {
            #(#on_handle)*
        }
        #[automatically_derived] #allow
        impl __forge_with::#ty {
            #(#on_wrapper)*
        }
        #[automatically_derived] #allow
        impl #p::From<__forge_with::#ty> for #inner {
            fn from(with: __forge_with::#ty) -> #inner {
                with.0
            }
        }
    }
}

/// Type parameter names for resources: their PascalCase names (`max_turns` → `MaxTurns`), so
/// compile errors read `Builder<System, Constitution>`. A name equal to `owner` (the generic
/// type itself) or to an earlier one gets a trailing `_`.
fn type_params<'a>(snakes: impl Iterator<Item = &'a str>, owner: &str) -> Vec<Ident> {
    let mut taken: Vec<String> = vec![owner.to_owned()];
    snakes
        .enumerate()
        .map(|(i, snake)| {
            let mut name = udpl::pascal_case(snake.trim_start_matches("r#"))
                .filter(|n| !n.starts_with("r#"))
                .unwrap_or_else(|| format!("R{i}"));
            while taken.contains(&name) {
                name.push('_');
            }
            taken.push(name.clone());
            Ident::new(&name, Span::call_site())
        })
        .collect()
}

/// A generated struct whose `pub` fields are resources (a sequence handle or `Args`): one type
/// parameter per field, defaulting to `Binding`, bounded by the field's binding trait.
struct Record {
    /// `Min, Max`.
    params: Vec<Ident>,
    /// `Min = Binding, Max = Binding`.
    decl_params: Vec<TokenStream>,
    /// `Min: BindValue, ...`.
    bounds: Vec<TokenStream>,
    fields: Vec<Ident>,
    /// The resource names, as written in the UDPL file.
    names: Vec<String>,
    /// Each field's binding trait.
    binds: Vec<TokenStream>,
    docs: Vec<String>,
    /// The resources with a default (not fields), with their binding traits.
    defaulted: Vec<(ResPlan, TokenStream)>,
}

impl Record {
    /// The record of `all`: resources without a default become fields, those with one
    /// [`overrides`].
    fn new(p: &TokenStream, t: &TokenStream, all: &[ResPlan], owner: &str) -> Record {
        let (res, defaulted): (Vec<&ResPlan>, Vec<&ResPlan>) =
            all.iter().partition(|r| r.default.is_none());
        let params = type_params(res.iter().map(|r| r.snake.as_str()), owner);
        let binds: Vec<TokenStream> = res.iter().map(|r| bind_trait(t, r)).collect();
        Record {
            decl_params: params.iter().map(|q| quote! { #q = #p::Binding }).collect(),
            bounds: params
                .iter()
                .zip(&binds)
                .map(|(q, bind)| quote! { #q: #bind })
                .collect(),
            binds,
            fields: res.iter().map(|r| ident(&r.snake)).collect(),
            names: res.iter().map(|r| r.name.clone()).collect(),
            docs: res.iter().map(|r| r.doc.clone()).collect(),
            params,
            defaulted: defaulted
                .into_iter()
                .map(|r| (r.clone(), bind_trait(t, r)))
                .collect(),
        }
    }

    /// `#[doc = ...] pub min: Min` for every field.
    fn declaration(&self) -> Vec<TokenStream> {
        self.fields
            .iter()
            .zip(&self.params)
            .zip(&self.docs)
            .map(|((f, q), d)| quote! { #[doc = #d] pub #f: #q })
            .collect()
    }
}

fn name_enum(
    p: &TokenStream,
    name: &str,
    doc: &str,
    names: &[crate::plan::NamePlan],
) -> TokenStream {
    let allow = allow_list();
    let ty = ident(name);
    let variants: Vec<Ident> = names.iter().map(|n| ident(&n.pascal)).collect();
    let strings: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
    let docs = strings.iter().map(|s| format!("`{s}`"));
    quote! {
        #[doc = #doc]
        #allow
        pub enum #ty { #(#[doc = #docs] #variants),* }

        #[automatically_derived] #allow
        impl #ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [#ty] = &[#(#ty::#variants),*];

            /// The name as written in the UDPL file.
            pub const fn as_str(&self) -> &'static str {
                match *self { #(#ty::#variants => #strings,)* }
            }
        }
        #[automatically_derived] #allow
        impl #p::AsRef<str> for #ty {
            fn as_ref(&self) -> &str { self.as_str() }
        }
        #[automatically_derived] #allow
        impl #p::Clone for #ty {
            fn clone(&self) -> Self { *self }
        }
        #[automatically_derived] #allow
        impl #p::Copy for #ty {}
        #[automatically_derived] #allow
        impl #p::PartialEq for #ty {
            fn eq(&self, other: &Self) -> bool {
                #p::discriminant(self) == #p::discriminant(other)
            }
        }
        #[automatically_derived] #allow
        impl #p::Hash for #ty {
            fn hash<H: #p::Hasher>(&self, state: &mut H) {
                #p::Hash::hash(&#p::discriminant(self), state)
            }
        }
        #[automatically_derived] #allow
        impl #p::Eq for #ty {}
        #[automatically_derived] #allow
        impl #p::Debug for #ty {
            fn fmt(&self, f: &mut #p::Formatter<'_>) -> #p::FmtResult {
                f.write_str(self.as_str())
            }
        }
    }
}

mod program;
#[cfg(test)]
mod tests;

mod stubs;
