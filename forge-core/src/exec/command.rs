//! [`CommandTool`]: a tool that runs a command line (docs/programs.md §5), without a shell.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How much of a failed command's stderr an error keeps (its end).
const STDERR_TAIL: usize = 2000;

/// A tool that runs a command: the captured text on its stdin, its stdout (UTF-8) is the
/// result.
///
/// The command line is split into words as a POSIX shell would (spaces separate words;
/// `'…'` is literal; `"…"` keeps spaces and honours `\"`, `\\`, `` \` `` and `\$`; a
/// backslash outside quotes escapes the next character) but nothing is expanded: no
/// variables, globs, pipes or redirections, and no shell runs. A non-zero exit, a timeout
/// (the process is killed) or output that is not UTF-8 is a [`CommandToolError`] naming the
/// tool, the command and the tail of its stderr.
///
/// ```no_run
/// use std::time::Duration;
/// use forge::exec::{CommandTool, Tools};
///
/// let upper = CommandTool::new("upper", "tr a-z A-Z", Duration::from_secs(60))?;
/// assert_eq!(upper.call("hello")?, "HELLO");
/// let mut tools = Tools::new(["upper"]);
/// tools.add("upper", move |input: &str| upper.call(input))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CommandTool {
    name: String,
    line: String,
    words: Vec<String>,
    timeout: Duration,
}

impl CommandTool {
    /// The tool `name` running `command_line`, killed after `timeout`. Fails if the line is
    /// empty or has an unterminated quote.
    pub fn new(
        name: impl Into<String>,
        command_line: &str,
        timeout: Duration,
    ) -> Result<CommandTool, CommandLineError> {
        let words = split_words(command_line)?;
        Ok(CommandTool {
            name: name.into(),
            line: command_line.to_owned(),
            words,
            timeout,
        })
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command's words: the program, then its arguments.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Run the command with `input` on its stdin; its stdout is the result.
    pub fn call(&self, input: &str) -> Result<String, CommandToolError> {
        let fail = |kind, stderr: &[u8]| CommandToolError {
            tool: self.name.clone(),
            command: self.line.clone(),
            kind,
            stderr_tail: tail(stderr),
        };
        let mut command = Command::new(&self.words[0]);
        // Its own process group, so a timeout kills what it started too (a script's `sleep`
        // would otherwise hold the output pipes open).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(&self.words[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(FailureKind::Spawn(e.to_string()), b""))?;
        // Feed stdin and drain both pipes on threads, so no pipe fills up and blocks.
        let stdin = child.stdin.take().map(|mut pipe| {
            let input = input.to_owned();
            thread::spawn(move || {
                // A command that exits without reading its input closes the pipe: not an error.
                let _ = pipe.write_all(input.as_bytes());
            })
        });
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let status = wait(&mut child, self.timeout);
        if let Some(t) = stdin {
            let _ = t.join();
        }
        let out = stdout.map(join).unwrap_or_default();
        let err = stderr.map(join).unwrap_or_default();
        match status {
            Err(e) => Err(fail(FailureKind::Spawn(e.to_string()), &err)),
            Ok(None) => Err(fail(FailureKind::Timeout(self.timeout), &err)),
            Ok(Some(status)) if !status.success() => Err(fail(
                FailureKind::Exit(status.code().map_or_else(
                    || "killed by a signal".to_owned(),
                    |c| format!("exit status {c}"),
                )),
                &err,
            )),
            Ok(Some(_)) => String::from_utf8(out).map_err(|e| {
                fail(
                    FailureKind::NotUtf8 {
                        at: e.utf8_error().valid_up_to(),
                    },
                    &err,
                )
            }),
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn join(handle: thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    handle.join().unwrap_or_default()
}

/// Wait for `child` at most `timeout`; `Ok(None)` after killing it on a timeout.
fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Option<std::process::ExitStatus>> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let spent = start.elapsed();
        if spent >= timeout {
            #[cfg(unix)]
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(pause.min(timeout - spent));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The last [`STDERR_TAIL`] bytes of `stderr` (lossy UTF-8, trimmed).
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim_end();
    let mut start = text.len().saturating_sub(STDERR_TAIL);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = if start > 0 { "…" } else { "" };
    format!("{cut}{}", &text[start..])
}

/// How a command tool failed (displayed as the end of [`CommandToolError`]'s sentence).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureKind {
    /// The command could not be started (or waited for).
    #[error("could not run: {0}")]
    Spawn(String),
    /// It exited unsuccessfully (`exit status N`, or killed by a signal).
    #[error("failed with {0}")]
    Exit(String),
    /// It ran longer than its timeout and was killed.
    #[error(
        "ran longer than {:.1} s and was killed (raise --tool-timeout if it needs more)",
        .0.as_secs_f64()
    )]
    Timeout(Duration),
    /// Its stdout is not UTF-8 from this byte on.
    #[error("wrote output that is not UTF-8 (at byte {at})")]
    NotUtf8 {
        /// The first byte that is not UTF-8.
        at: usize,
    },
}

/// A command tool failed: the tool, its command, why, and the end of its stderr.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("command `{command}` of tool `{tool}` {kind}{}", stderr_note(.stderr_tail))]
#[non_exhaustive]
pub struct CommandToolError {
    /// The tool's name.
    pub tool: String,
    /// The command line as given.
    pub command: String,
    /// Why.
    pub kind: FailureKind,
    /// The end of its stderr (may be empty).
    pub stderr_tail: String,
}

/// `; its stderr ends: …`, or that it is empty.
fn stderr_note(tail: &str) -> String {
    if tail.is_empty() {
        "; its stderr is empty".to_owned()
    } else {
        format!("; its stderr ends: {tail}")
    }
}

/// A command line that cannot be split into words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandLineError {
    /// No words at all.
    #[error("the command line is empty")]
    Empty,
    /// A quote opened at byte `at` is never closed.
    #[error("the {quote} quote at byte {at} of the command line is never closed")]
    Unterminated {
        /// `single` or `double`.
        quote: &'static str,
        /// Where it opens.
        at: usize,
    },
    /// The line ends with a lone backslash.
    #[error("the command line ends with a lone backslash")]
    TrailingBackslash,
}

