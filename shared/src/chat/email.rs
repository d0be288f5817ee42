//! Email to people who are not there (see [`crate::domain`]'s `email` module for the rules):
//! the jobs a batch of table changes means, queued with their delays; each job, when
//! handed over, deciding whether its mail is due, claiming it on the session and sending
//! it; a store asking for its transcript; and a recipient's one-click unsubscribe.

use std::time::Duration;

use super::messages::TRANSCRIPT_LIMIT;
use super::session_not_found;
use crate::domain::{
    AdminId, DigestDue, EmailClaim, EmailJob, EmailKind, EventBody, EventKind, Language, Mail, MailLine, Message,
    MessageId, OutboundEvent, Principal, Recipient, SenderType, Session, SessionId, StoreId, digest_due, digest_mail,
    digest_window, on_call_due, on_call_mail, transcript_allowed, transcript_mail, unsubscribe_signature,
    verify_unsubscribe,
};
use crate::storage::{MessageWindow, WriteOutcome};
use crate::{App, ChatError, Timestamp};

/// Answers a digest looks at, at most: more than that unseen is a conversation to open.
const DIGEST_LIMIT: usize = 50;
/// The first messages of a session an on-call alert quotes (the store's among them).
const ON_CALL_LINES: usize = 10;

/// The jobs `events` mean (each with the index of its event): a digest check once the wait
/// for a team answer is over, and for a session just opened, an on-call check at once (out
/// of hours) and one after the on-call wait.
fn jobs_of(app: &App, events: &[OutboundEvent]) -> Vec<(usize, (EmailJob, Duration))> {
    let settings = &app.config.email;
    let mut jobs = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let session_id = event.session_id;
        match (&event.kind, &event.body) {
            (EventKind::MessageCreated, EventBody::Message { message })
                if message.sender_type == SenderType::Admin && !message.automatic =>
            {
                jobs.push((index, (EmailJob::Digest { session_id }, settings.digest_after)));
            }
            (EventKind::SessionCreated, _) => {
                jobs.push((index, (EmailJob::OnCall { session_id }, Duration::ZERO)));
                jobs.push((index, (EmailJob::OnCall { session_id }, settings.on_call_after)));
            }
            _ => {}
        }
    }
    jobs
}

/// Queues the email jobs of `events`: the index of the first event whose jobs are not all
/// queued, if any. Without email, there are none.
pub async fn queue_email_jobs(app: &App, events: &[OutboundEvent]) -> Option<usize> {
    let queue = app.email_jobs.as_ref()?;
    let jobs = jobs_of(app, events);
    let delayed: Vec<(EmailJob, Duration)> = jobs.iter().map(|(_, job)| *job).collect();
    let queued = queue.enqueue(&delayed).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "could not queue email jobs");
        0
    });
    jobs.get(queued).map(|(index, _)| *index)
}

/// What a job did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Sent,
    /// The mail is not due (any more): delivered, answered, already sent, or no session.
    NotDue,
    /// Due later (a young answer, or the next quarter hour): queued again for then.
    Deferred,
    /// Due, but nobody can receive it: no address, nobody on call, or unsubscribed.
    NoRecipient,
    /// Claimed, but SES did not take it; it is not sent again.
    Failed,
}

/// Runs a batch of email jobs side by side: the message ids to leave on the queue (those
/// that could not be decided for a storage fault, tried again by the queue).
pub async fn run_email_jobs(app: &App, jobs: Vec<(String, EmailJob)>) -> Vec<String> {
    let outcomes = futures::future::join_all(jobs.iter().map(|(_, job)| run_job(app, *job))).await;
    let mut left = Vec::new();
    for ((message_id, job), outcome) in jobs.into_iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => tracing::info!(?job, ?outcome, "email job"),
            Err(error) => {
                tracing::warn!(?job, %error, "an email job could not run");
                left.push(message_id);
            }
        }
    }
    left
}

async fn run_job(app: &App, job: EmailJob) -> Result<JobOutcome, ChatError> {
    let Some(session) = app.store.session(job.session_id()).await? else { return Ok(JobOutcome::NotDue) };
    match job {
        EmailJob::Digest { .. } => digest(app, session).await,
        EmailJob::OnCall { .. } => on_call(app, session).await,
        EmailJob::Transcript { .. } => send_transcript(app, session).await,
    }
}

