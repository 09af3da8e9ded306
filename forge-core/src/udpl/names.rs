//! The one place where TOML names turn into Rust identifiers.
//!
//! `snake_case` and `pascal_case` split a name into words at `_`, `-`, spaces, other
//! punctuation and lower→upper case changes, then join them. Keywords come out as raw
//! identifiers (`loop` → `r#loop`); the few keywords that cannot be raw (`self`, `Self`, `super`,
//! `crate`, `_`) get a trailing underscore. A name with no letters or digits, or one that starts
//! with a digit, has no identifier and is rejected by the linter.

/// Is `s` a placeholder identifier: `[A-Za-z_][A-Za-z0-9_]*`?
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Keywords that become raw identifiers (`r#loop`).
fn is_strict_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

/// Keywords that cannot be raw identifiers: they get a trailing underscore.
fn is_non_raw_keyword(s: &str) -> bool {
    matches!(s, "self" | "Self" | "super" | "crate" | "_")
}

fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower_or_digit = false;
    for c in name.chars() {
        if c.is_alphanumeric() && c.is_ascii() {
            if c.is_ascii_uppercase() && prev_lower_or_digit && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower_or_digit = c.is_ascii_lowercase() || c.is_ascii_digit();
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower_or_digit = false;
            if !c.is_ascii() {
                // Non-ASCII letters have no place in generated identifiers; the caller reports it.
                return Vec::new();
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn finish(ident: String) -> Option<String> {
    let first = ident.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if is_non_raw_keyword(&ident) {
        return Some(format!("{ident}_"));
    }
    if is_strict_keyword(&ident) {
        return Some(format!("r#{ident}"));
    }
    Some(ident)
}

/// The snake_case Rust identifier for a UDPL name, or `None` when it has none.
///
/// ```
/// use forge::udpl::snake_case;
/// assert_eq!(snake_case("loop").as_deref(), Some("r#loop"));
/// assert_eq!(snake_case("LoopControl").as_deref(), Some("loop_control"));
/// assert_eq!(snake_case("user-name").as_deref(), Some("user_name"));
/// assert_eq!(snake_case("self").as_deref(), Some("self_"));
/// assert_eq!(snake_case("1st"), None);
/// ```
pub fn snake_case(name: &str) -> Option<String> {
    // Fast path: already snake_case (lowercase words joined by single underscores).
    let b = name.as_bytes();
    if b.first().is_some_and(u8::is_ascii_lowercase)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && !name.contains("__")
        && !name.ends_with('_')
    {
        return finish(name.to_owned());
    }
    let w = words(name);
    if w.is_empty() {
        return None;
    }
    let joined = w
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    finish(joined)
}

/// The PascalCase Rust identifier for a UDPL name, or `None` when it has none.
///
/// ```
/// use forge::udpl::pascal_case;
/// assert_eq!(pascal_case("loop_control").as_deref(), Some("LoopControl"));
/// assert_eq!(pascal_case("Final").as_deref(), Some("Final"));
/// assert_eq!(pascal_case("self").as_deref(), Some("Self_"));
/// ```
pub fn pascal_case(name: &str) -> Option<String> {
    // Fast path: one capitalized word (`Training`, `Final2`).
    let b = name.as_bytes();
    if b.first().is_some_and(u8::is_ascii_uppercase)
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return finish(name.to_owned());
    }
    let w = words(name);
    if w.is_empty() {
        return None;
    }
    let mut joined = String::new();
    for word in &w {
        let mut chars = word.chars();
        if let Some(f) = chars.next() {
            joined.push(f.to_ascii_uppercase());
            joined.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    finish(joined)
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions
/// (optimal string alignment), for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate to `name` when it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    /// Names longer than this get no suggestion: typos worth suggesting are in short names,
    /// and the distance table grows with the product of the lengths.
    const MAX_LEN: usize = 64;
    let len = name.chars().count();
    if len > MAX_LEN {
        return None;
    }
    let limit = (len / 3).max(1);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| {
            let n = c.chars().count();
            n <= MAX_LEN && n.abs_diff(len) <= limit
        })
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(snake_case("setup").as_deref(), Some("setup"));
        assert_eq!(snake_case("loop_control").as_deref(), Some("loop_control"));
        assert_eq!(snake_case("HTTPServer").as_deref(), Some("httpserver"));
        assert_eq!(snake_case("seq_0001").as_deref(), Some("seq_0001"));
        assert_eq!(snake_case("type").as_deref(), Some("r#type"));
        assert_eq!(snake_case("if").as_deref(), Some("r#if"));
        assert_eq!(snake_case("crate").as_deref(), Some("crate_"));
        assert_eq!(snake_case("_"), None);
        // Names the fast path must leave to the general one.
        assert_eq!(snake_case("a__b").as_deref(), Some("a_b"));
        assert_eq!(snake_case("x_").as_deref(), Some("x"));
        assert_eq!(snake_case("_x").as_deref(), Some("x"));
        assert_eq!(snake_case("self").as_deref(), Some("self_"));
        assert_eq!(snake_case("a1b_2").as_deref(), Some("a1b_2"));
        assert_eq!(snake_case("héllo"), None);
        assert_eq!(snake_case("--"), None);
        assert_eq!(pascal_case("my tag").as_deref(), Some("MyTag"));
        assert_eq!(pascal_case("loop").as_deref(), Some("Loop"));
        assert_eq!(pascal_case("Self").as_deref(), Some("Self_"));
        assert_eq!(pascal_case("Training").as_deref(), Some("Training"));
        assert_eq!(pascal_case("Final2").as_deref(), Some("Final2"));
        assert_eq!(pascal_case("HTTPServer").as_deref(), Some("Httpserver"));
        assert_eq!(pascal_case("TrainingData").as_deref(), Some("TrainingData"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("tag", ["tags", "text"]), Some("tags"));
        assert_eq!(
            did_you_mean("zone_pattern", ["zone_patterns"]),
            Some("zone_patterns")
        );
        assert_eq!(did_you_mean("xyz", ["tags", "text"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("setpu", "setup"), 1);
        assert_eq!(did_you_mean("setpu", ["setup", "answer"]), Some("setup"));
    }
}
