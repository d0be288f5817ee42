//! What sessions, messages, stores and admins are known by: one type each, so that one
//! kind of id cannot be passed where another is meant. On the wire each is a plain number.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Forwarded whole, so that widths and fills apply (`{id:020}`).
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

id!(SessionId);
id!(
    /// Ids of messages are unique everywhere and increase in commit order within their
    /// session; 0 stands before the first.
    MessageId
);
id!(StoreId);
id!(AdminId);

impl MessageId {
    /// Whether this is no message: the 0 a session's marks start at.
    pub fn is_none(&self) -> bool {
        self.0 == 0
    }

    /// The id after this one, the smallest a newer message may have.
    pub fn next(self) -> MessageId {
        MessageId(self.0.saturating_add(1))
    }
}

/// Hex digits of an upload's id (128 random bits).
const UPLOAD_ID_DIGITS: usize = 32;

/// A fresh upload id: 128 bits from the operating system's random source.
pub fn new_upload_id() -> String {
    let mut bytes = [0u8; UPLOAD_ID_DIGITS / 2];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

/// Whether `text` is shaped like an id [`new_upload_id`] made (so it can name nothing but a
/// key's last part).
pub fn is_upload_id(text: &str) -> bool {
    text.len() == UPLOAD_ID_DIGITS && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_upload_ids() {
        let (one, two) = (new_upload_id(), new_upload_id());
        assert!(is_upload_id(&one) && is_upload_id(&two));
        assert_ne!(one, two);
        assert!(!is_upload_id(&one.to_uppercase()) && !is_upload_id(&one[1..]));
    }
}
