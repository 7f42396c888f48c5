//! Report parsing and reading: the RFC 9990 §3.1.1 and RFC 7489 Appendix C aggregate XML, the RFC 8460
//! §4 TLS report JSON, and `read_sources` over every container (plain, gzip, zip, mail with zip or
//! gzip, mbox, Maildir, directory). Hostile inputs (entity expansion, bombs, truncation, huge or
//! deep documents, junk) are refused with a reason naming them. Small hand-written fixtures live
//! in testdata/reports-hostile/; big ones are generated here with flate2 and the zip crate.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use mailauth::reports::model::{AggregateFormat, Limits, Report};
use mailauth::reports::source::{Item, Rejected, SourceError, read_sources, read_sources_parallel};
use mailauth::reports::tlsrpt::parse_tls;
use mailauth::reports::xml::{ParseError, parse_aggregate};
use proptest::prelude::*;

use crate::support::archive::{gzip, gzip_of_zeros, zip_of, zip_of_zeros};
use crate::support::testdata;

fn hostile(name: &str) -> PathBuf {
    testdata().join("reports-hostile").join(name)
}

/// Every item `read_sources` hands out for `paths`.
fn read(paths: &[&Path], limits: &Limits) -> Vec<Item> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    let mut items = Vec::new();
    read_sources(&paths, limits, &mut |item| items.push(item)).unwrap();
    items
}

/// The one item read from `path`, which must be a rejection; its reason.
fn rejected_reason(path: &Path, limits: &Limits) -> String {
    let items = read(&[path], limits);
    assert_eq!(items.len(), 1, "{items:?}");
    match &items[0].outcome {
        Err(why) => why.to_string(),
        Ok(report) => panic!("accepted {report:?}"),
    }
}

fn aggregate(item: &Item) -> &mailauth::reports::AggregateReport {
    match &item.outcome {
        Ok(Report::Aggregate(r)) => r,
        other => panic!("{}: not an aggregate report: {other:?}", item.origin),
    }
}

/// Shaped after RFC 9990 §3.1.1 and its schema's example: the dmarc-2.0 namespace, `np`,
/// `testing`, `discovery_method`, `generator`, the `pass` disposition. Values are our own.
const RFC9990_REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>Receiver One</org_name>
    <email>dmarc-reports@receiver-one.example</email>
    <extra_contact_info>https://receiver-one.example/dmarc</extra_contact_info>
    <report_id>r1-2025-0042</report_id>
    <date_range>
      <begin>1735689600</begin>
      <end>1735775999</end>
    </date_range>
    <generator>Receiver One Reporter 3.1</generator>
  </report_metadata>
  <policy_published>
    <domain>example.org</domain>
    <p>reject</p>
    <sp>quarantine</sp>
    <np>reject</np>
    <testing>n</testing>
    <discovery_method>treewalk</discovery_method>
  </policy_published>
  <record>
    <row>
      <source_ip>203.0.113.9</source_ip>
      <count>42</count>
      <policy_evaluated>
        <disposition>pass</disposition>
        <dkim>pass</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from>bounce.example.org</envelope_from>
      <header_from>example.org</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.org</domain>
        <result>pass</result>
        <selector>s2025</selector>
      </dkim>
      <spf>
        <domain>bounce.example.org</domain>
        <result>fail</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>2001:db8:5::1</source_ip>
      <count>3</count>
      <policy_evaluated>
        <disposition>reject</disposition>
        <dkim>fail</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>example.net</envelope_to>
      <envelope_from>spoof.example</envelope_from>
      <header_from>example.org</header_from>
    </identifiers>
    <auth_results>
      <spf>
        <domain>spoof.example</domain>
        <scope>mfrom</scope>
        <result>softfail</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"#;

/// Shaped after RFC 7489 Appendix C as large receivers send it: no namespace, `pct`, `fo`,
/// SPF `scope`, override reasons (`forwarded`, `sampled_out`), plus real-world deviations:
/// upper-case words, padded values, no `envelope_from`, an unknown `<extension>`.
const RFC7489_REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>  legacy-receiver.example  </org_name>
    <email>noreply-dmarc@legacy-receiver.example</email>
    <report_id>17012345678901234567</report_id>
    <date_range><begin> 1700006400 </begin><end>1700092799</end></date_range>
    <error>one record was dropped</error>
  </report_metadata>
  <policy_published>
    <domain>Example.COM</domain>
    <adkim>r</adkim>
    <aspf>s</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
    <fo>1</fo>
  </policy_published>
  <extension><vendor:thing xmlns:vendor="urn:x-vendor">ignored &amp; skipped</vendor:thing></extension>
  <record>
    <row>
      <source_ip> 198.51.100.25 </source_ip>
      <count>1000</count>
      <policy_evaluated>
        <disposition>NONE</disposition>
        <dkim>FAIL</dkim>
        <spf>Pass</spf>
        <reason><type>forwarded</type><comment>arrived via a list &lt;lists.example&gt;</comment></reason>
        <reason><type>sampled_out</type></reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim><domain>lists.example</domain><result>pass</result><selector>k1</selector></dkim>
      <dkim><domain>example.com</domain><result>fail</result><human_result>body hash mismatch</human_result></dkim>
      <spf><domain>example.com</domain><scope>helo</scope><result>pass</result></spf>
    </auth_results>
  </record>
</feedback>
"#;

