//! Quartz cron expressions, as Databricks job schedules use them.
//!
//! `seconds minutes hours day-of-month month day-of-week [year]`, with `*`, `?`, lists (`a,b`),
//! ranges (`a-b`, wrapping allowed as in Quartz), steps (`*/n`, `a/n`, `a-b/n`), month names
//! `JAN`–`DEC`, day names `SUN`–`SAT` (1 = Sunday … 7 = Saturday), and the special forms
//! `L`, `L-n`, `LW`, `nW` (day-of-month), `L`, `nL`, `n#m` (day-of-week). Exactly one of
//! day-of-month and day-of-week must be `?` (Quartz does not support constraining both).

/// Why an expression is invalid; `field` is the 0-based field index when one field is at fault,
/// with its character offset and length in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    /// What is wrong (lowercase).
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The offending field: (index, char offset, char length).
    pub field: Option<(usize, usize, usize)>,
}

const FIELD_NAMES: [&str; 7] = [
    "seconds",
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const RANGES: [(u32, u32); 7] = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)];

/// Validates a Quartz cron expression, returning the first problem.
pub fn validate_quartz(expr: &str) -> Result<(), CronError> {
    match check_quartz(expr).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every problem of a Quartz cron expression: one per bad field, or the structural problem.
pub fn check_quartz(expr: &str) -> Vec<CronError> {
    match check_inner(expr) {
        Ok(()) => vec![],
        Err(errors) => errors,
    }
}

fn check_inner(expr: &str) -> Result<(), Vec<CronError>> {
    let mut fields: Vec<(usize, &str)> = vec![];
    let mut offset = 0;
    for (i, c) in expr.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        if i < offset {
            continue;
        }
        let rest = &expr[i..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push((expr[..i].chars().count(), &rest[..end]));
        offset = i + end;
    }
    if fields.len() == 5 {
        return Err(vec![CronError {
            message: format!("`{expr}` has 5 fields; Quartz cron expressions have 6 or 7"),
            help: Some(format!(
                "Quartz starts with a seconds field and needs `?` in day-of-month or day-of-week, e.g. `0 {}`",
                quartzify_unix(expr)
            )),
            field: None,
        }]);
    }
    if !(6..=7).contains(&fields.len()) {
        return Err(vec![CronError {
            message: format!(
                "`{expr}` has {} fields; Quartz cron expressions have 6 or 7",
                fields.len()
            ),
            help: Some(
                "use `seconds minutes hours day-of-month month day-of-week [year]`, e.g. `0 0 2 * * ?`"
                    .into(),
            ),
            field: None,
        }]);
    }
    let errors: Vec<CronError> = fields
        .iter()
        .enumerate()
        .filter_map(|(idx, (off, text))| {
            check_field(idx, text).err().map(|(message, help)| CronError {
                message,
                help,
                field: Some((idx, *off, text.chars().count())),
            })
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let dom = fields[3];
    let dow = fields[5];
    match (dom.1 == "?", dow.1 == "?") {
        (true, true) => Err(vec![CronError {
            message: "`?` can stand in only one of day-of-month and day-of-week".into(),
            help: Some("give one of the two fields a value, e.g. `*` in day-of-month".into()),
            field: Some((5, dow.0, 1)),
        }]),
        (false, false) => Err(vec![CronError {
            message: format!(
                "`{expr}` constrains both day-of-month (`{}`) and day-of-week (`{}`); Quartz needs `?` in one of them",
                dom.1, dow.1
            ),
            help: Some(if dom.1 == "*" {
                "use `?` in day-of-month to run on the given weekdays".into()
            } else {
                "use `?` in day-of-week to run on the given days of the month".into()
            }),
            field: Some(if dom.1 == "*" {
                (3, dom.0, dom.1.chars().count())
            } else {
                (5, dow.0, dow.1.chars().count())
            }),
        }]),
        _ => Ok(()),
    }
}

fn quartzify_unix(expr: &str) -> String {
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != 5 {
        return expr.to_string();
    }
    let (dom, dow) = (parts[2], parts[4]);
    let (dom, dow) = if dow == "*" {
        (dom.to_string(), "?".to_string())
    } else {
        ("?".to_string(), dow.to_string())
    };
    format!("{} {} {} {} {}", parts[0], parts[1], dom, parts[3], dow)
}

type FieldError = (String, Option<String>);

fn check_field(idx: usize, text: &str) -> Result<(), FieldError> {
    let name = FIELD_NAMES[idx];
    let upper = text.to_ascii_uppercase();
    if upper == "?" {
        if idx == 3 || idx == 5 {
            return Ok(());
        }
        return Err((
            format!("`?` is not allowed in the {name} field"),
            Some("`?` is only for day-of-month and day-of-week".into()),
        ));
    }
    // Special day forms stand alone.
    if idx == 3 && (upper == "L" || upper == "LW") {
        return Ok(());
    }
    if idx == 3
        && let Some(n) = upper.strip_prefix("L-")
    {
        return match n.parse::<u32>() {
            Ok(v) if (1..=30).contains(&v) => Ok(()),
            _ => Err((
                format!("`{text}` in day-of-month needs an offset from 1 to 30 after `L-`"),
                None,
            )),
        };
    }
    if idx == 3
        && let Some(n) = upper.strip_suffix('W')
    {
        return match n.parse::<u32>() {
            Ok(v) if (1..=31).contains(&v) => Ok(()),
            _ => Err((
                format!("`{text}` in day-of-month: `W` needs a single day from 1 to 31 before it"),
                Some("e.g. `15W` for the weekday nearest the 15th".into()),
            )),
        };
    }
    if idx == 5 && upper == "L" {
        return Ok(());
    }
    if idx == 5
        && let Some(n) = upper.strip_suffix('L')
    {
        return day_of_week(n).map(|_| ()).map_err(|_| {
            (
                format!("`{text}` in day-of-week: `L` needs a single day (1-7 or SUN-SAT) before it"),
                None,
            )
        });
    }
    if idx == 5
        && let Some((d, nth)) = upper.split_once('#')
    {
        if day_of_week(d).is_err() {
            return Err((
                format!("`{text}` in day-of-week: `#` needs a day (1-7 or SUN-SAT) before it"),
                None,
            ));
        }
        return match nth.parse::<u32>() {
            Ok(v) if (1..=5).contains(&v) => Ok(()),
            _ => Err((
                format!("`{text}` in day-of-week: the week after `#` must be 1 to 5"),
                None,
            )),
        };
    }
    if upper.contains(['L', 'W', '#'])
        && !upper
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !"LW".contains(c))
    {
        return Err((
            format!("`{text}` in {name}: `L`, `W` and `#` cannot be combined with lists or ranges"),
            None,
        ));
    }
    for item in text.split(',') {
        check_item(idx, item)?;
    }
    Ok(())
}

fn check_item(idx: usize, item: &str) -> Result<(), FieldError> {
    let name = FIELD_NAMES[idx];
    let (min, max) = RANGES[idx];
    if item.is_empty() {
        return Err((format!("empty list item in the {name} field"), None));
    }
    let (base, step) = match item.split_once('/') {
        Some((b, s)) => (b, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step {
        let span = if idx == 6 { 129 } else { max - min + 1 };
        match step.parse::<u32>() {
            Ok(s) if s >= 1 && s <= span => {}
            _ => {
                return Err((
                    format!("step `/{step}` in the {name} field must be a number from 1 to {span}"),
                    None,
                ));
            }
        }
    }
    if base == "*" {
        return Ok(());
    }
    if base.is_empty() {
        return Err((
            format!("`{item}` in the {name} field needs a start value before `/`"),
            Some("use `*/n` or `a/n`".into()),
        ));
    }
    let (a, b) = match base.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (base, None),
    };
    value(idx, a)?;
    if let Some(b) = b {
        value(idx, b)?;
    }
    Ok(())
}

fn day_of_week(s: &str) -> Result<u32, ()> {
    if let Some(i) = DAYS.iter().position(|d| d.eq_ignore_ascii_case(s)) {
        return Ok(u32::try_from(i).unwrap_or(0) + 1);
    }
    match s.parse::<u32>() {
        Ok(v) if (1..=7).contains(&v) => Ok(v),
        _ => Err(()),
    }
}

fn value(idx: usize, s: &str) -> Result<u32, FieldError> {
    let name = FIELD_NAMES[idx];
    let (min, max) = RANGES[idx];
    if idx == 4
        && let Some(i) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s))
    {
        return Ok(u32::try_from(i).unwrap_or(0) + 1);
    }
    if idx == 5
        && let Some(i) = DAYS.iter().position(|d| d.eq_ignore_ascii_case(s))
    {
        return Ok(u32::try_from(i).unwrap_or(0) + 1);
    }
    match s.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(0) if idx == 5 => Err((
            "day-of-week `0` is not valid in Quartz cron".to_string(),
            Some("Quartz numbers days 1 (SUN) to 7 (SAT); use `1` or `SUN` for Sunday".into()),
        )),
        Ok(v) => Err((format!("{name} value `{v}` is out of range {min}-{max}"), None)),
        Err(_) => {
            let hint = match idx {
                4 => Some("months are 1-12 or JAN-DEC".to_string()),
                5 => Some("days are 1-7 or SUN-SAT".to_string()),
                _ => None,
            };
            Err((format!("`{s}` is not a valid {name} value"), hint))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_expressions() {
        for e in [
            "0 0 2 * * ?",
            "0 0/15 * * * ?",
            "0 30 9 ? * MON-FRI",
            "0 0 12 ? * 2#1",
            "0 0 12 L * ?",
            "0 0 12 L-3 * ?",
            "0 0 12 LW * ?",
            "0 0 12 15W * ?",
            "0 0 12 ? * 6L",
            "0 0 12 ? * L",
            "0 0 0 1,15 JAN,jul ?",
            "0 0 22-2 * * ?",
            "0 0 2 * * ? 2030",
            "*/5 * * * * ?",
            "0 0 2 ? * FRI-MON",
            "0 5-50/5 * * * ?",
        ] {
            assert_eq!(validate_quartz(e), Ok(()), "{e}");
        }
    }

    fn err(e: &str) -> CronError {
        match validate_quartz(e) {
            Err(x) => x,
            Ok(()) => panic!("`{e}` should be invalid"),
        }
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = check_quartz("0 0 25 ? * MON-FRY");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field, Some((2, 4, 2)));
        assert_eq!(errors[1].field, Some((5, 11, 7)));
    }

    #[test]
    fn rejects_unix_cron_with_a_quartz_suggestion() {
        let e = err("0 2 * * *");
        assert!(e.message.contains("5 fields"));
        assert_eq!(
            e.help.as_deref(),
            Some(
                "Quartz starts with a seconds field and needs `?` in day-of-month or day-of-week, e.g. `0 0 2 * * ?`"
            )
        );
    }

    #[test]
    fn requires_exactly_one_question_mark() {
        let both = err("0 0 2 * * *");
        assert!(both.message.contains("constrains both"));
        assert_eq!(both.field, Some((3, 6, 1)));
        let none = err("0 0 2 ? * ?");
        assert!(none.message.contains("only one"));
    }

    #[test]
    fn rejects_bad_values_and_forms() {
        assert_eq!(err("60 0 2 * * ?").field, Some((0, 0, 2)));
        assert!(err("0 0 24 * * ?").message.contains("out of range 0-23"));
        assert!(err("0 0 2 * 13 ?").message.contains("out of range 1-12"));
        assert!(
            err("0 0 2 ? * 0")
                .help
                .as_deref()
                .is_some_and(|h| h.contains("SUN"))
        );
        assert!(err("0 0 2 ? * FOO").message.contains("not a valid day-of-week"));
        assert!(err("0 0/0 2 * * ?").message.contains("step"));
        assert!(err("0 0/61 2 * * ?").message.contains("step"));
        assert!(err("? 0 2 * * ?").message.contains("`?` is not allowed"));
        assert!(err("0 0 2 32W * ?").message.contains("`W`"));
        assert!(err("0 0 2 L-31 * ?").message.contains("1 to 30"));
        assert!(err("0 0 2 ? * 2#6").message.contains("1 to 5"));
        assert!(err("0 0 2 ? * 8L").message.contains("`L`"));
        assert!(err("0 0 2 1,L * ?").message.contains("cannot be combined"));
        assert!(err("0 0 2 * * ? 1900").message.contains("out of range"));
        assert!(err("0 0 2 * * ? 1 2").message.contains("8 fields"));
        assert!(err("0 0 2 1, * ?").message.contains("empty"));
    }
}
