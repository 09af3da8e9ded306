//! The runner: many streams against one generator, with bounded concurrency (blocking, no
//! async runtime needed).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::iter::Fuse;
use std::sync::Arc;
use std::time::Instant;

use super::automaton::{Automaton, Step};
use super::error::{
    ErrorKind, FatalError, RunError, SharedError, StreamError, StreamResult, ZoneRef,
};
use super::generator::{Completion, Generator, RequestId, Sampling, StreamId};
use super::plan::Plan;
use super::retry::{RetryPolicy, RetryQueue};
use super::tool_calls::{ToolCalls, ToolOutcome};
use super::tools::Tools;
use crate::program::{SampledWorkflow, SharedStr};

/// How a run samples and how hard it pushes the generator.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// The most requests in flight at once (the generator's own
    /// [`capacity`](Generator::capacity) also bounds it). Also the most streams alive at once:
    /// memory grows with live transcripts, not with the size of the run. Default 256.
    pub max_in_flight: usize,
    /// How every request samples: one [`Sampling`], checked once by [`Runner::new`] with
    /// [`Sampling::validate`]. Its `seed` is the run seed: request `n` of `stream` gets
    /// [`request_seed`]`(seed, stream, n)`. Default [`Sampling::default`] (greedy, seed 0).
    pub sampling: Sampling,
    /// A cap on every zone's token budget (`None`: each zone's own `max_gen_tokens`).
    pub max_tokens: Option<u32>,
    /// The most zone visits a stream may make before it fails with
    /// [`ErrorKind::VisitLimit`]: a loop the model never leaves would otherwise run forever.
    /// Default 100,000.
    pub max_visits: usize,
    /// How the runner retries a failed request before its stream fails, for a generator that
    /// has no [`Generator::retry_policy`] of its own ([`Scripted`], [`FnGenerator`]); an engine
    /// that has one (forge-http, forge-local) applies it itself and this one is not used. Default [`RetryPolicy::default`] (two retries, 200 ms then 400 ms).
    ///
    /// [`Scripted`]: super::Scripted
    /// [`FnGenerator`]: super::FnGenerator
    pub retry: RetryPolicy,
    /// When the server's context runs out in the middle of a zone
    /// ([`End::ContextFull`](super::End::ContextFull)): `false` (the default) fails the stream
    /// with [`ErrorKind::ContextFull`](super::ErrorKind::ContextFull); `true` closes the zone,
    /// records it as [`ZoneEnd::ContextFull`](super::ZoneEnd::ContextFull), and goes on.
    pub continue_on_full_context: bool,
    /// The most tool calls running at once. Tools run off the runner's thread, on up to this
    /// many worker threads started as calls need them, so a slow tool (a command that takes a
    /// minute) holds up its own stream only; further calls wait for a free worker, in call
    /// order. A tool's result is taken up at the generator's next completion, or at once
    /// when no request is in flight. Default 16.
    pub max_tool_calls: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_in_flight: 256,
            sampling: Sampling::default(),
            max_tokens: None,
            max_visits: 100_000,
            retry: RetryPolicy::default(),
            continue_on_full_context: false,
            max_tool_calls: 16,
        }
    }
}

/// Run options that make no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid run options: {0}")]
pub struct InvalidOptions(pub String);

/// The seed of the `n`-th request (from 0) of `stream` in a run seeded with `run_seed`:
/// `h(h(run_seed ⊕ h(stream + 1)) ⊕ n)` with `h` the SplitMix64 finalizer. A retried request
/// keeps its seed; streams and requests get independent-looking seeds, and the same run seed
/// gives the same seeds whatever the concurrency and completion order.
pub fn request_seed(run_seed: u64, stream: StreamId, n: u32) -> u64 {
    mix(mix(run_seed ^ mix(u64::from(stream.0) + 1)) ^ u64::from(n))
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Executes sampled workflows (one stream each, any mix of workflows) against a
/// [`Generator`], calling [`Tools`].
///
/// ```
/// use forge::exec::{RunOptions, Runner, Scripted};
/// # use forge::{program::Program, resources::Bindings};
/// # let doc = forge::udpl::parse_str(r#"
/// # [config]
/// # zone_patterns = ["[Q]", "[A]"]
/// # required_patterns = ["[Q]"]
/// # valid_tags = ["Answer"]
/// # default_max_token_length = 20
/// # sequences = ["ask"]
/// # control_pattern = "[J]"
/// # escape_patterns = ["[E]", "[/E]"]
/// # [[ask]]
/// # text = "[Q] Capital of France? "
/// # tags = [["Answer"]]
/// # "#, "ask.toml")?.document;
/// # let mut program = Program::new(doc, Bindings::new())?;
/// # program.run("ask")?.extract("answer", &["Answer"])?;
/// # let workflow = program.compile()?;
/// // `workflow`: one zone `[Q] Capital of France? ` that the model ends with `[A]`.
/// let samples = (0..2).map(|s| workflow.sample_seeded(Bindings::new(), s)).collect::<Result<Vec<_>, _>>()?;
/// let mut generator = Scripted::new([["Paris [A] and more"], ["Lyon? [A]"]]);
/// let mut results = Runner::new(RunOptions::default())?.run(&mut generator, samples)?;
/// let first = results.remove(0)?;
/// assert_eq!(first.text, "[Q] Capital of France? Paris [A]");
/// assert_eq!(first.extraction("answer").unwrap(), [" Capital of France? Paris [A]"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Runner {
    options: RunOptions,
    tools: Tools,
}

