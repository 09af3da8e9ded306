//! The [`Generator`] contract, served by the scheduler.

use forge_core::exec::{Completion, Generator, Request, RetryPolicy, StreamId};

use crate::{Error, LocalGenerator};

impl Generator for LocalGenerator {
    type Error = Error;

    fn capacity(&self) -> usize {
        self.options.capacity
    }

    fn submit(&mut self, request: Request) {
        match self.start(&request) {
            Ok(Some(active)) => self.active.push(active),
            Ok(None) => {}
            Err(error) => self.fail(request.id(), request.stream(), error),
        }
    }

    fn wait(&mut self, out: &mut Vec<Completion<Error>>) -> Result<(), Error> {
        while self.done.is_empty() && !self.active.is_empty() {
            self.step()?;
        }
        out.append(&mut self.done);
        Ok(())
    }

    fn release(&mut self, stream: StreamId) {
        self.streams.remove(&stream);
    }

    /// No retry: a request fails here for a reason another attempt would meet again (its
    /// context does not fit the model, the forward pass failed).
    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(RetryPolicy::NONE)
    }
}
