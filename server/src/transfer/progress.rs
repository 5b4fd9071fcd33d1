//! How far an import or export has got: a line redrawn in place on a terminal (bytes, comments, rate,
//! time left), a plain log line every few seconds otherwise.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters the work moves and the reporter reads.
#[derive(Default)]
pub struct Progress {
    /// Bytes of the file read so far.
    pub bytes: Arc<AtomicU64>,
    /// Comments (or rows) handled so far.
    pub items: AtomicU64,
    done: AtomicBool,
}

/// Reports `progress` of a step named `step` until [`Reporter::finish`]; `total` is the file's size.
pub struct Reporter {
    progress: Arc<Progress>,
    task: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    pub fn start(step: &'static str, total: u64, progress: Arc<Progress>) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let shared = progress.clone();
        let task = std::thread::spawn(move || {
            let started = Instant::now();
            let every = if terminal { Duration::from_millis(250) } else { Duration::from_secs(5) };
            let mut last = Instant::now();
            loop {
                std::thread::park_timeout(Duration::from_millis(100));
                let finished = shared.done.load(Ordering::Relaxed);
                if !finished && last.elapsed() < every {
                    continue;
                }
                last = Instant::now();
                let line = describe(step, total, &shared, started.elapsed());
                if terminal {
                    eprint!("\r{line:<100}");
                    if finished {
                        eprintln!();
                    }
                    let _ = std::io::stderr().flush();
                } else if !finished {
                    eprintln!("{line}");
                }
                if finished {
                    break;
                }
            }
        });
        Self { progress, task: Some(task) }
    }

    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.progress.done.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.thread().unpark();
            let _ = task.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn describe(step: &str, total: u64, progress: &Progress, elapsed: Duration) -> String {
    let bytes = progress.bytes.load(Ordering::Relaxed);
    let items = progress.items.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = items as f64 / secs;
    if total == 0 {
        // No file to measure by (the writing, the export): the count and the rate.
        return format!("{step}: {items} comments, {rate:.0}/s");
    }
    let share = (bytes as f64 / total as f64).min(1.0);
    let left = if share > 0.0 { secs / share - secs } else { 0.0 };
    format!(
        "{step}: {:>5.1}% of {:.1} MB, {items} comments, {rate:.0}/s, {:.0} s left",
        share * 100.0,
        total as f64 / 1e6,
        left.max(0.0)
    )
}