impl Runner {
    /// A runner with these options and no tools.
    pub fn new(options: RunOptions) -> Result<Runner, InvalidOptions> {
        if options.max_in_flight == 0 {
            return Err(InvalidOptions("`max_in_flight` must be at least 1".into()));
        }
        if options.max_tool_calls == 0 {
            return Err(InvalidOptions("`max_tool_calls` must be at least 1".into()));
        }
        options.sampling.validate().map_err(InvalidOptions)?;
        if options.max_tokens == Some(0) {
            return Err(InvalidOptions(
                "`max_tokens` must be at least 1 (or `None`)".into(),
            ));
        }
        Ok(Runner {
            options,
            tools: Tools::default(),
        })
    }

    /// Use these tools for output zones.
    pub fn with_tools(mut self, tools: Tools) -> Runner {
        self.tools = tools;
        self
    }

    /// The run's options.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Run every workflow to its end and return the results in stream order (stream `i` is
    /// the `i`-th workflow). A failing stream is an `Err` in its place; a fatal generator
    /// error stops the run and returns [`RunError`], which keeps every finished result.
    pub fn run<G: Generator>(
        &self,
        generator: &mut G,
        workflows: impl IntoIterator<Item = SampledWorkflow>,
    ) -> Result<Vec<StreamResult>, RunError> {
        let mut exec = self.execute(generator, workflows);
        let mut results: Vec<StreamResult> = exec.by_ref().collect();
        results.sort_by_key(|r| stream_of(r).0);
        match exec.fatal.take() {
            Some(fatal) => Err(RunError { fatal, results }),
            None => Ok(results),
        }
    }

    /// Run lazily: an iterator over each stream's result as soon as the stream finishes (in
    /// finishing order). Workflows are drawn from `workflows` only as streams are started, so
    /// a run over a lazily sampled iterator holds only the live streams in memory. After a
    /// fatal generator error, the iterator yields the running streams as
    /// [`ErrorKind::Interrupted`] and ends; [`Execution::fatal`] tells why.
    pub fn execute<'r, G, I>(
        &'r self,
        generator: &'r mut G,
        workflows: I,
    ) -> Execution<'r, G, I::IntoIter>
    where
        G: Generator,
        I: IntoIterator,
        I::Item: StreamInput,
    {
        let limit = self.options.max_in_flight.min(generator.capacity().max(1));
        Execution {
            runner: self,
            generator,
            input: workflows.into_iter().fuse(),
            next_stream: 0,
            limit,
            live: HashMap::default(),
            in_flight: 0,
            ids: 0,
            plans: HashMap::new(),
            pinned: Vec::new(),
            ready: VecDeque::new(),
            retries: RetryQueue::default(),
            completions: Vec::new(),
            tool_calls: ToolCalls::new(self.options.max_tool_calls),
            fatal: None,
            finished: false,
            skip: None,
            hold: None,
        }
    }
}

/// What [`Runner::execute`] runs: a sampled workflow (the stream is numbered by its position
/// in the input), or a workflow with its stream id (e.g. its index in a dataset, so that its
/// requests get the seeds [`request_seed`]`(seed, index, n)` wherever the run starts).
pub trait StreamInput {
    /// The workflow, and the stream id to give it (`None`: its position in the input). Ids
    /// must be distinct within a run.
    fn into_stream(self) -> (Option<StreamId>, SampledWorkflow);
}

