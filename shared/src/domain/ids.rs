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
    /// The id after this one, the smallest a newer message may have.
    pub fn next(self) -> MessageId {
        MessageId(self.0.saturating_add(1))
    }
}