/// Shaped after RFC 8460 §5's example report; values are our own.
const RFC8460_REPORT: &str = r#"{
  "organization-name": "Sender Org",
  "date-range": {
    "start-datetime": "2025-01-01T00:00:00Z",
    "end-datetime": "2025-01-01T23:59:59Z"
  },
  "contact-info": "tls-reports@sender.example",
  "report-id": "2025-01-01T00:00:00Z_example.org",
  "policies": [{
    "policy": {
      "policy-type": "sts",
      "policy-string": ["version: STSv1", "mode: enforce", "mx: mx1.example.org", "max_age: 86400"],
      "policy-domain": "example.org",
      "mx-host": ["mx1.example.org"]
    },
    "summary": {
      "total-successful-session-count": 5326,
      "total-failure-session-count": 303
    },
    "failure-details": [{
      "result-type": "certificate-expired",
      "sending-mta-ip": "2001:db8:abcd:0012::1",
      "receiving-mx-hostname": "mx1.example.org",
      "failed-session-count": 100
    }, {
      "result-type": "starttls-not-supported",
      "sending-mta-ip": "198.51.100.62",
      "receiving-mx-hostname": "mx1.example.org",
      "receiving-ip": "192.0.2.33",
      "failed-session-count": 200,
      "additional-information": "https://reports.sender.example/tls/detail"
    }, {
      "result-type": "validation-failure",
      "sending-mta-ip": "198.51.100.1",
      "receiving-ip": "192.0.2.34",
      "receiving-mx-hostname": "mx1.example.org",
      "failed-session-count": 3,
      "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    }]
  }]
}"#;

/// RFC 9990 §3.1.1 "Description of the content XML file": every field of the schema's shape is read.
#[test]
fn rfc9990_3_1_1_aggregate_report_parses_field_by_field() {
    let r = parse_aggregate(RFC9990_REPORT.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(r.format, AggregateFormat::Rfc9990);
    assert_eq!(r.org_name, "Receiver One");
    assert_eq!(
        r.email.as_deref(),
        Some("dmarc-reports@receiver-one.example")
    );
    assert_eq!(
        r.extra_contact_info.as_deref(),
        Some("https://receiver-one.example/dmarc")
    );
    assert_eq!(r.report_id, "r1-2025-0042");
    assert_eq!((r.begin, r.end), (1_735_689_600, 1_735_775_999));
    assert_eq!(r.generator.as_deref(), Some("Receiver One Reporter 3.1"));
    assert!(r.errors.is_empty());
    let p = &r.policy;
    assert_eq!(p.domain, "example.org");
    assert_eq!(p.p.as_deref(), Some("reject"));
    assert_eq!(p.sp.as_deref(), Some("quarantine"));
    assert_eq!(p.np.as_deref(), Some("reject"));
    assert_eq!(p.testing.as_deref(), Some("n"));
    assert_eq!(p.discovery_method.as_deref(), Some("treewalk"));
    assert_eq!(
        (p.pct, p.fo.as_deref(), p.adkim.as_deref()),
        (None, None, None)
    );
    assert_eq!(r.records.len(), 2);
    let a = &r.records[0];
    assert_eq!(a.source_ip.to_string(), "203.0.113.9");
    assert_eq!(a.count, 42);
    assert_eq!(
        (
            a.disposition.as_str(),
            a.dkim_aligned.as_str(),
            a.spf_aligned.as_str()
        ),
        ("pass", "pass", "fail")
    );
    assert!(a.dmarc_pass());
    assert_eq!(a.header_from, "example.org");
    assert_eq!(a.envelope_from.as_deref(), Some("bounce.example.org"));
    assert_eq!(a.envelope_to, None);
    assert_eq!(a.dkim.len(), 1);
    assert_eq!(
        (
            a.dkim[0].domain.as_str(),
            a.dkim[0].selector.as_deref(),
            a.dkim[0].result.as_str()
        ),
        ("example.org", Some("s2025"), "pass")
    );
    assert_eq!(
        (
            a.spf[0].domain.as_str(),
            a.spf[0].scope.as_deref(),
            a.spf[0].result.as_str()
        ),
        ("bounce.example.org", None, "fail")
    );
    let b = &r.records[1];
    assert_eq!(b.source_ip.to_string(), "2001:db8:5::1");
    assert_eq!((b.count, b.disposition.as_str()), (3, "reject"));
    assert!(!b.dmarc_pass());
    assert_eq!(b.envelope_to.as_deref(), Some("example.net"));
    assert!(b.dkim.is_empty());
    assert_eq!(b.spf[0].scope.as_deref(), Some("mfrom"));
    assert_eq!(b.spf[0].result, "softfail");
}

/// RFC 7489 Appendix C: the legacy format with `pct`, `fo`, SPF `scope`, the `forwarded` and
/// `sampled_out` reasons, read leniently (case, whitespace, no `envelope_from`, no `version`,
/// an unknown `<extension>`).
#[test]
fn rfc7489_appendix_c_legacy_report_parses_leniently() {
    let r = parse_aggregate(RFC7489_REPORT.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(r.format, AggregateFormat::Rfc7489);
    assert_eq!(r.org_name, "legacy-receiver.example");
    assert_eq!(r.report_id, "17012345678901234567");
    assert_eq!((r.begin, r.end), (1_700_006_400, 1_700_092_799));
    assert_eq!(r.errors, vec!["one record was dropped".to_owned()]);
    assert_eq!(r.generator, None);
    let p = &r.policy;
    assert_eq!(p.domain, "example.com");
    assert_eq!(
        (p.adkim.as_deref(), p.aspf.as_deref()),
        (Some("r"), Some("s"))
    );
    assert_eq!(
        (p.p.as_deref(), p.sp.as_deref()),
        (Some("none"), Some("none"))
    );
    assert_eq!(p.pct, Some(100));
    assert_eq!(p.fo.as_deref(), Some("1"));
    assert_eq!((p.np.as_deref(), p.testing.as_deref()), (None, None));
    assert_eq!(r.records.len(), 1);
    let rec = &r.records[0];
    assert_eq!(rec.source_ip.to_string(), "198.51.100.25");
    assert_eq!(rec.count, 1000);
    assert_eq!(
        (
            rec.disposition.as_str(),
            rec.dkim_aligned.as_str(),
            rec.spf_aligned.as_str()
        ),
        ("none", "fail", "pass")
    );
    assert_eq!(rec.reasons.len(), 2);
    assert_eq!(rec.reasons[0].kind, "forwarded");
    assert_eq!(
        rec.reasons[0].comment.as_deref(),
        Some("arrived via a list <lists.example>")
    );
    assert_eq!(
        (
            rec.reasons[1].kind.as_str(),
            rec.reasons[1].comment.as_deref()
        ),
        ("sampled_out", None)
    );
    assert_eq!(rec.envelope_from, None);
    assert_eq!(rec.header_from, "example.com");
    assert_eq!(rec.dkim.len(), 2);
    assert_eq!(
        rec.dkim[1].human_result.as_deref(),
        Some("body hash mismatch")
    );
    assert_eq!(rec.dkim[1].selector, None);
    assert_eq!(rec.spf[0].scope.as_deref(), Some("helo"));
}

/// RFC 8460 §4 (the JSON field names of §4.4), an example shaped like §5's: every field read,
/// the RFC 3339 dates as epoch seconds.
#[test]
fn rfc8460_4_tls_report_parses_field_by_field() {
    let r = parse_tls(RFC8460_REPORT.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(r.org_name, "Sender Org");
    assert_eq!(
        r.contact_info.as_deref(),
        Some("tls-reports@sender.example")
    );
    assert_eq!(r.report_id, "2025-01-01T00:00:00Z_example.org");
    assert_eq!((r.begin, r.end), (1_735_689_600, 1_735_775_999));
    assert_eq!(r.policies.len(), 1);
    let p = &r.policies[0];
    assert_eq!(p.policy_type, "sts");
    assert_eq!(p.policy_string.len(), 4);
    assert_eq!(p.policy_string[1], "mode: enforce");
    assert_eq!(p.policy_domain, "example.org");
    assert_eq!(p.mx_host, vec!["mx1.example.org".to_owned()]);
    assert_eq!((p.successful, p.failed), (5326, 303));
    assert_eq!(p.failures.len(), 3);
    let f = &p.failures[0];
    assert_eq!(f.result_type, "certificate-expired");
    assert_eq!(f.sending_mta_ip.unwrap().to_string(), "2001:db8:abcd:12::1");
    assert_eq!(f.receiving_mx_hostname.as_deref(), Some("mx1.example.org"));
    assert_eq!((f.receiving_ip, f.sessions), (None, 100));
    assert_eq!(
        p.failures[1].receiving_ip.unwrap().to_string(),
        "192.0.2.33"
    );
    assert_eq!(
        p.failures[1].additional_information.as_deref(),
        Some("https://reports.sender.example/tls/detail")
    );
    assert_eq!(
        p.failures[2].failure_reason_code.as_deref(),
        Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
    );
}

/// RFC 8460 §4.4: a missing required field is named.
#[test]
fn rfc8460_4_4_missing_required_field_is_named() {
    let without_id = RFC8460_REPORT.replace("\"report-id\"", "\"report-idx\"");
    let err = parse_tls(without_id.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "missing required report-id");
    let without_count = RFC8460_REPORT.replace("\"total-failure-session-count\"", "\"x\"");
    let err = parse_tls(without_count.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("policies[0].summary.total-failure-session-count"),
        "{err}"
    );
    let bad_date = RFC8460_REPORT.replace("2025-01-01T00:00:00Z\"", "yesterday\"");
    let err = parse_tls(bad_date.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        err.to_string().contains("date-range.start-datetime"),
        "{err}"
    );
    let negative = RFC8460_REPORT.replace(
        "\"failed-session-count\": 100",
        "\"failed-session-count\": -1",
    );
    let err = parse_tls(negative.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("policies[0].failure-details[0].failed-session-count"),
        "{err}"
    );
}

/// RFC 8460 §4.3: failure details are bounded by `max_records`.
#[test]
fn rfc8460_4_3_failure_details_bounded_by_max_records() {
    let limits = Limits {
        max_records: 2,
        ..Limits::default()
    };
    let err = parse_tls(RFC8460_REPORT.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(err, ParseError::TooManyRecords { limit: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("more than 2 records"), "{err}");
}

/// RFC 9990 §3.1.1 required fields: each missing one is refused, naming it.
#[test]
fn rfc9990_3_1_1_missing_required_fields_are_named() {
    let cases = [
        (
            "<org_name>Receiver One</org_name>",
            "feedback/report_metadata/org_name",
        ),
        (
            "<report_id>r1-2025-0042</report_id>",
            "feedback/report_metadata/report_id",
        ),
        (
            "<begin>1735689600</begin>",
            "feedback/report_metadata/date_range/begin",
        ),
        (
            "<domain>example.org</domain>",
            "feedback/policy_published/domain",
        ),
        (
            "<source_ip>203.0.113.9</source_ip>",
            "feedback/record[1]/row/source_ip",
        ),
        ("<count>3</count>", "feedback/record[2]/row/count"),
        (
            "<header_from>example.org</header_from>",
            "feedback/record[1]/identifiers/header_from",
        ),
    ];
    for (cut, path) in cases {
        assert!(RFC9990_REPORT.contains(cut), "{cut}");
        let text = RFC9990_REPORT.replacen(cut, "", 1);
        let err = parse_aggregate(text.as_bytes(), &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, ParseError::Missing { path: p, .. } if p == path),
            "{path}: {err}"
        );
        assert!(err.to_string().contains(path), "{err}");
    }
}

/// A document that is XML but not `<feedback>` is not an aggregate report.
#[test]
fn rfc9990_3_1_1_1_root_must_be_feedback() {
    let err = parse_aggregate(b"<html><body/></html>", &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "root element is <html>, not <feedback>: not a DMARC aggregate report"
    );
}

/// Entity expansion ("billion laughs"): the DTD is refused before any entity is read.
#[test]
fn hostile_billion_laughs_refused_dtd_not_allowed() {
    let reason = rejected_reason(&hostile("billion-laughs.xml"), &Limits::default());
    assert!(reason.contains("DTD not allowed"), "{reason}");
    assert!(reason.contains("line 2"), "{reason}");
}

/// An external entity (XXE): refused as a DTD; nothing is fetched or read.
#[test]
fn hostile_external_entity_refused_dtd_not_allowed() {
    let reason = rejected_reason(&hostile("external-entity.xml"), &Limits::default());
    assert!(reason.contains("DTD not allowed"), "{reason}");
    assert!(!reason.contains("root:"), "{reason}");
}

/// An entity reference that is neither predefined nor numeric is refused, named.
#[test]
fn hostile_undeclared_entity_reference_refused() {
    let reason = rejected_reason(&hostile("undeclared-entity.xml"), &Limits::default());
    assert!(reason.contains("entity reference &nbsp;"), "{reason}");
    assert!(reason.contains("line 3"), "{reason}");
    let ok = "<feedback><report_metadata><org_name>A&#38;B&#x21;&quot;</org_name>\
              <report_id>x</report_id><date_range><begin>1</begin><end>2</end></date_range>\
              </report_metadata><policy_published><domain>d.example</domain></policy_published>\
              </feedback>";
    let r = parse_aggregate(ok.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(r.org_name, "A&B!\"");
}

#[test]
fn hostile_truncated_xml_refused() {
    let reason = rejected_reason(&hostile("truncated.xml"), &Limits::default());
    assert!(
        reason.contains("malformed XML at line 16 (byte 602) in feedback/record:"),
        "{reason}"
    );
}

/// RFC 1952: a gzip stream cut in half is refused as truncated.
#[test]
fn hostile_truncated_gzip_refused() {
    let reason = rejected_reason(&hostile("truncated.xml.gz"), &Limits::default());
    assert!(reason.starts_with("truncated or corrupt gzip"), "{reason}");
}

#[test]
fn hostile_non_ip_source_ip_refused() {
    let reason = rejected_reason(&hostile("non-ip-source.xml"), &Limits::default());
    assert!(
        reason.contains("feedback/record[1]/row/source_ip")
            && reason.contains("\"mail.example.net\" is not an IP address"),
        "{reason}"
    );
}

#[test]
fn hostile_negative_count_refused() {
    let reason = rejected_reason(&hostile("negative-count.xml"), &Limits::default());
    assert!(
        reason.contains("feedback/record[1]/row/count") && reason.contains("\"-4\""),
        "{reason}"
    );
}

#[test]
fn hostile_missing_report_id_refused() {
    let reason = rejected_reason(&hostile("missing-report-id.xml"), &Limits::default());
    assert!(
        reason.contains("missing required feedback/report_metadata/report_id"),
        "{reason}"
    );
}

#[test]
fn hostile_binary_junk_refused() {
    let reason = rejected_reason(&hostile("binary-junk.bin"), &Limits::default());
    assert_eq!(reason, "not a report: binary data");
}

#[test]
fn hostile_empty_file_refused() {
    let reason = rejected_reason(&hostile("empty.xml"), &Limits::default());
    assert_eq!(reason, "not a report: empty file");
    assert_eq!(
        parse_aggregate(b"", &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
    assert_eq!(
        parse_tls(b"  ", &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
}

/// A mail with no report part says so (RFC 9990 §3.5.2 "Email": the report is an attachment).
#[test]
fn hostile_mail_without_attachment_refused() {
    let reason = rejected_reason(&hostile("mail-without-attachment.eml"), &Limits::default());
    assert!(reason.contains("without a report attachment"), "{reason}");
}

/// Nesting deeper than `max_xml_depth` is refused where it happens.
#[test]
fn hostile_deep_nesting_refused() {
    let depth = 100_000;
    let mut xml = String::from("<feedback>");
    xml.push_str(&"<extension>".repeat(depth));
    xml.push_str(&"</extension>".repeat(depth));
    xml.push_str("</feedback>");
    let err = parse_aggregate(xml.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, ParseError::TooDeep { limit: 16, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("XML nesting deeper than 16"),
        "{err}"
    );
}

/// 10^6 records with `max_records` at 1000: refused at record 1001.
#[test]
fn hostile_million_records_over_max_records_refused() {
    let record = "<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>\
                  <identifiers><header_from>a.example</header_from></identifiers></record>";
    let mut xml = String::with_capacity(record.len() * 1_000_000 + 512);
    xml.push_str(
        "<feedback><report_metadata><org_name>o</org_name><report_id>i</report_id>\
         <date_range><begin>1</begin><end>2</end></date_range></report_metadata>\
         <policy_published><domain>a.example</domain></policy_published>",
    );
    for _ in 0..1_000_000 {
        xml.push_str(record);
    }
    xml.push_str("</feedback>");
    let limits = Limits {
        max_records: 1000,
        ..Limits::default()
    };
    let err = parse_aggregate(xml.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(err, ParseError::TooManyRecords { limit: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("more than 1000 records"), "{err}");
}

/// A 50 MB XML file is refused by `max_input` from its size, with the size and the limit.
#[test]
fn hostile_50_mb_xml_refused_by_max_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"<feedback>").unwrap();
    let chunk = "<extension>padding padding padding</extension>\n".repeat(1000);
    while file.get_ref().metadata().unwrap().len() < 50 << 20 {
        file.write_all(chunk.as_bytes()).unwrap();
        file.flush().unwrap();
    }
    file.write_all(b"</feedback>").unwrap();
    drop(file);
    let size = std::fs::metadata(&path).unwrap().len();
    let reason = rejected_reason(&path, &Limits::default());
    assert_eq!(
        reason,
        format!("{size} bytes, over the limit of 33554432 bytes (max_input): not read")
    );
}

/// A gzip bomb (200 MB of zeros in a few hundred KB) stops at `max_decompressed`.
#[test]
fn hostile_gzip_bomb_refused_at_the_cap() {
    let bomb = gzip_of_zeros(200);
    assert!(bomb.len() < 1 << 20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xml.gz");
    std::fs::write(&path, &bomb).unwrap();
    let limits = Limits {
        max_decompressed: 4 << 20,
        ..Limits::default()
    };
    let reason = rejected_reason(&path, &limits);
    assert_eq!(
        reason,
        "gzip: decompressed size exceeds 4194304 bytes (max_decompressed)"
    );
}

/// A zip bomb (a 200 MB member of zeros) stops at `max_decompressed` bytes actually read.
#[test]
fn hostile_zip_bomb_refused_at_the_cap() {
    let bomb = zip_of_zeros("report.xml", 200);
    assert!(bomb.len() < 2 << 20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    std::fs::write(&path, &bomb).unwrap();
    let items = read(&[&path], &Limits::default());
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].origin, format!("{}!report.xml", path.display()));
    assert_eq!(
        items[0].outcome.as_ref().unwrap_err().to_string(),
        "zip member: decompressed size exceeds 33554432 bytes (max_decompressed)"
    );
}

#[test]
fn hostile_zip_with_1000_members_refused() {
    let names: Vec<String> = (0..1000).map(|i| format!("m{i}.xml")).collect();
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"<x/>"[..])).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    std::fs::write(&path, zip_of(&members)).unwrap();
    let reason = rejected_reason(&path, &Limits::default());
    assert_eq!(
        reason,
        "zip has 1000 members, over the limit of 16 (max_zip_members): not read"
    );
}

/// RFC 4155 mbox: three messages, one broken: two reports and one refusal, each origin
/// naming its message.
#[test]
fn rfc4155_mbox_three_messages_one_broken_two_accepted() {
    let path = hostile("three-messages-one-broken.mbox");
    let items = read(&[&path], &Limits::default());
    let p = path.display();
    let origins: Vec<&str> = items.iter().map(|i| i.origin.as_str()).collect();
    assert_eq!(
        origins,
        vec![
            format!("{p}#1!first.example!example.com!1699920000!1700006399.xml"),
            format!("{p}#2!broken.xml"),
            format!("{p}#3!third.xml"),
        ]
    );
    assert_eq!(aggregate(&items[0]).report_id, "first-1");
    assert_eq!(aggregate(&items[2]).report_id, "third-3");
    assert_eq!(aggregate(&items[2]).format, AggregateFormat::Rfc9990);
    let why = items[1].outcome.as_ref().unwrap_err().to_string();
    assert!(
        why.contains("\"192.0.2.300\" is not an IP address"),
        "{why}"
    );
}

/// A missing top-level path is an error before anything is read.
#[test]
fn missing_top_level_path_is_a_source_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xml"), RFC9990_REPORT).unwrap();
    let mut items = 0;
    let err = read_sources(
        &[dir.path().join("a.xml"), dir.path().join("absent")],
        &Limits::default(),
        &mut |_| items += 1,
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("absent"), "{err}");
    assert_eq!(items, 0);
}

/// A plain XML file, and a plain JSON file, told by content (names say nothing).
#[test]
fn rfc9990_3_1_1_and_rfc8460_4_plain_files_told_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("report.bin");
    let json = dir.path().join("report.txt");
    std::fs::write(&xml, format!("\u{feff}  \n{RFC7489_REPORT}")).unwrap();
    std::fs::write(&json, RFC8460_REPORT).unwrap();
    let items = read(&[&xml, &json], &Limits::default());
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].origin, xml.display().to_string());
    assert_eq!(aggregate(&items[0]).report_id, "17012345678901234567");
    match &items[1].outcome {
        Ok(Report::Tls(t)) => assert_eq!(t.org_name, "Sender Org"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc1952_gzip_container_xml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.xml.gz");
    let b = dir.path().join("b.json.gz");
    std::fs::write(&a, gzip(RFC9990_REPORT.as_bytes())).unwrap();
    std::fs::write(&b, gzip(RFC8460_REPORT.as_bytes())).unwrap();
    let items = read(&[&a, &b], &Limits::default());
    assert_eq!(items[0].origin, a.display().to_string());
    assert_eq!(aggregate(&items[0]).records.len(), 2);
    assert!(
        matches!(items[1].outcome, Ok(Report::Tls(_))),
        "{:?}",
        items[1]
    );
}

#[test]
fn zip_container_members_each_an_item() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("google.zip");
    let zip = zip_of(&[
        (
            "receiver!example.org!1735689600!1735775999.xml",
            RFC9990_REPORT.as_bytes(),
        ),
        ("notes.txt", b"hello, not a report"),
    ]);
    std::fs::write(&path, zip).unwrap();
    let items = read(&[&path], &Limits::default());
    let p = path.display();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].origin,
        format!("{p}!receiver!example.org!1735689600!1735775999.xml")
    );
    assert_eq!(aggregate(&items[0]).org_name, "Receiver One");
    assert_eq!(items[1].origin, format!("{p}!notes.txt"));
    assert!(items[1].outcome.is_err());
}

/// A report mail as RFC 9990 §3.5.2 "Email" describes (and RFC 8460 §5.3 for TLS), its attachment in base64.
fn report_mail(ctype: &str, filename: &str, attachment: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(attachment);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: dmarc-noreply@receiver.example\r\n\
         To: rua@example.org\r\n\
         Subject: Report domain: example.org Submitter: receiver.example\r\n\
         Date: Wed, 01 Jan 2025 12:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=-b\"\r\n\
         \r\n\
         --=-b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This is an aggregate report.\r\n\
         --=-b\r\n\
         Content-Type: {ctype}; name=\"{filename}\"\r\n\
         Content-Disposition: attachment; filename=\"{filename}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {}\r\n\
         --=-b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

#[test]
fn rfc9990_3_5_2_mail_with_zip_attachment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.eml");
    let zip = zip_of(&[("rpt.xml", RFC9990_REPORT.as_bytes())]);
    std::fs::write(&path, report_mail("application/zip", "rua.zip", &zip)).unwrap();
    let items = read(&[&path], &Limits::default());
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].origin,
        format!("{}!rua.zip!rpt.xml", path.display())
    );
    assert_eq!(aggregate(&items[0]).report_id, "r1-2025-0042");
}

#[test]
fn rfc9990_3_5_2_and_rfc8460_5_3_mail_with_gzip_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.eml");
    let b = dir.path().join("b.eml");
    let gz = gzip(RFC7489_REPORT.as_bytes());
    std::fs::write(&a, report_mail("application/gzip", "rua.xml.gz", &gz)).unwrap();
    let tls = gzip(RFC8460_REPORT.as_bytes());
    std::fs::write(
        &b,
        report_mail("application/tlsrpt+gzip", "tls.json.gz", &tls),
    )
    .unwrap();
    let items = read(&[&a, &b], &Limits::default());
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].origin, format!("{}!rua.xml.gz", a.display()));
    assert_eq!(aggregate(&items[0]).policy.pct, Some(100));
    assert_eq!(items[1].origin, format!("{}!tls.json.gz", b.display()));
    assert!(
        matches!(items[1].outcome, Ok(Report::Tls(_))),
        "{:?}",
        items[1]
    );
}