impl StreamInput for SampledWorkflow {
    fn into_stream(self) -> (Option<StreamId>, SampledWorkflow) {
        (None, self)
    }
}

impl StreamInput for (StreamId, SampledWorkflow) {
    fn into_stream(self) -> (Option<StreamId>, SampledWorkflow) {
        (Some(self.0), self.1)
    }
}

fn stream_of(r: &StreamResult) -> StreamId {
    match r {
        Ok(t) => t.stream,
        Err(e) => e.stream,
    }
}

/// Hashes stream ids, which are distinct small integers, by a multiplication (no SipHash:
/// the ids are not attacker-chosen).
#[derive(Default)]
struct StreamHasher(u64);

impl Hasher for StreamHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// How a stream ended.
enum Ending {
    Finished,
    /// The automaton cannot go on (it knows why).
    Stuck,
    Error(ErrorKind),
}

struct Live {
    automaton: Automaton,
    /// The request in flight (or awaiting a retry).
    request: RequestId,
    /// Requests made so far (the next request's number).
    made: u32,
    /// Failed attempts of the current request.
    attempts: u32,
}

/// A plan, or why streams of its workflow cannot start.
type PlanEntry = Result<Arc<Plan>, (Option<ZoneRef>, ErrorKind)>;

/// A run in progress: an iterator over each stream's result as it finishes. See
/// [`Runner::execute`].
pub struct Execution<'r, G: Generator, I> {
    runner: &'r Runner,
    generator: &'r mut G,
    input: Fuse<I>,
    next_stream: u32,
    limit: usize,
    live: HashMap<u32, Live, BuildHasherDefault<StreamHasher>>,
    in_flight: usize,
    ids: u64,
    plans: HashMap<usize, PlanEntry>,
    /// Metadata of workflows whose plan failed, kept so their address is not reused.
    pinned: Vec<Arc<crate::program::WorkflowMeta>>,
    ready: VecDeque<StreamResult>,
    /// Requests to submit again, by the runner's [`RetryPolicy`].
    retries: RetryQueue,
    completions: Vec<Completion<G::Error>>,
    /// Tool calls running off this thread.
    tool_calls: ToolCalls,
    fatal: Option<FatalError>,
    finished: bool,
    /// Streams not to run (already written by an earlier, interrupted run).
    skip: Option<Box<dyn FnMut(StreamId) -> bool + 'r>>,
    /// While this says so, no stream is started (e.g. a writer's reorder window is full).
    hold: Option<Box<dyn FnMut() -> bool + 'r>>,
}

impl<G: Generator, I> fmt::Debug for Execution<'_, G, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Execution")
            .field("started", &self.next_stream)
            .field("live", &self.live.len())
            .field("in_flight", &self.in_flight)
            .field("fatal", &self.fatal)
            .finish_non_exhaustive()
    }
}

