//! Progress of `forge run` on stderr: a bar on a terminal, otherwise a log line every
//! `--log-every` seconds (a batch job's log shows the run going).

use std::io::IsTerminal;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use forge_core::exec::StreamError;
use forge_core::run::{Progress, Summary};

/// The latest summary, and whether the run is over (one lock: no lost wake-up), with the
/// condition the logger waits on.
type Shared = Arc<(Mutex<(Option<Summary>, bool)>, Condvar)>;

/// The run's progress, drawn or logged.
pub(super) struct Report {
    bar: Option<indicatif::ProgressBar>,
    latest: Shared,
    logger: Option<JoinHandle<()>>,
}

impl Report {
    /// `total` streams to run; without a terminal, a log line every `every` (never if 0).
    pub(super) fn new(total: u64, every: Duration) -> Report {
        let latest: Shared = Arc::new((Mutex::new((None, false)), Condvar::new()));
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} streams · {msg} · {elapsed_precise} · ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("0 failed");
            return Report {
                bar: Some(bar),
                latest,
                logger: None,
            };
        }
        let logger = (!every.is_zero()).then(|| {
            let latest = Arc::clone(&latest);
            std::thread::spawn(move || {
                let (lock, wake) = &*latest;
                let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if guard.1 {
                        return;
                    }
                    guard = wake
                        .wait_timeout(guard, every)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    if guard.1 {
                        return;
                    }
                    match &guard.0 {
                        Some(s) => eprintln!("{}", line(s, total)),
                        None => eprintln!("forge run: 0/{total} streams written, starting"),
                    }
                }
            })
        });
        Report {
            bar: None,
            latest,
            logger,
        }
    }

    /// Prints a line above the bar (or plainly).
    pub(super) fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Clears the bar and stops the log.
    pub(super) fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.latest.0.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.latest.1.notify_all();
        if let Some(logger) = self.logger.take() {
            let _ = logger.join();
        }
    }
}

/// One log line: counts, rate, and the zone ends so far.
fn line(s: &Summary, total: u64) -> String {
    format!(
        "forge run: {}/{total} streams written ({} finished, {} failed), {} in flight, \
         {} tokens, {:.0} tokens/s, {:.0} s",
        s.written(),
        s.finished,
        s.failed,
        s.in_flight,
        s.tokens,
        s.tokens_per_second(),
        s.elapsed.as_secs_f64()
    )
}

impl Progress for &Report {
    fn update(&mut self, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.set_position(summary.written());
            bar.set_message(format!(
                "{} failed · {} in flight · {:.0} tokens/s",
                summary.failed,
                summary.in_flight,
                summary.tokens_per_second()
            ));
        } else {
            self.latest.0.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(summary.clone());
        }
    }

    fn failed(&mut self, index: u64, error: &StreamError) {
        let _ = index;
        self.println(&format!("failed: {error}"));
    }
}
