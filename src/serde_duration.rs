//! Durations and sizes in configuration files.
//!
//! Every duration in a configuration struct of this crate reads either of
//! two forms:
//!
//! * an **integer**: whole milliseconds (`5000` is 5 s), as configuration
//!   files written for earlier versions have it;
//! * a **string**: a human duration in [humantime]'s syntax — `"250ms"`,
//!   `"5s"`, `"30m"`, `"1h 30m"`, `"2days"`; units `ns`, `us`, `ms`, `s`,
//!   `m`, `h`, `d`, `w` and their long forms (`sec`, `min`, `hours` …).
//!
//! It is written in one way: a human duration string in humantime's format,
//! exact to the nanosecond (`"1s 500ms"`, `"30m"`, `"0s"`), which reads back
//! as the same duration. An optional duration (`Option<Duration>`, "none"
//! meaning no limit) also reads `null` or the string `"none"` (TOML has no
//! `null`), and writes `"none"`.
//!
//! A size ([`size`]) reads an integer (the count itself: bytes, or whatever
//! unit the field names) or a string with a unit — `"64 MiB"`, `"1.5GB"`,
//! `"512k"`: decimal units (`kB`, `MB`, `GB` … and `k`, `m`, `g`) are powers
//! of 1000, binary ones (`KiB`, `MiB`, `GiB` …) powers of 1024 — and writes
//! the integer.
//!
//! [humantime]: https://docs.rs/humantime

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;
use std::time::Duration;

/// What a duration field accepts, as error messages say it.
pub(crate) const EXPECTING: &str =
    "a duration: whole milliseconds, or a string such as \"250ms\", \"5s\" or \"30m\"";

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

/// Parses a human duration (`"5s"`), or says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("expected {EXPECTING}, found an empty string"));
    }
    humantime::parse_duration(trimmed)
        .map_err(|e| format!("invalid duration {text:?} ({e}); expected {EXPECTING}"))
}

#[derive(Clone, Copy)]
struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::invalid_value(Unexpected::Other("an integer too large"), &self))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::invalid_value(Unexpected::Other("an integer out of range"), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }
}

/// `Option<Duration>`: a duration as above, or `null` / `"none"` for none.
#[cfg(any(feature = "cache", feature = "tasks", feature = "db"))]
pub(crate) mod option {
    use super::{DurationVisitor, OrNone};
    use serde::{Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_str("none"),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        d.deserialize_any(OrNone(DurationVisitor))
    }
}

/// `Option<T>` read with `V` for the value: `null`, unit or `"none"` for
/// none. One piece for every optional duration and size.
#[cfg(any(feature = "cache", feature = "tasks", feature = "db"))]
#[derive(Clone, Copy)]
struct OrNone<V>(V);

#[cfg(any(feature = "cache", feature = "tasks", feature = "db"))]
impl<'de, V: Visitor<'de> + Copy> Visitor<'de> for OrNone<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" (or \"none\")")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.0.visit_u64(v).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.0.visit_i64(v).map(Some)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        self.0.visit_u128(v).map(Some)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        self.0.visit_i128(v).map(Some)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        self.0.visit_str(v).map(Some)
    }
}

/// Sizes: an integer, or a string with a unit (`"64 MiB"`).
#[cfg(feature = "cache")]
pub(crate) mod size {
    use serde::de::{self, Unexpected, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    const EXPECTING: &str = "a size: an integer, or a string such as \"64 MiB\" or \"1.5GB\"";

    /// Parses a size with a unit, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<u64, String> {
        let trimmed = text.trim();
        // A size starts with its number (no sign); `bytesize` reads the rest.
        if !trimmed.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(format!("invalid size {text:?}; expected {EXPECTING}"));
        }
        trimmed
            .parse::<bytesize::ByteSize>()
            .map(|s| s.as_u64())
            .map_err(|e| format!("invalid size {text:?} ({e}); expected {EXPECTING}"))
    }

    #[derive(Clone, Copy)]
    struct SizeVisitor;

    impl<'de> Visitor<'de> for SizeVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTING)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            parse(v).map_err(E::custom)
        }
    }

    /// `Option<u64>` as a size, `null` (or `"none"`) for none; written as
    /// the integer.
    pub(crate) mod option {
        use super::SizeVisitor;
        use crate::serde_duration::OrNone;
        use serde::{Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(v),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<u64>, D::Error> {
            d.deserialize_any(OrNone(SizeVisitor))
        }
    }

    #[allow(dead_code)]
    pub(crate) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*v)
    }

    #[allow(dead_code)]
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct D {
        #[serde(with = "super")]
        d: Duration,
    }

    fn read(json: &str) -> Result<Duration, String> {
        serde_json::from_str::<D>(json)
            .map(|d| d.d)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_are_milliseconds_and_strings_human_durations() {
        assert_eq!(read(r#"{"d": 250}"#), Ok(Duration::from_millis(250)));
        assert_eq!(read(r#"{"d": "250ms"}"#), Ok(Duration::from_millis(250)));
        assert_eq!(read(r#"{"d": "5s"}"#), Ok(Duration::from_secs(5)));
        assert_eq!(read(r#"{"d": "30m"}"#), Ok(Duration::from_secs(1800)));
        assert_eq!(read(r#"{"d": "1h 30m"}"#), Ok(Duration::from_secs(5400)));
        assert!(read(r#"{"d": -1}"#).is_err());
        assert!(read(r#"{"d": "5 parsecs"}"#)
            .unwrap_err()
            .contains("invalid duration \"5 parsecs\""));
        assert!(read(r#"{"d": ""}"#).unwrap_err().contains("empty string"));
    }

    #[test]
    fn durations_write_as_human_strings_that_read_back_exactly() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1500),
            Duration::from_secs(1800),
            Duration::new(86_400 * 400, 123_456_789),
            Duration::from_secs(u64::MAX / 4),
            Duration::MAX,
        ] {
            let text = serde_json::to_string(&D { d }).unwrap();
            assert_eq!(serde_json::from_str::<D>(&text).unwrap().d, d, "{text}");
        }
        assert_eq!(
            serde_json::to_string(&D {
                d: Duration::from_millis(1500)
            })
            .unwrap(),
            r#"{"d":"1s 500ms"}"#
        );
    }

    #[cfg(feature = "cache")]
    #[test]
    fn optional_durations_and_sizes_read_none_null_and_values_alike() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct O {
            #[serde(with = "super::option")]
            d: Option<Duration>,
            #[serde(with = "super::size::option")]
            s: Option<u64>,
        }
        let read = |json: &str| serde_json::from_str::<O>(json).map_err(|e| e.to_string());
        for none in [
            r#"{"d": null, "s": null}"#,
            r#"{"d": "none", "s": " None "}"#,
        ] {
            assert_eq!(read(none), Ok(O { d: None, s: None }), "{none}");
        }
        assert_eq!(
            read(r#"{"d": "2s", "s": "1 KiB"}"#),
            Ok(O {
                d: Some(Duration::from_secs(2)),
                s: Some(1024)
            })
        );
        assert_eq!(
            read(r#"{"d": 5, "s": 7}"#),
            Ok(O {
                d: Some(Duration::from_millis(5)),
                s: Some(7)
            })
        );
        let err = read(r#"{"d": true, "s": 1}"#).unwrap_err();
        assert!(err.contains(r#"(or "none")"#), "{err}");
        assert!(read(r#"{"d": 1, "s": -3}"#).is_err());
    }
}
