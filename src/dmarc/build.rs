//! Building DMARC record text: the exact inverse of [`super::parse::record`].

use super::{AlignmentMode, DmarcRecord, ReportUri};

/// The record text, `v=DMARC1; p=...; ...`, tags in RFC 7489's order.
pub fn record(record: &DmarcRecord) -> String {
    let mut tags = vec!["v=DMARC1".to_owned()];
    if let Some(p) = record.policy {
        tags.push(format!("p={}", p.as_str()));
    }
    if let Some(sp) = record.subdomain_policy {
        tags.push(format!("sp={}", sp.as_str()));
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
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut value = b"v=DMARC1; ".to_vec();
            value.extend_from_slice(&bytes);
            let _ = parse::record(&value);
        }
    }
}
