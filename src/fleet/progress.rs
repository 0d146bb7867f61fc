//! Progress of a fleet run on stderr: an indicatif bar on a terminal (`progress_bar`), plain lines
//! otherwise, or nothing (`-q`). Both show clusters done / total, clusters in flight, ARM writes and
//! 429 answers; a rate and an ETA appear only once enough clusters were timed ([`MIN_SAMPLES`] over at
//! least [`MIN_ELAPSED`]) — a dry run that "finishes" thousands of clusters in a millisecond shows
//! none. Lines are printed at every 10 % and at least every [`LINE_EVERY`] while clusters finish, plus
//! one per notable cluster.
//!
//! The API the backfill calls: [`Progress::begin`], [`Progress::advance`], [`Progress::note`],
//! [`Progress::finish`], and for the counters [`Progress::set_in_flight`], [`Progress::set_requests`]
//! (push) or [`Progress::watch_requests`] / [`Progress::watch_arm`] (pull, read at every redraw).

use std::io::Write;
use std::time::{Duration, Instant};

use super::progress_bar::Bar;

/// Clusters that must have finished since timing began before a rate (and an ETA) is shown.
pub const MIN_SAMPLES: usize = 5;
/// Time that must have passed since timing began before a rate is shown.
pub const MIN_ELAPSED: Duration = Duration::from_secs(2);
/// Without a terminal, a line at least this often while clusters finish.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// Log lines.
    Lines,
    /// Nothing.
    Quiet,
}

impl ProgressStyle {
    /// `Bar` when stderr is a terminal that can redraw (`TERM` set and not `dumb`), else `Lines`.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() && !console::is_dumb() { Self::Bar } else { Self::Lines }
    }
}

/// What is going on besides finished clusters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Clusters being worked on now.
    pub in_flight: usize,
    /// Cluster operations (accepted PUTs) and busy clusters the poller waits on, holding no slot.
    pub awaiting: usize,
    /// ARM write requests sent since the run began.
    pub writes: u64,
    /// 429 answers since the run began.
    pub throttled: u64,
}

type RequestSource = Box<dyn Fn() -> (u64, u64) + Send>;

/// A progress display.
pub struct Progress {
    style: ProgressStyle,
    out: Box<dyn Write + Send>,
    bar: Option<Bar>,
    total: usize,
    done: usize,
    /// Clusters already done when timing started (finished in bulk), excluded from the rate.
    baseline: usize,
    started: Instant,
    next_step: usize,
    last_line: Instant,
    activity: Activity,
    requests: Option<RequestSource>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("style", &self.style).field("done", &self.done).field("total", &self.total).finish()
    }
}

impl Progress {
    /// Progress on stderr.
    pub fn new(style: ProgressStyle) -> Self {
        let bar = (style == ProgressStyle::Bar).then(Bar::stderr);
        Self::build(style, Box::new(std::io::stderr()), bar)
    }

    /// Progress written to `out` (tests); a bar draws as on a terminal 100 columns wide.
    pub fn with_writer(style: ProgressStyle, out: Box<dyn Write + Send>) -> Self {
        match style {
            ProgressStyle::Bar => Self::build(style, Box::new(std::io::sink()), Some(Bar::writer(out, 100))),
            _ => Self::build(style, out, None),
        }
    }

    fn build(style: ProgressStyle, out: Box<dyn Write + Send>, bar: Option<Bar>) -> Self {
        let now = Instant::now();
        Self {
            style,
            out,
            bar,
            total: 0,
            done: 0,
            baseline: 0,
            started: now,
            next_step: 0,
            last_line: now,
            activity: Activity::default(),
            requests: None,
        }
    }

    /// Starts timing: `total` clusters, `done` of them already finished.
    pub fn begin(&mut self, total: usize, done: usize) {
        (self.total, self.done, self.baseline, self.started) = (total, done, done, Instant::now());
        self.next_step = self.step_after(done);
        self.draw(true);
    }

    /// One more cluster finished.
    pub fn advance(&mut self) {
        self.done += 1;
        let due = self.done >= self.next_step || self.done == self.total || self.last_line.elapsed() >= LINE_EVERY;
        if due {
            self.next_step = self.step_after(self.done);
        }
        self.draw(due);
    }

    /// Clusters being worked on now.
    pub fn set_in_flight(&mut self, n: usize) {
        self.activity.in_flight = n;
        self.draw(false);
    }

