//! A fault-injecting DNS proxy for RFC 2136 tests: it listens on 127.0.0.1 (UDP and TCP, one
//! port) in front of a real primary (BIND, Knot), forwards every message unchanged, and while a
//! fault is set answers the messages it applies to itself, without forwarding: an RCODE
//! (SERVFAIL, NOTAUTH, REFUSED; RFC 2136 §2.2) or a TSIG BADTIME error (RFC 8945 §5.2.3:
//! RCODE NOTAUTH with a TSIG record whose error is BADTIME and whose Other Data is the server's
//! time). So an UPDATE can fail while queries still read the real server's records.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// RCODE SERVFAIL.
pub const SERVFAIL: u8 = 2;
/// RCODE REFUSED.
pub const REFUSED: u8 = 5;
/// RCODE NOTAUTH.
pub const NOTAUTH: u8 = 9;

/// What the proxy answers instead of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsFault {
    /// This RCODE, the question (zone) section echoed, nothing else.
    Rcode(u8),
    /// NOTAUTH with a TSIG record carrying error BADTIME (18) and a server time an hour off.
    BadTime,
}

/// Which messages a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Only UPDATE messages (opcode 5).
    Updates,
    /// Every message, queries too.
    All,
}

#[derive(Debug, Default)]
struct State {
    fault: Option<(DnsFault, Applies)>,
    /// Messages answered with a fault.
    fired: usize,
    /// UPDATE messages seen (faulted or forwarded).
    updates: usize,
}

/// A running DNS fault proxy.
#[derive(Debug)]
pub struct DnsFaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl DnsFaultProxy {
    /// Proxy to `upstream` (UDP and TCP on the same port).
    pub fn start(upstream: SocketAddr) -> DnsFaultProxy {
        let (udp, tcp) = bind_pair();
        let addr = tcp.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || serve_udp(&udp, upstream, &shared));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in tcp.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve_tcp(stream, upstream, &shared);
                });
            }
        });
        DnsFaultProxy { addr, state }
    }

    /// Where to send messages (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, answer the messages `applies` names with `fault`.
    pub fn set(&self, fault: DnsFault, applies: Applies) {
        self.state.lock().unwrap().fault = Some((fault, applies));
    }

    /// Forward everything again.
    pub fn clear(&self) {
        self.state.lock().unwrap().fault = None;
    }

    /// How many messages were answered with a fault.
    pub fn fired(&self) -> usize {
        self.state.lock().unwrap().fired
    }

    /// How many UPDATE messages arrived.
    pub fn updates(&self) -> usize {
        self.state.lock().unwrap().updates
    }
}

fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            return (udp, tcp);
        }
    }
    panic!("DNS fault proxy: no port free for both UDP and TCP");
}

/// The faulted answer for `message`, or `None` to forward it.
fn answer(state: &Mutex<State>, message: &[u8]) -> Option<Vec<u8>> {
    if message.len() < 12 {
        return None;
    }
    let update = (message[2] >> 3) & 0x0f == 5;
    let mut state = state.lock().unwrap();
    if update {
        state.updates += 1;
    }
    let (fault, applies) = state.fault?;
    if applies == Applies::Updates && !update {
        return None;
    }
    state.fired += 1;
    Some(match fault {
        DnsFault::Rcode(rcode) => reply(message, rcode),
        DnsFault::BadTime => bad_time(message),
    })
}

/// The header (id and opcode kept, QR set, `rcode`) and the question section of `message`.
fn reply(message: &[u8], rcode: u8) -> Vec<u8> {
    let question_end = skip_questions(message).unwrap_or(12);
    let mut out = message[..question_end].to_vec();
    out[2] |= 0x80;
    out[3] = (out[3] & 0xf0) | rcode;
    out[6..12].fill(0);
    out
}

