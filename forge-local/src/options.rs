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
    /// Whether streams whose contexts start with the same tokens share the keys and values of
    /// that prefix: waiting requests that share at least
    /// [`MIN_SHARED_PREFIX`](crate::MIN_SHARED_PREFIX) tokens have them processed once, and
    /// later requests reuse what the prefix cache kept.
    pub share_prefixes: bool,
    /// The most memory, in bytes, the prefix cache keeps for later requests (least recently
    /// used prefixes go first). Streams already forked from a prefix keep it alive whatever
    /// the budget; 0 keeps nothing, and sharing then only serves requests that wait together.
    pub prefix_cache_bytes: usize,
}

impl Default for Options {
    /// All cores, 16 streams, chunks of 256 tokens, 512 tokens per step, prefixes shared,
    /// a prefix cache of 256 MiB (SmolLM2-135M: about 5,800 tokens of keys and values).
    fn default() -> Options {
        Options {
            threads: None,
            capacity: 16,
            prefill_chunk: 256,
            step_tokens: 512,
            share_prefixes: true,
            prefix_cache_bytes: 256 << 20,
        }
    }
}
