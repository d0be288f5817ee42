//! Email to people who are not there, through an SES v2 stand-in and delayed jobs on SQS
//! (moto), on every stack: a store away from the page gets one digest of the answers it
//! missed, once their wait is over; a store that came back gets none; an unsubscribed store
//! gets nothing more; the admins on call hear of a store writing out of hours, once; and a
//! store gets the transcript it asked for, once. In `--lambda`, the jobs of one session run
//! in racing instances and still send each mail once.

use e2e::cast::{SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::mailbox::{Mailbox, header};
use e2e::stack::{fresh_table, moto};
use e2e::ws::Client;
use serde_json::{Value, json};

const STORE_ADDRESS: &str = "store@example.com";
const SARAH_ADDRESS: &str = "sarah@example.com";
/// Each wait, short: the jobs are held back this long on the queue.
const WAIT_SECONDS: &str = "2";

/// The gateway's options that mail through `mailbox`, with delayed jobs on moto's SQS.
fn mailing(mailbox: &Mailbox) -> Vec<String> {
    [
        "--queue-endpoint",
        &moto().endpoint(),
        "--ses-endpoint",
        &mailbox.endpoint(),
        "--digest-after-seconds",
        WAIT_SECONDS,
        "--on-call-after-seconds",
        WAIT_SECONDS,
        "--conversation-url",
        "https://shop.example/help?session={session_id}",
    ]
    .map(str::to_owned)
    .to_vec()
}

async fn store_sends(gateway: &Gateway, content: &str) -> Value {
    let body = json!({ "content": content, "client_message_id": content });
    let (status, sent) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(&token_of_store(TECH_STORE)), &body).await;
    assert_eq!(status, 201, "{sent}");
    sent
}

async fn sarah_answers(gateway: &Gateway, session_id: &Value, contents: &[&str]) {
    let sarah = token_of_admin(SARAH);
    let claimed =
        post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&sarah), &json!({"session_id": session_id}))
            .await;
    assert!(claimed.0 == 200 || claimed.0 == 409, "{claimed:?}");
    for content in contents {
        let body = json!({"session_id": session_id, "content": content});
        let (status, sent) = post_json(&gateway.url("/v1/chat/admin/messages/"), Some(&sarah), &body).await;
        assert_eq!(status, 201, "{sent}");
    }
}

/// Waits until `n` email jobs have run, in all: each is one invocation of the queue's
/// function here (a standard queue's messages are handed over one by one).
fn jobs_run(gateway: &Gateway, n: usize) {
    gateway.invocation_of("queue email-jobs", n);
}

async fn one_digest_covers_the_answers_a_store_missed(gateway: Gateway, mailbox: Mailbox) {
    let opened = store_sends(&gateway, "Where is my order?").await;
    sarah_answers(&gateway, &opened["session_id"], &["Let me look.", "It ships <today>.", "Anything else?"]).await;
    // A note for the team, written before the digest: never in the store's mail.
    let note = json!({"session_id": opened["session_id"], "content": "Ships from the other warehouse"});
    let (status, written) = post_json(&gateway.url("/v1/chat/admin/notes/"), Some(&token_of_admin(SARAH)), &note).await;
    assert_eq!(status, 201, "{written}");
    let mails = mailbox.wait_for(STORE_ADDRESS, 1).await;
    // Two on-call checks (nobody is on call) and three digest checks: one mail.
    jobs_run(&gateway, 5);
    let mails_then = mailbox.mails_to(STORE_ADDRESS).await;
    assert_eq!(mails_then.len(), 1, "{mails_then:#?}");
    let digest = &mails[0];
    assert_eq!(digest["subject"], "3 new replies from support");
    let text = digest["body"]["text"].as_str().unwrap();
    for answer in ["Let me look.", "It ships <today>.", "Anything else?"] {
        assert!(text.contains(answer), "{text}");
    }
    assert!(!text.contains("Where is my order?"), "only the team's answers: {text}");
    assert!(!digest.to_string().contains("other warehouse"), "a note in the store's mail: {digest}");
    let html = digest["body"]["html"].as_str().unwrap();
    assert!(html.contains("It ships &lt;today&gt;."), "{html}");
    let link = format!("https://shop.example/help?session={}", opened["session_id"]);
    assert!(text.contains(&link) && html.contains(&link), "{text}");
    assert_eq!(header(digest, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    let unsubscribe = header(digest, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{}", gateway.url("/v1/email/unsubscribe/?r=store-5&s="))),
        "{unsubscribe}"
    );
}

async fn a_store_that_came_back_gets_no_digest(gateway: Gateway, mailbox: Mailbox) {
    let opened = store_sends(&gateway, "Hello?").await;
    sarah_answers(&gateway, &opened["session_id"], &["Hi! One moment."]).await;
    // The store comes back before the wait is over: its page connects, loads what it
    // missed and says it has it, as the widget does; Sarah's inbox sees it delivered.
    let mut inbox = Client::connect(&gateway, Some(&token_of_admin(SARAH))).await.unwrap();
    let mut widget = Client::connect(&gateway, Some(&token_of_store(TECH_STORE))).await.unwrap();
    let (status, page) =
        get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&token_of_store(TECH_STORE))).await;
    assert_eq!(status, 200, "{page}");
    let newest = page["messages"].as_array().unwrap().last().unwrap()["id"].clone();
    widget.send(json!({"action": "mark_delivered", "up_to_message_id": newest})).await;
    let status = inbox.next_of("message.status").await;
    assert_eq!(status["status"], "delivered", "{status}");
    // While it is there, an answer reaches it live.
    sarah_answers(&gateway, &opened["session_id"], &["Here you go."]).await;
    widget.next_of("message.created").await;
    jobs_run(&gateway, 4);
    assert_eq!(mailbox.mails_to(STORE_ADDRESS).await, Vec::<Value>::new());
}

