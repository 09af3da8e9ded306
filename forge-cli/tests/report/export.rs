//! `forge export`: rows of a run file and of a dataset, as JSON Lines and Parquet. The files
//! stay in `CARGO_TARGET_TMPDIR/report/export-rows` for `.ci/check_export.py` (pyarrow).

use std::collections::BTreeMap;

use forge_core::run::RunReader;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::*;

/// Each Parquet row as `column=value` strings (the parquet crate's own display of a field).
fn parquet_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    assert!(reader.metadata().num_row_groups() >= 1);
    reader
        .into_iter()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(name, field)| (name.clone(), field.to_string()))
                .collect()
        })
        .collect()
}

fn jsonl_rows(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn export_rows() {
    let dir = scratch("report", "export-rows");
    let bytes = run_bytes(6);
    std::fs::write(dir.join("run.jsonl"), &bytes).unwrap();

    // The expected extraction lists, read through the library.
    let mut lists = serde_json::Map::new();
    let mut joined = serde_json::Map::new();
    for line in RunReader::new(&bytes[..]).unwrap() {
        let line = line.unwrap();
        let Ok(t) = &line.outcome else { continue };
        let q = t
            .extraction("q")
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        let tt = t
            .extraction("t")
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        lists.insert(
            line.index.to_string(),
            serde_json::json!({ "index": line.index, "seed": 7, "q": q, "t": tt }),
        );
        joined.insert(
            line.index.to_string(),
            serde_json::json!({ "q": q.join(" | "), "t": tt.join(" | "), "text": t.text }),
        );
    }
    assert_eq!(lists.len(), 5, "stream 5 failed");

    // JSON Lines, lists: one row per finished stream.
    let run = forge_in(
        &dir,
        &[
            "export",
            "run.jsonl",
            "--format",
            "jsonl",
            "--out",
            "rows.jsonl",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stderr,
        "wrote `rows.jsonl`: 5 rows (1 failed streams left out)\n"
    );
    let rows = jsonl_rows(&dir.join("rows.jsonl"));
    let indices: Vec<u64> = rows.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
    assert_eq!(
        rows[2]["q"],
        serde_json::json!([" q body2.0 [A]", " q body2.1 [A]"])
    );
    assert_eq!(rows[3]["q"], serde_json::json!([" q odd3 [A]"]));
    assert_eq!(rows[0]["t"].as_array().unwrap().len(), 1);
    assert_eq!(rows[1]["t"], serde_json::json!([]));
    for r in &rows {
        assert_eq!(r, &lists[&r["index"].to_string()]);
        assert!(r.get("text").is_none());
    }

    // Parquet, lists.
    let run = forge_in(
        &dir,
        &[
            "export",
            "run.jsonl",
            "--format",
            "parquet",
            "--out",
            "rows.parquet",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = parquet_rows(&dir.join("rows.parquet"));
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[2]["index"], "2");
    assert_eq!(rows[2]["seed"], "7");
    assert_eq!(rows[2]["q"], "[\" q body2.0 [A]\", \" q body2.1 [A]\"]");
    assert_eq!(rows[1]["t"], "[]");

    // Parquet, joined, with the text.
    let run = forge_in(
        &dir,
        &[
            "export",
            "run.jsonl",
            "--format",
            "parquet",
            "--out",
            "joined.parquet",
            "--join",
            " | ",
            "--text",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = parquet_rows(&dir.join("joined.parquet"));
    assert_eq!(rows[2]["q"], "\" q body2.0 [A] |  q body2.1 [A]\"");
    assert!(rows[3]["text"].contains(" odd3 [A]"), "{:?}", rows[3]);

    // A dataset: samples, the tagged zones' sampled texts.
    let w = workflow();
    let header = forge_core::dataset::Header::new(&w, 3);
    let mut data = header.to_line().into_bytes();
    forge_core::dataset::write_range(&w, &header, 0..4, 1, |_| Bindings::new(), &mut data, |_| {})
        .unwrap();
    std::fs::write(dir.join("dataset.jsonl"), data).unwrap();
    let run = forge_in(
        &dir,
        &[
            "export",
            "dataset.jsonl",
            "--format",
            "parquet",
            "--out",
            "dataset.parquet",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "wrote `dataset.parquet`: 4 rows\n");
    let rows = parquet_rows(&dir.join("dataset.parquet"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["seed"], "3");
    let mut dataset = serde_json::Map::new();
    for i in 0..4u64 {
        dataset.insert(
            i.to_string(),
            serde_json::json!({ "index": i, "seed": 3, "t": [" t"] }),
        );
    }
    // `q` zones: the loop body's and the `otherwise` branch's, one sampled text each.
    assert_eq!(rows[0]["q"], "[\" q\", \" q\"]");
    assert_eq!(rows[0]["t"], "[\" t\"]");
    let run = forge_in(
        &dir,
        &[
            "export",
            "dataset.jsonl",
            "--out",
            "dataset.jsonl.out",
            "--text",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = jsonl_rows(&dir.join("dataset.jsonl.out"));
    assert!(
        rows[0]["text"].as_str().unwrap().contains("[P] more?"),
        "{rows:?}"
    );

    let expected = serde_json::json!({ "lists": lists, "joined": joined, "dataset": dataset });
    std::fs::write(dir.join("expected.json"), expected.to_string()).unwrap();

    // Bad input: a torn file exports the rows before the cut and exits 1.
    std::fs::write(dir.join("torn.jsonl"), &bytes[..bytes.len() - 7]).unwrap();
    let run = forge_in(&dir, &["export", "torn.jsonl", "--out", "torn.out"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("`torn.jsonl` line 7: the line is incomplete")
            && run.stderr.contains("the rows before it were written"),
        "{run:#?}"
    );
    assert_eq!(jsonl_rows(&dir.join("torn.out")).len(), 5);
    std::fs::write(dir.join("empty.jsonl"), "").unwrap();
    let run = forge_in(&dir, &["export", "empty.jsonl", "--out", "empty.out"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("the file is empty"), "{run:#?}");
}
