//! [`Bindings`]: bindings keyed by resource name, one map per binding stage.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{BindError, Binding, Filler, Site};

/// Bindings keyed by resource name: what a program holds for one binding stage.
///
/// ```
/// use forge::resources::Bindings;
///
/// let mut resources = Bindings::new();
/// resources.insert("min", 3).insert("max", 6);
/// assert!(resources.get("min").is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    /// In insertion order. Programs bind a handful of names per stage, for which a scan beats
    /// hashing; `index` takes over for large sets.
    entries: Vec<(Cow<'static, str>, Binding)>,
    index: Option<HashMap<Cow<'static, str>, usize>>,
}

/// Above this many names, lookups go through a hash index.
const BINDINGS_SCAN_LIMIT: usize = 16;

impl Bindings {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` names.
    pub fn with_capacity(n: usize) -> Self {
        Bindings {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.entries.iter().position(|(n, _)| n == name),
        }
    }

    fn insert_cow(&mut self, name: Cow<'static, str>, binding: Binding) -> &mut Self {
        if let Some(i) = self.position(&name) {
            self.entries[i].1 = binding;
            return self;
        }
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), self.entries.len());
        }
        self.entries.push((name, binding));
        if self.index.is_none() && self.entries.len() > BINDINGS_SCAN_LIMIT {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i))
                    .collect(),
            );
        }
        self
    }

    /// Binds `name` (replacing any previous binding of that name).
    pub fn insert(&mut self, name: impl Into<String>, binding: impl Into<Binding>) -> &mut Self {
        self.insert_cow(Cow::Owned(name.into()), binding.into())
    }

    /// [`insert`](Self::insert) for a name known at compile time: no copy of the name. Used by
    /// the code the macros generate.
    pub fn insert_static(&mut self, name: &'static str, binding: impl Into<Binding>) -> &mut Self {
        self.insert_cow(Cow::Borrowed(name), binding.into())
    }

    /// The binding of `name`.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    /// Whether `name` is bound.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Bound names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_ref())
    }

    /// Number of bound names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Binds the placeholder's resource (looked up by its `resource` name) to it. A missing
    /// name fills the placeholder with its `default` text when it has one, and is a
    /// [`BindError`] otherwise.
    pub fn bind(&self, site: &Site<'_>) -> Result<Filler, BindError> {
        match self.get(&site.placeholder.resource) {
            Some(binding) => binding.bind(site),
            None => match &site.placeholder.default {
                Some(text) => Ok(Filler::default_text(site, text)),
                None => Err(BindError::unbound(site)),
            },
        }
    }
}