impl<'r, G: Generator, I> Execution<'r, G, I>
where
    I: Iterator,
    I::Item: StreamInput,
{
    /// Resume an interrupted run: streams for which `done` is true are drawn from the input
    /// (so every other stream keeps its id and its seeds) but neither run nor yielded.
    ///
    /// Give the run the same workflows in the same order as the interrupted one, and the ids
    /// of the results it wrote.
    pub fn skipping(mut self, done: impl FnMut(StreamId) -> bool + 'r) -> Self {
        self.skip = Some(Box::new(done));
        self
    }

    /// Start no stream while `hold()` returns true (asked before each stream is drawn from the
    /// input). It is not asked while no stream is alive and no result waits to be yielded, so
    /// a hold never stalls the run:
    /// use it for back-pressure that live streams relieve (a writer's reorder window).
    pub fn holding(mut self, hold: impl FnMut() -> bool + 'r) -> Self {
        self.hold = Some(Box::new(hold));
        self
    }

    /// Why the run stopped early, once it has.
    pub fn fatal(&self) -> Option<&FatalError> {
        self.fatal.as_ref()
    }

    /// Streams started so far.
    pub fn started(&self) -> u32 {
        self.next_stream
    }

    /// How many results [`next`](Iterator::next) yields without waiting on the generator
    /// (0 when the next call may block). A writer batches what is ready and writes it before
    /// the run waits again, so no finished result sits in a buffer while the model works.
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    fn start_streams(&mut self) {
        while self.live.len() < self.limit {
            let busy = !self.live.is_empty() || !self.ready.is_empty();
            if busy && self.hold.as_mut().is_some_and(|hold| hold()) {
                return;
            }
            let Some(input) = self.input.next() else {
                return;
            };
            let (id, sample) = input.into_stream();
            let stream = id.unwrap_or(StreamId(self.next_stream));
            self.next_stream += 1;
            if self.skip.as_mut().is_some_and(|done| done(stream)) {
                continue;
            }
            let plan = match self.plan(&sample) {
                Ok(plan) => plan,
                Err((zone, kind)) => {
                    self.ready.push_back(Err(StreamError {
                        stream,
                        zone,
                        kind,
                        partial: None,
                    }));
                    continue;
                }
            };
            match Automaton::new(plan, sample, stream) {
                Ok(mut automaton) => {
                    automaton.limit_visits(self.runner.options.max_visits);
                    automaton
                        .continue_on_full_context(self.runner.options.continue_on_full_context);
                    let live = Live {
                        automaton,
                        request: RequestId(0),
                        made: 0,
                        attempts: 0,
                    };
                    self.live.insert(stream.0, live);
                    self.drive(stream.0);
                }
                Err(e) => self.ready.push_back(Err(e)),
            }
        }
    }

    fn plan(&mut self, sample: &SampledWorkflow) -> PlanEntry {
        let key = Arc::as_ptr(sample.shared_meta()) as usize;
        if let Some(entry) = self.plans.get(&key) {
            return entry.clone();
        }
        let entry = match Plan::new(sample, self.runner.options.max_tokens) {
            Err(why) => Err((None, ErrorKind::InvalidWorkflow(why))),
            Ok(plan) => match plan
                .tools()
                .into_iter()
                .find(|(_, t)| !self.runner.tools.contains(t))
            {
                Some((zone, tool)) => Err((
                    Some(ZoneRef::new(zone, &plan.meta().zones[zone.index()])),
                    ErrorKind::ToolNotRegistered {
                        tool,
                        registered: self.runner.tools.names(),
                    },
                )),
                None => Ok(plan),
            },
        };
        // The plan (or the error) keeps the metadata alive, so the key cannot be reused.
        if entry.is_err() {
            // Pin the metadata for the error entry too.
            self.pinned.push(sample.shared_meta().clone());
        }
        self.plans.insert(key, entry.clone());
        entry
    }

    /// Advance a live stream until it waits for the generator or a tool, or ends.
    fn drive(&mut self, stream: u32) {
        let Some(live) = self.live.get_mut(&stream) else {
            return;
        };
        let tools = &self.runner.tools;
        let ended = match live.automaton.step() {
            Step::Generate => {
                let id = RequestId(self.ids);
                self.ids += 1;
                let sampling = sampling(&self.runner.options, StreamId(stream), live.made);
                live.made += 1;
                live.attempts = 0;
                live.request = id;
                self.generator.submit(live.automaton.request(id, sampling));
                self.in_flight += 1;
                None
            }
            Step::Tool { name, input } => match tools.get(name) {
                Some(tool) => {
                    let (name, input) = (SharedStr::from(name), input.to_owned());
                    self.tool_calls.call(stream, name, tool, input);
                    None
                }
                None => Some(Ending::Error(ErrorKind::ToolNotRegistered {
                    tool: SharedStr::from(name),
                    registered: tools.names(),
                })),
            },
            Step::Finished => Some(Ending::Finished),
            Step::Failed => Some(Ending::Stuck),
        };
        if let Some(ending) = ended {
            self.end(stream, ending);
        }
    }

    /// Hand a finished tool call to its stream (if it is still running) and advance it.
    fn tool_done(&mut self, stream: u32, tool: SharedStr, outcome: ToolOutcome) {
        let Some(live) = self.live.get_mut(&stream) else {
            return;
        };
        match outcome {
            Ok(result) => {
                live.automaton.tool_result(result);
                self.drive(stream);
            }
            Err(e) => self.end(
                stream,
                Ending::Error(ErrorKind::Tool {
                    tool,
                    source: Arc::from(e),
                }),
            ),
        }
    }

    /// Remove a stream and queue its result.
    fn end(&mut self, stream: u32, ending: Ending) {
        let Some(live) = self.live.remove(&stream) else {
            return;
        };
        let result = match ending {
            Ending::Finished => Ok(live.automaton.finish()),
            Ending::Stuck => Err(live.automaton.fail(None)),
            Ending::Error(kind) => Err(live.automaton.fail(Some(kind))),
        };
        self.generator.release(StreamId(stream));
        self.ready.push_back(result);
    }

    fn complete(&mut self, c: Completion<G::Error>) {
        let known = self
            .live
            .get(&c.stream.0)
            .is_some_and(|l| l.request == c.id && !self.retries.holds(c.stream.0));
        if !known {
            self.abort(FatalError::Protocol(format!(
                "it completed request {} of {}, which had no such request in flight",
                c.id.0, c.stream
            )));
            return;
        }
        self.in_flight -= 1;
        match c.result {
            Ok(reply) => {
                if let Some(live) = self.live.get_mut(&c.stream.0) {
                    live.automaton.reply(reply);
                }
                self.drive(c.stream.0);
            }
            Err(e) => {
                let policy = if self.generator.retry_policy().is_some() {
                    RetryPolicy::NONE
                } else {
                    self.runner.options.retry
                };
                let Some(live) = self.live.get_mut(&c.stream.0) else {
                    return;
                };
                live.attempts += 1;
                if !self
                    .retries
                    .failed(&policy, c.stream.0, live.attempts, Instant::now())
                {
                    let attempts = live.attempts;
                    self.end(
                        c.stream.0,
                        Ending::Error(ErrorKind::Generator {
                            attempts,
                            source: Arc::new(e),
                        }),
                    );
                }
            }
        }
    }

    /// Submit again the requests whose backoff has passed.
    fn resubmit_due(&mut self) {
        for stream in self.retries.take_due(Instant::now()) {
            let Some(live) = self.live.get_mut(&stream) else {
                continue;
            };
            let id = RequestId(self.ids);
            self.ids += 1;
            live.request = id;
            let sampling = sampling(&self.runner.options, StreamId(stream), live.made - 1);
            self.generator.submit(live.automaton.request(id, sampling));
            self.in_flight += 1;
        }
    }

    /// Stop the run: every live stream is interrupted.
    fn abort(&mut self, fatal: FatalError) {
        let shared: SharedError = Arc::new(fatal.clone());
        let mut streams: Vec<u32> = self.live.keys().copied().collect();
        streams.sort_unstable();
        for stream in streams {
            self.end(
                stream,
                Ending::Error(ErrorKind::Interrupted(shared.clone())),
            );
        }
        self.retries.clear();
        self.fatal = Some(fatal);
        self.finished = true;
    }
}

