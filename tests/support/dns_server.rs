//! An in-process authoritative DNS server (hickory-server) on 127.0.0.1, UDP and TCP on ephemeral
//! ports, serving BIND zone files. hickory parses the zone files with its own parser, so tests
//! that compare its answers with `ZoneResolver`'s also cross-check mailauth's zone-file reader.
//! One limit of hickory 0.26's lexer: inside parentheses it takes a `;` within a quoted string
//! for a comment, and it keeps the quotes of strings split across lines inside parentheses, so
//! zone files served here keep multi-string TXT records on one line; and it
//! decodes `\DDD` escapes other than `\000` into other bytes, so test zones write non-ASCII
//! bytes as literal UTF-8.
//!
//! The server runs on its own thread and runtime so it serves both synchronous tests (which run
//! the `mailauth` binary) and async ones; dropping it shuts it down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::LowerName;
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio_util::sync::CancellationToken;

/// A running test server.
#[derive(Debug)]
pub struct TestDnsServer {
    udp: SocketAddr,
    tcp: SocketAddr,
    stop: Option<CancellationToken>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestDnsServer {
    /// Serve these zone files (each needs `$ORIGIN` and an SOA). Panics with the reason if the
    /// server cannot start: a test that needs it must not pass without it.
    pub fn start(zone_files: &[PathBuf]) -> TestDnsServer {
        let mut catalog = Catalog::new();
        for path in zone_files {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("test DNS server: cannot read {}: {e}", path.display()));
            let (origin, records) = Parser::new(text, Some(path.clone()), None)
                .parse()
                .unwrap_or_else(|e| {
                    panic!(
                        "test DNS server: hickory cannot parse {}: {e}",
                        path.display()
                    )
                });
            let handler = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                origin.clone(),
                records,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .unwrap_or_else(|e| panic!("test DNS server: zone {origin}: {e}"));
            let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
            catalog.upsert(LowerName::new(&origin), vec![handler]);
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("test-dns-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("test DNS server runtime");
                runtime.block_on(async move {
                    let (udp, tcp) = bind_pair().await;
                    let addrs = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
                    let mut server = Server::new(catalog);
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
                    let token = server.shutdown_token().clone();
                    ready_tx.send((addrs, token)).expect("test harness waiting");
                    let _ = server.block_until_done().await;
                });
            })
            .expect("spawn the test DNS server thread");
        let ((udp, tcp), stop) = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("test DNS server did not start within 10 s");
        TestDnsServer {
            udp,
            tcp,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The UDP address (TCP listens on [`TestDnsServer::tcp_addr`]).
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    /// The TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }
}

impl Drop for TestDnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.cancel();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// UDP and TCP sockets on the same ephemeral port, as a resolver falling back from UDP to TCP
/// expects.
async fn bind_pair() -> (tokio::net::UdpSocket, tokio::net::TcpListener) {
    let mut last_error = None;
    for _ in 0..50 {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("test DNS server: bind UDP on 127.0.0.1");
        let port = udp.local_addr().expect("UDP address").port();
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("test DNS server: no port free for both UDP and TCP: {last_error:?}");
}