async fn transcripts_on_request_and_an_unsubscribe_that_stops_them(gateway: Gateway, mailbox: Mailbox) {
    let store = token_of_store(TECH_STORE);
    let transcript = |body: Value| {
        let store = store.clone();
        let url = gateway.url("/v1/chat/store/session/transcript/");
        async move { post_json(&url, Some(&store), &body).await }
    };
    let opened = store_sends(&gateway, "Can I return this?").await;
    // Not while the conversation is open.
    let (status, refused) = transcript(json!({})).await;
    assert_eq!((status, refused["success"].clone()), (409, json!(false)), "{refused}");
    sarah_answers(&gateway, &opened["session_id"], &["Yes, within 30 days."]).await;
    // A note for the team, which the store's transcript never holds.
    let note = json!({"session_id": opened["session_id"], "content": "Returned twice already"});
    let (status, written) = post_json(&gateway.url("/v1/chat/admin/notes/"), Some(&token_of_admin(SARAH)), &note).await;
    assert_eq!(status, 201, "{written}");
    // The store was there and read the answer: no digest.
    let (status, store_sees) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store)).await;
    assert_eq!(status, 200, "{store_sees}");
    let newest = store_sees["messages"].as_array().unwrap().last().unwrap()["id"].clone();
    let (status, read) =
        post_json(&gateway.url("/v1/chat/store/session/read/"), Some(&store), &json!({"up_to_message_id": newest}))
            .await;
    assert_eq!(status, 200, "{read}");
    let (status, closed) = post_json(&gateway.url("/v1/chat/store/session/close/"), Some(&store), &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    let (status, queued) = transcript(json!({})).await;
    assert_eq!((status, queued["session_id"].clone()), (202, opened["session_id"].clone()), "{queued}");
    let mails = mailbox.wait_for(STORE_ADDRESS, 1).await;
    let sent = mails.iter().find(|mail| mail["subject"] == "Your conversation with support").expect("a transcript");
    let text = sent["body"]["text"].as_str().unwrap();
    assert!(text.contains("Tech Store") && text.contains("Can I return this?") && text.contains("Sarah"), "{text}");
    assert!(!sent.to_string().contains("Returned twice"), "a note in the store's mail: {sent}");
    // Once a conversation.
    let (status, again) = transcript(json!({ "session_id": opened["session_id"] })).await;
    assert_eq!(status, 409, "{again}");
    assert!(again["message"].as_str().unwrap().contains("already sent"), "{again}");

    // A link scanner's GET changes nothing; the mail client's one-click POST unsubscribes.
    let link = header(sent, "List-Unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();
    let client = reqwest::Client::new();
    let shown = client.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert!(shown.text().await.unwrap().contains("<button"));
    let forged = client.post(link.replace("r=store-5", "r=store-6")).body("List-Unsubscribe=One-Click").send().await;
    assert_eq!(forged.unwrap().status(), 400);
    let unsubscribed = client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(unsubscribed.status(), 200);

    // The next conversation's missed answer, and its transcript, go nowhere.
    let next = store_sends(&gateway, "One more thing").await;
    sarah_answers(&gateway, &next["session_id"], &["Sure?"]).await;
    let (status, closed) = post_json(&gateway.url("/v1/chat/store/session/close/"), Some(&store), &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    let (status, _) = transcript(json!({})).await;
    assert_eq!(status, 202);
    // Four on-call checks, two digest checks, two transcripts.
    jobs_run(&gateway, 8);
    let all = mailbox.mails_to(STORE_ADDRESS).await;
    assert_eq!(all.len(), 1, "{all:#?}");
}

async fn the_admins_on_call_hear_of_a_store_writing_out_of_hours_once(gateway: Gateway, mailbox: Mailbox) {
    let hours = json!({"time_zone": "UTC", "week": {}, "on_call": [SARAH.0]});
    let (status, answer) =
        e2e::platform::Signed::put("/v1/platform/hours/", json!({ "hours": hours })).send(&gateway).await;
    assert_eq!(status, 200, "{answer}");
    store_sends(&gateway, "Anyone there at night?").await;
    let mails = mailbox.wait_for(SARAH_ADDRESS, 1).await;
    // The check at once and the one after the wait: one alert.
    jobs_run(&gateway, 2);
    assert_eq!(mailbox.mails_to(SARAH_ADDRESS).await.len(), 1);
    assert_eq!(mails[0]["subject"], "Out of hours: Tech Store wrote");
    assert!(mails[0]["body"]["text"].as_str().unwrap().contains("Anyone there at night?"));
    assert!(header(&mails[0], "List-Unsubscribe").unwrap().contains("r=admin-2"));
    // The store itself was mailed nothing: nobody answered it yet.
    assert!(mailbox.mails_to(STORE_ADDRESS).await.is_empty());
}

macro_rules! on_every_stack_with_mail {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let mailbox = super::Mailbox::start();
                    // Queues of its own on the binary's moto: they are named after the table.
                    let table = e2e::stack::unique_name("mail");
                    let mut args = super::mailing(&mailbox);
                    args.extend(["--table".to_owned(), table]);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    super::$scenario(super::Gateway::start_with(&args), mailbox).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let mailbox = super::Mailbox::start();
                    let args = super::mailing(&mailbox);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let table = super::fresh_table().await;
                    super::$scenario(super::Gateway::start_on_dynamodb_with(&table, &args), mailbox).await
                }
            )*
        }
        mod lambda {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let mailbox = super::Mailbox::start();
                    let args = super::mailing(&mailbox);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let table = super::fresh_table().await;
                    super::$scenario(super::Gateway::start_as_lambda(&table, &args), mailbox).await
                }
            )*
        }
    };
}