/// A Maildir: `cur/` and `new/` read in name order; `tmp/`, dotfiles and the mail server's own
/// files beside them (Dovecot's `dovecot-uidlist`, `maildirfolder`) skipped, not rejected.
#[test]
fn maildir_container_reads_cur_and_new_skips_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    let gz = gzip(RFC7489_REPORT.as_bytes());
    std::fs::write(
        md.join("cur/1700000000.1.host:2,S"),
        report_mail("application/gzip", "a.xml.gz", &gz),
    )
    .unwrap();
    std::fs::write(
        md.join("new/1700000001.2.host"),
        report_mail("text/xml", "b.xml", RFC9990_REPORT.as_bytes()),
    )
    .unwrap();
    std::fs::write(md.join("tmp/1700000002.3.host"), b"half-written").unwrap();
    std::fs::write(md.join(".uidvalidity"), b"1").unwrap();
    std::fs::write(md.join("dovecot-uidlist"), b"3 V1700000000 N3\n").unwrap();
    std::fs::write(md.join("maildirfolder"), b"").unwrap();
    let items = read(&[&md], &Limits::default());
    let origins: Vec<String> = items.iter().map(|i| i.origin.clone()).collect();
    let m = md.display();
    assert_eq!(
        origins,
        vec![
            format!("{m}/cur/1700000000.1.host:2,S!a.xml.gz"),
            format!("{m}/new/1700000001.2.host!b.xml"),
        ]
    );
    assert!(items.iter().all(|i| i.outcome.is_ok()), "{items:?}");
}

