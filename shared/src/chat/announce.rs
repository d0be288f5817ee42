//! A stored message told to its session's parties: `message.created` to both sides'
//! connections, and the recipient's delivered mark when one of its connections had it.

use crate::domain::{
    AdminId, Audience, Message, MessageStatus, ReceiptKind, ReceiptView, Receipts, StoreId, admin_side, party,
};
use crate::live::{Listeners, ServerEvent};
use crate::{App, Timestamp};

/// `message.created` to both parties' connections, as `listeners` found them beside the
/// write. When the recipient has one, the message is delivered: its mark moves, and the
/// sender's side hears so, beside the posts rather than after them, so a send to a connected
/// recipient takes three round trips (read, write, posts).
///
/// Beside the posts too, the connections are looked up again. A client subscribes, then
/// fetches what it missed; one that connected after the first lookup may have fetched before
/// the message was stored, and the second lookup finds it once the message is there. Only
/// then (rarely) does a send take a fourth round trip, to post to it.
pub(super) async fn announce(
    app: &App,
    message: &Message,
    store: StoreId,
    holder: Option<AdminId>,
    listeners: Listeners,
) {
    let created = ServerEvent::MessageCreated { message: message.view(&Receipts::default()) };
    let audiences = [Audience::Store(store), admin_side(holder)];
    let events = audiences.map(|audience| (audience, created.clone()));
    let recipient = party(message.sender_type.other(), store, holder);
    let delivered = listeners.includes_anyone_of(recipient);
    let (reached, later, ()) = tokio::join!(app.live.deliver(&listeners, &events), app.live.find(&audiences), async {
        if delivered {
            record_delivery(app, message, store, holder, &listeners).await;
        }
    });
    if delivered && !reached.contains(&recipient) {
        tracing::warn!("every post to the recipient failed after its delivery was recorded");
    }
    let newcomers = listeners.newcomers_in(&later);
    if newcomers.is_empty() {
        return;
    }
    let reached = app.live.deliver(&newcomers, &events).await;
    if !delivered && reached.contains(&recipient) {
        record_delivery(app, message, store, holder, &later).await;
    }
}

/// Moves the recipient's delivered mark to `message` and tells the sender's side, side by
/// side, whatever the write meets: the mark never moves back. Recorded as the posts go out,
/// it runs ahead of them only if every post to the recipient then fails (logged).
async fn record_delivery(app: &App, message: &Message, store: StoreId, holder: Option<AdminId>, listeners: &Listeners) {
    let recipient = message.sender_type.other();
    let status = ServerEvent::MessageStatus(ReceiptView {
        session_id: message.session_id,
        reader_type: recipient,
        status: MessageStatus::Delivered,
        up_to_message_id: message.id,
    });
    let marked =
        app.store.mark_receipt(message.session_id, recipient, ReceiptKind::Delivered, message.id, Timestamp::now());
    let to_sender = [(party(message.sender_type, store, holder), status)];
    let told = app.live.deliver(listeners, &to_sender);
    if let (Err(error), _) = tokio::join!(marked, told) {
        tracing::warn!(%error, "could not record a delivery");
    }
}
