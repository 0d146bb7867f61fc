//! [`FileSource`]: JSON lines from a file or stdin, one message per line, in order.
//!
//! The message id is the 1-based line number. Blank lines are skipped but counted, so ids always match
//! the line an editor shows. A line longer than [`MAX_BODY_BYTES`] is cut just past the limit (the rest
//! is skipped without being stored), so the dispatcher rejects it for its size instead of the reader
//! buffering an unbounded line. Settling does nothing: a replay has no locks.
//!
//! stdin is read on a blocking thread, one line per receive (tokio's async stdin is not built in).

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

use super::{Delivery, MessageId, NoLock, Polled, Source, SourceError};
use crate::events::limits::MAX_BODY_BYTES;

/// A replay file (or stdin) as a [`Source`].
pub struct FileSource {
    what: String,
    state: Mutex<Reader>,
}

struct Reader {
    input: Input,
    line: u64,
}

enum Input {
    Async(Box<dyn AsyncBufRead + Send + Unpin>),
    /// The process's stdin (its buffer is global, so nothing is lost between lines).
    Stdin,
}

impl Input {
    async fn next_line(&mut self, keep: usize) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            Self::Async(input) => read_line(input.as_mut(), keep).await,
            Self::Stdin => tokio::task::spawn_blocking(move || read_line_blocking(&mut std::io::stdin().lock(), keep))
                .await
                .map_err(std::io::Error::other)?,
        }
    }
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource").field("what", &self.what).finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens `path` (`-` = stdin).
    pub async fn open(path: &str) -> Result<Self, SourceError> {
        if path == "-" {
            return Ok(Self { what: "stdin".into(), state: Mutex::new(Reader { input: Input::Stdin, line: 0 }) });
        }
        let what = format!("file '{path}'");
        match tokio::fs::File::open(Path::new(path)).await {
            Ok(file) => Ok(Self::from_reader(&what, BufReader::new(file))),
            Err(source) => Err(SourceError::Io { what, source }),
        }
    }

    /// Reads lines from `input`, described as `what` in errors.
    pub fn from_reader(what: &str, input: impl AsyncBufRead + Send + Unpin + 'static) -> Self {
        Self { what: what.to_string(), state: Mutex::new(Reader { input: Input::Async(Box::new(input)), line: 0 }) }
    }
}

#[async_trait::async_trait]
impl Source for FileSource {
    async fn receive(&self, _wait: Duration) -> Result<Polled, SourceError> {
        let mut reader = self.state.lock().await;
        loop {
            let line = reader
                .input
                .next_line(MAX_BODY_BYTES + 1)
                .await
                .map_err(|source| SourceError::Io { what: format!("{} after line {}", self.what, reader.line), source })?;
            let Some(line) = line else { return Ok(Polled::Exhausted) };
            reader.line += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Polled::Message(Delivery::new(MessageId::Line(reader.line), line, 1, Box::new(NoLock))));
        }
    }

    fn describe(&self) -> String {
        self.what.clone()
    }
}

/// The next line without its `\n` / `\r\n`, keeping at most `keep` bytes; `None` at end of input.
async fn read_line(input: &mut (dyn AsyncBufRead + Send + Unpin), keep: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = LineBuf::new(keep);
    loop {
        let chunk = input.fill_buf().await?;
        let (used, done) = line.feed(chunk);
        input.consume(used);
        if done {
            return Ok(line.finish());
        }
    }
}

/// [`read_line`] for a blocking reader.
fn read_line_blocking(input: &mut dyn BufRead, keep: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = LineBuf::new(keep);
    loop {
        let chunk = input.fill_buf()?;
        let (used, done) = line.feed(chunk);
        input.consume(used);
        if done {
            return Ok(line.finish());
        }
    }
}

/// One line being assembled from buffered chunks.
struct LineBuf {
    out: Vec<u8>,
    keep: usize,
    seen: bool,
}

impl LineBuf {
    fn new(keep: usize) -> Self {
        Self { out: Vec::new(), keep, seen: false }
    }

    /// Takes what belongs to this line from `chunk` (empty = end of input): (bytes used, line done).
    fn feed(&mut self, chunk: &[u8]) -> (usize, bool) {
        if chunk.is_empty() {
            return (0, true);
        }
        self.seen = true;
        let newline = chunk.iter().position(|b| *b == b'\n');
        let take = newline.map_or(chunk.len(), |i| i + 1);
        let room = self.keep.saturating_sub(self.out.len());
        self.out.extend_from_slice(&chunk[..take.min(room)]);
        (take, newline.is_some())
    }

    /// The line without its terminator; `None` when the input had ended before it.
    fn finish(mut self) -> Option<Vec<u8>> {
        if !self.seen {
            return None;
        }
        if self.out.last() == Some(&b'\n') {
            self.out.pop();
        }
        if self.out.last() == Some(&b'\r') {
            self.out.pop();
        }
        Some(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn drain(source: &FileSource) -> Vec<(MessageId, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            match source.receive(Duration::ZERO).await.unwrap() {
                Polled::Message(d) => {
                    assert!(!d.needs_renewal());
                    d.park("x").await.unwrap();
                    out.push((d.id.clone(), d.body.clone()));
                }
                Polled::Exhausted => return out,
                Polled::Empty => panic!("a file is never empty-but-open"),
            }
        }
    }

    #[tokio::test]
    async fn lines_are_numbered_from_one_and_blank_lines_are_counted() {
        let text = "{\"a\":1}\r\n\n   \n{\"b\":2}\nlast-without-newline";
        let source = FileSource::from_reader("test", BufReader::new(text.as_bytes()));
        let got = drain(&source).await;
        let ids: Vec<MessageId> = got.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, [MessageId::Line(1), MessageId::Line(4), MessageId::Line(5)]);
        assert_eq!(got[0].1, b"{\"a\":1}");
        assert_eq!(got[2].1, b"last-without-newline");
        assert!(matches!(source.receive(Duration::ZERO).await.unwrap(), Polled::Exhausted), "stays exhausted");
    }

    #[tokio::test]
    async fn an_overlong_line_is_cut_past_the_limit_and_the_next_line_survives() {
        let long = "x".repeat(MAX_BODY_BYTES + 5000);
        let text = format!("{long}\n{{\"ok\":true}}\n");
        let source = FileSource::from_reader("test", BufReader::with_capacity(1024, std::io::Cursor::new(text.into_bytes())));
        let got = drain(&source).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.len(), MAX_BODY_BYTES + 1, "kept just enough to be rejected for size");
        assert_eq!((got[1].0.clone(), got[1].1.as_slice()), (MessageId::Line(2), &b"{\"ok\":true}"[..]));
    }

    #[test]
    fn blocking_reads_split_the_same_way() {
        let mut input = std::io::Cursor::new(b"a\r\n\nb".to_vec());
        assert_eq!(read_line_blocking(&mut input, 10).unwrap(), Some(b"a".to_vec()));
        assert_eq!(read_line_blocking(&mut input, 10).unwrap(), Some(Vec::new()));
        assert_eq!(read_line_blocking(&mut input, 10).unwrap(), Some(b"b".to_vec()));
        assert_eq!(read_line_blocking(&mut input, 10).unwrap(), None);
    }

    #[tokio::test]
    async fn a_missing_file_names_the_path() {
        let err = FileSource::open("/nonexistent/fleetgate/events.jsonl").await.unwrap_err();
        assert!(err.is_fatal());
        assert!(err.to_string().contains("/nonexistent/fleetgate/events.jsonl"), "{err}");
    }
}
