//! JSON text written by hand where `serde_json` would be the bottleneck: dataset lines. The
//! bytes are exactly `serde_json`'s (tested), so a line can be produced either way.

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // Most numbers in a line (zone, visit, token and request counts) have one or two digits:
    // no loop, no copy of a variable length.
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
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

/// Appends `s` as a JSON string: `"`, its escaped contents, `"`.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// Appends the contents of `s` as they stand between the quotes of a JSON string: the bytes
/// to escape are found 8 at a time, and the runs between them copied whole. Escaping is
/// byte-wise, so the escape of a concatenation is the concatenation of the escapes.
pub(crate) fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
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
}

/// The contents of `s` as they stand between the quotes of a JSON string.
pub(crate) fn escaped(s: &str) -> Box<str> {
    let mut out = Vec::with_capacity(s.len());
    push_escaped(&mut out, s);
    String::from_utf8(out)
        .expect("escaping keeps UTF-8 valid")
        .into_boxed_str()
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
            let want = serde_json::to_string(case).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{case:?}");
            assert_eq!(&*escaped(case), &want[1..want.len() - 1], "{case:?}");
        }
        // Escaping is byte-wise: split anywhere on a character boundary, the parts' escapes
        // concatenate to the whole's.
        for case in &cases {
            for (cut, _) in case.char_indices() {
                let (a, b) = case.split_at(cut);
                assert_eq!(
                    format!("{}{}", escaped(a), escaped(b)),
                    *escaped(case),
                    "{case:?} cut at {cut}"
                );
            }
        }
        let mut out = Vec::new();
        for n in [0u64, 7, 9, 10, 42, 99, 100, 101, 12345, u64::MAX] {
            out.clear();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
