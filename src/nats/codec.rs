//! Payloads on the wire: how an event's payload becomes the bytes of a NATS
//! message and back, and the headers every bridged message carries.
//!
//! The default [`Json`] codec works for every `serde` type; a [`Codec`] of
//! your own (MessagePack, protobuf, raw bytes) is handed to
//! [`Bridge::builder`](super::Bridge::builder). A message that does not
//! decode is counted (`undecodable` in [`BridgeStats`](super::BridgeStats))
//! and logged with its subject, never delivered.
//!
//! ```
//! use servitor::nats::{Codec, Json};
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Order { id: u64 }
//!
//! let bytes = Json.encode(&Order { id: 7 }).unwrap();
//! assert_eq!(&bytes[..], br#"{"id":7}"#);
//! let back: Order = Json.decode(&bytes).unwrap();
//! assert_eq!(back, Order { id: 7 });
//! assert!(Codec::<Order>::decode(&Json, b"not json").is_err());
//! ```

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The header naming the process a message came from
/// (`<app>.<instance>`): a bridge never delivers its own messages back to
/// its bus.
pub const ORIGIN_HEADER: &str = "Servitor-Origin";
/// The header naming the payload's encoding (the codec's
/// [`content_type`](Codec::content_type)); left out for JSON, the default.
pub const CONTENT_TYPE_HEADER: &str = "Content-Type";
/// JSON's content type.
pub(crate) const JSON: &str = "application/json";

/// Turns payloads of type `T` into message bytes and back.
pub trait Codec<T>: Send + Sync + 'static {
    /// The payload as bytes.
    fn encode(&self, payload: &T) -> Result<Bytes, CodecError>;
    /// Bytes as a payload.
    fn decode(&self, bytes: &[u8]) -> Result<T, CodecError>;
    /// What the bytes are, for the `Content-Type` header. Default
    /// `application/octet-stream`.
    fn content_type(&self) -> &'static str {
        "application/octet-stream"
    }
}

/// JSON with `serde_json`: the default codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Codec<T> for Json {
    fn encode(&self, payload: &T) -> Result<Bytes, CodecError> {
        serde_json::to_vec(payload)
            .map(Bytes::from)
            .map_err(|e| CodecError::Encode(e.to_string()))
    }

    fn decode(&self, bytes: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(|e| CodecError::Decode(e.to_string()))
    }

    fn content_type(&self) -> &'static str {
        JSON
    }
}

/// A payload that did not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The payload could not be encoded (the codec's message).
    #[error("payload does not encode: {0}")]
    Encode(String),
    /// The bytes are not a payload (the codec's message).
    #[error("payload does not decode: {0}")]
    Decode(String),
}
