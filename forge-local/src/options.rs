//! How a [`LocalGenerator`](crate::LocalGenerator) runs.

/// How a [`LocalGenerator`](crate::LocalGenerator) runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Threads for the matrix work; `None` uses every core.
    pub threads: Option<usize>,
    /// How many requests (streams) the generator takes in flight at once.
    pub capacity: usize,
    /// The most context tokens one stream processes in one step.
    pub prefill_chunk: usize,
    /// The most tokens one step processes over all streams (at least one chunk goes through).
    pub step_tokens: usize,
}

impl Default for Options {
    /// All cores, 16 streams, chunks of 256 tokens, 512 tokens per step.
    fn default() -> Options {
        Options {
            threads: None,
            capacity: 16,
            prefill_chunk: 256,
            step_tokens: 512,
        }
    }
}