/// A directory, recursively, sorted by name, dotfiles skipped; what is not a report is listed.
#[test]
fn directory_container_sorted_recursive_nothing_silent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/inner")).unwrap();
    std::fs::write(root.join("b/inner/z.xml"), RFC9990_REPORT).unwrap();
    std::fs::write(root.join("a.json"), RFC8460_REPORT).unwrap();
    std::fs::write(root.join("c.txt"), "just some notes\n").unwrap();
    std::fs::write(root.join(".hidden.xml"), RFC9990_REPORT).unwrap();
    let items = read(&[root], &Limits::default());
    let r = root.display();
    let origins: Vec<String> = items.iter().map(|i| i.origin.clone()).collect();
    assert_eq!(
        origins,
        vec![
            format!("{r}/a.json"),
            format!("{r}/b/inner/z.xml"),
            format!("{r}/c.txt")
        ]
    );
    assert!(items[0].outcome.is_ok() && items[1].outcome.is_ok());
    assert!(matches!(
        items[2].outcome,
        Err(Rejected::Unrecognized { .. })
    ));
}

/// An mbox message over `max_input` is skipped without being held, and refused with its size;
/// the next message is still read.
#[test]
fn rfc4155_mbox_oversized_message_refused_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box");
    let mut data = b"From a@b Thu Jan  1 00:00:00 2025\n".to_vec();
    data.extend(report_mail("text/xml", "big.xml", &vec![b' '; 200_000]));
    data.extend(b"\nFrom a@b Thu Jan  1 00:00:01 2025\n");
    data.extend(report_mail("text/xml", "ok.xml", RFC9990_REPORT.as_bytes()));
    std::fs::write(&path, data).unwrap();
    let limits = Limits {
        max_input: 100_000,
        ..Limits::default()
    };
    let items = read(&[&path], &limits);
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].origin, format!("{}#1", path.display()));
    let why = items[0].outcome.as_ref().unwrap_err().to_string();
    assert!(why.contains("over the limit of 100000 bytes"), "{why}");
    assert_eq!(items[1].origin, format!("{}#2!ok.xml", path.display()));
    assert!(items[1].outcome.is_ok());
}

