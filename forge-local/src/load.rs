//! Loading a GGUF file: the network and the tokenizer from one file.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use candle_core::quantized::gguf_file;

use crate::{Error, Llama, Tokenizer};

/// A GGUF model and its tokenizer, shared by the generators that use it.
pub struct LocalModel {
    /// The network.
    pub llama: Llama,
    /// The tokenizer from the same file.
    pub tokenizer: Tokenizer,
}

impl LocalModel {
    /// Load a GGUF file. Errors name the file and the missing or malformed key or tensor.
    pub fn load(path: impl AsRef<Path>) -> Result<LocalModel, Error> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|e| Error::Model(format!("cannot open {}: {e}", path.display())))?;
        LocalModel::from_reader(&mut BufReader::new(file)).map_err(|e| e.in_file(path))
    }

    /// Load a GGUF model from any reader (a file, or bytes in memory).
    pub fn from_reader<R: Read + Seek>(reader: &mut R) -> Result<LocalModel, Error> {
        let content = gguf_file::Content::read(reader).map_err(|e| {
            Error::format(format!("not a readable GGUF file: {}", crate::plain(&e)))
        })?;
        let tokenizer = Tokenizer::from_gguf(&content)?;
        let llama = Llama::load(&content, reader)?;
        if tokenizer.vocab_size() > llama.config().vocab {
            return Err(Error::format(format!(
                "the tokenizer has {} tokens but the embeddings only {}",
                tokenizer.vocab_size(),
                llama.config().vocab
            )));
        }
        Ok(LocalModel { llama, tokenizer })
    }
}
