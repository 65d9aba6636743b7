//! Email address syntax (the practical subset notification and ACL addresses use).

/// True for `local@domain.tld`: a local part of letters, digits and `.!#$%&'*+/=?^_`{|}~-`
/// without leading, trailing or doubled dots; a domain of dot-separated labels of letters,
/// digits and inner hyphens with at least two labels and an alphabetic TLD.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld = labels.last().copied().unwrap_or_default();
    labels.iter().all(|l| label_ok(l)) && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_addresses() {
        for e in [
            "data-engineering@company.com",
            "a.b+tag@sub.example.co.uk",
            "x_y@d-1.io",
        ] {
            assert!(is_valid_email(e), "{e}");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for e in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@b.c",
            "a..b@x.com",
            ".a@x.com",
            "a b@x.com",
            "a@-x.com",
            "a@x..com",
            "a@x.c0m",
            "a@@x.com",
        ] {
            assert!(!is_valid_email(e), "{e}");
        }
    }
}