async fn digest(app: &App, session: Session) -> Result<JobOutcome, ChatError> {
    let receipts = &session.store_receipts;
    let seen = receipts.delivered_up_to.max(receipts.read_up_to).max(session.emails.digested_up_to);
    let slice = app.store.messages(session.id, MessageWindow::After(seen), DIGEST_LIMIT).await?;
    let Some(slice) = slice else { return Ok(JobOutcome::NotDue) };
    let now = Timestamp::now();
    let due: Vec<Message> = match digest_due(&slice.session, &slice.messages, now, app.config.email.digest_after) {
        DigestDue::Nothing => return Ok(JobOutcome::NotDue),
        DigestDue::Later(due) => {
            let wait = Duration::from_millis(due.millis_since(now)).max(Duration::from_secs(1));
            return requeue(app, EmailJob::Digest { session_id: session.id }, wait).await;
        }
        DigestDue::Now(due) => due.into_iter().cloned().collect(),
    };
    let store = slice.session.store.id;
    let Some(address) = store_address(app, &slice.session).await? else { return Ok(JobOutcome::NoRecipient) };
    // The mail is written before it is claimed: once claimed, only SES can keep it back.
    let (language, names, unsubscribe) = tokio::try_join!(
        store_language(app, store),
        admin_names(app, &due),
        unsubscribe_link(app, Recipient::Store(store)),
    )?;
    let lines = mail_lines(&due, &slice.session.store.name, &names);
    let link = app.config.email.conversation_link(session.id, store);
    let mail = digest_mail(language, &slice.session.store.name, &lines, link.as_deref(), &unsubscribe);
    let up_to = due.last().map(|message| message.id).unwrap_or_default();
    let claim = EmailClaim::Digest { up_to, window: digest_window(now) };
    if !claimed(app, &slice.session, claim, now).await? {
        return Ok(JobOutcome::NotDue);
    }
    Ok(send(app, &address, &mail).await)
}

async fn on_call(app: &App, session: Session) -> Result<JobOutcome, ChatError> {
    let hours = app.store.business_hours().await?;
    let now = Timestamp::now();
    let Some(reason) = on_call_due(&session, hours.as_ref(), now, app.config.email.on_call_after) else {
        return Ok(JobOutcome::NotDue);
    };
    let on_call = hours.as_ref().map(|hours| hours.on_call().to_vec()).unwrap_or_default();
    let profiles = if on_call.is_empty() { Vec::new() } else { app.store.admin_profiles(&on_call).await? };
    let recipients: Vec<Recipient> = profiles.iter().map(|admin| Recipient::Admin(admin.id)).collect();
    let unsubscribed = app.store.unsubscribed(&recipients).await?;
    let reachable: Vec<_> = profiles
        .into_iter()
        .zip(unsubscribed)
        .filter(|(admin, unsubscribed)| !unsubscribed && !admin.email.trim().is_empty())
        .map(|(admin, _)| admin)
        .collect();
    if reachable.is_empty() {
        return Ok(JobOutcome::NoRecipient);
    }
    // What the store wrote, for the alert to say; the mails are written before they are claimed.
    let opening = app.store.messages(session.id, MessageWindow::After(MessageId(0)), ON_CALL_LINES).await?;
    let written: Vec<Message> = opening
        .map(|slice| slice.messages.into_iter().filter(|m| m.sender_type == SenderType::Store).collect())
        .unwrap_or_default();
    let lines = mail_lines(&written, &session.store.name, &[]);
    // One read of the link key signs every recipient's link.
    let key = app.store.email_link_key().await?;
    let mails: Vec<(String, Mail)> = reachable
        .into_iter()
        .map(|admin| {
            let unsubscribe = signed_link(app, &key, Recipient::Admin(admin.id));
            (admin.email, on_call_mail(Language::English, &session.store.name, reason, &lines, &unsubscribe))
        })
        .collect();
    if !claimed(app, &session, EmailClaim::Once(EmailKind::OnCall), now).await? {
        return Ok(JobOutcome::NotDue);
    }
    let mut outcome = JobOutcome::Sent;
    for (address, mail) in &mails {
        if send(app, address, mail).await == JobOutcome::Failed {
            outcome = JobOutcome::Failed;
        }
    }
    Ok(outcome)
}

