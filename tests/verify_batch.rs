//! `mailauth verify` over many messages (issue 14): a Maildir, an mbox (RFC 4155), several files
//! and directories. The oracle is the single-message command itself: every batch result must
//! equal what `mailauth verify --json FILE` says about the same message, for messages signed at
//! test time by `mailauth sign` and by dkimpy, tampered with, unsigned, or signed with a key
//! that is not published. DNS answers come from a zone file (`--zone`), the clock from `--now`
//! and the DMARC sampling draw from `--dmarc-sample`, so every run gives the same output.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cmd::{TestCommand, mailauth};
use crate::support::{dkimpy_python, run, testdata};

const DOMAIN: &str = "mailauth.test";
const NOW: &str = "1764000000";

/// A message whose body holds a line starting `From ` and one already quoted `>From `: an mbox
/// writer must quote both (RFC 4155 §2 mboxrd), and the reader must restore them exactly or the
/// body hash breaks.
const FROM_LINES: &[u8] = b"From: Alice <alice@mailauth.test>\r\n\
To: Bob <bob@example.net>\r\n\
Subject: quoting\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <quoting@mailauth.test>\r\n\
\r\n\
From here on, the body has mbox separators.\r\n\
>From there too, already quoted once.\r\n\
>>From and twice.\r\n\
\r\n\
Alice\r\n";

fn plain(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@mailauth.test>\r\nTo: Bob <bob@example.net>\r\nSubject: {subject}\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@mailauth.test>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The test's directory: the zone (the DKIM checks zone plus a DMARC policy, so DMARC both
/// passes and fails) and the messages, signed here.
struct Fixture {
    dir: tempfile::TempDir,
}

/// `verify --json` with a fixed authserv-id and pct= draw, so one message and a batch print the
/// same objects.
const VERIFY_JSON: [&str; 6] = [
    "--json",
    "verify",
    "--authserv-id",
    "mx.test",
    "--dmarc-sample",
    "0",
];

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = std::fs::read_to_string(testdata().join("dns/dkim-checks.zone")).unwrap();
        zone.push_str("\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n");
        std::fs::write(dir.path().join("zone"), zone).unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn base(&self) -> TestCommand {
        mailauth().current_dir(self.dir.path()).args([
            "--zone",
            self.path("zone").to_str().unwrap(),
            "--now",
            NOW,
        ])
    }

    /// `mailauth sign` with a key from testdata/keys.
    fn sign(&self, message: &[u8], selector: &str, key: &str) -> Vec<u8> {
        let unsigned = self.path("unsigned.eml");
        std::fs::write(&unsigned, message).unwrap();
        let out = self
            .base()
            .args(["sign", "--domain", DOMAIN, "--selector", selector, "--key"])
            .arg(testdata().join("keys").join(key))
            .arg(&unsigned)
            .run();
        out.assert_exit(0);
        out.stdout().to_vec()
    }

    /// The messages every test uses, by name: passing (mailauth RSA and Ed25519, dkimpy when
    /// available), failing (tampered body), unsigned, unknown key, and the `From ` lines one.
    fn messages(&self) -> Vec<(&'static str, Vec<u8>)> {
        let rsa = self.sign(&plain("rsa", "Signed with RSA."), "rsa", "rsa2048.pem");
        let ed = self.sign(&plain("ed", "Signed with Ed25519."), "ed", "ed25519.pem");
        let mut tampered = self.sign(
            &plain("tampered", "The original body."),
            "rsa",
            "rsa2048.pem",
        );
        let at = tampered.len() - 6;
        tampered[at] ^= 0x20;
        let unknown = self.sign(&plain("unknown", "No such key."), "nokey", "rsa2048.pem");
        let from_lines = self.sign(FROM_LINES, "rsa", "rsa2048.pem");
        let mut messages = vec![
            ("a-rsa", rsa),
            ("b-ed", ed),
            ("c-tampered", tampered),
            ("d-unsigned", plain("unsigned", "Nobody signed this.")),
            ("e-unknown-key", unknown),
            ("f-from-lines", from_lines),
        ];
        if let Some(python) = dkimpy_python() {
            let signed = run(
                std::process::Command::new(python)
                    .arg(
                        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                            .join("tests/peers/dkimpy_peer.py"),
                    )
                    .args(["sign", "--domain", DOMAIN, "--selector", "rsa", "--key"])
                    .arg(testdata().join("keys/rsa2048.pem"))
                    .args(["--algorithm", "rsa-sha256", "--canon", "relaxed/simple"]),
                &plain("dkimpy", "Signed by dkimpy."),
            );
            messages.push(("g-dkimpy", signed));
        }
        messages
    }

    /// `mailauth verify --json FILE` for one message: the oracle.
    fn verify_one(&self, message: &[u8]) -> Value {
        let file = self.path("one.eml");
        std::fs::write(&file, message).unwrap();
        let out = self.base().args(VERIFY_JSON).arg(&file).run();
        assert!(matches!(out.code(), Some(0 | 1)), "{}", out.dump());
        out.json()
    }

    /// A batch `verify --json` run with extra arguments; the per-message lines and the summary.
    fn verify_batch(&self, args: &[&str], exit: i32) -> (Vec<Value>, Value) {
        let out = self.base().args(VERIFY_JSON).args(args).run();
        out.assert_exit(exit);
        if exit != 2 {
            // stderr is not a terminal here: no progress bar, and with --json the summary is on
            // stdout, so nothing at all.
            assert!(out.stderr().is_empty(), "{}", out.dump());
        }
        let mut lines = out.json_lines();
        let summary = lines.pop().expect("a summary line");
        (lines, summary["summary"].clone())
    }
}

