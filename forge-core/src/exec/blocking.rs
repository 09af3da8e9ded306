//! [`FnGenerator`]: a generator from a blocking function.

use std::collections::VecDeque;
use std::error::Error as StdError;

use super::generator::{Completion, Generator, Reply, Request};

/// A [`Generator`] from a blocking function `FnMut(&Request) -> Result<Reply, E>`: for users
/// who have a function that continues text and no queue. One request is in flight at a time;
/// `wait` runs the function on it.
///
/// ```
/// use forge::exec::{End, FnGenerator, Reply};
///
/// // A "model" that closes every zone at once (the stop set's first pattern is the zone's
/// // advance pattern at escape depth 0).
/// let generator = FnGenerator::new(|request: &forge::exec::Request| {
///     let stop = request.stop()[0].to_string();
///     Ok::<_, std::io::Error>(Reply { text: stop, tokens: 1, end: End::Stop(0) })
/// });
/// # let _ = generator;
/// ```
pub struct FnGenerator<F> {
    f: F,
    pending: VecDeque<Request>,
}

impl<F> FnGenerator<F> {
    /// Wrap `f`.
    pub fn new<E>(f: F) -> FnGenerator<F>
    where
        F: FnMut(&Request) -> Result<Reply, E> + Send,
        E: StdError + Send + Sync + 'static,
    {
        FnGenerator {
            f,
            pending: VecDeque::new(),
        }
    }
}

impl<F> std::fmt::Debug for FnGenerator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnGenerator")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<F, E> Generator for FnGenerator<F>
where
    F: FnMut(&Request) -> Result<Reply, E> + Send,
    E: StdError + Send + Sync + 'static,
{
    type Error = E;

    fn submit(&mut self, request: Request) {
        self.pending.push_back(request);
    }

    fn wait(&mut self, out: &mut Vec<Completion<E>>) -> Result<(), E> {
        if let Some(request) = self.pending.pop_front() {
            let result = (self.f)(&request);
            out.push(Completion {
                id: request.id(),
                stream: request.stream(),
                result,
            });
        }
        Ok(())
    }
}
