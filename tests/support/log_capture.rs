//! What `tracing` writes while a test runs, captured as text.
//!
//! One subscriber is installed process-wide, once, and writes into the
//! buffer of the capture running on the current thread (nothing when there
//! is none). A subscriber per thread (`set_default`) would race with the
//! process-wide interest cache of `tracing`'s call sites, which tests on
//! other threads fill in meanwhile: a line could go missing.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Once};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

thread_local! {
    /// The capture running on this thread: its buffer and its level.
    static ACTIVE: RefCell<Option<(Captured, Level)>> = const { RefCell::new(None) };
}

/// Captures what this thread logs until dropped.
pub struct LogCapture {
    buf: Captured,
}

impl LogCapture {
    pub fn start() -> Self {
        Self::start_at(Level::TRACE)
    }

    /// Captures only events (and spans) at `level` or more severe, as a
    /// default production filter would.
    pub fn start_at(level: Level) -> Self {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(ToActive)
                .with_ansi(false);
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the tests");
        });
        // A call site first reached on another thread while the subscriber
        // was being installed may have cached "never": ask again.
        tracing::callsite::rebuild_interest_cache();
        let buf = Captured::default();
        ACTIVE.with(|a| *a.borrow_mut() = Some((buf.clone(), level)));
        LogCapture { buf }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.0.lock()).into_owned()
    }

    /// Forgets what was logged so far.
    pub fn clear(&self) {
        self.buf.0.lock().clear();
    }

    /// The first line containing every one of `needles`; panics showing the
    /// whole log if there is none.
    pub fn line(&self, needles: &[&str]) -> String {
        let text = self.text();
        text.lines()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no log line with {needles:?} in:\n{text}"))
            .to_string()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        ACTIVE.with(|a| *a.borrow_mut() = None);
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes into the buffer of the capture running on the current thread.
struct ToActive;

/// A line for the current capture, or for nobody.
struct ActiveWriter(Option<Captured>);

impl Write for ActiveWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(c) => c.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ToActive {
    type Writer = ActiveWriter;
    fn make_writer(&'a self) -> Self::Writer {
        ActiveWriter(None)
    }
    // Events below the capture's level are written nowhere, as a
    // production filter would drop them (spans stay, so their fields do).
    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        ActiveWriter(ACTIVE.with(|a| {
            a.borrow()
                .as_ref()
                .filter(|(_, level)| meta.level() <= level)
                .map(|(c, _)| c.clone())
        }))
    }
}
