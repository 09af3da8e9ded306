//! Reading GGUF metadata values, with errors that name the key.

use candle_core::quantized::gguf_file::{Content, Value};

use crate::Error;

/// The value of `key`, if the file has it.
pub(crate) fn optional<'a>(content: &'a Content, key: &str) -> Option<&'a Value> {
    content.metadata.get(key)
}

/// The value of `key`, or an error naming the missing key.
pub(crate) fn required<'a>(content: &'a Content, key: &str) -> Result<&'a Value, Error> {
    optional(content, key).ok_or_else(|| Error::format(format!("the GGUF metadata has no `{key}`")))
}

/// An unsigned integer (stored as u32 or u64).
pub(crate) fn required_usize(content: &Content, key: &str) -> Result<usize, Error> {
    let value = required(content, key)?;
    let n = value
        .to_u64()
        .or_else(|_| value.to_u32().map(u64::from))
        .map_err(|e| {
            Error::format(format!(
                "`{key}` is not an unsigned integer: {}",
                crate::plain(&e)
            ))
        })?;
    usize::try_from(n).map_err(|_| Error::format(format!("`{key}` is too large: {n}")))
}

/// A float, or `default` when the key is absent.
pub(crate) fn optional_f32(content: &Content, key: &str, default: f32) -> Result<f32, Error> {
    match optional(content, key) {
        None => Ok(default),
        Some(value) => value
            .to_f32()
            .map_err(|e| Error::format(format!("`{key}` is not a float: {}", crate::plain(&e)))),
    }
}

/// A u32, if the key is present.
pub(crate) fn optional_u32(content: &Content, key: &str) -> Result<Option<u32>, Error> {
    match optional(content, key) {
        None => Ok(None),
        Some(v) => v
            .to_u32()
            .map(Some)
            .map_err(|e| Error::format(format!("`{key}`: {}", crate::plain(&e)))),
    }
}

/// An array of strings.
pub(crate) fn string_array(content: &Content, key: &str) -> Result<Vec<String>, Error> {
    let values = required(content, key)?
        .to_vec()
        .map_err(|e| Error::format(format!("`{key}`: {}", crate::plain(&e))))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.to_string()
                .cloned()
                .map_err(|e| Error::format(format!("`{key}[{i}]`: {}", crate::plain(&e))))
        })
        .collect()
}