/// Split `line` into words like a POSIX shell, without any expansion.
pub fn split_words(line: &str) -> Result<Vec<String>, CommandLineError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => w.push(c),
                        None => {
                            return Err(CommandLineError::Unterminated {
                                quote: "single",
                                at: i,
                            });
                        }
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.peek() {
                            Some(&(_, e @ ('"' | '\\' | '$' | '`'))) => {
                                w.push(e);
                                chars.next();
                            }
                            Some(&(_, '\n')) => {
                                chars.next();
                            }
                            _ => w.push('\\'),
                        },
                        Some((_, c)) => w.push(c),
                        None => {
                            return Err(CommandLineError::Unterminated {
                                quote: "double",
                                at: i,
                            });
                        }
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((_, c)) => word.get_or_insert_with(String::new).push(c),
                None => return Err(CommandLineError::TrailingBackslash),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    if words.is_empty() {
        return Err(CommandLineError::Empty);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn words_split_like_a_shell_without_expansion() {
        assert_eq!(split("tr a-z A-Z"), ["tr", "a-z", "A-Z"]);
        assert_eq!(split("  a   b\tc\n"), ["a", "b", "c"]);
        assert_eq!(
            split("echo 'a b' \"c d\" e\\ f"),
            ["echo", "a b", "c d", "e f"]
        );
        assert_eq!(split("x'a'\"b\"c"), ["xabc"]);
        assert_eq!(
            split("echo $HOME *.rs `id`"),
            ["echo", "$HOME", "*.rs", "`id`"]
        );
        assert_eq!(split(r#""a\"b\\c\$d\n""#), [r#"a"b\c$d\n"#]);
        assert_eq!(split("'it''s'"), ["its"]);
        assert_eq!(split("'' x"), ["", "x"]);
        assert_eq!(split("a | b > c"), ["a", "|", "b", ">", "c"]);
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(split_words("  "), Err(CommandLineError::Empty));
        assert_eq!(
            split_words("echo 'x"),
            Err(CommandLineError::Unterminated {
                quote: "single",
                at: 5
            })
        );
        assert_eq!(
            split_words("a \"b"),
            Err(CommandLineError::Unterminated {
                quote: "double",
                at: 2
            })
        );
        assert_eq!(split_words("a\\"), Err(CommandLineError::TrailingBackslash));
    }

    #[test]
    fn stderr_tail_keeps_the_end() {
        let long = "x".repeat(5000) + "the end\n";
        let t = tail(long.as_bytes());
        assert!(t.starts_with('…') && t.ends_with("the end"));
        assert!(t.len() <= STDERR_TAIL + '…'.len_utf8());
        assert_eq!(tail(b""), "");
    }
}
