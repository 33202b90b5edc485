//! What `tracing` writes while a test runs, captured as text.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;

/// Installs a formatting subscriber for this thread that writes into a
/// buffer, until dropped.
pub struct LogCapture {
    buf: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    pub fn start() -> Self {
        Self::start_at(tracing::Level::TRACE)
    }

    /// Captures only events (and spans) at `level` or more severe, as a
    /// default production filter would.
    pub fn start_at(level: tracing::Level) -> Self {
        let buf = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_max_level(level)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        LogCapture { buf, _guard }
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

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
