//! What goes wrong with resources: [`ResourceError`] (from a resource), [`BindError`]
//! (binding a resource to a placeholder) and [`FillError`] (filling it), located at the
//! placeholder's [`PlaceholderSite`].

use std::fmt;
use std::sync::Arc;

use super::Site;
use crate::diagnostics::{Diagnostic, Location, Severity};
use crate::udpl::ResourceKind;

/// The error a resource returns from [`Resource::sample`](super::Resource::sample) (or a factory, or a constructor such
/// as [`ListSampler::new`](super::ListSampler::new)): a message and an optional underlying cause. `Debug` prints the
/// message, like `Display`.
#[derive(Clone, thiserror::Error)]
#[error("{message}")]
pub struct ResourceError {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ResourceError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        ResourceError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error that caused it (reported by
    /// [`std::error::Error::source`]).
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ResourceError {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for ResourceError {
    fn from(message: String) -> Self {
        ResourceError::new(message)
    }
}

impl From<&str> for ResourceError {
    fn from(message: &str) -> Self {
        ResourceError::new(message)
    }
}

/// Where a resource is used: everything an error needs to point at the placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlaceholderSite {
    /// The resource name (`name` in the spec table).
    pub resource: String,
    /// The placeholder key (`{key}` in the text).
    pub placeholder: String,
    /// The sequence holding the block.
    pub sequence: String,
    /// The block's 0-based index in its sequence.
    pub block: usize,
    /// The resource's binding kind, which determines the stage.
    pub kind: ResourceKind,
    /// Where the error points: the placeholder's spec table, or its `arguments` value for an
    /// error about the arguments.
    pub location: Location,
    /// Where the placeholder first appears in the block text.
    pub text_location: Location,
}

impl PlaceholderSite {
    /// Builds the owned description of a [`Site`].
    pub fn from_site(site: &Site<'_>) -> Self {
        PlaceholderSite {
            resource: site.placeholder.resource.clone(),
            placeholder: site.placeholder.key.clone(),
            sequence: site.sequence.to_owned(),
            block: site.block,
            kind: site.placeholder.kind,
            location: site.placeholder.spec_location.clone(),
            text_location: site.placeholder.location.clone(),
        }
    }

    /// The stage at which the resource is bound: `program setup`, `sequence invocation` or
    /// `sampling`.
    pub fn stage(&self) -> &'static str {
        self.kind.stage()
    }

    /// "resource `r` to placeholder `{p}` (sequence `s`, block b)".
    fn describe(&self) -> String {
        format!(
            "resource `{}` to placeholder `{{{}}}` (sequence `{}`, block {})",
            self.resource, self.placeholder, self.sequence, self.block
        )
    }
}

/// Binding a resource to a placeholder failed: its arguments do not convert to the resource's
/// argument type (or the resource is missing from a [`Bindings`](super::Bindings) map).
///
/// Displays as
///
/// ```text
/// cannot bind resource `constitution` to placeholder `{principles}` (sequence `setup`, block 2) at program setup: `list sampler` arguments: missing field `num_samples`
///   --> prompts.toml:31:1
///    |
///    = help: add `arguments = { num_samples = 3 }` to the spec
/// ```
///
/// (the rendering of [`to_diagnostic`](Self::to_diagnostic), like the parser's diagnostics).
///
/// `Debug` prints the same message.
#[derive(Clone)]
pub struct BindError {
    site: Box<PlaceholderSite>,
    message: String,
    help: Option<String>,
}

impl BindError {
    /// No resource of the placeholder's name is bound.
    pub(crate) fn unbound(site: &Site<'_>) -> Self {
        BindError::new(
            site,
            format!("no resource named `{}` is bound", site.placeholder.resource),
            Some(format!(
                "provide a resource named `{}` at {}",
                site.placeholder.resource,
                site.placeholder.kind.stage()
            )),
        )
    }

    /// The resource takes no arguments, but the placeholder passes `key` (the first one).
    pub(crate) fn takes_no_arguments(site: &Site<'_>, what: &str, key: &str) -> Self {
        BindError::arguments(
            site,
            takes_no_arguments(what, key),
            Some("remove `arguments` from the spec".to_owned()),
        )
    }

