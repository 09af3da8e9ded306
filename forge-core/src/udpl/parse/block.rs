//! Blocks: their keys, `text`, `tags`/`tagset`/`repeats`, and the tag lists.

use std::fmt;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::config::ConfigView;
use super::placeholder::{ResourceTable, Spec};
use super::source::{At, Linter, Span};
use super::value::describe;
use crate::udpl::model::{Block, Zone};
use crate::udpl::names::did_you_mean;
use crate::udpl::strings::StrMap;
use crate::udpl::text::{Patterns, analyze};

const BLOCK_KEYS: &[&str] = &["text", "tags", "tagset", "repeats", "max_gen_tokens"];

/// `repeats` above this is a warning.
const REPEATS_WARN: u64 = 100;

impl<'s> Linter<'s> {
    /// The blocks of one sequence (a `[[name]]` array of tables).
    pub(super) fn sequence(
        &mut self,
        name: &str,
        at: At<'_, 's>,
        config: &ConfigView,
        resources: &mut ResourceTable,
    ) -> Vec<Block> {
        let DeValue::Array(blocks) = at.value.get_ref() else {
            return Vec::new();
        };
        if blocks.is_empty() {
            self.error(
                at.file,
                at.value.span(),
                format!("sequence `{name}` has no blocks"),
            )
            .label("empty array")
            .help(format!(
                "add at least one `[[{name}]]` block with `text` and `tags`"
            ));
            return Vec::new();
        }
        let mut out = Vec::new();
        for (index, el) in blocks.iter().enumerate() {
            if let DeValue::Table(table) = el.get_ref()
                && let Some(b) =
                    self.block(name, index, at.file, el.span(), table, config, resources)
            {
                out.push(b);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        seq: &str,
        index: usize,
        file: usize,
        header: Span,
        table: &DeTable<'s>,
        config: &ConfigView,
        resources: &mut ResourceTable,
    ) -> Option<Block> {
        let errors_before = self.error_count();
        let mut text: Option<(String, Span)> = None;
        let mut tags: Option<(Vec<Vec<String>>, Span)> = None;
        let mut tagset: Option<(Vec<Vec<Vec<String>>>, Span)> = None;
        let mut tagset_key: Option<Span> = None;
        let mut repeats: Option<(u64, Span)> = None;
        let mut max_gen: Option<u64> = None;
        let mut specs: Vec<Spec> = Vec::new();
        let what = BlockName(index + 1, seq);

        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            match (key, v.get_ref()) {
                ("text", DeValue::String(s)) => text = Some((s.to_string(), v.span())),
                ("text", other) => {
                    self.error(file, v.span(), format!("`text` of {what} must be a string"))
                        .label(format!("found {}", describe(other)));
                }
                ("tags", _) => {
                    tags = self
                        .tag_lists(file, v, config, "tags")
                        .map(|t| (t, v.span()));
                }
                ("tagset", val) => {
                    tagset_key = Some(k.span());
                    match val {
                        DeValue::Array(arr) if arr.is_empty() => {
                            self.error(file, v.span(), "`tagset` must not be empty")
                                .label("no entries")
                                .help("give one tag list per instance, or use `tags` for a single instance");
                        }
                        DeValue::Array(arr) => {
                            let mut all = Vec::new();
                            let mut ok = true;
                            for entry in arr.iter() {
                                match self.tag_lists(file, entry, config, "tagset") {
                                    Some(t) => all.push(t),
                                    None => ok = false,
                                }
                            }
                            if ok {
                                tagset = Some((all, v.span()));
                            }
                        }
                        other => {
                            self.error(file, v.span(), "`tagset` must be an array of tag lists")
                                .label(format!("found {}", describe(other)));
                        }
                    }
                }
                ("repeats", _) => {
                    if let Some(n) = self.positive_int(file, "repeats", v) {
                        repeats = Some((n, v.span()));
                    }
                }
                ("max_gen_tokens", _) => max_gen = self.positive_int(file, "max_gen_tokens", v),
                (_, DeValue::Table(spec)) => {
                    specs.push(self.spec(seq, key, k.span(), file, v.span(), spec));
                }
                _ => {
                    let help = did_you_mean(key, BLOCK_KEYS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            format!(
                                "block keys are {}; a placeholder spec is a table `[{seq}.{key}]`",
                                BLOCK_KEYS.join(", ")
                            )
                        });
                    self.error(file, k.span(), format!("unknown key `{key}` in {what}"))
                        .label("unknown key")
                        .help(help);
                }
            }
        }

        let has_tags_key = table.iter().any(|(k, _)| k.get_ref() == "tags");
        if !table.iter().any(|(k, _)| k.get_ref() == "text") {
            self.error(file, header.clone(), format!("{what} has no `text`"))
                .label("this block")
                .help("add `text = \"\"\"[Prompt] ...\"\"\"`");
        }
        match (has_tags_key, tagset_key.clone()) {
            (true, Some(span)) => {
                self.error(file, span, format!("{what} has both `tags` and `tagset`"))
                    .label("remove one")
                    .help("use `tags` for one instance or `tagset` for one instance per entry");
            }
            (false, None) => {
                let n = config.zone.as_ref().map_or(2, Vec::len);
                let example = vec!["[]"; n.saturating_sub(1)].join(", ");
                self.error(
                    file,
                    header.clone(),
                    format!("{what} has neither `tags` nor `tagset`"),
                )
                .label("this block")
                .help(format!(
                    "add `tags = [{example}]` (one list per zone after the first)"
                ));
            }
            _ => {}
        }
        if let (Some((_, span)), Some(_)) = (&repeats, &tagset_key) {
            self.error(
                file,
                span.clone(),
                "`repeats` applies only to blocks with `tags`",
            )
            .label("not allowed with `tagset`")
            .help(
                "a `tagset` block is already instantiated once per entry; repeat entries instead",
            );
        }
        if let Some((n, span)) = &repeats
            && *n > REPEATS_WARN
        {
            self.warning(
                file,
                span.clone(),
                format!("`repeats = {n}` is unusually large (over {REPEATS_WARN})"),
            )
            .label("many instances")
            .help("every instance is fed to the model; check this is intended");
        }

        // Text analysis and placeholder/spec matching.
        let mut zones_out = Vec::new();
        let mut placeholders = Vec::new();
        let mut text_location = self.location(file, header.start);
        if let Some((text, span)) = &text {
            text_location = self.location(file, span.start);
            let map = StrMap::new(self.sources[file].text, span.clone(), text);
            // With broken config patterns, still scan braces and placeholders (no zone split).
            let no_patterns: &[String] = &[];
            let (zone, split) = match (&config.zone, config.patterns_ok) {
                (Some(zone), true) => (zone.as_slice(), true),
                _ => (no_patterns, false),
            };
            let patterns = Patterns {
                zone,
                required: &config.required,
                control: if split { &config.control } else { "" },
                escape_open: if split { &config.escape[0] } else { "" },
                escape_close: if split { &config.escape[1] } else { "" },
            };
            let analysis = analyze(text, &patterns);
            for issue in analysis.issues {
                let sp = match issue.range {
                    Some(r) => map.source_offset(r.start)..map.source_end(r.end),
                    None => span.clone(),
                };
                let d = self.push(issue.severity, file, sp, issue.message);
                let d = match issue.label {
                    Some(l) => d.label(l),
                    None => d,
                };
                d.help_opt(issue.help);
            }
            zones_out = analysis.zones;
            placeholders =
                self.placeholders(seq, file, &specs, &analysis.placeholders, &map, resources);
        }

        if self.error_count() > errors_before {
            return None;
        }
        let (text, _) = text?;
        let zone_patterns = config.zone.as_ref()?;
        let n = zone_patterns.len();
        let instances: Vec<Vec<Vec<String>>> = match (tags, tagset) {
            (Some((t, _)), None) => {
                let inst = with_head(t);
                let r = repeats.map_or(1, |(n, _)| n);
                (0..r).map(|_| inst.clone()).collect()
            }
            (None, Some((ts, _))) => ts.into_iter().map(with_head).collect(),
            _ => return None,
        };
        let max_gen_tokens = max_gen.unwrap_or(config.default_max);
        let zones = zones_out
            .into_iter()
            .enumerate()
            .map(|(i, segments)| Zone {
                index: i,
                segments,
                advance: zone_patterns[i].clone(),
                max_gen_tokens,
            })
            .collect::<Vec<_>>();
        if zones.len() != n {
            return None;
        }
        Some(Block {
            index,
            text,
            location: text_location,
            zones,
            instances,
            placeholders,
        })
    }

