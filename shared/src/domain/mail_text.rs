//! The mails themselves, in the recipient's language: subject, a plain-text part and an HTML
//! part saying the same, and the unsubscribe link in both. What people wrote is escaped in
//! the HTML part; a file shows as a file, never as a link (an email outlives any link to
//! it).

use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};

use super::email::OnCallReason;
use super::language::Language;
use crate::Timestamp;

/// A mail ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The recipient's one-click unsubscribe link (RFC 8058).
    pub unsubscribe_url: String,
}

/// One message as a mail shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailLine {
    pub author: String,
    pub at: Timestamp,
    pub content: String,
    pub has_file: bool,
}

struct Phrases {
    hello: &'static str,
    digest_one: &'static str,
    digest_many: &'static str,
    digest_intro: &'static str,
    transcript_subject: &'static str,
    transcript_intro: &'static str,
    open: &'static str,
    file: &'static str,
    why: &'static str,
    unsubscribe: &'static str,
}

fn phrases(language: Language) -> Phrases {
    match language {
        Language::English => Phrases {
            hello: "Hello",
            digest_one: "A new reply from support",
            digest_many: "new replies from support",
            digest_intro: "our support team answered you while you were away:",
            transcript_subject: "Your conversation with support",
            transcript_intro: "here is the transcript of your conversation with our support team.",
            open: "Continue the conversation",
            file: "(a file)",
            why: "You receive this email about your support conversation.",
            unsubscribe: "Unsubscribe",
        },
        Language::German => Phrases {
            hello: "Hallo",
            digest_one: "Eine neue Antwort vom Support",
            digest_many: "neue Antworten vom Support",
            digest_intro: "unser Support-Team hat Ihnen geantwortet, während Sie weg waren:",
            transcript_subject: "Ihre Unterhaltung mit dem Support",
            transcript_intro: "hier ist das Protokoll Ihrer Unterhaltung mit unserem Support-Team.",
            open: "Unterhaltung fortsetzen",
            file: "(eine Datei)",
            why: "Sie erhalten diese E-Mail zu Ihrer Support-Unterhaltung.",
            unsubscribe: "Abmelden",
        },
        Language::French => Phrases {
            hello: "Bonjour",
            digest_one: "Une nouvelle réponse du support",
            digest_many: "nouvelles réponses du support",
            digest_intro: "notre équipe support vous a répondu pendant votre absence :",
            transcript_subject: "Votre conversation avec le support",
            transcript_intro: "voici la transcription de votre conversation avec notre équipe support.",
            open: "Reprendre la conversation",
            file: "(un fichier)",
            why: "Vous recevez cet e-mail au sujet de votre conversation avec le support.",
            unsubscribe: "Se désabonner",
        },
        Language::Spanish => Phrases {
            hello: "Hola",
            digest_one: "Una nueva respuesta de soporte",
            digest_many: "nuevas respuestas de soporte",
            digest_intro: "nuestro equipo de soporte te respondió mientras no estabas:",
            transcript_subject: "Tu conversación con soporte",
            transcript_intro: "aquí tienes la transcripción de tu conversación con nuestro equipo de soporte.",
            open: "Continuar la conversación",
            file: "(un archivo)",
            why: "Recibes este correo por tu conversación con soporte.",
            unsubscribe: "Darse de baja",
        },
    }
}

