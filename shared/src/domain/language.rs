//! The languages the product writes to stores in (its automatic replies; the widget has the
//! same four for its own texts), chosen by a store's locale: `de-AT` is German, anything it
//! does not speak is English.
//!
//! Four languages and the few phrases below do not call for an internationalisation
//! library (ICU's data alone is megabytes in a Lambda): the phrases are written here, and
//! dates are said as a weekday and a 24-hour time, which every one of them reads.

use jiff::civil::Weekday;

use super::hours::LocalMoment;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    English,
    German,
    French,
    Spanish,
}

impl Language {
    /// The language of a locale (`fr`, `fr-CA`, `es_MX`), English when it is none of ours.
    pub fn of(locale: Option<&str>) -> Language {
        let primary = locale.and_then(|l| l.split(['-', '_']).next()).unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "de" => Language::German,
            "fr" => Language::French,
            "es" => Language::Spanish,
            _ => Language::English,
        }
    }

    fn weekday(self, day: Weekday) -> &'static str {
        let names = match self {
            Language::English => ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            Language::German => ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
            Language::French => ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
            Language::Spanish => ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
        };
        names[day.to_monday_zero_offset() as usize]
    }

    /// When the team is back, as a person says it: "today at 09:00", "Monday at 09:00",
    /// or past a week "2026-12-28 at 09:00"; with the time zone it is in.
    pub fn moment(self, at: &LocalMoment, time_zone: &str) -> String {
        let time = format!("{:02}:{:02}", at.hour, at.minute);
        let date = at.date.to_string();
        let (today, tomorrow) = match self {
            Language::English => ("today", "tomorrow"),
            Language::German => ("heute", "morgen"),
            Language::French => ("aujourd'hui", "demain"),
            Language::Spanish => ("hoy", "mañana"),
        };
        let day = match at.days_ahead {
            0 => today,
            1 => tomorrow,
            2..=6 => self.weekday(at.weekday),
            _ => date.as_str(),
        };
        match self {
            Language::English => format!("{day} at {time} ({time_zone})"),
            Language::German => format!("{day} um {time} Uhr ({time_zone})"),
            Language::French => format!("{day} à {time} ({time_zone})"),
            Language::Spanish => format!("{day} a las {time} ({time_zone})"),
        }
    }

    /// The automatic reply to a store that wrote out of hours, until `back` (if the team
    /// comes back within two weeks).
    pub fn away_out_of_hours(self, back: Option<&str>) -> String {
        match (self, back) {
            (Language::English, Some(back)) => {
                format!("Thanks for your message! We're away until {back}, and we'll answer you then.")
            }
            (Language::English, None) => {
                "Thanks for your message! We're away at the moment, and we'll answer you when we're back.".into()
            }
            (Language::German, Some(back)) => {
                format!("Danke für Ihre Nachricht! Wir sind bis {back} nicht da und antworten Ihnen dann.")
            }
            (Language::German, None) => {
                "Danke für Ihre Nachricht! Wir sind gerade nicht da und antworten Ihnen, sobald wir zurück sind.".into()
            }
            (Language::French, Some(back)) => {
                format!(
                    "Merci pour votre message ! Nous sommes absents jusqu'à {back} et vous répondrons à ce moment-là."
                )
            }
            (Language::French, None) => {
                "Merci pour votre message ! Nous sommes absents pour le moment et vous répondrons dès notre retour."
                    .into()
            }
            (Language::Spanish, Some(back)) => {
                format!("¡Gracias por tu mensaje! Estamos fuera hasta {back} y te responderemos entonces.")
            }
            (Language::Spanish, None) => {
                "¡Gracias por tu mensaje! Ahora mismo estamos fuera y te responderemos en cuanto volvamos.".into()
            }
        }
    }

    /// The automatic reply to a store nobody has taken for a while, within hours.
    pub fn away_nobody_available(self) -> String {
        match self {
            Language::English => {
                "Thanks for your message! Everyone on the team is busy right now; we'll answer you as soon as we can."
            }
            Language::German => {
                "Danke für Ihre Nachricht! Gerade sind alle im Team beschäftigt; wir antworten Ihnen so bald wie möglich."
            }
            Language::French => {
                "Merci pour votre message ! Toute l'équipe est occupée pour le moment ; nous vous répondrons dès que possible."
            }
            Language::Spanish => {
                "¡Gracias por tu mensaje! Ahora todo el equipo está ocupado; te responderemos lo antes posible."
            }
        }
        .into()
    }

    /// The sentence an automatic reply ends with when the answer will also come by email.
    pub fn by_email_too(self) -> &'static str {
        match self {
            Language::English => " If you have left by then, the answer will reach you by email too.",
            Language::German => " Falls Sie dann nicht mehr hier sind, erhalten Sie die Antwort auch per E-Mail.",
            Language::French => " Si vous n'êtes plus là, la réponse vous parviendra aussi par e-mail.",
            Language::Spanish => " Si ya no estás aquí, también recibirás la respuesta por correo electrónico.",
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn a_locale_speaks_its_language_or_english() {
        assert_eq!(Language::of(Some("de-AT")), Language::German);
        assert_eq!(Language::of(Some("fr_CA")), Language::French);
        assert_eq!(Language::of(Some("ES")), Language::Spanish);
        assert_eq!(Language::of(Some("ar")), Language::English);
        assert_eq!(Language::of(None), Language::English);
    }

    #[test]
    fn a_moment_is_said_by_how_far_ahead_it_is() {
        let moment = |days_ahead| LocalMoment {
            date: date(2026, 12, 28),
            weekday: Weekday::Monday,
            hour: 9,
            minute: 0,
            days_ahead,
        };
        assert_eq!(Language::English.moment(&moment(0), "Europe/Berlin"), "today at 09:00 (Europe/Berlin)");
        assert_eq!(Language::German.moment(&moment(1), "Europe/Berlin"), "morgen um 09:00 Uhr (Europe/Berlin)");
        assert_eq!(Language::French.moment(&moment(3), "UTC"), "lundi à 09:00 (UTC)");
        assert_eq!(Language::Spanish.moment(&moment(9), "UTC"), "2026-12-28 a las 09:00 (UTC)");
    }
}
