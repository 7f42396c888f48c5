//! The real mail servers the SMTP tests run against (tests/support/postfix.rs, exim.rs,
//! smtp_sink.rs) start and behave as configured, and independent clients (swaks, testssl.sh,
//! tests/support/peers.rs) agree with what each one is meant to show. These tests check the
//! harness itself; the probe's tests add a `mailauth probe --json` column to the same tables
//! (`relay_table` and the testssl rows) by calling the same helpers.

use std::net::SocketAddr;

use crate::support::exim::{Exim, EximProfile};
use crate::support::mail_tls::{SmtpClient, greeting, tls_client_config};
use crate::support::peers::{
    SwaksTls, swaks_relay_accepted, swaks_relay_after_auth, testssl_protocols,
};
use crate::support::postfix::{Listener, Postfix};
use crate::support::smtp_sink::SmtpSink;

/// True when `keywords` (EHLO lines) advertise `name` (the keyword, then parameters).
fn offers(keywords: &[String], name: &str) -> bool {
    keywords
        .iter()
        .any(|k| k == name || k.starts_with(&format!("{name} ")))
}

/// Every listener of the private Postfix greets with 220 and the banner names no version
/// (`smtpd_banner = $myhostname ESMTP`); implicit TLS verifies against the instance's CA for
/// mx.example.test.
#[test]
fn smtp_servers_postfix_every_listener_greets_220_without_version() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let tls = tls_client_config(postfix.ca_file());
    for listener in Listener::ALL {
        let addr = postfix.addr(listener);
        let line = greeting(addr, listener.implicit_tls().then_some(&tls))
            .unwrap_or_else(|e| panic!("{listener:?} at {addr}: {e}"));
        assert_eq!(line, "220 mx.example.test ESMTP", "{listener:?}");
    }
    assert!(
        !postfix.maillog().contains("fatal:"),
        "{}",
        postfix.maillog()
    );
}

/// What each Postfix listener advertises in EHLO before and after STARTTLS (RFC 3207 §4:
/// STARTTLS keyword; RFC 4954 §4: AUTH keyword), as its `-o` overrides say.
#[test]
fn smtp_servers_postfix_ehlo_matches_each_listener() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let tls = tls_client_config(postfix.ca_file());
    // (listener, STARTTLS offered, AUTH before TLS, AUTH after TLS)
    let table = [
        (Listener::Hardened, true, false, false),
        (Listener::Submission, true, false, true),
        (Listener::OpenRelay, true, false, false),
        (Listener::AuthBeforeTls, true, true, true),
        (Listener::LegacyTls, true, false, false),
        (Listener::NoStarttls, false, false, false),
        (Listener::VrfyOpen, true, false, false),
    ];
    for (listener, starttls, auth_clear, auth_tls) in table {
        let mut client = SmtpClient::connect(postfix.addr(listener), None);
        let ehlo = client.ehlo();
        assert_eq!(
            offers(&ehlo, "STARTTLS"),
            starttls,
            "{listener:?}: {ehlo:?}"
        );
        assert_eq!(offers(&ehlo, "AUTH"), auth_clear, "{listener:?}: {ehlo:?}");
        if starttls {
            let mut client = client.starttls(&tls);
            let ehlo_tls = client.ehlo();
            assert_eq!(
                offers(&ehlo_tls, "AUTH"),
                auth_tls,
                "{listener:?}: {ehlo_tls:?}"
            );
            assert!(!offers(&ehlo_tls, "STARTTLS"), "{listener:?}: {ehlo_tls:?}");
        }
    }
    // Implicit TLS: AUTH offered at once, and no STARTTLS inside TLS.
    let mut smtps = SmtpClient::connect(postfix.addr(Listener::Smtps), Some(&tls));
    let ehlo = smtps.ehlo();
    assert!(
        offers(&ehlo, "AUTH PLAIN LOGIN") || offers(&ehlo, "AUTH LOGIN PLAIN"),
        "{ehlo:?}"
    );
    assert!(!offers(&ehlo, "STARTTLS"), "{ehlo:?}");
}

/// Submission (`smtpd_tls_security_level=encrypt`) refuses MAIL before STARTTLS with 530
/// (RFC 3207 §4: "530 Must issue a STARTTLS command first").
#[test]
fn smtp_servers_postfix_submission_refuses_mail_before_starttls_530() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let mut client = SmtpClient::connect(postfix.addr(Listener::Submission), None);
    client.ehlo();
    let reply = client.command("MAIL FROM:<a@foreign.example>");
    assert_eq!(reply.code, 530, "{reply:?}");
}

