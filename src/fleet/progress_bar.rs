//! The terminal side of [`super::Progress`]: an indicatif bar on stderr (done/total, in flight,
//! writes, 429s, a rate and an ETA once there are enough samples), with notes printed above it.

use std::io::Write;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle as BarStyle, TermLike};

/// The bar's layout; `{msg}` carries the counters (see `super::progress::activity_text`).
const TEMPLATE: &str = "{bar:30.green/white} {pos:>5}/{len} {msg}";
/// Redraws per second at most.
const HZ: u8 = 10;

/// An indicatif bar drawing to stderr, or to a writer (tests).
pub(super) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr (hidden when stderr is not a terminal).
    pub(super) fn stderr() -> Self {
        Self::with_target(ProgressDrawTarget::stderr_with_hz(HZ))
    }

    /// A bar drawing to `out`, as a terminal `width` columns wide.
    pub(super) fn writer(out: Box<dyn Write + Send>, width: u16) -> Self {
        Self::with_target(ProgressDrawTarget::term_like_with_hz(Box::new(WriterTerm { out: Mutex::new(out), width }), HZ))
    }

    fn with_target(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let style = BarStyle::with_template(TEMPLATE).unwrap_or_else(|_| BarStyle::default_bar()).progress_chars("=> ");
        bar.set_style(style);
        Self { bar }
    }

    /// Sets total, position and the counters text, and redraws.
    pub(super) fn show(&self, done: usize, total: usize, message: String) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.set_message(message);
    }

    /// A line above the bar.
    pub(super) fn note(&self, line: &str) {
        self.bar.println(line);
    }

    /// Leaves the final state on screen.
    pub(super) fn finish(&self, message: String) {
        self.bar.finish_with_message(message);
    }
}

/// A writer seen as a terminal (the bar's tests).
struct WriterTerm {
    out: Mutex<Box<dyn Write + Send>>,
    width: u16,
}

impl std::fmt::Debug for WriterTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterTerm").field("width", &self.width).finish()
    }
}

impl WriterTerm {
    fn write(&self, s: &str) -> std::io::Result<()> {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).write_all(s.as_bytes())
    }
}

impl TermLike for WriterTerm {
    fn width(&self) -> u16 {
        self.width
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.write(&format!("\x1b[{n}A")) } else { Ok(()) }
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.write(&format!("\x1b[{n}B")) } else { Ok(()) }
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.write(&format!("\x1b[{n}C")) } else { Ok(()) }
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.write(&format!("\x1b[{n}D")) } else { Ok(()) }
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.write("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        self.out.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}
