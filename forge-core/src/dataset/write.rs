//! Writing sample lines.

use std::io::Write;
use std::ops::Range;

use super::Header;
use crate::program::{RangeError, SampledWorkflow, Workflow};
use crate::resources::Bindings;

/// Appends sample `index` of the dataset with `seed` as one line (`\n` included) to `out`:
/// `{"index":I,"seed":S,"zones":[...],"extractions":{"name":[...],...}}`, strings escaped as
/// `serde_json` escapes them (the same bytes).
pub fn encode_sample(index: u64, seed: u64, sample: &SampledWorkflow, out: &mut Vec<u8>) {
    out.reserve(sample.text().len() + sample.len() * 4 + 64);
    out.extend_from_slice(b"{\"index\":");
    push_u64(out, index);
    out.extend_from_slice(b",\"seed\":");
    push_u64(out, seed);
    out.extend_from_slice(b",\"zones\":[");
    for (i, z) in sample.zones().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, z.text());
    }
    out.extend_from_slice(b"],\"extractions\":{");
    for (i, e) in sample.extractions().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, &e.name);
        out.extend_from_slice(b":[");
        for (j, &z) in e.zones.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            push_str(out, sample.zone(z).text());
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}}\n");
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// A mask with the high bit of every byte of `w` that is zero, exactly (no carry crosses
/// bytes).
fn zero_bytes(w: u64) -> u64 {
    !(((w & LOW7) + LOW7) | w | LOW7)
}

/// The bytes of `w` (little-endian) that JSON strings escape — control characters (< 0x20),
/// `"` and `\\` — as the high bit of each such byte, exactly.
fn escape_mask(w: u64) -> u64 {
    let control = !(((w & LOW7) + LOW * (0x80 - 0x20)) | w) & HIGH;
    control | zero_bytes(w ^ (LOW * u64::from(b'"'))) | zero_bytes(w ^ (LOW * u64::from(b'\\')))
}

/// Appends `s` as a JSON string: the bytes to escape are found 8 at a time, and the runs
/// between them copied whole.
fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut mask = escape_mask(u64::from_le_bytes(word));
        while mask != 0 {
            let j = i + (mask.trailing_zeros() / 8) as usize;
            out.extend_from_slice(&bytes[start..j]);
            push_escape(out, bytes[j]);
            start = j + 1;
            mask &= mask - 1;
        }
        i += 8;
    }
    for (j, &b) in bytes.iter().enumerate().skip(i) {
        if b < 0x20 || b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[start..j]);
            push_escape(out, b);
            start = j + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The escape of one special byte, as `serde_json` writes it.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

/// Samples in one write to the output (per thread buffer, about 64 KiB for the representative
/// workflow).
const BATCH: u64 = 32;

/// Samples indices `range` of the dataset `header` describes (`header.seed`) on `threads`
/// threads and writes their lines to `out` in index order (the header line is not written:
/// a new file starts with [`Header::to_line`]). Each thread encodes its samples into its own
/// reusable buffer; the buffers are written in index order, so the bytes do not depend on
/// `threads`. `progress(done)` is called after each write with the number of samples written
/// so far by this call.
///
/// Stops at the first failing sample or write, in index order: every line before it has been
/// written (and `out` flushed), nothing after it.
pub fn write_range<B, W>(
    workflow: &Workflow,
    header: &Header,
    range: Range<u64>,
    threads: usize,
    args: impl Fn(u64) -> B + Sync,
    out: &mut W,
    mut progress: impl FnMut(u64) + Send,
) -> Result<(), RangeError<std::io::Error>>
where
    B: Into<Bindings>,
    W: Write + Send + ?Sized,
{
    let seed = header.seed;
    let start = range.start;
    let result = workflow.sample_range_batched(
        seed,
        range,
        threads,
        BATCH,
        args,
        |i, sample, buf: &mut Vec<u8>| {
            encode_sample(i, seed, sample, buf);
            Ok(())
        },
        |batch, buf| {
            let written = out.write_all(buf);
            buf.clear();
            written?;
            progress(batch.end - start);
            Ok(())
        },
    );
    let flushed = out.flush();
    result?;
    flushed.map_err(|error| RangeError::Callback {
        index: start,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain text longer than eight bytes".into(),
            "quote \" backslash \\ newline \n tab \t cr \r".into(),
            "\u{8}\u{c}\u{0}\u{1f}\u{7f} é ∑ 🦀 \"\"\\\\".into(),
        ];
        // Every byte value below 0x80 at every offset of an 8-byte word.
        for b in 0u8..0x80 {
            for pad in 0..9 {
                cases.push(format!(
                    "{}{}{}",
                    "x".repeat(pad),
                    b as char,
                    "y".repeat(9 - pad)
                ));
            }
        }
        // Multi-byte characters (bytes >= 0x80) next to escapes at every offset.
        for special in ['"', '\\', '\n', '\u{1}', 'a'] {
            for pad in 0..9 {
                cases.push(format!(
                    "{}{special}é🦀{special}{}",
                    "é".repeat(pad),
                    "∑".repeat(pad)
                ));
            }
        }
        for case in &cases {
            let mut out = Vec::new();
            push_str(&mut out, case);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(case).unwrap(),
                "{case:?}"
            );
        }
        let mut out = Vec::new();
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            out.clear();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
