//! The resources given for one binding stage (program setup, a sequence invocation, sampling)
//! must be exactly the ones the document declares for it.

use super::error::ProgramError;
use crate::resources::Bindings;
use crate::udpl::{Document, ResourceKind, names::did_you_mean};

/// Check that `given` binds exactly the resources `wanted` (of one kind).
pub(crate) fn check_names(
    doc: &Document,
    kind: ResourceKind,
    wanted: Vec<&str>,
    given: &Bindings,
    context: String,
) -> Result<(), ProgramError> {
    let missing: Vec<(String, crate::diagnostics::Location)> = wanted
        .iter()
        .filter(|w| !given.contains(w))
        .filter_map(|w| {
            // A resource with a `default` may be left unbound.
            doc.resource(w)
                .filter(|r| r.default.is_none())
                .map(|r| ((*w).to_owned(), r.location.clone()))
        })
        .collect();
    let unknown: Vec<(String, String)> = given
        .names()
        .filter(|g| !wanted.contains(g))
        .map(|g| {
            let hint = match doc.resource(g) {
                Some(r) if r.kind != kind => format!(
                    "`{g}` is a {} resource: bind it at {}",
                    r.kind,
                    r.kind.stage()
                ),
                Some(_) => format!("`{g}` is not used by {context}"),
                // A close name of this stage first, else of any stage (with its stage).
                None => match did_you_mean(g, wanted.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        match did_you_mean(g, doc.resources.iter().map(|r| r.name.name.as_str()))
                            .and_then(|s| doc.resource(s))
                        {
                            Some(r) => format!(
                                "did you mean `{}`? (a {} resource, bound at {})",
                                r.name.name,
                                r.kind,
                                r.kind.stage()
                            ),
                            None => format!("the document declares no resource `{g}`"),
                        }
                    }
                },
            };
            (g.to_owned(), hint)
        })
        .collect();
    if missing.is_empty() && unknown.is_empty() {
        return Ok(());
    }
    let mut unknown = unknown;
    unknown.sort();
    Err(ProgramError::Resources {
        kind,
        context,
        missing,
        unknown,
    })
}
