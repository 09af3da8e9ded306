//! Unit tests of the resources module: helpers, marker traits, the RNG helper, static
//! strings and `num_samples` here; the samplers, the lifecycles and the errors in submodules.

use std::sync::Arc;

use super::*;
use crate::diagnostics::Location;
use crate::udpl::{Placeholder, ResourceKind};

mod errors;
mod lifecycles;
mod samplers;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn loc(line: u32, column: u32) -> Location {
    Location {
        file: Arc::from("prompts.toml"),
        line,
        column,
    }
}

/// A placeholder `{key}` naming `resource`, with `arguments` given as TOML table body
/// (`None` = no `arguments` key).
fn ph(key: &str, resource: &str, kind: ResourceKind, arguments: Option<&str>) -> Placeholder {
    let table: toml::Table = arguments
        .map(|a| a.parse().expect("test arguments are valid TOML"))
        .unwrap_or_default();
    Placeholder {
        key: key.into(),
        resource: resource.into(),
        kind,
        arguments: table,
        has_arguments: arguments.is_some(),
        spec_location: loc(31, 1),
        arguments_location: if arguments.is_some() {
            loc(33, 13)
        } else {
            loc(31, 1)
        },
        location: loc(27, 40),
        default: None,
    }
}

fn site<'a>(p: &'a Placeholder) -> Site<'a> {
    Site {
        sequence: "setup",
        block: 2,
        placeholder: p,
    }
}

fn bind(b: impl Into<Binding>, p: &Placeholder) -> Result<Filler, BindError> {
    b.into().bind(&site(p))
}

fn list_ph(args: &str) -> Placeholder {
    ph(
        "principles",
        "constitution",
        ResourceKind::Standard,
        Some(args),
    )
}

