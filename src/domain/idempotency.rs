//! The key a client sends with a create so that retrying it never books twice.

use std::fmt;

/// Longest accepted key, in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters (a UUID, for example)"
)]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.is_empty() || raw.len() > MAX_KEY_CHARS || !visible {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_visible_ascii_only() {
        assert!(IdempotencyKey::parse("4b0e7c1e-2f3a-4e55-9f00-0a1b2c3d4e5f").is_ok());
        assert!(
            IdempotencyKey::parse(&"k".repeat(MAX_KEY_CHARS)).is_ok(),
            "the longest key"
        );
        for bad in ["", " ", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(InvalidIdempotencyKey),
                "{bad:?}"
            );
        }
    }
}
