//! The mail that went out, as its recipients would see it: an SES v2 stand-in of the test's
//! own (aws-ses-v2-local), whose mails are read back from its `/store`.

use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a test waits for a mail to arrive: its job's delay and a busy machine.
const MAIL_DEADLINE: Duration = Duration::from_secs(60);
/// How often the stand-in is asked, while a test waits: it tells no one when a mail comes.
const POLL: Duration = Duration::from_millis(100);

pub struct Mailbox {
    ses: ses_local::SesLocal,
}

impl Mailbox {
    /// A fresh stand-in with no mail in it.
    pub fn start() -> Self {
        Mailbox { ses: ses_local::SesLocal::start().expect("the SES stand-in starts") }
    }

    /// What the gateway's `--ses-endpoint` is.
    pub fn endpoint(&self) -> String {
        self.ses.endpoint()
    }

    /// Every mail sent so far to `address`, oldest first.
    pub async fn mails_to(&self, address: &str) -> Vec<Value> {
        let store: Value = reqwest::get(format!("{}/store", self.endpoint()))
            .await
            .expect("the SES stand-in answers")
            .json()
            .await
            .expect("its store is JSON");
        let mails = store["emails"].as_array().cloned().unwrap_or_default();
        mails
            .into_iter()
            .filter(|mail| mail["destination"]["to"].as_array().unwrap().contains(&address.into()))
            .collect()
    }

    /// Waits until `address` has been sent `count` mails; every one sent by then.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + MAIL_DEADLINE;
        loop {
            let mails = self.mails_to(address).await;
            if mails.len() >= count {
                return mails;
            }
            assert!(Instant::now() < deadline, "{address} got {} of {count} mails: {mails:#?}", mails.len());
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The value of a mail's header `name`.
pub fn header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"].as_array()?.iter().find(|header| header["name"] == name)?["value"].as_str()
}