async fn send_transcript(app: &App, session: Session) -> Result<JobOutcome, ChatError> {
    if transcript_allowed(&session).is_err() {
        return Ok(JobOutcome::NotDue);
    }
    let store = session.store.id;
    let Some(address) = store_address(app, &session).await? else { return Ok(JobOutcome::NoRecipient) };
    let whole = app.store.messages(session.id, MessageWindow::After(MessageId(0)), TRANSCRIPT_LIMIT).await?;
    let messages = whole.map(|slice| slice.messages).unwrap_or_default();
    let (language, names, unsubscribe) = tokio::try_join!(
        store_language(app, store),
        admin_names(app, &messages),
        unsubscribe_link(app, Recipient::Store(store)),
    )?;
    let lines = mail_lines(&messages, &session.store.name, &names);
    let link = app.config.email.conversation_link(session.id, store);
    let mail = transcript_mail(language, &session.store.name, &lines, link.as_deref(), &unsubscribe);
    if !claimed(app, &session, EmailClaim::Once(EmailKind::Transcript), Timestamp::now()).await? {
        return Ok(JobOutcome::NotDue);
    }
    Ok(send(app, &address, &mail).await)
}

/// Whether this caller claimed the mail: of racing callers, one does.
async fn claimed(app: &App, session: &Session, claim: EmailClaim, now: Timestamp) -> Result<bool, ChatError> {
    Ok(matches!(app.store.claim_email(session, claim, now).await?, WriteOutcome::Written(_)))
}

/// Sends a claimed mail. A failure is logged and not retried: it could have gone out.
async fn send(app: &App, to: &str, mail: &Mail) -> JobOutcome {
    let Some(mailer) = &app.mailer else {
        tracing::warn!("a mail is due but no sender is configured");
        crate::telemetry::record(crate::telemetry::Figure::EmailFailures, 1.0);
        return JobOutcome::Failed;
    };
    match mailer.send(to, mail).await {
        Ok(()) => JobOutcome::Sent,
        Err(error) => {
            tracing::error!(%error, "SES did not take a mail");
            crate::telemetry::record(crate::telemetry::Figure::EmailFailures, 1.0);
            JobOutcome::Failed
        }
    }
}

async fn requeue(app: &App, job: EmailJob, wait: Duration) -> Result<JobOutcome, ChatError> {
    let queue = app.email_jobs.as_ref().ok_or(ChatError::Unavailable)?;
    match queue.enqueue(&[(job, wait)]).await {
        Ok(1) => Ok(JobOutcome::Deferred),
        Ok(_) => Err(ChatError::Unavailable),
        Err(error) => {
            tracing::warn!(%error, "could not queue an email job again");
            Err(ChatError::Unavailable)
        }
    }
}

/// The store's address, as its profile now has it, unless it unsubscribed.
async fn store_address(app: &App, session: &Session) -> Result<Option<String>, ChatError> {
    let store = session.store.id;
    let recipient = [Recipient::Store(store)];
    let (profile, unsubscribed) = tokio::try_join!(app.store.store_profile(store), app.store.unsubscribed(&recipient))?;
    let address = profile.map(|profile| profile.email).unwrap_or_else(|| session.store.email.clone());
    let address = address.trim();
    Ok((!address.is_empty() && unsubscribed.first() == Some(&false)).then(|| address.to_owned()))
}

async fn store_language(app: &App, store: StoreId) -> Result<Language, ChatError> {
    Ok(Language::of(app.store.store_locale(store).await?.as_deref()))
}

async fn admin_names(app: &App, messages: &[Message]) -> Result<Vec<(AdminId, String)>, ChatError> {
    let ids: Vec<AdminId> = messages
        .iter()
        .filter(|message| message.sender_type == SenderType::Admin && !message.automatic)
        .map(|message| AdminId(message.sender_id))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(app.store.admin_profiles(&ids).await?.into_iter().map(|admin| (admin.id, admin.name)).collect())
}