    /// Operations and busy clusters being waited on (apart from the clusters in flight).
    pub fn set_awaiting(&mut self, n: usize) {
        self.activity.awaiting = n;
        self.draw(false);
    }

    /// ARM writes and 429 answers since the run began (absolute counts).
    pub fn set_requests(&mut self, writes: u64, throttled: u64) {
        (self.activity.writes, self.activity.throttled) = (writes, throttled);
        self.draw(false);
    }

    /// Reads ARM writes and 429s from `source` at every redraw (e.g. the ARM client's counters).
    pub fn watch_requests(&mut self, source: impl Fn() -> (u64, u64) + Send + 'static) {
        self.requests = Some(Box::new(source));
    }

    /// Shows the writes and 429s `arm` sends from now on.
    pub fn watch_arm(&mut self, arm: &crate::arm::ArmClient) {
        let (arm, before) = (arm.clone(), arm.stats());
        self.watch_requests(move || {
            let now = arm.stats();
            (now.writes.saturating_sub(before.writes), now.throttled.saturating_sub(before.throttled))
        });
    }

    /// Prints a line about one cluster (above the bar).
    pub fn note(&mut self, line: &str) {
        match (&self.bar, self.style) {
            (_, ProgressStyle::Quiet) => {}
            (Some(bar), _) => bar.note(line),
            (None, _) => {
                let _ = writeln!(self.out, "{line}");
            }
        }
    }

    /// Ends the display (the bar stays on screen in its final state).
    pub fn finish(&mut self) {
        self.refresh_requests();
        if let Some(bar) = &self.bar {
            bar.finish(self.message());
        }
        let _ = self.out.flush();
    }

    /// The counters now.
    pub fn activity(&self) -> Activity {
        self.activity
    }

    fn step_after(&self, done: usize) -> usize {
        let step = (self.total / 10).max(1);
        (done / step + 1) * step
    }

    fn refresh_requests(&mut self) {
        if let Some(source) = &self.requests {
            (self.activity.writes, self.activity.throttled) = source();
        }
    }

    fn message(&self) -> String {
        activity_text(&self.activity, self.done, self.total, self.done - self.baseline, self.started.elapsed())
    }

    /// Redraws the bar; prints a line when `line_due` (lines mode).
    fn draw(&mut self, line_due: bool) {
        self.refresh_requests();
        match self.style {
            ProgressStyle::Quiet => {}
            ProgressStyle::Bar => {
                if let Some(bar) = &self.bar {
                    bar.show(self.done, self.total, self.message());
                }
            }
            ProgressStyle::Lines if line_due => {
                let line = progress_line(self.done, self.total, &self.message());
                let _ = writeln!(self.out, "{line}");
                let _ = self.out.flush();
                self.last_line = Instant::now();
            }
            ProgressStyle::Lines => {}
        }
    }
}

/// `[ 12/100]  12% in flight 3 · writes 40 · 429s 0 · 2.0 clusters/s · ETA 44s`.
pub fn progress_line(done: usize, total: usize, message: &str) -> String {
    let width = total.to_string().len();
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    format!("[{done:>width$}/{total}] {pct:>3}% {message}")
}

/// The counters, then the rate and ETA when [`rate`] has enough samples (`done` when finished).
pub fn activity_text(a: &Activity, done: usize, total: usize, timed: usize, elapsed: Duration) -> String {
    let mut text = format!("in flight {}", a.in_flight);
    if a.awaiting > 0 {
        text.push_str(&format!(" · awaiting {}", a.awaiting));
    }
    text.push_str(&format!(" · writes {} · 429s {}", a.writes, a.throttled));
    let left = total.saturating_sub(done);
    match rate(timed, elapsed) {
        _ if left == 0 => text.push_str(" · done"),
        Some(r) => text.push_str(&format!(" · {r:.1} clusters/s · ETA {}", short_duration(Duration::from_secs_f64(left as f64 / r)))),
        None => {}
    }
    text
}

/// Clusters per second over the timed ones, once at least [`MIN_SAMPLES`] finished over at least
/// [`MIN_ELAPSED`]; `None` before (a rate from two clusters or a millisecond means nothing).
pub fn rate(timed: usize, elapsed: Duration) -> Option<f64> {
    (timed >= MIN_SAMPLES && elapsed >= MIN_ELAPSED).then(|| timed as f64 / elapsed.as_secs_f64())
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
mod tests;
