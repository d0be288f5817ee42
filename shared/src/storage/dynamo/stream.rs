//! The table's change stream read back into the domain: a record's old and new images of
//! a session or a message item become the [`TableChange`] they mean. Other items (pointers,
//! counters, connections, tokens) mean nothing outside and give none.

use serde::Deserialize;
use serde_dynamo::{AttributeValue, Item};

use super::items::{MESSAGE_SK_PREFIX, NOTE_SK_PREFIX, SESSION_SK};
use crate::domain::{Message, Note, Session, TableChange};
use crate::storage::{StorageError, StorageResult};

fn sort_key(image: &Item) -> Option<&str> {
    match image.get("SK")? {
        AttributeValue::S(key) => Some(key),
        _ => None,
    }
}

fn typed<T: for<'de> Deserialize<'de>>(image: Item) -> StorageResult<T> {
    serde_dynamo::from_item(image).map_err(|error| StorageError::Malformed(error.to_string()))
}

/// The change a stream record with these images (either may be empty, as the stream gives
/// them) means, if any. A message counts when it is added and when its version rises (an
/// edit or a delete); a note when it is added.
pub fn table_change(old_image: Item, new_image: Item) -> StorageResult<Option<TableChange>> {
    let present = |image: Item| (!image.is_empty()).then_some(image);
    let (old_image, new_image) = (present(old_image), present(new_image));
    let Some(key) = new_image.as_ref().or(old_image.as_ref()).and_then(sort_key).map(str::to_owned) else {
        return Ok(None);
    };
    if key == SESSION_SK {
        let before = old_image.map(typed::<Session>).transpose()?.map(Box::new);
        let after = new_image.map(typed::<Session>).transpose()?.map(Box::new);
        return Ok(Some(TableChange::Session { before, after }));
    }
    if key.starts_with(NOTE_SK_PREFIX) {
        return match (old_image, new_image) {
            (None, Some(added)) => Ok(Some(TableChange::NoteAdded(typed::<Note>(added)?))),
            _ => Ok(None),
        };
    }
    if !key.starts_with(MESSAGE_SK_PREFIX) {
        return Ok(None);
    }
    match (old_image.map(typed::<Message>).transpose()?, new_image.map(typed::<Message>).transpose()?) {
        (None, Some(added)) => Ok(Some(TableChange::MessageAdded(added))),
        (Some(before), Some(after)) if after.version > before.version => Ok(Some(TableChange::MessageRevised(after))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::domain::{MessageId, SenderType, SessionId, SessionStatus, StoreId, StoreProfile};
    use crate::storage::dynamo::items::{MessageItem, SessionItem, to_item};

    #[test]
    fn session_and_message_images_are_read_back_as_written() {
        let store =
            StoreProfile { id: StoreId(5), name: "Tech Store".into(), logo_url: String::new(), email: String::new() };
        let session = Session::new(SessionId(3), store, Timestamp::now());
        let stored = Item::from;
        let new = stored(to_item(&SessionItem::new(session.clone())).unwrap());
        let change = table_change(Item::from(std::collections::HashMap::<String, AttributeValue>::new()), new.clone());
        let after = Some(Box::new(session.clone()));
        assert_eq!(change.unwrap(), Some(TableChange::Session { before: None, after }));
        let claimed = Session { status: SessionStatus::Claimed, revision: 1, ..session.clone() };
        let changed = table_change(new, stored(to_item(&SessionItem::new(claimed.clone())).unwrap())).unwrap();
        let (before, after) = (Some(Box::new(session)), Some(Box::new(claimed)));
        assert_eq!(changed, Some(TableChange::Session { before, after }));

        let message = Message {
            id: MessageId(7),
            session_id: SessionId(3),
            sender_type: SenderType::Store,
            sender_id: 5,
            content: "hi".into(),
            attachment_url: String::new(),
            attachment_type: String::new(),
            created: Timestamp::now(),
            client_message_id: Some("c1".into()),
            upload_id: None,
            attachment_key: None,
            automatic: false,
            version: 0,
            edited_at: None,
            deleted_at: None,
        };
        let added = stored(to_item(&MessageItem::new(message.clone())).unwrap());
        let none = || Item::from(std::collections::HashMap::<String, AttributeValue>::new());
        assert_eq!(table_change(none(), added.clone()).unwrap(), Some(TableChange::MessageAdded(message.clone())));
        assert_eq!(table_change(added.clone(), added.clone()).unwrap(), None, "a message counts once");
        let edited = Message { content: "fixed".into(), version: 1, edited_at: Some(Timestamp::now()), ..message };
        let revised = stored(to_item(&MessageItem::new(edited.clone())).unwrap());
        assert_eq!(table_change(added, revised).unwrap(), Some(TableChange::MessageRevised(edited)));
        assert_eq!(table_change(none(), none()).unwrap(), None);
    }
}
