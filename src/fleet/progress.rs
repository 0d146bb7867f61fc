//! Progress of a fleet run on stderr: a `\r`-redrawn bar on a terminal (clusters done / total, rate,
//! ETA), plain lines otherwise (one per notable cluster, plus one every 10 %), or nothing.

use std::io::Write;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// A single redrawn line (stderr is a terminal).
    Bar,
    /// Log lines.
    Lines,
    /// Nothing.
    Quiet,
}

impl ProgressStyle {
    /// `Bar` when stderr is a terminal, else `Lines`.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() { Self::Bar } else { Self::Lines }
    }
}

/// A progress display.
pub struct Progress {
    style: ProgressStyle,
    out: Box<dyn Write + Send>,
    total: usize,
    done: usize,
    /// Clusters already done when timing started (finished in bulk), excluded from the rate.
    baseline: usize,
    started: Instant,
    next_step: usize,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("style", &self.style).field("done", &self.done).field("total", &self.total).finish()
    }
}

impl Progress {
    /// Progress on stderr.
    pub fn new(style: ProgressStyle) -> Self {
        Self::with_writer(style, Box::new(std::io::stderr()))
    }

    /// Progress written to `out` (tests).
    pub fn with_writer(style: ProgressStyle, out: Box<dyn Write + Send>) -> Self {
        Self { style, out, total: 0, done: 0, baseline: 0, started: Instant::now(), next_step: 0 }
    }

    /// Starts timing: `total` clusters, `done` of them already finished.
    pub fn begin(&mut self, total: usize, done: usize) {
        (self.total, self.done, self.baseline, self.started) = (total, done, done, Instant::now());
        self.next_step = self.step_after(done);
        self.draw();
    }

    /// One more cluster finished.
    pub fn advance(&mut self) {
        self.done += 1;
        match self.style {
            ProgressStyle::Bar => self.draw(),
            ProgressStyle::Lines if self.done >= self.next_step || self.done == self.total => {
                self.next_step = self.step_after(self.done);
                self.draw();
            }
            _ => {}
        }
    }

    /// Prints a line about one cluster (above the bar).
    pub fn note(&mut self, line: &str) {
        match self.style {
            ProgressStyle::Quiet => {}
            ProgressStyle::Lines => {
                let _ = writeln!(self.out, "{line}");
            }
            ProgressStyle::Bar => {
                let _ = write!(self.out, "\r\x1b[2K{line}\n");
                self.draw();
            }
        }
    }

    /// Ends the display (the bar's line is finished).
    pub fn finish(&mut self) {
        if self.style == ProgressStyle::Bar {
            let _ = writeln!(self.out);
        }
        let _ = self.out.flush();
    }

    fn step_after(&self, done: usize) -> usize {
        let step = (self.total / 10).max(1);
        (done / step + 1) * step
    }

    fn draw(&mut self) {
        let line = progress_line(self.done, self.total, self.done - self.baseline, self.started.elapsed());
        let _ = match self.style {
            ProgressStyle::Bar => write!(self.out, "\r\x1b[2K{line}"),
            ProgressStyle::Lines => writeln!(self.out, "{line}"),
            ProgressStyle::Quiet => Ok(()),
        };
        let _ = self.out.flush();
    }
}

/// `[ 12/100] 12% 3.4 clusters/s ETA 26s`: `timed` of the `done` clusters took `elapsed`.
pub fn progress_line(done: usize, total: usize, timed: usize, elapsed: Duration) -> String {
    let width = total.to_string().len();
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { timed as f64 / secs } else { 0.0 };
    let eta = match total.saturating_sub(done) {
        0 => "done".to_string(),
        left if rate > 0.0 => format!("ETA {}", short_duration(Duration::from_secs_f64(left as f64 / rate))),
        _ => "ETA --".to_string(),
    };
    format!("[{done:>width$}/{total}] {pct:>3}% {rate:.1} clusters/s {eta}")
}

/// `42s`, `3m 07s`, `2h 05m`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn line_shows_count_rate_and_eta() {
        assert_eq!(progress_line(12, 100, 10, Duration::from_secs(5)), "[ 12/100]  12% 2.0 clusters/s ETA 44s");
        assert_eq!(progress_line(3, 3, 3, Duration::from_secs(1)), "[3/3] 100% 3.0 clusters/s done");
        assert_eq!(progress_line(0, 5, 0, Duration::ZERO), "[0/5]   0% 0.0 clusters/s ETA --");
        assert_eq!(short_duration(Duration::from_secs(187)), "3m 07s");
        assert_eq!(short_duration(Duration::from_secs(7500)), "2h 05m");
    }

    #[test]
    fn lines_mode_prints_notes_and_every_tenth() {
        let buf = Buf::default();
        let mut p = Progress::with_writer(ProgressStyle::Lines, Box::new(buf.clone()));
        p.begin(20, 0);
        for i in 0..20 {
            if i == 3 {
                p.note("converged aks-3");
            }
            p.advance();
        }
        p.finish();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("converged aks-3\n"));
        assert_eq!(text.lines().filter(|l| l.starts_with('[')).count(), 11, "{text}");
        assert!(!text.contains('\r'));
    }

    #[test]
    fn bar_mode_redraws_in_place() {
        let buf = Buf::default();
        let mut p = Progress::with_writer(ProgressStyle::Bar, Box::new(buf.clone()));
        p.begin(2, 1);
        p.note("failed x");
        p.advance();
        p.finish();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("\r\x1b[2Kfailed x\n") && text.contains("[2/2] 100%") && text.ends_with('\n'));
        let quiet = Buf::default();
        let mut q = Progress::with_writer(ProgressStyle::Quiet, Box::new(quiet.clone()));
        q.begin(1, 0);
        q.note("x");
        q.advance();
        q.finish();
        assert!(quiet.0.lock().unwrap().is_empty());
    }
}
