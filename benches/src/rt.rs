//! Where contenders run: a fresh actix system or tokio runtime per section,
//! each on its own thread, so no section inherits another's tasks.

use std::future::Future;

/// Runs `f` in a fresh actix system on a new thread and returns its output.
pub fn on_actix<T, F, Fut>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    std::thread::spawn(move || actix_rt::System::new().block_on(f()))
        .join()
        .expect("actix section panicked")
}

/// Runs `f` in a fresh single-threaded tokio runtime on a new thread.
pub fn on_tokio<T, F, Fut>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    std::thread::spawn(move || current_thread().block_on(f()))
        .join()
        .expect("tokio section panicked")
}

pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
