//! The bridge's errors: one enum for what an operation on it can fail with.

use crate::kit::Stopped;

/// Why an operation on a NATS bridge failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The bridge is gone for good.
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// NATS cannot be reached now (the bridge keeps trying by itself).
    #[error("NATS bridge `{service}` is not connected: {cause}")]
    NotConnected {
        /// The bridge's service name.
        service: String,
        /// The last connection error, credentials removed.
        cause: String,
    },
    /// A payload did not encode or decode.
    #[error(transparent)]
    Codec(#[from] super::codec::CodecError),
}