    /// `[[..], [..]]`: one tag list per zone after the first.
    fn tag_lists(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
        config: &ConfigView,
        key: &str,
    ) -> Option<Vec<Vec<String>>> {
        let DeValue::Array(outer) = v.get_ref() else {
            self.error(
                file,
                v.span(),
                format!("`{key}` must be an array of tag lists"),
            )
            .label(format!("found {}", describe(v.get_ref())))
            .help("for example `tags = [[], [\"Training\"]]`");
            return None;
        };
        let mut ok = true;
        if let Some(zones) = &config.zone {
            let want = zones.len() - 1;
            if outer.len() != want {
                let example = vec!["[]"; want].join(", ");
                let d = self
                    .error(
                        file,
                        v.span(),
                        format!(
                            "expected {want} tag list{} (one per zone after the first), found {}",
                            if want == 1 { "" } else { "s" },
                            outer.len()
                        ),
                    )
                    .label("wrong number of tag lists");
                d.help(format!(
                    "write `{key} = [{example}]` with tags in the lists as needed"
                ));
                ok = false;
            }
        }
        let mut lists = Vec::new();
        for inner in outer.iter() {
            let DeValue::Array(arr) = inner.get_ref() else {
                self.error(
                    file,
                    inner.span(),
                    "each tag list must be an array of tag names",
                )
                .label(format!("found {}", describe(inner.get_ref())))
                .help("wrap it in brackets, e.g. [\"Training\"]");
                ok = false;
                continue;
            };
            lists.push(self.tag_list(file, arr, config).unwrap_or_else(|| {
                ok = false;
                Vec::new()
            }));
        }
        ok.then_some(lists)
    }