/// Hardened requires HELO/EHLO before MAIL (`smtpd_helo_required`, RFC 5321 §4.1.4 allows the
/// refusal) and disables VRFY (502, RFC 5321 §3.5.3); VrfyOpen answers VRFY.
#[test]
fn smtp_servers_postfix_helo_required_and_vrfy_per_listener() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let mut hardened = SmtpClient::connect(postfix.addr(Listener::Hardened), None);
    let reply = hardened.command("MAIL FROM:<a@foreign.example>");
    assert_eq!(reply.code, 503, "MAIL before HELO: {reply:?}");
    hardened.ehlo();
    let reply = hardened.command("VRFY postmaster");
    assert_eq!(reply.code, 502, "VRFY on Hardened: {reply:?}");
    let mut open = SmtpClient::connect(postfix.addr(Listener::VrfyOpen), None);
    open.ehlo();
    let reply = open.command("VRFY postmaster");
    assert!(
        [250, 252].contains(&reply.code),
        "VRFY on VrfyOpen: {reply:?}"
    );
}

/// One row of the relay agreement table.
struct RelayRow {
    server: String,
    addr: SocketAddr,
    tls: SwaksTls,
    /// What the server is configured to do with an unauthenticated relay attempt from 127.0.0.2.
    relays: bool,
}

/// Every test server, with how to reach it and whether it relays for strangers.
fn relay_table(postfix: &Postfix, exims: &[(EximProfile, Exim)], sink: &SmtpSink) -> Vec<RelayRow> {
    let mut rows: Vec<RelayRow> = Listener::ALL
        .into_iter()
        .map(|l| RelayRow {
            server: format!("postfix {l:?}"),
            addr: postfix.addr(l),
            // Submission needs STARTTLS before MAIL; smtps is TLS from the first byte.
            tls: match l {
                Listener::Submission => SwaksTls::StartTls,
                Listener::Smtps => SwaksTls::OnConnect,
                _ => SwaksTls::None,
            },
            relays: l.relays_for_strangers(),
        })
        .collect();
    for (profile, exim) in exims {
        rows.push(RelayRow {
            server: format!("exim {profile:?}"),
            addr: exim.addr(),
            tls: SwaksTls::None,
            relays: *profile == EximProfile::Open,
        });
    }
    rows.push(RelayRow {
        server: "smtp-sink".into(),
        addr: sink.addr(),
        tls: SwaksTls::None,
        relays: true,
    });
    rows
}

