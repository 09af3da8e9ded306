//! UDPL: parse and lint prompt documents.

mod declared;
mod load;
mod model;
pub(crate) mod names;
mod parse;
pub(crate) mod skeleton;
mod strings;
mod text;

pub use declared::*;
pub use load::{SourceFile, read_document};
pub use model::*;
pub use names::{is_identifier, pascal_case, snake_case};
pub use parse::{
    Error, Origin, Parsed, parse_dir, parse_embedded, parse_file, parse_files, parse_path,
    parse_sources, parse_str,
};
