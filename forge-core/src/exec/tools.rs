//! Tools: functions output zones send their generated text to (`docs/execution.md` §2 step 6).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use crate::udpl::names::did_you_mean;

/// A registered tool.
pub(super) type ToolFn =
    dyn Fn(&str) -> Result<String, Box<dyn StdError + Send + Sync>> + Send + Sync;

/// The tools of a run, by name, checked against the tools a document declares.
///
/// Register each tool by its name in `config.tools`, or by the `Tool` enum that
/// `include_udpl!` generates (then a tool the document does not declare does not compile).
/// A name the document does not declare is an error that points at the `add` call. A tool
/// gets the text the model generated in its output zone and returns the text fed to the next
/// input zone; a tool error fails that stream only.
///
/// ```
/// use forge::exec::Tools;
///
/// let mut tools = Tools::new(["search", "calc"]);
/// tools.add("calc", |input: &str| Ok::<_, std::num::ParseIntError>(
///     (input.trim().parse::<i64>()? * 2).to_string(),
/// ))?;
/// let err = tools.add("serch", |_: &str| Ok::<_, std::io::Error>(String::new())).unwrap_err();
/// assert!(err.to_string().contains("did you mean `search`?"));
/// # Ok::<(), forge::exec::UndeclaredTool>(())
/// ```
#[derive(Clone, Default)]
pub struct Tools {
    declared: Vec<String>,
    tools: HashMap<Arc<str>, Arc<ToolFn>>,
}

impl fmt::Debug for Tools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tools")
            .field("declared", &self.declared)
            .field("registered", &self.names())
            .finish()
    }
}

/// A tool registered under a name the document does not declare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndeclaredTool {
    /// The name given to [`Tools::add`].
    pub name: String,
    /// Where `add` was called (`file:line:col`).
    pub at: String,
    /// The declared tools.
    pub declared: Vec<String>,
    /// The closest declared name, if one is close.
    pub suggestion: Option<String>,
}

impl fmt::Display for UndeclaredTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: tool `{}` is not declared in the document's `config.tools` (declared: {})",
            self.at,
            self.name,
            if self.declared.is_empty() {
                "none".to_owned()
            } else {
                self.declared.join(", ")
            }
        )?;
        match &self.suggestion {
            Some(s) => write!(f, "; did you mean `{s}`?"),
            None => write!(f, "; help: declare it in `config.tools` or fix the name"),
        }
    }
}

impl StdError for UndeclaredTool {}

impl Tools {
    /// No tools yet; names given to [`add`](Tools::add) must be among `declared` (a
    /// document's `config.tools`; for a run mixing documents, the union of theirs).
    pub fn new<S: AsRef<str>>(declared: impl IntoIterator<Item = S>) -> Tools {
        Tools {
            declared: declared
                .into_iter()
                .map(|s| s.as_ref().to_owned())
                .collect(),
            tools: HashMap::new(),
        }
    }

    /// Register `tool` under `name` (a `&str` or the generated `Tool` enum), replacing any
    /// tool registered under it before.
    #[track_caller]
    pub fn add<E>(
        &mut self,
        name: impl AsRef<str>,
        tool: impl Fn(&str) -> Result<String, E> + Send + Sync + 'static,
    ) -> Result<&mut Tools, UndeclaredTool>
    where
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let name = name.as_ref();
        if !self.declared.iter().any(|d| d == name) {
            let at = Location::caller();
            return Err(UndeclaredTool {
                name: name.to_owned(),
                at: format!("{}:{}:{}", at.file(), at.line(), at.column()),
                declared: self.declared.clone(),
                suggestion: did_you_mean(name, self.declared.iter().map(String::as_str))
                    .map(str::to_owned),
            });
        }
        self.tools.insert(
            Arc::from(name),
            Arc::new(move |input: &str| tool(input).map_err(Into::into)),
        );
        Ok(self)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tools.keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    }

    /// Whether a tool is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// The tool registered under `name`, to call on another thread.
    pub(super) fn get(&self, name: &str) -> Option<Arc<ToolFn>> {
        self.tools.get(name).cloned()
    }

    /// Call the tool `name`; `None` if none is registered under it.
    pub fn call(
        &self,
        name: &str,
        input: &str,
    ) -> Option<Result<String, Box<dyn StdError + Send + Sync>>> {
        self.tools.get(name).map(|t| t(input))
    }
}