    /// The placeholder's `arguments` do not convert to the resource's argument type: the error
    /// points at the `arguments` value (at the spec table when there is none).
    pub fn arguments(site: &Site<'_>, message: impl Into<String>, help: Option<String>) -> Self {
        let mut e = BindError::new(site, message, help);
        e.site.location = site.placeholder.arguments_location.clone();
        e
    }

    /// A binding error at `site` with a message and an optional help line.
    pub fn new(site: &Site<'_>, message: impl Into<String>, help: Option<String>) -> Self {
        BindError {
            site: Box::new(PlaceholderSite::from_site(site)),
            message: message.into(),
            help,
        }
    }

    /// Where the binding failed.
    pub fn site(&self) -> &PlaceholderSite {
        &self.site
    }

    /// What is wrong (without the site).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, where known.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The spec's location (file:line:col).
    pub fn location(&self) -> &Location {
        &self.site.location
    }

    /// The error as a located [`Diagnostic`] (without a source line or span: the resource layer
    /// does not hold the source text), so it renders like the parser's diagnostics.
    pub fn to_diagnostic(&self) -> Diagnostic {
        site_diagnostic(&self.site, self.headline(), self.help.clone())
    }

    fn headline(&self) -> String {
        format!(
            "cannot bind {} at {}: {}",
            self.site.describe(),
            self.site.stage(),
            self.message
        )
    }
}

/// The rule for resources without arguments, in one spelling: "`static string` takes no
/// arguments, but the placeholder passes `num_samples`".
pub(crate) fn takes_no_arguments(what: &str, key: &str) -> String {
    format!("{what} takes no arguments, but the placeholder passes `{key}`")
}

/// An error at a placeholder's spec, as a [`Diagnostic`] without source line or span.
fn site_diagnostic(site: &PlaceholderSite, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        message,
        file: site.location.file.clone(),
        line: site.location.line,
        column: site.location.column,
        span: 0..0,
        source_line: String::new(),
        source_column: 1,
        label: None,
        help,
        notes: Vec::new(),
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_diagnostic().render_body())
    }
}

impl std::error::Error for BindError {}

debug_as_display!(ResourceError, BindError, FillError);

/// Filling a placeholder failed: the resource (or its factory) returned an error. It fails the
/// current sample only; the program and other samples are unaffected.
///
/// Displays as
///
/// ```text
/// resource `feedback` failed to fill placeholder `{feedback}` (sequence `solving`, block 0; bound at program setup): <the resource's message>
///   --> prompts.toml:12:1
/// ```
///
/// (the rendering of [`to_diagnostic`](Self::to_diagnostic)). Its
/// [`source`](std::error::Error::source) is the cause of the resource's error, whose message
/// the headline already holds.
///
/// `Debug` prints the same message.
#[derive(Clone)]
pub struct FillError {
    site: Arc<PlaceholderSite>,
    error: ResourceError,
}

impl FillError {
    pub(crate) fn new(site: Arc<PlaceholderSite>, error: ResourceError) -> Self {
        FillError { site, error }
    }

    /// Where the fill failed.
    pub fn site(&self) -> &PlaceholderSite {
        &self.site
    }

    /// The resource's own error.
    pub fn resource_error(&self) -> &ResourceError {
        &self.error
    }

    /// The spec's location (file:line:col).
    pub fn location(&self) -> &Location {
        &self.site.location
    }

    /// The error as a located [`Diagnostic`] (without source line or span).
    pub fn to_diagnostic(&self) -> Diagnostic {
        site_diagnostic(&self.site, self.headline(), None)
    }

    fn headline(&self) -> String {
        let s = &self.site;
        format!(
            "resource `{}` failed to fill placeholder `{{{}}}` (sequence `{}`, block {}; bound at {}): {}",
            s.resource,
            s.placeholder,
            s.sequence,
            s.block,
            s.stage(),
            self.error
        )
    }
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_diagnostic().render_body())
    }
}

/// The resource's message is part of the headline, so the chain goes on with what caused it
/// (the [`ResourceError`]'s own source), not with the message again.
impl std::error::Error for FillError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}