/// RFC 2046 §5.2.1 message/rfc822: a forwarded report mail is opened and its parts read.
#[test]
fn rfc2046_5_2_1_forwarded_report_mail_is_read() {
    let inner = report_mail("text/xml", "inner.xml", RFC9990_REPORT.as_bytes());
    let mut outer = b"From: admin@example.org\r\nTo: rua@example.org\r\n\
        Subject: Fwd: report\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
        --outer\r\nContent-Type: text/plain\r\n\r\nForwarded.\r\n\
        --outer\r\nContent-Type: message/rfc822\r\n\r\n"
        .to_vec();
    outer.extend(inner);
    outer.extend(b"\r\n--outer--\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fwd.eml");
    std::fs::write(&path, outer).unwrap();
    let items = read(&[&path], &Limits::default());
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].origin,
        format!("{}!part3!inner.xml", path.display())
    );
    assert_eq!(aggregate(&items[0]).report_id, "r1-2025-0042");
}

/// A DOCTYPE without an internal subset is refused too: no DTD is ever read.
#[test]
fn hostile_doctype_without_subset_refused() {
    let xml = format!(
        "<!DOCTYPE feedback SYSTEM \"http://attacker.example/x.dtd\">\n{}",
        &RFC7489_REPORT[40..]
    );
    let err = parse_aggregate(xml.as_bytes(), &Limits::default()).unwrap_err();
    assert!(matches!(err, ParseError::Dtd { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("DTD not allowed (<!DOCTYPE at line 1 (byte 0))"),
        "{err}"
    );
}

/// Containers nested without end (gzip in gzip in ...) stop at a fixed depth.
#[test]
fn hostile_nested_gzip_stops_at_a_fixed_depth() {
    let mut data = RFC9990_REPORT.as_bytes().to_vec();
    for _ in 0..10 {
        data = gzip(&data);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.gz");
    std::fs::write(&path, data).unwrap();
    let reason = rejected_reason(&path, &Limits::default());
    assert_eq!(reason, "containers nested more than 4 deep");
    let mut twice = gzip(&gzip(RFC9990_REPORT.as_bytes()));
    std::fs::write(&path, &mut twice).unwrap();
    assert!(read(&[&path], &Limits::default())[0].outcome.is_ok());
}

/// RFC 9990 §3.1.1.1: the root may carry a prefix for the namespace.
#[test]
fn rfc9990_3_1_1_1_prefixed_namespace_root() {
    let xml = RFC9990_REPORT
        .replace("<feedback xmlns=", "<d:feedback xmlns:d=")
        .replace("</feedback>", "</d:feedback>");
    let r = parse_aggregate(xml.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(r.format, AggregateFormat::Rfc9990);
    assert_eq!(r.records.len(), 2);
}

/// Some receivers declare ISO-8859-1: each byte is then one character; undeclared non-UTF-8
/// is refused with where it is.
#[test]
fn rfc9990_3_1_1_latin1_declared_report_read_undeclared_refused() {
    let mut latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n".to_vec();
    latin1.extend(
        RFC7489_REPORT[40..]
            .replace("legacy-receiver.example", "R\u{e9}cepteur")
            .chars()
            .map(|c| c as u8),
    );
    let r = parse_aggregate(&latin1, &Limits::default()).unwrap();
    assert_eq!(r.org_name, "R\u{e9}cepteur");
    let undeclared = &latin1[latin1.iter().position(|b| *b == b'\n').unwrap() + 1..];
    let err = parse_aggregate(undeclared, &Limits::default()).unwrap_err();
    assert!(matches!(err, ParseError::NotUtf8 { .. }), "{err}");
}

/// A symbolic link to a directory (which could loop) and a FIFO (which would block) are listed,
/// not followed or opened.
#[test]
fn directory_symlink_loop_and_fifo_listed_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.xml"), RFC9990_REPORT).unwrap();
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    let fifo = root.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let items = read(&[&root], &Limits::default());
    let r = root.display();
    assert!(items[0].outcome.is_ok());
    assert_eq!(items[1].origin, format!("{r}/loop"));
    assert!(
        items[1]
            .outcome
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("not followed"),
        "{items:?}"
    );
    if made.is_ok_and(|s| s.success()) {
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[2].origin, format!("{r}/pipe"));
        assert!(matches!(items[2].outcome, Err(Rejected::NotAFile { .. })));
    }
}

/// RFC 4155 (mboxrd quoting): a body line `>From ` is read back as `From `, and a `From ` line
/// starts the next message.
#[test]
fn rfc4155_mbox_quoted_from_lines_unquoted() {
    let xml = RFC7489_REPORT.replace(
        "<error>one record was dropped</error>",
        "<error>\n>From the receiver: one record was dropped</error>",
    );
    let mut data = b"From a@b Thu Jan  1 00:00:00 2025\n".to_vec();
    data.extend(report_mail("text/xml", "a.xml", RFC9990_REPORT.as_bytes()));
    data.extend(b"From a@b Thu Jan  1 00:00:01 2025\n");
    data.extend(
        format!(
            "From: r@b\nMIME-Version: 1.0\nContent-Type: text/xml\n\
             Content-Disposition: attachment; filename=\"q.xml\"\n\n{xml}"
        )
        .into_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rd.mbox");
    std::fs::write(&path, data).unwrap();
    let items = read(&[&path], &Limits::default());
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[1].origin, format!("{}#2!q.xml", path.display()));
    assert_eq!(
        aggregate(&items[1]).errors,
        vec!["From the receiver: one record was dropped".to_owned()]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never make the parsers panic.
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        let _ = parse_aggregate(&bytes, &limits);
        let _ = parse_tls(&bytes, &limits);
    }

    /// Valid reports cut and spliced at arbitrary places never make the parsers panic, and
    /// what they accept still has every required field.
    #[test]
    fn mutated_reports_never_panic_the_parsers(
        which in 0..3usize,
        at in 0..4000usize,
        cut in 0..64usize,
        insert in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let base = [RFC9990_REPORT, RFC7489_REPORT, RFC8460_REPORT][which].as_bytes();
        let at = at % base.len();
        let end = (at + cut).min(base.len());
        let mut bytes = base[..at].to_vec();
        bytes.extend(&insert);
        bytes.extend(&base[end..]);
        let limits = Limits::default();
        if let Ok(r) = parse_aggregate(&bytes, &limits) {
            prop_assert!(!r.org_name.is_empty() && !r.report_id.is_empty());
            prop_assert!(!r.policy.domain.is_empty());
            prop_assert!(r.records.iter().all(|rec| !rec.header_from.is_empty()));
        }
        if let Ok(t) = parse_tls(&bytes, &limits) {
            prop_assert!(!t.org_name.is_empty() && !t.report_id.is_empty());
        }
    }

    /// Arbitrary bytes after each format's magic (gzip, zip, XML, JSON, mail, mbox) never make
    /// `read_sources` panic, and it always says something about the file.
    #[test]
    fn arbitrary_bytes_never_panic_read_sources(
        prefix in prop::sample::select(vec![
            &b""[..], b"\x1f\x8b", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"PK\x03\x04", b"<feedback>", b"{", b"From: a@b\n",
            b"From x\n", b"Content-Type: application/zip\n\n",
        ]),
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        let mut data = prefix.to_vec();
        data.extend(bytes);
        std::fs::write(&path, data).unwrap();
        let mut items = 0;
        read_sources(&[path], &Limits::default(), &mut |_| items += 1).unwrap();
        prop_assert!(items >= 1);
    }
}

/// Parallel reading (`reports ingest --jobs N`) gives exactly the items sequential reading gives,
/// in the same order: every report directory of the repository (reports, mbox, Maildir, zip,
/// gzip, hostile refusals, CLI fixtures), read with 1, 2 and 5 threads, plus more files than one
/// parallel round holds.
#[test]
fn parallel_reading_gives_the_sequential_items_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..150 {
        let xml = RFC7489_REPORT.replace("<report_id>", &format!("<report_id>many-{i}-"));
        std::fs::write(dir.path().join(format!("r{i:03}.xml")), xml).unwrap();
    }
    std::fs::write(dir.path().join("r075-broken.xml"), "<feedback>").unwrap();
    let paths: Vec<PathBuf> = vec![
        testdata().join("reports"),
        testdata().join("reports-cli"),
        testdata().join("reports-hostile"),
        dir.path().to_path_buf(),
    ];
    let describe = |items: Vec<Item>| -> Vec<String> {
        items
            .into_iter()
            .map(|i| match i.outcome {
                Ok(report) => format!(
                    "{} ok {} {}",
                    i.origin,
                    report.org_name(),
                    report.report_id()
                ),
                Err(why) => format!("{} refused {why}", i.origin),
            })
            .collect()
    };
    let mut sequential = Vec::new();
    read_sources(&paths, &Limits::default(), &mut |item| {
        sequential.push(item)
    })
    .unwrap();
    let sequential = describe(sequential);
    assert!(sequential.len() > 170, "{sequential:#?}");
    for threads in [1, 2, 5] {
        let mut parallel = Vec::new();
        read_sources_parallel(&paths, &Limits::default(), threads, &mut |item| {
            parallel.push(item)
        })
        .unwrap();
        assert_eq!(describe(parallel), sequential, "{threads} threads");
    }
}
