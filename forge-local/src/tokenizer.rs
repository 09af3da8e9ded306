//! The model's tokenizer, built from the GGUF metadata (no `tokenizer.json`, no download).
//!
//! Supported: byte-level BPE (`tokenizer.ggml.model = "gpt2"`) with the pre-tokenizers
//! `smollm` (every digit alone, then GPT-2's split) and `gpt2`/`default` (GPT-2's split). The
//! vocabulary comes from `tokenizer.ggml.tokens`, the merges from `tokenizer.ggml.merges`, the
//! special tokens from `tokenizer.ggml.token_type` (type 3, control, and 4, user-defined: such
//! a token's text in the context encodes to the token, as llama.cpp does), and BOS/EOS from
//! `tokenizer.ggml.{bos,eos}_token_id`. A BOS token starts every context when
//! `tokenizer.ggml.add_bos_token` is true.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{self, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

use crate::Error;
use crate::gguf::{self, optional_u32, string_array};

/// Byte-level BPE tokenizer of a GGUF model.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// The bytes each token stands for.
    bytes: Vec<Vec<u8>>,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
}

/// GPT-2's map from the printable characters of byte-level BPE back to bytes.
fn byte_level_chars() -> HashMap<char, u8> {
    let mut map = HashMap::with_capacity(256);
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, 33..=126 | 161..=172 | 174..=255);
        let c = if printable {
            char::from(b)
        } else {
            extra += 1;
            char::from_u32(255 + extra).expect("below 512 is a valid char")
        };
        map.insert(c, b);
    }
    map
}

impl Tokenizer {
    /// Build the tokenizer from GGUF metadata. Fails naming the key when the metadata is
    /// missing, malformed or describes an unsupported tokenizer.
    pub fn from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, Error> {
        let model = match gguf::optional(content, "tokenizer.ggml.model") {
            Some(v) => v
                .to_string()
                .map_err(|e| {
                    Error::format(format!("`tokenizer.ggml.model`: {}", crate::plain(&e)))
                })?
                .clone(),
            None => {
                return Err(Error::format(
                    "the GGUF metadata has no `tokenizer.ggml.model`",
                ));
            }
        };
        if model != "gpt2" {
            return Err(Error::format(format!(
                "tokenizer `{model}` is not supported; only byte-level BPE (`gpt2`) is"
            )));
        }
        let pre = match gguf::optional(content, "tokenizer.ggml.pre") {
            Some(v) => v
                .to_string()
                .map_err(|e| Error::format(format!("`tokenizer.ggml.pre`: {}", crate::plain(&e))))?
                .clone(),
            None => "default".to_owned(),
        };
        let byte_level = ByteLevel::new(false, true, true);
        let pre_tokenizer: PreTokenizerWrapper = match pre.as_str() {
            "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
            "gpt2" | "default" => byte_level.into(),
            other => {
                return Err(Error::format(format!(
                    "pre-tokenizer `{other}` is not supported (supported: smollm, gpt2, default)"
                )));
            }
        };
        let tokens = string_array(content, "tokenizer.ggml.tokens")?;
        let merges = string_array(content, "tokenizer.ggml.merges")?;
        let types: Vec<i64> = match gguf::optional(content, "tokenizer.ggml.token_type") {
            None => vec![1; tokens.len()],
            Some(v) => v
                .to_vec()
                .map_err(|e| {
                    Error::format(format!("`tokenizer.ggml.token_type`: {}", crate::plain(&e)))
                })?
                .iter()
                .map(|t| match t {
                    Value::I32(x) => Ok(i64::from(*x)),
                    Value::U32(x) => Ok(i64::from(*x)),
                    Value::I8(x) => Ok(i64::from(*x)),
                    Value::U8(x) => Ok(i64::from(*x)),
                    _ => Err(Error::format(
                        "`tokenizer.ggml.token_type` holds a non-integer",
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        if types.len() != tokens.len() {
            return Err(Error::format(format!(
                "`tokenizer.ggml.token_type` has {} entries for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let mut vocab = tokenizers::models::bpe::Vocab::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            vocab.entry(token.clone()).or_insert(id as u32);
        }
        let mut pairs = Vec::with_capacity(merges.len());
        for (i, merge) in merges.iter().enumerate() {
            let (a, b) = merge.split_once(' ').ok_or_else(|| {
                Error::format(format!(
                    "`tokenizer.ggml.merges[{i}]` = {merge:?} has no space"
                ))
            })?;
            pairs.push((a.to_owned(), b.to_owned()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, pairs)
            .build()
            .map_err(|e| Error::format(format!("the BPE vocabulary and merges: {e}")))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, t)| matches!(t, 3 | 4))
            .map(|(s, _)| AddedToken::from(s.clone(), true))
            .collect();
        inner.add_special_tokens(&special);
        let chars = byte_level_chars();
        let bytes = tokens
            .iter()
            .zip(&types)
            .map(|(s, t)| match t {
                3 | 4 => s.as_bytes().to_vec(),
                _ => s
                    .chars()
                    .map(|c| chars.get(&c).copied())
                    .collect::<Option<Vec<u8>>>()
                    .unwrap_or_else(|| s.as_bytes().to_vec()),
            })
            .collect();
        let bos = optional_u32(content, "tokenizer.ggml.bos_token_id")?;
        let eos = optional_u32(content, "tokenizer.ggml.eos_token_id")?;
        let add_bos = match gguf::optional(content, "tokenizer.ggml.add_bos_token") {
            Some(v) => v.to_bool().map_err(|e| {
                Error::format(format!(
                    "`tokenizer.ggml.add_bos_token`: {}",
                    crate::plain(&e)
                ))
            })?,
            None => false,
        };
        for (name, id) in [("bos", bos), ("eos", eos)] {
            if let Some(id) = id.filter(|&id| id as usize >= tokens.len()) {
                return Err(Error::format(format!(
                    "`tokenizer.ggml.{name}_token_id` = {id} is outside the vocabulary of {} tokens",
                    tokens.len()
                )));
            }
        }
        Ok(Tokenizer {
            inner,
            bytes,
            bos,
            eos,
            add_bos: add_bos && bos.is_some(),
        })
    }

    /// The tokens of `text`, without BOS.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| Error::internal(format!("tokenizing: {e}")))
    }

    /// The tokens the model sees for a context: BOS (when the model wants one), then `text`.
    pub fn encode_context(&self, text: &str) -> Result<Vec<u32>, Error> {
        let mut ids = Vec::new();
        if self.add_bos {
            ids.extend(self.bos);
        }
        ids.extend(self.encode(text)?);
        Ok(ids)
    }

    /// The text of `ids` (special tokens as their text; invalid UTF-8 as U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.token_bytes(id));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes token `id` stands for (empty outside the vocabulary).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// How many tokens the vocabulary holds.
    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }

    /// The beginning-of-sequence token, if the model has one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the model has one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Whether every context starts with BOS.
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }
}