/// swaks agrees with each server's configuration on the classic relay attempt
/// (a@foreign.example -> b@other.example from 127.0.0.2, RFC 5321 §3.9 / §7.1): only the open
/// relays (Postfix OpenRelay, Exim Open, smtp-sink) accept the RCPT.
#[test]
fn smtp_servers_swaks_relay_agreement_table() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let mut exims = Vec::new();
    for profile in [EximProfile::Hardened, EximProfile::Open] {
        let Some(exim) = Exim::start(profile) else {
            return;
        };
        exims.push((profile, exim));
    }
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mut disagreements = Vec::new();
    for row in relay_table(&postfix, &exims, &sink) {
        let Some(swaks) = swaks_relay_accepted(row.addr, row.tls) else {
            return;
        };
        if swaks != row.relays {
            disagreements.push(format!(
                "{} at {}: configured relays={}, swaks accepted={swaks}",
                row.server, row.addr, row.relays
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// After AUTH PLAIN over TLS with the instance's SASL user, Submission and smtps relay
/// (RFC 6409 §4.3: submission may relay for authenticated users); a wrong password does not.
#[test]
fn smtp_servers_postfix_sasl_user_relays_after_auth_over_tls() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    for (listener, tls) in [
        (Listener::Submission, SwaksTls::StartTls),
        (Listener::Smtps, SwaksTls::OnConnect),
    ] {
        let addr = postfix.addr(listener);
        let relayed = swaks_relay_after_auth(addr, tls, Postfix::USER, postfix.password_file());
        assert_eq!(relayed, Some(true), "{listener:?}:\n{}", postfix.maillog());
    }
    let mut client = SmtpClient::connect(postfix.addr(Listener::AuthBeforeTls), None);
    client.ehlo();
    let reply = client.command(&format!(
        "AUTH PLAIN {}",
        plain_token(Postfix::USER, "not-the-password")
    ));
    assert_eq!(reply.code, 535, "wrong password: {reply:?}");
}

/// The AUTH PLAIN initial response (RFC 4616 §2): base64 of "\0user\0password".
fn plain_token(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// testssl.sh on LegacyTls (`smtpd_tls_protocols = >=TLSv1`): SSLv3 not offered, TLS 1.0 and
/// 1.1 offered (RFC 8996 §2-3 deprecates them), TLS 1.2 offered.
#[test]
fn smtp_servers_testssl_legacy_tls_listener_offers_tls10_tls11() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let Some(protocols) = testssl_protocols(postfix.addr(Listener::LegacyTls)) else {
        return;
    };
    assert!(!protocols["SSLv3"], "{protocols:?}");
    assert!(protocols["TLSv1.0"], "{protocols:?}");
    assert!(protocols["TLSv1.1"], "{protocols:?}");
    assert!(protocols["TLSv1.2"], "{protocols:?}");
}

/// testssl.sh on Hardened (`smtpd_tls_protocols = >=TLSv1.2`): nothing below TLS 1.2 offered.
#[test]
fn smtp_servers_testssl_hardened_listener_refuses_below_tls12() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let Some(protocols) = testssl_protocols(postfix.addr(Listener::Hardened)) else {
        return;
    };
    for old in ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"] {
        assert!(!protocols[old], "{old}: {protocols:?}");
    }
    assert!(protocols["TLSv1.2"], "{protocols:?}");
    assert!(protocols["TLSv1.3"], "{protocols:?}");
}

/// Exim Hardened: STARTTLS offered, AUTH only after TLS (`auth_advertise_hosts` on
/// `$tls_in_cipher`), and the test user relays after AUTH over TLS. Exim Open: AUTH in clear.
#[test]
fn smtp_servers_exim_profiles_advertise_auth_as_configured() {
    let Some(hardened) = Exim::start(EximProfile::Hardened) else {
        return;
    };
    let tls = tls_client_config(hardened.ca_file());
    let mut client = SmtpClient::connect(hardened.addr(), None);
    assert_eq!(client.greeting.lines, ["mx.example.test ESMTP"]);
    let ehlo = client.ehlo();
    assert!(offers(&ehlo, "STARTTLS"), "{ehlo:?}");
    assert!(!offers(&ehlo, "AUTH"), "AUTH before TLS: {ehlo:?}");
    let mut client = client.starttls(&tls);
    let ehlo_tls = client.ehlo();
    assert!(offers(&ehlo_tls, "AUTH PLAIN"), "{ehlo_tls:?}");
    let relayed = swaks_relay_after_auth(
        hardened.addr(),
        SwaksTls::StartTls,
        Exim::USER,
        hardened.password_file(),
    );
    assert_eq!(relayed, Some(true), "{}", hardened.log());

    let Some(open) = Exim::start(EximProfile::Open) else {
        return;
    };
    let ehlo = SmtpClient::connect(open.addr(), None).ehlo();
    assert!(offers(&ehlo, "AUTH PLAIN"), "{ehlo:?}");
}

/// smtp-sink, the worst server: AUTH offered without STARTTLS.
#[test]
fn smtp_servers_smtp_sink_offers_auth_without_starttls() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let ehlo = SmtpClient::connect(sink.addr(), None).ehlo();
    assert!(offers(&ehlo, "AUTH PLAIN LOGIN"), "{ehlo:?}");
    assert!(!offers(&ehlo, "STARTTLS"), "{ehlo:?}");
}

/// The test zone resolves example.test's MX to mx.example.test at 127.0.0.1 through mailauth's
/// own zone-file resolver (what `--zone` uses).
#[test]
fn smtp_servers_postfix_zone_file_maps_mx_to_loopback() {
    use mailauth::dns::Resolver;
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let zone = mailauth::dns::zone::ZoneResolver::from_files(&[postfix.zone_file().to_path_buf()])
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mx = rt.block_on(zone.mx("example.test")).unwrap();
    let mx: Vec<(u16, &str)> = mx
        .iter()
        .map(|m| (m.preference, m.exchange.as_str()))
        .collect();
    assert_eq!(mx, [(10, "mx.example.test")]);
    let a = rt.block_on(zone.a("mx.example.test")).unwrap();
    assert_eq!(a, [std::net::Ipv4Addr::LOCALHOST]);
}

/// Dropping the instance stops Postfix (its ports refuse connections) and removes its
/// directory: concurrent tests leave no daemons or files behind.
#[test]
fn smtp_servers_postfix_drop_stops_daemon_and_removes_dir() {
    let Some(postfix) = Postfix::start() else {
        return;
    };
    let addr = postfix.addr(Listener::Hardened);
    let dir = postfix.conf_dir().parent().unwrap().to_path_buf();
    assert!(dir.starts_with("/var/tmp"), "{}", dir.display());
    drop(postfix);
    assert!(!dir.exists(), "{} left behind", dir.display());
    let refused = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1));
    assert!(refused.is_err(), "{addr} still accepts connections");
}

/// testssl.sh on Exim Hardened: its `tls_require_ciphers` GnuTLS priority floor leaves nothing
/// below TLS 1.2 offered.
#[test]
fn smtp_servers_testssl_exim_hardened_refuses_below_tls12() {
    let Some(exim) = Exim::start(EximProfile::Hardened) else {
        return;
    };
    let Some(protocols) = testssl_protocols(exim.addr()) else {
        return;
    };
    for old in ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"] {
        assert!(!protocols[old], "{old}: {protocols:?}");
    }
    assert!(protocols["TLSv1.2"], "{protocols:?}");
}