/// The lines of a mail about `messages`: a deleted message is not told.
fn mail_lines(messages: &[Message], store_name: &str, admin_names: &[(AdminId, String)]) -> Vec<MailLine> {
    messages
        .iter()
        .filter(|message| !message.is_deleted())
        .map(|message| MailLine {
            author: match message.sender_type {
                SenderType::Store => store_name.to_owned(),
                SenderType::Admin => admin_names
                    .iter()
                    .find(|(id, _)| id.0 == message.sender_id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| "Support".to_owned()),
            },
            at: message.created,
            content: message.content.clone(),
            has_file: !message.attachment_type.is_empty(),
        })
        .collect()
}

/// `recipient`'s one-click unsubscribe link, signed with the deployment's link key.
pub async fn unsubscribe_link(app: &App, recipient: Recipient) -> Result<String, ChatError> {
    Ok(signed_link(app, &app.store.email_link_key().await?, recipient))
}

fn signed_link(app: &App, key: &[u8], recipient: Recipient) -> String {
    let signature = unsubscribe_signature(key, recipient);
    format!("{}?r={recipient}&s={signature}", app.config.email.unsubscribe_url)
}

/// Unsubscribes the recipient a signed link names: its own link stops every mail to it.
pub async fn unsubscribe(app: &App, recipient: &str, signature: &str) -> Result<Recipient, ChatError> {
    let refused = || ChatError::bad_request("This unsubscribe link is not valid");
    let recipient: Recipient = recipient.parse().map_err(|()| refused())?;
    let key = app.store.existing_email_link_key().await?.ok_or_else(refused)?;
    if !verify_unsubscribe(&key, recipient, signature) {
        return Err(refused());
    }
    app.store.unsubscribe(recipient, Timestamp::now()).await?;
    tracing::info!(%recipient, "unsubscribed");
    Ok(recipient)
}

/// A transcript request taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptRequested {
    pub session_id: SessionId,
}

/// Queues the transcript of the store's session `session_id` (by default the one it closed
/// last) to its address: refused while it is open, once sent, or without an address.
pub async fn request_transcript(
    app: &App,
    store: StoreId,
    session_id: Option<SessionId>,
) -> Result<TranscriptRequested, ChatError> {
    let queue = app
        .email_jobs
        .as_ref()
        .ok_or_else(|| ChatError::Conflict("Transcripts by email are not available here".into()))?;
    let session = match session_id {
        Some(id) => app.store.session(id).await?,
        None => app.store.latest_session(store, 0).await?.map(|page| page.session),
    };
    let session = session.ok_or_else(session_not_found)?;
    session.may_view(Principal::Store(store))?;
    transcript_allowed(&session).map_err(|refused| ChatError::Conflict(refused.to_string()))?;
    let queued = queue.enqueue(&[(EmailJob::Transcript { session_id: session.id }, Duration::ZERO)]).await;
    match queued {
        Ok(1) => Ok(TranscriptRequested { session_id: session.id }),
        Ok(_) | Err(_) => Err(ChatError::Unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::{EventKind, MessageId, MessageView};
    use crate::storage::MemoryStore;
    use std::sync::Arc;

    fn event(kind: EventKind, body: EventBody) -> OutboundEvent {
        OutboundEvent {
            id: "e".into(),
            kind,
            session_id: SessionId(4),
            occurred_at: Timestamp::now(),
            sequence: None,
            body,
        }
    }

    fn message(sender_type: SenderType, automatic: bool) -> EventBody {
        let view = MessageView {
            id: MessageId(9),
            session_id: SessionId(4),
            sender_type,
            sender_id: 3,
            content: "hi".into(),
            attachment_url: String::new(),
            attachment_type: String::new(),
            status: crate::domain::MessageStatus::Sent,
            created: Timestamp::now(),
            updated: Timestamp::now(),
            automatic,
            edited_at: None,
            deleted_at: None,
        };
        EventBody::Message { message: view }
    }

    #[test]
    fn only_the_teams_own_answers_start_a_digest_job() {
        let app = App::new(Arc::new(MemoryStore::new()), Config::local("t", None, None));
        let events = [
            event(EventKind::MessageCreated, message(SenderType::Store, false)),
            event(EventKind::MessageCreated, message(SenderType::Admin, true)),
            event(EventKind::MessageCreated, message(SenderType::Admin, false)),
        ];
        let jobs = jobs_of(&app, &events);
        let digest = (EmailJob::Digest { session_id: SessionId(4) }, app.config.email.digest_after);
        assert_eq!(jobs, [(2, digest)]);
    }
}