    fn tag_list(
        &mut self,
        file: usize,
        arr: &DeArray<'s>,
        config: &ConfigView,
    ) -> Option<Vec<String>> {
        let mut ok = true;
        let mut out: Vec<String> = Vec::new();
        for el in arr.iter() {
            let DeValue::String(tag) = el.get_ref() else {
                self.error(file, el.span(), "tags must be strings")
                    .label(format!("found {}", describe(el.get_ref())));
                ok = false;
                continue;
            };
            if let Some(valid) = &config.tags
                && !valid.iter().any(|t| t == tag.as_ref())
            {
                let help = did_you_mean(tag, valid.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        if valid.is_empty() {
                            "`config.valid_tags` is empty; add the tag there".into()
                        } else {
                            format!(
                                "valid tags are: {}; or add it to `config.valid_tags`",
                                valid.join(", ")
                            )
                        }
                    });
                self.error(file, el.span(), format!("unknown tag `{tag}`"))
                    .label("not in `config.valid_tags`")
                    .help(help);
                ok = false;
                continue;
            }
            if out.iter().any(|t| t == tag.as_ref()) {
                self.error(
                    file,
                    el.span(),
                    format!("duplicate tag `{tag}` in one tag list"),
                )
                .label("duplicate")
                .help("list each tag once");
                ok = false;
                continue;
            }
            out.push(tag.to_string());
        }
        ok.then_some(out)
    }
}

/// "block N of `seq`", formatted only when a message needs it.
#[derive(Clone, Copy)]
struct BlockName<'a>(usize, &'a str);

impl fmt::Display for BlockName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {} of `{}`", self.0, self.1)
    }
}

/// Prefix a tag list (zones 1..N) with the empty tag list of zone 0.
fn with_head(t: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(t.len() + 1);
    out.push(Vec::new());
    out.extend(t);
    out
}