/// RFC 4155 §2 (mboxrd): one separator line per message, body lines starting with `>*From `
/// get one more `>`, and an empty line ends each message.
fn mbox_of(messages: &[&[u8]]) -> Vec<u8> {
    let mut mbox = Vec::new();
    for message in messages {
        mbox.extend_from_slice(b"From alice@mailauth.test Tue Nov 24 10:00:00 2026\n");
        for line in message.split_inclusive(|b| *b == b'\n') {
            let quotes = line.iter().take_while(|b| **b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line);
        }
        mbox.extend_from_slice(b"\n");
    }
    mbox
}

fn without_origin(mut value: Value) -> (String, Value) {
    let origin = value
        .as_object_mut()
        .and_then(|o| o.remove("origin"))
        .and_then(|o| o.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no origin in {value}"));
    (origin, value)
}

fn dkim_results(value: &Value) -> Vec<String> {
    value["dkim"]
        .as_array()
        .map(|sigs| {
            sigs.iter()
                .map(|s| s["result"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 14 "Done when": `verify --maildir DIR --json` equals per-file `verify --json`, message by
/// message, in the Maildir's order (cur/ then new/, sorted); tmp/ is not read.
#[test]
fn verify_batch_maildir_json_equals_per_file_verify() {
    let fx = Fixture::new();
    let maildir = fx.path("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    // A message still being delivered: were tmp/ read, its line would appear.
    std::fs::write(maildir.join("tmp/0-partial"), b"From: half").unwrap();
    std::fs::write(maildir.join("dovecot-uidlist"), b"3 V1 N1\n").unwrap();
    let messages = fx.messages();
    let mut expected = Vec::new();
    for (i, (name, bytes)) in messages.iter().enumerate() {
        let sub = if i % 2 == 0 { "cur" } else { "new" };
        let path = maildir.join(sub).join(format!("{name}:2,S"));
        std::fs::write(&path, bytes).unwrap();
        expected.push((sub, path.display().to_string(), fx.verify_one(bytes)));
    }
    expected.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let (lines, summary) = fx.verify_batch(&["--maildir", maildir.to_str().unwrap()], 1);
    assert_eq!(
        lines.len(),
        expected.len(),
        "one line per message, tmp/ skipped"
    );
    for (line, (_, path, single)) in lines.into_iter().zip(&expected) {
        let (origin, batch) = without_origin(line);
        assert_eq!(&origin, path);
        assert_eq!(
            &batch, single,
            "{origin}: batch and single-file results differ"
        );
    }
    // The set covers each kind of verdict, so the equality above means something.
    let verdicts: Vec<_> = expected.iter().flat_map(|e| dkim_results(&e.2)).collect();
    for word in ["pass", "fail", "permerror"] {
        assert!(
            verdicts.iter().any(|v| v == word),
            "no {word} in {verdicts:?}"
        );
    }
    assert!(expected.iter().any(|e| dkim_results(&e.2).is_empty()));
    assert_eq!(summary["messages"], expected.len());
    assert_eq!(summary["unsigned"], 1);
    assert_eq!(summary["dkim"][DOMAIN]["fail"], 1);
    assert_eq!(summary["refused_count"], 0);
}

/// RFC 4155 §2: an mbox (mboxrd-quoted `From ` body lines) gives the same results as the split
/// files, in input order with 4 jobs; detection by content and `--mbox` agree.
#[test]
fn verify_batch_mbox_equals_split_files_in_order_with_jobs_4() {
    let fx = Fixture::new();
    let messages = fx.messages();
    let singles: Vec<Value> = messages.iter().map(|(_, m)| fx.verify_one(m)).collect();
    // Five rounds, so many messages are in flight at once and order is really at stake.
    let rounds = 5;
    let order: Vec<usize> = (0..rounds * messages.len())
        .map(|i| (i * 5 + i / messages.len()) % messages.len())
        .collect();
    let bytes: Vec<&[u8]> = order.iter().map(|i| messages[*i].1.as_slice()).collect();
    let mbox = fx.path("archive.mbox");
    std::fs::write(&mbox, mbox_of(&bytes)).unwrap();
    let quoted = std::fs::read(&mbox).unwrap();
    assert!(
        quoted.windows(8).any(|w| w == b"\n>>From "),
        "the writer quoted"
    );
    for flags in [vec!["--jobs", "4"], vec!["--jobs", "4", "--mbox"]] {
        let mut args = flags.clone();
        args.push(mbox.to_str().unwrap());
        let (lines, summary) = fx.verify_batch(&args, 1);
        assert_eq!(lines.len(), order.len(), "{flags:?}");
        for (n, (line, index)) in lines.into_iter().zip(&order).enumerate() {
            let (origin, batch) = without_origin(line);
            assert_eq!(origin, format!("{}#{}", mbox.display(), n + 1));
            assert_eq!(
                batch, singles[*index],
                "{origin} ({}) differs from the split file",
                messages[*index].0
            );
        }
        assert_eq!(summary["messages"], order.len());
    }
    // The quoted body lines came back as they were signed.
    let from_lines = messages
        .iter()
        .position(|(n, _)| *n == "f-from-lines")
        .unwrap();
    assert_eq!(dkim_results(&singles[from_lines]), ["pass"]);
}

/// Several plain files and a directory make a batch too; the text output is `origin: ` then the
/// Authentication-Results field unfolded on one line, the summary goes to stderr.
#[test]
fn verify_batch_text_lines_are_origin_and_unfolded_header() {
    let fx = Fixture::new();
    let messages = fx.messages();
    let dir = fx.path("dir");
    std::fs::create_dir(&dir).unwrap();
    let first = fx.path("first.eml");
    std::fs::write(&first, &messages[0].1).unwrap();
    std::fs::write(dir.join("b.eml"), &messages[1].1).unwrap();
    std::fs::write(dir.join("a.eml"), &messages[3].1).unwrap();
    std::fs::write(dir.join(".hidden.eml"), &messages[2].1).unwrap();
    let out = fx
        .base()
        .args(["verify", "--authserv-id", "mx.test", "--dmarc-sample", "0"])
        .arg(&first)
        .arg(&dir)
        .run();
    // The unsigned message fails DMARC p=reject: worst of all is 1.
    out.assert_exit(1);
    let lines: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    let expected_origins = [first.clone(), dir.join("a.eml"), dir.join("b.eml")];
    assert_eq!(lines.len(), 3, "{}", out.dump());
    for (line, origin) in lines.iter().zip(&expected_origins) {
        let single = mailauth_text(&fx, origin);
        assert_eq!(line, &format!("{}: {single}", origin.display()));
    }
    assert!(
        out.stderr_str()
            .contains("3 messages: 3 verified, 0 refused")
    );
    assert!(out.stderr_str().contains("dkim d=mailauth.test"));
}

fn mailauth_text(fx: &Fixture, file: &Path) -> String {
    let out = fx
        .base()
        .args(["verify", "--authserv-id", "mx.test", "--dmarc-sample", "0"])
        .arg(file)
        .run();
    // Single-file text output is the folded field; unfolding removes each CRLF (here LF).
    out.stdout_str().trim_end().replace('\n', "")
}

/// Oversize messages and FIFOs are refused with their reason, the others are verified, and the
/// run ends with exit 2 (an input was refused) after printing everything.
#[test]
fn verify_batch_refuses_oversize_and_fifo_and_carries_on() {
    let fx = Fixture::new();
    let messages = fx.messages();
    let dir = fx.path("mixed");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a-good.eml"), &messages[0].1).unwrap();
    // Sparse: its size is over MAX_MESSAGE_BYTES without writing 64 MiB.
    let big = std::fs::File::create(dir.join("b-big.eml")).unwrap();
    big.set_len(64 * 1024 * 1024 + 1).unwrap();
    let fifo = dir.join("c-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(dir.join("d-not-mail.eml"), b"").unwrap();
    std::fs::write(dir.join("e-good.eml"), &messages[1].1).unwrap();
    let (lines, summary) = fx.verify_batch(&[dir.to_str().unwrap()], 2);
    let origin = |n: &str| dir.join(n).display().to_string();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["origin"], origin("a-good.eml"));
    assert_eq!(dkim_results(&lines[0]), ["pass"]);
    assert_eq!(lines[1]["origin"], origin("b-big.eml"));
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("over the limit")
    );
    assert_eq!(lines[2]["origin"], origin("c-fifo"));
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file")
    );
    assert!(
        lines[3]["error"]
            .as_str()
            .unwrap()
            .contains("not a readable email message")
    );
    assert_eq!(dkim_results(&lines[4]), ["pass"]);
    assert_eq!(summary["refused_count"], 3);
    assert_eq!(summary["verified"], 2);
    assert_eq!(summary["refused"][0]["origin"], origin("b-big.eml"));
}

/// A path that does not exist stops the batch before anything is read: exit 2.
#[test]
fn verify_batch_missing_path_exits_2() {
    let fx = Fixture::new();
    let good = fx.path("good.eml");
    std::fs::write(&good, plain("x", "y")).unwrap();
    let out = fx
        .base()
        .arg("verify")
        .arg(&good)
        .arg(fx.path("missing"))
        .run();
    out.assert_exit(2);
    assert!(out.stdout().is_empty(), "{}", out.dump());
    assert!(out.stderr_str().contains("missing"));
}

/// RFC 7208's inputs (client IP, HELO, MAIL FROM) belong to one SMTP session: refused in a batch.
#[test]
fn verify_batch_spf_flags_exit_2() {
    let fx = Fixture::new();
    let dir = fx.path("d");
    std::fs::create_dir(&dir).unwrap();
    for flags in [
        vec!["--ip", "192.0.2.1"],
        vec!["--helo", "mx.example.net"],
        vec!["--mail-from", "a@mailauth.test"],
    ] {
        let out = fx.base().arg("verify").args(&flags).arg(&dir).run();
        out.assert_exit(2);
        assert!(
            out.stderr_str().contains("one SMTP session"),
            "{}",
            out.dump()
        );
    }
}

/// Memory stays flat: an mbox of 20,000 messages (about 50 MB) is verified with a peak RSS far
/// below the file's size, since messages are streamed, never collected.
#[test]
fn verify_batch_mbox_of_20000_messages_streams_in_flat_memory() {
    let fx = Fixture::new();
    let body = "A line of text that pads the body of this message.\r\n".repeat(45);
    let signed = fx.sign(&plain("bulk", &body), "rsa", "rsa2048.pem");
    let count = 20_000;
    let mbox = fx.path("bulk.mbox");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&mbox).unwrap());
        let one = mbox_of(&[&signed]);
        for _ in 0..count {
            out.write_all(&one).unwrap();
        }
        out.flush().unwrap();
    }
    let size = std::fs::metadata(&mbox).unwrap().len();
    assert!(size > 40_000_000, "the mbox is {size} bytes");
    let run = fx
        .base()
        .args(["verify", "--authserv-id", "mx.test", "--jobs", "2"])
        .arg(&mbox)
        .run_bounded();
    let out = &run.out;
    out.assert_exit(0);
    assert_eq!(out.stdout_str().lines().count(), count);
    assert!(
        out.stderr_str()
            .contains(&format!("{count} messages: {count} verified"))
    );
    // Collecting the messages would need at least the file's size; streaming needs the
    // program's own footprint (about 18 MiB here: runtime, zone, two worker threads) plus a
    // window of messages. Half the file is a loose bound for the second, far below the first.
    run.assert_peak_rss_below(size / 2 / 1024, "half the mbox's size");
}
