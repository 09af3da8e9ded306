//! The vocabulary of the typed API that `include_udpl!` and `forge!` generate: the builder's
//! typestate and the conversion of values into resource bindings.
//!
//! You rarely name these items: they appear in the signatures of generated code and in its
//! compile errors. A builder's `build()` requires [`ResourceSet`] of every standard resource,
//! which only [`Set`] implements, so a missing resource is a compile error naming it. A setter,
//! a sequence handle field and an `Args` field take any [`BindValue`] (a plain value or a
//! resource), or, when the resource's placeholders pass `arguments`, only a [`BindResource`],
//! since a plain value takes no arguments.

use std::sync::Arc;

use crate::resources::{Binding, Resource};

/// Typestate: a standard resource has been set on a generated builder.
#[derive(Debug)]
pub struct Set;

/// Typestate: a standard resource has not been set yet.
#[derive(Debug)]
pub struct Unset;

/// Required by a generated builder's `build()` of each standard resource's typestate. `N` is
/// an uninhabited marker type named after the resource, so the message names it.
#[diagnostic::on_unimplemented(
    message = "cannot build the program: standard resource `{N}` is not set",
    label = "call `.{N}(..)` before `.build()`",
    note = "every standard resource of the UDPL document must be set; the documentation of the builder's `{N}` method says where it is declared"
)]
pub trait ResourceSet<N> {}

impl<N> ResourceSet<N> for Set {}

/// A value that binds a resource whose placeholders pass no `arguments`: a string, an integer,
/// a float, a bool or a char (bound as a static string), a [`Resource`], an `Arc` of one, or a
/// [`Binding`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot bind a resource",
    label = "not a value or a resource",
    note = "a resource is bound to a string, an integer, a float, a bool, a `forge::resources::Resource` or a `forge::resources::Binding`"
)]
pub trait BindValue {
    /// Convert into a type-erased binding.
    fn into_binding(self) -> Binding;
}

#[diagnostic::do_not_recommend]
impl<T: Into<Binding>> BindValue for T {
    fn into_binding(self) -> Binding {
        self.into()
    }
}

/// A value that binds a resource whose placeholders pass `arguments`: only a [`Resource`] (or
/// an `Arc` of one, or a [`Binding`]) takes arguments, so plain values are rejected at compile
/// time.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot bind this resource: its placeholders pass `arguments`, which only a `forge::resources::Resource` takes",
    label = "not a resource",
    note = "bind a resource whose `Args` accept those arguments (`forge::resources::ListSampler` takes `num_samples`), or remove `arguments` from the spec tables"
)]
pub trait BindResource {
    /// Convert into a type-erased binding.
    fn into_binding(self) -> Binding;
}

#[diagnostic::do_not_recommend]
impl<R: Resource> BindResource for R {
    fn into_binding(self) -> Binding {
        Binding::instance(self)
    }
}

#[diagnostic::do_not_recommend]
impl<R: Resource> BindResource for Arc<R> {
    fn into_binding(self) -> Binding {
        Binding::shared(self)
    }
}

impl BindResource for Binding {
    fn into_binding(self) -> Binding {
        self
    }
}