fn args(n: usize) -> ListArgs {
    ListArgs::new(n)
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

// ---------------------------------------------------------------------------------------------
// marker traits
// ---------------------------------------------------------------------------------------------

#[test]
fn shared_types_are_send_and_sync() {
    assert_send_sync::<Binding>();
    assert_send_sync::<Filler>();
    assert_send_sync::<Bindings>();
    assert_send_sync::<ListSampler>();
    assert_send_sync::<LruBuffer>();
    assert_send_sync::<StaticString>();
    assert_send_sync::<ResourceError>();
    assert_send_sync::<BindError>();
    assert_send_sync::<FillError>();
    assert_send::<SampleContext>();
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<ResourceError>();
    assert_error::<BindError>();
    assert_error::<FillError>();
}

// ---------------------------------------------------------------------------------------------
// RNG helper
// ---------------------------------------------------------------------------------------------

#[test]
fn random_below_stays_in_range_and_covers_it() {
    let mut cx = SampleContext::new(9);
    assert_eq!(cx.random_index(0), 0);
    assert_eq!(cx.random_index(1), 0);
    for n in 2..12usize {
        let mut seen = vec![false; n];
        for _ in 0..400 {
            let i = cx.random_index(n);
            assert!(i < n);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value of 0..{n} drawn");
    }
    // Huge bounds do not panic or overflow.
    assert!(cx.random_index(usize::MAX) < usize::MAX);
}

#[test]
fn same_seed_same_rng_stream() {
    let mut a = SampleContext::new(1234);
    let mut b = SampleContext::new(1234);
    let xs: Vec<usize> = (0..50).map(|_| a.random_index(1000)).collect();
    let ys: Vec<usize> = (0..50).map(|_| b.random_index(1000)).collect();
    assert_eq!(xs, ys);
    let mut c = SampleContext::new(1235);
    let zs: Vec<usize> = (0..50).map(|_| c.random_index(1000)).collect();
    assert_ne!(xs, zs);
}

// ---------------------------------------------------------------------------------------------
// static strings and plain values
// ---------------------------------------------------------------------------------------------

#[test]
fn static_string_returns_its_text_without_arguments() {
    let mut cx = SampleContext::new(0);
    for p in [
        ph("s", "s", ResourceKind::Standard, None),
        ph("s", "s", ResourceKind::Standard, Some("")), // `arguments = {}` is no arguments
    ] {
        let f = bind(StaticString::new("hello {world}"), &p).unwrap();
        assert_eq!(f.fill(&mut cx).unwrap(), "hello {world}");
        assert_eq!(f.fill(&mut cx).unwrap(), "hello {world}");
    }
}

#[test]
fn static_string_with_arguments_fails_at_bind() {
    let p = ph(
        "greeting",
        "hello",
        ResourceKind::Standard,
        Some("num_samples = 3"),
    );
    let err = bind("hi", &p).unwrap_err();
    assert_eq!(
        err.message(),
        "`static string` takes no arguments, but the placeholder passes `num_samples`"
    );
    assert_eq!(err.help(), Some("remove `arguments` from the spec"));
    // At the `arguments` value, not the spec table's header.
    assert_eq!(err.location(), &loc(33, 13));
    let shown = err.to_string();
    assert!(shown.contains("resource `hello`"), "{shown}");
    assert!(shown.contains("placeholder `{greeting}`"), "{shown}");
    assert!(shown.contains("prompts.toml:33:13"), "{shown}");
}

#[test]
fn plain_values_bind_as_static_strings() {
    let mut cx = SampleContext::new(0);
    let p = ph("v", "v", ResourceKind::Custom, None);
    let cases: Vec<(Binding, &str)> = vec![
        ("text".into(), "text"),
        (String::from("owned").into(), "owned"),
        (42u8.into(), "42"),
        ((-7i64).into(), "-7"),
        (3usize.into(), "3"),
        (2.5f64.into(), "2.5"),
        (0.5f32.into(), "0.5"),
        (true.into(), "true"),
        ('x'.into(), "x"),
        (u128::MAX.into(), "340282366920938463463374607431768211455"),
        (StaticString::display(&"shown").into(), "shown"),
    ];
    for (binding, expected) in cases {
        assert_eq!(binding.lifecycle(), Lifecycle::Instance);
        assert_eq!(binding.describe(), "static string");
        assert_eq!(
            binding.bind(&site(&p)).unwrap().fill(&mut cx).unwrap(),
            expected
        );
    }
}

#[test]
fn no_args_accepts_empty_and_rejects_keys() {
    let empty = toml::Table::new();
    assert_eq!(empty.try_into::<NoArgs>().unwrap(), NoArgs);
    let mut t = toml::Table::new();
    t.insert("x".into(), toml::Value::Integer(1));
    let err = t.try_into::<NoArgs>().unwrap_err();
    assert!(
        err.message().contains("takes no arguments"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("`x`"), "{}", err.message());
}

// ---------------------------------------------------------------------------------------------
// num_samples
// ---------------------------------------------------------------------------------------------

fn parse_list_args(body: &str) -> Result<ListArgs, String> {
    let t: toml::Table = body.parse().unwrap();
    t.try_into::<ListArgs>().map_err(|e| e.message().to_owned())
}

#[test]
fn num_samples_accepts_counts_and_all_only() {
    assert_eq!(parse_list_args("num_samples = 0").unwrap(), args(0));
    assert_eq!(parse_list_args("num_samples = 3").unwrap(), args(3));
    assert_eq!(
        parse_list_args("num_samples = \"all\"").unwrap(),
        ListArgs::new(NumSamples::All)
    );
    let neg = parse_list_args("num_samples = -1").unwrap_err();
    assert!(neg.contains("got -1"), "{neg}");
    let word = parse_list_args("num_samples = \"ALL\"").unwrap_err();
    assert!(word.contains("\"ALL\""), "{word}");
    let float = parse_list_args("num_samples = 1.5").unwrap_err();
    assert!(float.contains("float 1.5"), "{float}");
    let boolean = parse_list_args("num_samples = true").unwrap_err();
    assert!(boolean.contains("boolean"), "{boolean}");
    let missing = parse_list_args("").unwrap_err();
    assert!(missing.contains("missing field `num_samples`"), "{missing}");
    let unknown = parse_list_args("num_samples = 1\nnum_sample = 2").unwrap_err();
    assert!(unknown.contains("unknown field `num_sample`"), "{unknown}");
    assert_eq!(NumSamples::Count(10).clamp(4), 4);
    assert_eq!(NumSamples::Count(2).clamp(4), 2);
    assert_eq!(NumSamples::All.clamp(4), 4);
}