/// A message's time as mails give it: UTC, to the minute.
fn clock(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// The mail to a store of the team's answers it missed.
pub fn digest_mail(
    language: Language,
    store_name: &str,
    lines: &[MailLine],
    conversation_url: Option<&str>,
    unsubscribe_url: &str,
) -> Mail {
    let words = phrases(language);
    let subject = match lines.len() {
        1 => words.digest_one.to_owned(),
        count => format!("{count} {}", words.digest_many),
    };
    let intro = format!("{} {store_name}, {}", words.hello, words.digest_intro);
    compose(&words, subject, &intro, lines, conversation_url, unsubscribe_url)
}

/// The mail to a store of a whole closed conversation.
pub fn transcript_mail(
    language: Language,
    store_name: &str,
    lines: &[MailLine],
    conversation_url: Option<&str>,
    unsubscribe_url: &str,
) -> Mail {
    let words = phrases(language);
    let intro = format!("{} {store_name}, {}", words.hello, words.transcript_intro);
    compose(&words, words.transcript_subject.to_owned(), &intro, lines, conversation_url, unsubscribe_url)
}

/// The mail to an admin on call about a store nobody is answering.
pub fn on_call_mail(
    language: Language,
    store_name: &str,
    reason: OnCallReason,
    lines: &[MailLine],
    unsubscribe_url: &str,
) -> Mail {
    let words = phrases(language);
    let (subject, intro) = match (language, reason) {
        (Language::German, OnCallReason::OutOfHours) => (
            format!("Außerhalb der Geschäftszeiten: {store_name} hat geschrieben"),
            format!("{store_name} hat außerhalb der Geschäftszeiten geschrieben und wartet auf eine Antwort."),
        ),
        (Language::German, OnCallReason::Waiting) => (
            format!("Wartet auf Antwort: {store_name}"),
            format!("{store_name} wartet, und niemand hat die Unterhaltung übernommen."),
        ),
        (Language::French, OnCallReason::OutOfHours) => (
            format!("Hors horaires : {store_name} a écrit"),
            format!("{store_name} a écrit en dehors des horaires et attend une réponse."),
        ),
        (Language::French, OnCallReason::Waiting) => (
            format!("En attente de réponse : {store_name}"),
            format!("{store_name} attend, et personne n'a pris la conversation."),
        ),
        (Language::Spanish, OnCallReason::OutOfHours) => (
            format!("Fuera de horario: {store_name} ha escrito"),
            format!("{store_name} escribió fuera del horario y espera una respuesta."),
        ),
        (Language::Spanish, OnCallReason::Waiting) => (
            format!("Esperando respuesta: {store_name}"),
            format!("{store_name} está esperando y nadie ha tomado la conversación."),
        ),
        (Language::English, OnCallReason::OutOfHours) => (
            format!("Out of hours: {store_name} wrote"),
            format!("{store_name} wrote out of business hours and is waiting for an answer."),
        ),
        (Language::English, OnCallReason::Waiting) => (
            format!("Waiting for an answer: {store_name}"),
            format!("{store_name} is waiting, and nobody has taken the conversation."),
        ),
    };
    compose(&words, subject, &intro, lines, None, unsubscribe_url)
}

fn compose(
    words: &Phrases,
    subject: String,
    intro: &str,
    lines: &[MailLine],
    conversation_url: Option<&str>,
    unsubscribe_url: &str,
) -> Mail {
    let content = |line: &MailLine| match (line.content.trim().is_empty(), line.has_file) {
        (false, true) => format!("{} {}", line.content, words.file),
        (true, _) => words.file.to_owned(),
        (false, false) => line.content.clone(),
    };
    let mut plain = format!("{intro}\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1f2328;max-width:560px\">\
         <p>{}</p>",
        text(intro)
    );
    for line in lines {
        plain.push_str(&format!("{} · {}\n{}\n\n", line.author, clock(line.at), content(line)));
        html.push_str(&format!(
            "<div style=\"margin:0 0 12px\"><div style=\"color:#57606a;font-size:13px\">{} · {}</div>\
             <div style=\"white-space:pre-wrap\">{}</div></div>",
            text(&line.author),
            clock(line.at),
            text(&content(line))
        ));
    }
    if let Some(url) = conversation_url {
        plain.push_str(&format!("{}: {url}\n\n", words.open));
        html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", attribute(url), text(words.open)));
    }
    plain.push_str(&format!("--\n{}\n{}: {unsubscribe_url}\n", words.why, words.unsubscribe));
    html.push_str(&format!(
        "<hr><p style=\"color:#57606a;font-size:12px\">{} <a href=\"{}\">{}</a></p></body></html>",
        text(words.why),
        attribute(unsubscribe_url),
        text(words.unsubscribe)
    ));
    Mail { subject, text: plain, html, unsubscribe_url: unsubscribe_url.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(content: &str, has_file: bool) -> MailLine {
        MailLine {
            author: "Sarah".into(),
            at: Timestamp::parse("2026-12-03T10:07:30.000Z").unwrap(),
            content: content.into(),
            has_file,
        }
    }

    #[test]
    fn a_digest_says_the_answers_in_both_parts_and_escapes_them_in_html() {
        let lines = [line("Use <b>code</b> & save", false), line("", true)];
        let mail = digest_mail(
            Language::German,
            "Tech Store",
            &lines,
            Some("https://shop.example/help?session=4"),
            "https://api.example/u?r=store-5&s=x",
        );
        assert_eq!(mail.subject, "2 neue Antworten vom Support");
        assert!(mail.text.contains("Hallo Tech Store"));
        assert!(mail.text.contains("Sarah · 2026-12-03 10:07 UTC\nUse <b>code</b> & save"));
        assert!(mail.text.contains("(eine Datei)"));
        assert!(mail.html.contains("Use &lt;b&gt;code&lt;/b&gt; &amp; save"));
        assert!(mail.html.contains("href=\"https://shop.example/help?session=4\""));
        assert!(mail.html.contains("href=\"https://api.example/u?r=store-5&amp;s=x\""));
        assert!(mail.text.contains("Abmelden: https://api.example/u?r=store-5&s=x"));
    }

    #[test]
    fn one_answer_has_its_own_subject_in_each_language() {
        let lines = [line("Hi", false)];
        let subjects: Vec<String> = [Language::English, Language::German, Language::French, Language::Spanish]
            .map(|language| digest_mail(language, "S", &lines, None, "u").subject)
            .into();
        assert_eq!(
            subjects,
            [
                "A new reply from support",
                "Eine neue Antwort vom Support",
                "Une nouvelle réponse du support",
                "Una nueva respuesta de soporte"
            ]
        );
    }

    #[test]
    fn an_on_call_alert_says_why() {
        let out = on_call_mail(Language::English, "Tech Store", OnCallReason::OutOfHours, &[], "u");
        assert_eq!(out.subject, "Out of hours: Tech Store wrote");
        let waiting = on_call_mail(Language::French, "Tech Store", OnCallReason::Waiting, &[], "u");
        assert!(waiting.text.starts_with("Tech Store attend"));
    }
}