on_every_stack_with_mail!(
    one_digest_covers_the_answers_a_store_missed,
    a_store_that_came_back_gets_no_digest,
    transcripts_on_request_and_an_unsubscribe_that_stops_them,
    the_admins_on_call_hear_of_a_store_writing_out_of_hours_once,
);

/// A mail SES does not take (here, nothing listens where SES should be) is counted in the
/// operator's figures, once, in the line of the job that claimed it.
#[tokio::test(flavor = "multi_thread")]
async fn a_mail_ses_did_not_take_is_counted_as_an_email_failure() {
    let mailbox = Mailbox::start();
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut args = mailing(&mailbox);
    let at = args.iter().position(|arg| arg == "--ses-endpoint").unwrap() + 1;
    args[at] = format!("http://{nowhere}");
    args.extend(["--table".to_owned(), e2e::stack::unique_name("mail")]);
    let gateway = Gateway::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let store = token_of_store(TECH_STORE);
    // No answer, so no digest: the transcript is the one mail.
    store_sends(&gateway, "Never mind, found it.").await;
    let (status, closed) = post_json(&gateway.url("/v1/chat/store/session/close/"), Some(&store), &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    let url = gateway.url("/v1/chat/store/session/transcript/");
    let (status, queued) = post_json(&url, Some(&store), &json!({})).await;
    assert_eq!(status, 202, "{queued}");
    let failed = gateway.wait_for_invocations(|lines| {
        lines.iter().find(|line| line["route"] == "queue email-jobs" && line.get("EmailFailures").is_some()).cloned()
    });
    assert_eq!(e2e::emf::value(&failed, "EmailFailures", "Count", &[&[]]), 1.0, "{failed}");
    let jobs: Vec<Value> =
        gateway.invocations().into_iter().filter(|line| line["route"] == "queue email-jobs").collect();
    assert_eq!(e2e::emf::total(&jobs, "EmailFailures", "Count", &[&[]]), 1.0);
}