/// The sampling of request `n` of `stream`: the run's, with the request's seed.
fn sampling(options: &RunOptions, stream: StreamId, n: u32) -> Sampling {
    Sampling {
        seed: request_seed(options.sampling.seed, stream, n),
        ..options.sampling
    }
}

impl<G: Generator, I> Iterator for Execution<'_, G, I>
where
    I: Iterator,
    I::Item: StreamInput,
{
    type Item = StreamResult;

    fn next(&mut self) -> Option<StreamResult> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            if self.finished {
                return None;
            }
            self.start_streams();
            if !self.ready.is_empty() {
                continue;
            }
            if self.live.is_empty() {
                self.finished = true;
                continue;
            }
            self.resubmit_due();
            if let Some((stream, tool, outcome)) = self.tool_calls.try_take() {
                self.tool_done(stream, tool, outcome);
                continue;
            }
            if self.in_flight == 0 {
                let retry = self.retries.next_due();
                if self.tool_calls.pending() > 0 {
                    // Only tools are running: wait for one (or for the next retry).
                    if let Some((stream, tool, outcome)) = self.tool_calls.take(retry) {
                        self.tool_done(stream, tool, outcome);
                    }
                    continue;
                }
                match retry {
                    Some(at) => std::thread::sleep(at.saturating_duration_since(Instant::now())),
                    None => self.abort(FatalError::Protocol(
                        "streams wait for replies but no request is in flight".into(),
                    )),
                }
                continue;
            }
            let mut completions = std::mem::take(&mut self.completions);
            if let Err(e) = self.generator.wait(&mut completions) {
                self.completions = completions;
                self.abort(FatalError::Generator(Arc::new(e)));
                continue;
            }
            if completions.is_empty() {
                self.completions = completions;
                self.abort(FatalError::Protocol(format!(
                    "`wait` returned no completion while {} requests were in flight",
                    self.in_flight
                )));
                continue;
            }
            for c in completions.drain(..) {
                if self.finished {
                    break;
                }
                self.complete(c);
            }
            completions.clear();
            self.completions = completions;
        }
    }
}
