//! Stable, typed handles to services.
//!
//! A [`ServiceRef<A>`] names a service, not one instance of it: after a
//! restart, the next call reaches the new instance. While the service is
//! down (crashed, in restart backoff, starting) a call waits up to the
//! handle's bound for it to come back, then fails with a typed
//! [`CallError`] — it never panics and never hangs on a dead instance.

mod directory;
mod service_ref;

pub use service_ref::{CallError, ServiceRef};

pub(crate) use directory::{AnySlot, Directory, Slot};

/// Why a handle could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No service of that name exists in this runtime.
    #[error("no service named `{0}`")]
    NotFound(String),
    /// The service exists but is another type.
    #[error("service `{name}` is a `{actual}`, not a `{requested}`")]
    WrongType {
        /// The service.
        name: String,
        /// The type asked for.
        requested: &'static str,
        /// The service's type.
        actual: &'static str,
    },
}
