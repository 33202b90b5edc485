//! Service names: the one set of rules every name in a tree follows.
//!
//! A name is how a service is looked up, logged and shown, so it must print
//! as what it is: not empty, at most [`MAX_NAME_LEN`] bytes, no `/` (the
//! path separator), no whitespace or control characters, and no invisible
//! or text-direction characters (zero-width spaces, byte-order marks, bidi
//! overrides) that would make two names look alike or a table read
//! backwards. Supervisors apply these rules when a tree is built, built-in
//! services when their spec is made.
//!
//! ```
//! use servitor::kit::{validate_name, NameError};
//!
//! assert!(validate_name("orders-eu").is_ok());
//! assert_eq!(validate_name(""), Err(NameError::Empty));
//! assert_eq!(validate_name("a/b"), Err(NameError::Separator));
//! assert_eq!(validate_name("\u{202e}evil"), Err(NameError::Invisible('\u{202e}')));
//! ```

/// The longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("it is {len} bytes long; the most is 128")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name contains `/`, which separates the names of a path.
    #[error("it contains `/`, the path separator")]
    Separator,
    /// The name contains whitespace or a control character.
    #[error("it contains whitespace or a control character")]
    Whitespace,
    /// The name contains an invisible or text-direction character.
    #[error("it contains the invisible or text-direction character U+{:04X}", *.0 as u32)]
    Invisible(char),
}

/// Checks `name` against the rules above.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    for c in name.chars() {
        if c == '/' {
            return Err(NameError::Separator);
        }
        if c.is_whitespace() || c.is_control() {
            return Err(NameError::Whitespace);
        }
        if is_invisible(c) {
            return Err(NameError::Invisible(c));
        }
    }
    Ok(())
}

/// Unicode's format characters (category Cf) and the other characters that
/// render as nothing: zero-width spaces and joiners, bidi embeddings,
/// overrides and isolates, the byte-order mark, variation selectors, tags.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x0890
        | 0x0891 | 0x08E2 | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_print_as_something_else_are_refused() {
        for bad in [
            "\u{200b}",
            "\u{feff}\u{200b}",
            "a\u{202e}b",
            "x\u{2066}",
            "\u{e0041}",
        ] {
            assert!(
                matches!(validate_name(bad), Err(NameError::Invisible(_))),
                "{bad:?}"
            );
        }
        for good in ["café", "日本", "a-b_c.d", "worker:1"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        assert_eq!(
            validate_name(&"x".repeat(129)),
            Err(NameError::TooLong { len: 129 })
        );
        assert_eq!(validate_name("a b"), Err(NameError::Whitespace));
    }
}
