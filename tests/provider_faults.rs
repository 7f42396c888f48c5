//! Provider faults (issue 13 item 4). So far: the fault proxy itself (`support::fault_proxy`).

use std::time::Duration;

use crate::support::cloudflare_fake::CloudflareFake;
use crate::support::fault_proxy::{Fault, FaultProxy};

/// A raw request through the proxy: (status, body), or the transport error's text.
fn raw(agent: &ureq::Agent, url: &str) -> Result<(u16, String), String> {
    let mut response = agent
        .get(url)
        .header("Authorization", "Bearer fake-token-123")
        .call()
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// The proxy itself: each fault fires on the request its rule names, and only there.
#[test]
fn fault_proxy_injects_each_fault_on_the_scripted_request() {
    let fake = CloudflareFake::start();
    let proxy = FaultProxy::in_front_of(&fake.base());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let zones = proxy.url("/client/v4/zones?name=battery.test");
    // The fake rate-limits its first request; through the proxy that is forwarded as it is.
    assert_eq!(raw(&agent, &zones).unwrap().0, 429);
    let (status, body) = raw(&agent, &zones).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("zone-0001"), "{body}");
    let cases = [
        (
            Fault::TooManyRequests {
                retry_after: Some(7),
            },
            "429",
        ),
        (Fault::TooManyRequests { retry_after: None }, "429"),
        (Fault::ServerError(503), "503"),
        (Fault::NotJson, "<html>"),
        (
            Fault::FakeSuccess {
                status: 200,
                body: r#"{"success":true,"result":{"id":"x"}}"#.into(),
            },
            "\"id\":\"x\"",
        ),
        (Fault::TruncatedBody, "error"),
        (Fault::ResetMidBody, "error"),
        (Fault::NoAnswer, "error"),
        (Fault::LoseAnswer, "error"),
    ];
    for (fault, expect) in cases {
        // The second GET of /client/v4/zones gets the fault; the first goes through.
        proxy.inject("GET", "/client/v4/zones", 2, fault.clone());
        assert!(raw(&agent, &zones).is_ok(), "{fault:?}: first request");
        let got = raw(&agent, &zones);
        let shown = match &got {
            Ok((status, body)) => format!("{status} {body}"),
            Err(e) => format!("error {e}"),
        };
        assert!(shown.contains(expect), "{fault:?}: {shown}");
        proxy.clear();
        let seen = proxy.seen();
        assert_eq!(
            seen.last().unwrap().fault.as_ref(),
            Some(&fault),
            "{seen:?}"
        );
    }
    assert_eq!(proxy.faults_fired(), 9);
    // Rules match the method and the path prefix only.
    proxy.inject_every("POST", "/client/v4/zones", Fault::ServerError(500));
    let (status, _) = raw(&agent, &zones).unwrap();
    assert!(
        status == 200 || status == 429,
        "a GET is not a POST: {status}"
    );
}
