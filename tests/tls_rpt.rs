//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` record's parsing and building.

use mailauth::transport::tls_rpt::{TlsRptError, build_record, parse_record};
use proptest::prelude::*;

/// RFC 8460 §3: `v=TLSRPTv1` then `rua=` with one or more comma-separated mailto:/https: URIs.
#[test]
fn rfc8460_3_record_with_mailto_and_https() {
    let r = parse_record("v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
    assert_eq!(r.rua, vec!["mailto:reports@example.com"]);
    let r = parse_record(
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.com , https://reporting.example.com/v1/tlsrpt; ext=1;",
    )
    .unwrap();
    assert_eq!(
        r.rua,
        vec![
            "mailto:tlsrpt@example.com",
            "https://reporting.example.com/v1/tlsrpt"
        ]
    );
}

/// Whether an error is the expected one.
type ErrorTest = fn(&TlsRptError) -> bool;

/// RFC 8460 §3 faults: version, missing rua, other URI schemes, malformed addresses.
#[test]
fn rfc8460_3_record_faults_are_rejected() {
    let cases: &[(&str, ErrorTest)] = &[
        ("v=TLSRPTv2; rua=mailto:a@example.com", |e| {
            matches!(e, TlsRptError::Version(_))
        }),
        ("rua=mailto:a@example.com; v=TLSRPTv1", |e| {
            matches!(e, TlsRptError::Version(_))
        }),
        ("v=TLSRPTv1", |e| matches!(e, TlsRptError::MissingRua)),
        ("v=TLSRPTv1; rua=http://example.com/r", |e| {
            matches!(e, TlsRptError::BadUri(_))
        }),
        ("v=TLSRPTv1; rua=reports@example.com", |e| {
            matches!(e, TlsRptError::BadUri(_))
        }),
        ("v=TLSRPTv1; rua=mailto:example.com", |e| {
            matches!(e, TlsRptError::BadUri(_))
        }),
        ("v=TLSRPTv1; rua=mailto:a@example.com,", |e| {
            matches!(e, TlsRptError::BadUri(_))
        }),
        ("v=TLSRPTv1; rua=https://", |e| {
            matches!(e, TlsRptError::BadUri(_))
        }),
        ("v=TLSRPTv1; rua=mailto:a@x.y; rua=mailto:b@x.y", |e| {
            matches!(e, TlsRptError::Duplicate(_))
        }),
        ("v=TLSRPTv1; rua=mailto:a@x.y; what", |e| {
            matches!(e, TlsRptError::BadField(_))
        }),
    ];
    for (txt, is_expected) in cases {
        let err = parse_record(txt).expect_err(txt);
        assert!(is_expected(&err), "{txt:?} gave {err:?}");
    }
}

/// RFC 8460 §3: building accepts only mailto: and https: URIs and at least one.
#[test]
fn rfc8460_3_build_record() {
    assert_eq!(
        build_record(&[
            "mailto:tls@example.com".into(),
            "https://r.example.com/x".into()
        ])
        .unwrap(),
        "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x"
    );
    assert!(matches!(build_record(&[]), Err(TlsRptError::MissingRua)));
    assert!(matches!(
        build_record(&["ftp://example.com".into()]),
        Err(TlsRptError::BadUri(_))
    ));
}

proptest! {
    /// Parse and build are inverses (RFC 8460 §3).
    #[test]
    fn rfc8460_3_parse_build_round_trip(
        rua in prop::collection::vec(prop_oneof![
            "mailto:[a-z0-9.+]{1,10}@[a-z0-9]{1,10}\\.[a-z]{2,5}",
            "https://[a-z0-9]{1,10}\\.[a-z]{2,5}(/[a-z0-9]{0,8})?",
        ], 1..4)
    ) {
        let built = build_record(&rua).unwrap();
        prop_assert_eq!(parse_record(&built).unwrap().rua, rua);
    }

    /// Parsing never panics.
    #[test]
    fn rfc8460_parse_never_panics(s in "\\PC{0,200}") {
        let _ = parse_record(&s);
    }
}