/// NOTAUTH with a TSIG record: the request's key name and algorithm, error BADTIME (18) and
/// the server's time (an hour after the request's) in Other Data (RFC 8945 §5.2.3).
fn bad_time(message: &[u8]) -> Vec<u8> {
    let mut out = reply(message, 9);
    let Some((key_name, rdata)) = request_tsig(message) else {
        return out;
    };
    let Some(algorithm_end) = skip_name(rdata, 0) else {
        return out;
    };
    let algorithm = &rdata[..algorithm_end];
    let time = &rdata[algorithm_end..algorithm_end + 6];
    let request_time = time.iter().fold(0u64, |t, b| (t << 8) | u64::from(*b));
    let server_time = (request_time + 3600).to_be_bytes();
    let mut tsig = algorithm.to_vec();
    tsig.extend(time);
    tsig.extend(300u16.to_be_bytes()); // fudge
    tsig.extend(0u16.to_be_bytes()); // MAC size: an unsigned BADTIME answer
    tsig.extend(&message[0..2]); // original id
    tsig.extend(18u16.to_be_bytes()); // BADTIME
    tsig.extend(6u16.to_be_bytes());
    tsig.extend(&server_time[2..]);
    out.extend(key_name);
    out.extend(250u16.to_be_bytes());
    out.extend(255u16.to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend((tsig.len() as u16).to_be_bytes());
    out.extend(tsig);
    out[10..12].copy_from_slice(&1u16.to_be_bytes());
    out
}

/// The offset after the name at `at` (labels or a compression pointer).
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *message.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

fn skip_questions(message: &[u8]) -> Option<usize> {
    let count = u16::from_be_bytes([message[4], message[5]]);
    let mut at = 12;
    for _ in 0..count {
        at = skip_name(message, at)? + 4;
    }
    (at <= message.len()).then_some(at)
}

/// The request's TSIG record (the last additional record): its owner name bytes (as written,
/// uncompressed) and its rdata.
fn request_tsig(message: &[u8]) -> Option<(&[u8], &[u8])> {
    let count: usize = [6, 8, 10]
        .iter()
        .map(|&i| usize::from(u16::from_be_bytes([message[i], message[i + 1]])))
        .sum();
    let mut at = skip_questions(message)?;
    let mut last = None;
    for _ in 0..count {
        let name_end = skip_name(message, at)?;
        let rtype = u16::from_be_bytes([*message.get(name_end)?, *message.get(name_end + 1)?]);
        let rdlen = usize::from(u16::from_be_bytes([
            *message.get(name_end + 8)?,
            *message.get(name_end + 9)?,
        ]));
        let rdata = message.get(name_end + 10..name_end + 10 + rdlen)?;
        if rtype == 250 {
            last = Some((&message[at..name_end], rdata));
        }
        at = name_end + 10 + rdlen;
    }
    last
}

fn serve_udp(socket: &UdpSocket, upstream: SocketAddr, state: &Mutex<State>) {
    let mut buffer = vec![0u8; 65535];
    while let Ok((len, from)) = socket.recv_from(&mut buffer) {
        let message = buffer[..len].to_vec();
        let reply = answer(state, &message).or_else(|| {
            let relay = UdpSocket::bind("127.0.0.1:0").ok()?;
            relay.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            relay.send_to(&message, upstream).ok()?;
            let mut back = vec![0u8; 65535];
            let n = relay.recv(&mut back).ok()?;
            back.truncate(n);
            Some(back)
        });
        if let Some(reply) = reply {
            let _ = socket.send_to(&reply, from);
        }
    }
}

fn read_framed(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut message)?;
    Ok(message)
}

fn write_framed(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(std::io::Error::other)?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(message)
}

fn serve_tcp(
    mut client: TcpStream,
    upstream: SocketAddr,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    // Several messages may come on one connection (RFC 7766 §6.2.1).
    loop {
        let message = read_framed(&mut client)?;
        let reply = match answer(state, &message) {
            Some(reply) => reply,
            None => {
                let mut server = TcpStream::connect(upstream)?;
                write_framed(&mut server, &message)?;
                read_framed(&mut server)?
            }
        };
        write_framed(&mut client, &reply)?;
    }
}
