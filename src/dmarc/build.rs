//! Building DMARC record text: the exact inverse of [`super::parse::record`]. Records are built
//! as RFC 9989 §4.7 (DMARC Policy Record Format) describes them, with its `np=`, `psd=` and `t=`
//! tags passed beside the record in [`Rfc9989Tags`]; the tags RFC 9989 removed (`pct=`, `rf=`,
//! `ri=`) are still written when asked for, since RFC 7489 receivers read them.

use serde::{Deserialize, Serialize};

use super::{AlignmentMode, DmarcRecord, Policy, ReportUri};

/// The `psd=` flag (RFC 9989 §4.7): whether the record's domain is a public suffix domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Psd {
    /// `y`: a public suffix domain; published by public suffix operators.
    #[serde(rename = "y")]
    Yes,
    /// `n`: not a public suffix domain, and the organizational domain for itself and its
    /// subdomains (the DNS tree walk stops here).
    #[serde(rename = "n")]
    No,
    /// `u`: not a public suffix domain, maybe an organizational domain (the default).
    #[serde(rename = "u")]
    Unknown,
}

impl Psd {
    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Psd::Yes => "y",
            Psd::No => "n",
            Psd::Unknown => "u",
        }
    }

    /// Parse a tag value (`y`, `n` or `u`).
    pub fn from_name(name: &str) -> Option<Psd> {
        match name {
            "y" => Some(Psd::Yes),
            "n" => Some(Psd::No),
            "u" => Some(Psd::Unknown),
            _ => None,
        }
    }
}

/// The tags RFC 9989 added to the record (§4.7; listed in its Appendix C.5.1 "Tags Added"),
/// written beside a [`DmarcRecord`] by [`record_with`]. `None` leaves a tag out, so receivers use
/// its default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rfc9989Tags {
    /// `np=`: the policy for non-existent subdomains.
    pub np: Option<Policy>,
    /// `psd=`: whether the domain is a public suffix domain.
    pub psd: Option<Psd>,
    /// `t=`: `Some(true)` writes `t=y` (testing: receivers apply one level below the policy),
    /// `Some(false)` writes `t=n`.
    pub testing: Option<bool>,
}

/// The record text, `v=DMARC1; p=...; ...`, tags in RFC 7489's order.
pub fn record(record: &DmarcRecord) -> String {
    record_with(record, &Rfc9989Tags::default())
}

/// The record text with RFC 9989's `np=`, `psd=` and `t=` after `sp=`, the rest in RFC 7489's
/// order.
pub fn record_with(record: &DmarcRecord, added: &Rfc9989Tags) -> String {
    let mut tags = vec!["v=DMARC1".to_owned()];
    if let Some(p) = record.policy {
        tags.push(format!("p={}", p.as_str()));
    }
    if let Some(sp) = record.subdomain_policy {
        tags.push(format!("sp={}", sp.as_str()));
    }
    if let Some(np) = added.np {
        tags.push(format!("np={}", np.as_str()));
    }
    if let Some(psd) = added.psd {
        tags.push(format!("psd={}", psd.as_str()));
    }
    if let Some(testing) = added.testing {
        tags.push(format!("t={}", if testing { "y" } else { "n" }));
    }
    if let Some(mode) = record.adkim {
        tags.push(format!("adkim={}", mode_str(mode)));
    }
    if let Some(mode) = record.aspf {
        tags.push(format!("aspf={}", mode_str(mode)));
    }
    if let Some(pct) = record.pct {
        tags.push(format!("pct={pct}"));
    }
    if !record.rua.is_empty() {
        tags.push(format!("rua={}", uris(&record.rua)));
    }
    if !record.ruf.is_empty() {
        tags.push(format!("ruf={}", uris(&record.ruf)));
    }
    if let Some(fo) = &record.fo {
        tags.push(format!("fo={fo}"));
    }
    if let Some(rf) = &record.rf {
        tags.push(format!("rf={rf}"));
    }
    if let Some(ri) = record.ri {
        tags.push(format!("ri={ri}"));
    }
    tags.join("; ")
}

fn mode_str(mode: AlignmentMode) -> &'static str {
    match mode {
        AlignmentMode::Relaxed => "r",
        AlignmentMode::Strict => "s",
    }
}

