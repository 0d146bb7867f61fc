use super::*;
use std::sync::atomic::{AtomicU64, Ordering};
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
impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn a_rate_needs_enough_clusters_over_enough_time() {
    assert_eq!(rate(4, Duration::from_secs(60)), None, "too few clusters");
    assert_eq!(rate(100_000, Duration::from_millis(800)), None, "too little time: no 119894.5 clusters/s");
    assert_eq!(rate(10, Duration::from_secs(5)), Some(2.0));
    let a = Activity { in_flight: 3, writes: 40, throttled: 2, awaiting: 0 };
    assert_eq!(activity_text(&a, 12, 100, 10, Duration::from_secs(5)), "in flight 3 · writes 40 · 429s 2 · 2.0 clusters/s · ETA 44s");
    let waiting = Activity { awaiting: 7, ..a };
    assert_eq!(activity_text(&waiting, 12, 100, 3, Duration::from_secs(5)), "in flight 3 · awaiting 7 · writes 40 · 429s 2");
    assert_eq!(activity_text(&a, 12, 100, 3, Duration::from_secs(5)), "in flight 3 · writes 40 · 429s 2");
    assert_eq!(activity_text(&Activity::default(), 5, 5, 5, Duration::from_secs(9)), "in flight 0 · writes 0 · 429s 0 · done");
    assert_eq!(progress_line(12, 100, "x"), "[ 12/100]  12% x");
    assert_eq!(short_duration(Duration::from_secs(187)), "3m 07s");
    assert_eq!(short_duration(Duration::from_secs(7500)), "2h 05m");
}

#[test]
fn a_dry_run_of_a_thousand_clusters_shows_no_rate() {
    let buf = Buf::default();
    let mut p = Progress::with_writer(ProgressStyle::Lines, Box::new(buf.clone()));
    p.begin(1000, 0);
    for _ in 0..1000 {
        p.advance();
    }
    p.finish();
    let text = buf.text();
    assert!(!text.contains("clusters/s") && !text.contains("ETA"), "{text}");
    assert!(text.ends_with("[1000/1000] 100% in flight 0 · writes 0 · 429s 0 · done\n"), "{text}");
}

#[test]
fn lines_mode_prints_notes_every_tenth_and_the_counters() {
    let buf = Buf::default();
    let mut p = Progress::with_writer(ProgressStyle::Lines, Box::new(buf.clone()));
    let writes = Arc::new(AtomicU64::new(0));
    let seen = writes.clone();
    p.watch_requests(move || (seen.load(Ordering::SeqCst), 1));
    p.begin(20, 0);
    for i in 0..20 {
        if i == 3 {
            p.note("converged aks-3");
        }
        writes.fetch_add(2, Ordering::SeqCst);
        p.set_in_flight(4);
        p.advance();
    }
    p.finish();
    let text = buf.text();
    assert!(text.contains("converged aks-3\n"));
    assert_eq!(text.lines().filter(|l| l.starts_with('[')).count(), 11, "{text}");
    assert!(text.contains("[ 2/20]  10% in flight 4 · writes 4 · 429s 1\n"), "{text}");
    assert!(!text.contains('\r') && !text.contains('\x1b'), "plain lines: {text}");
}

#[test]
fn the_bar_redraws_with_counters_and_prints_notes_above() {
    let buf = Buf::default();
    let mut p = Progress::with_writer(ProgressStyle::Bar, Box::new(buf.clone()));
    p.begin(3, 1);
    p.set_in_flight(2);
    p.set_requests(3, 1);
    p.note("failed x");
    p.advance();
    p.advance();
    p.finish();
    let text = buf.text();
    assert!(text.contains("\x1b[2Kfailed x "), "the note on its own line above the bar: {text:?}");
    assert!(text.contains("3/3 in flight 2 · writes 3 · 429s 1 · done"), "{text:?}");
    assert!(text.contains("=============================="), "a full bar: {text:?}");
    assert_eq!(p.activity(), Activity { in_flight: 2, writes: 3, throttled: 1, awaiting: 0 });

    let quiet = Buf::default();
    let mut q = Progress::with_writer(ProgressStyle::Quiet, Box::new(quiet.clone()));
    q.begin(1, 0);
    q.note("x");
    q.advance();
    q.finish();
    assert!(quiet.text().is_empty());
}
