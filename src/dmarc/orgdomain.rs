//! Organizational domains by RFC 7489 §3.2: the Public Suffix List embedded in the `psl` crate.
//! RFC 9989 replaced this with the DNS Tree Walk (`discovery`); the PSL view is kept for
//! `--dmarc-standard 7489` and for comparing the two.

/// The organizational domain of `domain`: its public suffix plus one label. A name that is
/// itself a public suffix (or unknown to the list and single-label) is its own.
pub fn organizational_domain(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&domain) {
        Some(org) => org.to_owned(),
        None => domain,
    }
}

/// Relaxed alignment: the organizational domains are equal.
pub fn relaxed_match(a: &str, b: &str) -> bool {
    organizational_domain(a) == organizational_domain(b)
}

/// Strict alignment: the names are equal (ignoring case and a trailing dot).
pub fn strict_match(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7489_3_2_organizational_domains() {
        assert_eq!(organizational_domain("mail.example.com"), "example.com");
        assert_eq!(organizational_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("Example.COM."), "example.com");
        assert_eq!(organizational_domain("com"), "com");
        assert!(relaxed_match("news.example.com", "example.com"));
        assert!(!relaxed_match("example.co.uk", "other.co.uk"));
        assert!(strict_match("Example.com", "example.com."));
        assert!(!strict_match("news.example.com", "example.com"));
    }
}
