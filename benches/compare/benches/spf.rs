//! SPF evaluations per second: mailauth's `check_host` against pyspf 2.0.14, both answering DNS
//! from the same zone file (`testdata/dns/spf.test.zone`: includes two deep, mx, a with CIDR,
//! an `exists` with a macro, ip4/ip6 networks and an `exp=` explanation).
//!
//! pyspf runs in one long-lived Python process (`tests/peers/pyspf_peer.py --serve`): criterion
//! asks it for N evaluations and it reports the nanoseconds it spent, so Python's start-up and
//! the pipe are not measured. Needs `.venv` from `.ci/install-deps`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mailauth::dns::zone::ZoneResolver;
use mailauth::spf::eval::{SpfOptions, SpfQuery, check_host};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Pyspf {
    child: Child,
    output: BufReader<std::process::ChildStdout>,
}

impl Pyspf {
    fn start(zone: &PathBuf) -> Pyspf {
        let python = root().join(".venv/bin/python");
        assert!(python.exists(), "{} missing: run `bash .ci/install-deps`", python.display());
        let mut child = Command::new(python)
            .arg(root().join("tests/peers/pyspf_peer.py"))
            .arg(zone)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start pyspf");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Pyspf { child, output }
    }

    /// Run `n` evaluations in pyspf; its result word and the time they took.
    fn run(&mut self, n: u64, ip: &str, sender: &str) -> (String, Duration) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{n} {ip} {sender} client.example").expect("write to pyspf");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("read from pyspf");
        let (result, nanos) = line.trim().split_once(' ').expect("RESULT NANOS");
        (result.to_owned(), Duration::from_nanos(nanos.parse().expect("nanoseconds")))
    }
}

impl Drop for Pyspf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench_spf(c: &mut Criterion) {
    let zone_path = root().join("testdata/dns/spf.test.zone");
    let zone = ZoneResolver::from_files(std::slice::from_ref(&zone_path)).expect("zone");
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let mut pyspf = Pyspf::start(&zone_path);
    let options = SpfOptions::new(0);
    for (case, ip, sender) in [
        ("pass-via-nested-include", "203.0.113.200", "joe@spf.test"),
        ("pass-via-exists-macro", "192.0.2.77", "joe@spf.test"),
        ("fail-whole-tree-and-exp", "192.0.2.1", "joe@spf.test"),
    ] {
        let query = SpfQuery::for_mail(ip.parse().expect("ip"), "client.example", sender);
        let ours = rt.block_on(check_host(&zone, &query, &options)).result;
        let (theirs, _) = pyspf.run(1, ip, sender);
        assert_eq!(ours.as_str(), theirs, "{case}: mailauth and pyspf disagree");
        let mut group = c.benchmark_group(format!("spf/{case}"));
        group.bench_function("mailauth", |b| {
            b.iter(|| rt.block_on(check_host(&zone, &query, &options)))
        });
        group.bench_function("pyspf", |b| b.iter_custom(|iters| pyspf.run(iters, ip, sender).1));
        group.finish();
    }
}

criterion_group!(benches, bench_spf);
criterion_main!(benches);