fn uris(list: &[ReportUri]) -> String {
    list.iter()
        .map(|u| match &u.max_size {
            Some(size) => format!("{}!{size}", u.uri),
            None => u.uri.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmarc::{Policy, parse};
    use proptest::prelude::*;

    #[test]
    fn rfc7489_records_parse_and_round_trip() {
        for text in [
            "v=DMARC1; p=none",
            "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=20; rua=mailto:agg@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; fo=0:d; rf=afrf; ri=3600",
        ] {
            let parsed = parse::record(text.as_bytes()).unwrap();
            assert_eq!(record(&parsed), text);
        }
        // Order and spacing are free after v=; unknown tags are ignored.
        let loose = parse::record(b"v=DMARC1;pct=50 ; p=Quarantine; xnew=1;").unwrap();
        assert_eq!(loose.policy, Some(Policy::Quarantine));
        assert_eq!(loose.pct, Some(50));
        // rua without a valid p: act as p=none (RFC 7489 §6.6.3).
        let no_p = parse::record(b"v=DMARC1; p=bogus; rua=mailto:a@example.com").unwrap();
        assert_eq!(no_p.policy, None);
    }

    #[test]
    fn rfc7489_6_3_syntax_errors() {
        for text in [
            "p=none; v=DMARC1",
            "v=DMARC2; p=none",
            "v=DMARC1",
            "v=DMARC1; p=bogus",
            "v=DMARC1; p=none; sp=maybe",
            "v=DMARC1; p=none; pct=101",
            "v=DMARC1; p=none; adkim=x",
            "v=DMARC1; p=none; rua=https://example.com/r",
            "v=DMARC1; p=none; rua=mailto:nobody",
            "v=DMARC1; p=none; rua=mailto:a@example.com!10x",
            "v=DMARC1; p=none; fo=2",
        ] {
            assert!(parse::record(text.as_bytes()).is_err(), "{text}");
        }
        assert!(parse::is_dmarc_record(b"v=DMARC1; p=none"));
        assert!(!parse::is_dmarc_record(b"v=spf1 -all"));
    }

    /// The RFC 9989 tags read back from built text, by the tag-list grammar alone (parse.rs
    /// learns them separately).
    fn added_tags(text: &str) -> Rfc9989Tags {
        let mut added = Rfc9989Tags::default();
        for tag in crate::taglist::parse(text.as_bytes()).unwrap() {
            match tag.name {
                "np" => added.np = Policy::from_name(tag.value),
                "psd" => added.psd = Psd::from_name(tag.value),
                "t" => added.testing = Some(tag.value == "y"),
                _ => {}
            }
        }
        added
    }

    /// RFC 9989 §4.7 (DMARC Policy Record Format): np=, psd= and t= are written with the values
    /// its grammar allows, and a record with them still reads back as the same record.
    #[test]
    fn rfc9989_4_7_np_psd_t_are_written() {
        let mut r = DmarcRecord::new(Policy::Reject);
        r.subdomain_policy = Some(Policy::Quarantine);
        r.rua = parse::uris("rua", "mailto:d@example.com").unwrap();
        let added = Rfc9989Tags {
            np: Some(Policy::Reject),
            psd: Some(Psd::No),
            testing: Some(true),
        };
        let text = record_with(&r, &added);
        assert_eq!(
            text,
            "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=n; t=y; rua=mailto:d@example.com"
        );
        assert_eq!(parse::record(text.as_bytes()).unwrap(), r);
        assert_eq!(added_tags(&text), added);
        // Without them, the text is what RFC 7489 records have always been.
        assert_eq!(record_with(&r, &Rfc9989Tags::default()), record(&r));
        for psd in [Psd::Yes, Psd::No, Psd::Unknown] {
            assert_eq!(Psd::from_name(psd.as_str()), Some(psd));
        }
        assert_eq!(
            Psd::from_name("Y"),
            None,
            "the grammar's values are lower case"
        );
    }

    fn psd() -> impl Strategy<Value = Psd> {
        prop_oneof![Just(Psd::Yes), Just(Psd::No), Just(Psd::Unknown)]
    }

    fn policy() -> impl Strategy<Value = Policy> {
        prop_oneof![
            Just(Policy::None),
            Just(Policy::Quarantine),
            Just(Policy::Reject)
        ]
    }

    fn mode() -> impl Strategy<Value = AlignmentMode> {
        prop_oneof![Just(AlignmentMode::Relaxed), Just(AlignmentMode::Strict)]
    }

    fn uri() -> impl Strategy<Value = ReportUri> {
        (
            "[a-z]{1,8}",
            "[a-z]{1,8}\\.[a-z]{2,4}",
            proptest::option::of("[1-9][0-9]{0,2}[kmgt]?"),
        )
            .prop_map(|(l, d, s)| ReportUri {
                uri: format!("mailto:{l}@{d}"),
                max_size: s,
            })
    }

    proptest! {
        #[test]
        fn parse_build_are_inverses(
            p in policy(), sp in proptest::option::of(policy()),
            adkim in proptest::option::of(mode()), aspf in proptest::option::of(mode()),
            pct in proptest::option::of(0u8..=100),
            rua in proptest::collection::vec(uri(), 0..3), ruf in proptest::collection::vec(uri(), 0..2),
            ri in proptest::option::of(0u32..1_000_000),
        ) {
            let mut r = DmarcRecord::new(p);
            r.subdomain_policy = sp;
            r.adkim = adkim;
            r.aspf = aspf;
            r.pct = pct;
            r.rua = rua;
            r.ruf = ruf;
            r.ri = ri;
            prop_assert_eq!(parse::record(record(&r).as_bytes()).unwrap(), r);
        }

        #[test]
        fn rfc9989_tags_build_and_read_back(
            p in policy(), np in proptest::option::of(policy()),
            psd in proptest::option::of(psd()), testing in proptest::option::of(any::<bool>()),
            rua in proptest::collection::vec(uri(), 0..3),
        ) {
            let mut r = DmarcRecord::new(p);
            r.rua = rua;
            let added = Rfc9989Tags { np, psd, testing };
            let text = record_with(&r, &added);
            prop_assert_eq!(parse::record(text.as_bytes()).unwrap(), r);
            prop_assert_eq!(added_tags(&text), added);
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut value = b"v=DMARC1; ".to_vec();
            value.extend_from_slice(&bytes);
            let _ = parse::record(&value);
        }
    }
}
