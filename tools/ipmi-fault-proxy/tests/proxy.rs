// SPDX-License-Identifier: GPL-2.0

//! Runs the `ipmi-fault-proxy` binary between a fake QEMU (a TCP client
//! speaking like `ipmi-bmc-extern`) and a fake BMC (a TCP server answering
//! like ipmi_sim's VM codec), and checks that every action does on the wire
//! what the documentation says, and that the log records it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use ipmi_fault_proxy::codec::{caps, ctl, Control, Decoder, Frame, FrameKind, Message};
use ipmi_fault_proxy::proxy::EVENT_SENSOR;

/// How long to wait for something that must happen.
const LONG: Duration = Duration::from_secs(5);
/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(400);
/// The fake BMC's response data after completion code 0: every special
/// byte, so that escaping is exercised on every response.
const RSP_DATA: [u8; 4] = [0xA0, 0xA1, 0xAA, 0x42];

const BIN: &str = env!("CARGO_BIN_EXE_ipmi-fault-proxy");

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "ipmi-fault-proxy-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the fake BMC saw, per connection (numbered from 1).
#[derive(Debug)]
enum BmcEvent {
    Connected(usize),
    Frame(usize, Frame),
    Closed(usize),
}

/// The request after which the fake BMC raises SMS_ATN itself (an OEM
/// netfn).
const RAISE_ATTN_NETFN: u8 = 0x30;
const RAISE_ATTN_CMD: u8 = 0x01;

struct FakeBmc {
    addr: SocketAddr,
    events: Receiver<BmcEvent>,
}

impl FakeBmc {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, events) = mpsc::channel();
        thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { return };
                let tx = tx.clone();
                thread::spawn(move || Self::serve(n + 1, conn, &tx));
            }
        });
        Self { addr, events }
    }

    /// Like ipmi_sim: announce the version, answer every valid request
    /// with completion code 0 and [`RSP_DATA`], ignore anything else;
    /// raise SMS_ATN (ATTN) before answering [`RAISE_ATTN_NETFN`] /
    /// [`RAISE_ATTN_CMD`].
    fn serve(n: usize, mut conn: TcpStream, tx: &Sender<BmcEvent>) {
        let _ = tx.send(BmcEvent::Connected(n));
        let version = Control {
            op: ctl::VERSION,
            args: vec![1],
        };
        if conn.write_all(&version.encode()).is_err() {
            return;
        }
        let mut dec = Decoder::new();
        let mut buf = [0u8; 4096];
        loop {
            let got = match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(got) => got,
            };
            let mut frames = Vec::new();
            dec.feed(&buf[..got], &mut frames);
            for f in frames {
                if let Ok(m) = f.message() {
                    if (m.netfn, m.cmd) == (RAISE_ATTN_NETFN, RAISE_ATTN_CMD) {
                        let attn = Control {
                            op: ctl::ATTN,
                            args: vec![],
                        };
                        let _ = conn.write_all(&attn.encode());
                    }
                    let _ = conn.write_all(&m.response(0, &RSP_DATA).encode());
                }
                let _ = tx.send(BmcEvent::Frame(n, f));
            }
        }
        let _ = tx.send(BmcEvent::Closed(n));
    }

    /// Every event until none has come for `quiet`.
    fn drain(&self, quiet: Duration) -> Vec<BmcEvent> {
        let mut v = Vec::new();
        while let Ok(e) = self.events.recv_timeout(quiet) {
            v.push(e);
        }
        v
    }

    /// The requests among `events`.
    fn requests(events: &[BmcEvent]) -> Vec<Message> {
        events
            .iter()
            .filter_map(|e| match e {
                BmcEvent::Frame(_, f) => f.message().ok(),
                _ => None,
            })
            .collect()
    }
}

struct Proxy {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Proxy {
    fn start(bmc: SocketAddr, plan: &str) -> Self {
        let dir = TempDir::new();
        std::fs::write(dir.path("plan"), plan).unwrap();
        let stderr = std::fs::File::create(dir.path("stderr")).unwrap();
        let mut child = Command::new(BIN)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--bmc")
            .arg(bmc.to_string())
            .arg("--plan")
            .arg(dir.path("plan"))
            .arg("--log")
            .arg(dir.path("log"))
            .arg("--control")
            .arg(dir.path("ctl"))
            .arg("--seed")
            .arg("42")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = match line.trim().strip_prefix("listening ") {
            Some(a) => a.parse().unwrap(),
            None => {
                let _ = child.kill();
                let err = std::fs::read_to_string(dir.path("stderr")).unwrap_or_default();
                panic!("proxy did not start: {line:?} {err}");
            }
        };
        Self { child, addr, dir }
    }

    fn connect(&self) -> Qemu {
        Qemu::connect(self.addr)
    }

    /// The log, one `key=value` map per line (the timestamp under "ms").
    fn log(&self) -> Vec<LogLine> {
        std::fs::read_to_string(self.dir.path("log"))
            .unwrap()
            .lines()
            .map(LogLine::parse)
            .collect()
    }

    /// Sends one control command and returns the answer.
    fn ctl(&self, cmd: &str) -> String {
        let mut s = UnixStream::connect(self.dir.path("ctl")).unwrap();
        s.set_read_timeout(Some(LONG)).unwrap();
        writeln!(s, "{cmd}").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn stat(&self, key: &str) -> u64 {
        let s = self.ctl("stats");
        assert!(s.starts_with("ok "), "{s}");
        s.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key} in {s}"))
            .parse()
            .unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let err = std::fs::read_to_string(self.dir.path("stderr")).unwrap_or_default();
            eprintln!("proxy stderr:\n{err}");
        }
    }
}

#[derive(Debug)]
struct LogLine {
    ms: u64,
    seq: u8,
    netfn: u8,
    cmd: u8,
    action: String,
    rule: Option<usize>,
}

impl LogLine {
    fn parse(line: &str) -> Self {
        let mut words = line.split_whitespace();
        let ms = words.next().unwrap().parse().unwrap();
        let mut l = Self {
            ms,
            seq: 0,
            netfn: 0,
            cmd: 0,
            action: String::new(),
            rule: None,
        };
        let hex = |v: &str| u8::from_str_radix(v.strip_prefix("0x").unwrap(), 16).unwrap();
        for w in words {
            let (k, v) = w.split_once('=').unwrap();
            match k {
                "seq" => l.seq = hex(v),
                "netfn" => l.netfn = hex(v),
                "cmd" => l.cmd = hex(v),
                "action" => l.action = v.to_string(),
                "rule" => l.rule = Some(v.parse().unwrap()),
                _ => panic!("unknown log field in {line:?}"),
            }
        }
        l
    }

    fn is(&self, seq: u8, netfn: u8, cmd: u8, action: &str) -> bool {
        (self.seq, self.netfn, self.cmd, self.action.as_str()) == (seq, netfn, cmd, action)
    }
}

/// The QEMU side: connects, announces itself like `ipmi-bmc-extern`, sends
/// requests and reads what comes back.
struct Qemu {
    s: TcpStream,
    dec: Decoder,
    queue: VecDeque<Frame>,
    controls: Vec<Control>,
    closed: bool,
}

impl Qemu {
    fn connect(addr: SocketAddr) -> Self {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        let mut hello = Control {
            op: ctl::VERSION,
            args: vec![1],
        }
        .encode();
        hello.extend(
            Control {
                op: ctl::CAPABILITIES,
                args: vec![caps::IRQ | caps::ATTN],
            }
            .encode(),
        );
        s.write_all(&hello).unwrap();
        Self {
            s,
            dec: Decoder::new(),
            queue: VecDeque::new(),
            controls: Vec::new(),
            closed: false,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    fn request(&mut self, seq: u8, netfn: u8, cmd: u8) -> Message {
        let m = Message {
            seq,
            netfn,
            lun: 0,
            cmd,
            data: vec![seq, 0xAA],
        };
        self.send_raw(&m.encode());
        m
    }

    /// The next frame, or `None` if nothing came within `timeout` or the
    /// connection closed.
    fn next_frame(&mut self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.queue.pop_front() {
                return Some(f);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.closed || left.is_zero() {
                return None;
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            let mut buf = [0u8; 4096];
            match self.s.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    let mut frames = Vec::new();
                    self.dec.feed(&buf[..n], &mut frames);
                    self.queue.extend(frames);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => self.closed = true,
            }
        }
    }

    /// The next message frame; control frames on the way are kept in
    /// `controls`.
    fn next_message_frame(&mut self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            let f = self.next_frame(deadline.saturating_duration_since(Instant::now()))?;
            match f.kind {
                FrameKind::Control => self.controls.push(f.control().unwrap()),
                FrameKind::Message => return Some(f),
            }
        }
    }

    /// The next response, which must be a valid message.
    fn response(&mut self) -> Message {
        let f = self.next_message_frame(LONG).expect("no response");
        f.message()
            .unwrap_or_else(|e| panic!("bad response {f:?}: {e}"))
    }

    /// Waits for the BMC's VERSION command, i.e. for the proxy to have
    /// connected to the BMC and the BMC to have greeted.
    fn wait_bmc_hello(&mut self) {
        let deadline = Instant::now() + LONG;
        while !self.controls.iter().any(|c| c.op == ctl::VERSION) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_frame(left) {
                Some(f) if f.kind == FrameKind::Control => self.controls.push(f.control().unwrap()),
                other => panic!("waiting for VERSION, got {other:?}"),
            }
        }
    }

    /// Waits up to [`LONG`] until `n` control commands `op` have come
    /// (messages meanwhile fail the test); returns how many did.
    fn wait_controls(&mut self, op: u8, n: usize) -> usize {
        let deadline = Instant::now() + LONG;
        let count = |q: &Self| q.controls.iter().filter(|c| c.op == op).count();
        while count(self) < n && Instant::now() < deadline {
            match self.next_frame(Duration::from_millis(50)) {
                Some(f) if f.kind == FrameKind::Control => self.controls.push(f.control().unwrap()),
                Some(f) => panic!("unexpected {f:?}"),
                None => {}
            }
        }
        count(self)
    }

    /// Asserts that no message arrives for [`QUIET`].
    fn assert_quiet(&mut self) {
        if let Some(f) = self.next_message_frame(QUIET) {
            panic!("unexpected {f:?}");
        }
    }

    /// Waits for the proxy to close the connection.
    fn wait_closed(&mut self) -> bool {
        let deadline = Instant::now() + LONG;
        while !self.closed && Instant::now() < deadline {
            let _ = self.next_frame(Duration::from_millis(50));
        }
        self.closed
    }
}

fn good(req: &Message) -> Message {
    req.response(0, &RSP_DATA)
}

#[test]
fn passes_traffic_through_unchanged() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "# no faults\n");
    let mut q = p.connect();
    // A seq and data that must be escaped on the way in and out.
    let req = q.request(0xA0, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let req = q.request(0xAA, 0x0a, 0x10);
    assert_eq!(q.response(), good(&req));
    // The BMC's VERSION reached QEMU; QEMU's handshake reached the BMC.
    assert_eq!(q.controls[0].op, ctl::VERSION);
    let ev = bmc.drain(Duration::from_millis(100));
    let ctls: Vec<Control> = ev
        .iter()
        .filter_map(|e| match e {
            BmcEvent::Frame(1, f) => f.control(),
            _ => None,
        })
        .collect();
    assert_eq!(ctls.len(), 2);
    assert_eq!(ctls[1].op, ctl::CAPABILITIES);
    assert_eq!(ctls[1].args, vec![caps::IRQ | caps::ATTN]);
    assert_eq!(FakeBmc::requests(&ev).len(), 2);
    assert!(p.log().is_empty());
    assert_eq!(p.stat("requests"), 2);
    assert_eq!(p.stat("responses"), 2);
    assert_eq!(p.stat("faults"), 0);
}

#[test]
fn drop_loses_only_the_selected_response() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match netfn=0x06 cmd=0x01 nth=1 action=drop\n");
    let mut q = p.connect();
    let req = q.request(1, 0x06, 0x01);
    q.assert_quiet();
    // The request did reach the BMC: only its response was lost.
    let ev = bmc.drain(Duration::from_millis(50));
    assert_eq!(FakeBmc::requests(&ev), vec![req]);
    let req = q.request(2, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let log = p.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].is(1, 0x06, 0x01, "drop"));
    assert_eq!(log[0].rule, Some(1));
    assert_eq!(p.stat("fault.drop"), 1);
}

#[test]
fn duplicate_sends_the_response_twice() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match cmd=0x01 count=1 action=duplicate\n");
    let mut q = p.connect();
    let req = q.request(7, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.response(), good(&req));
    q.assert_quiet();
    let log = p.log();
    assert_eq!(log.len(), 1);
    assert!(log[0].is(7, 0x06, 0x01, "duplicate"));
}

#[test]
fn busy_answers_without_forwarding() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match cmd=0x01 count=2 action=busy\n");
    let mut q = p.connect();
    for seq in [3, 4] {
        let req = q.request(seq, 0x06, 0x01);
        let rsp = q.response();
        assert_eq!(rsp.seq, seq);
        assert_eq!(rsp.netfn, 0x07);
        assert_eq!(rsp.cmd, 0x01);
        assert_eq!(rsp.data, vec![0xC0]);
        assert_eq!(rsp, req.response(0xC0, &[]));
    }
    let req = q.request(5, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let ev = bmc.drain(Duration::from_millis(50));
    assert_eq!(FakeBmc::requests(&ev), vec![req]);
    let log = p.log();
    assert_eq!(log.len(), 2);
    assert!(log[0].is(3, 0x06, 0x01, "busy"));
    assert!(log[1].is(4, 0x06, 0x01, "busy"));
}

#[test]
fn corrupt_checksum_breaks_only_the_checksum() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match action=corrupt-checksum\n");
    let mut q = p.connect();
    let req = q.request(9, 0x06, 0x01);
    let f = q.next_message_frame(LONG).unwrap();
    assert!(f.message().is_err());
    let want = good(&req);
    let (&csum, rest) = f.body.split_last().unwrap();
    assert_eq!(rest, want.header_and_data().as_slice());
    assert_ne!(csum, want.checksum());
    assert!(p.log()[0].is(9, 0x06, 0x01, "corrupt-checksum"));
}

#[test]
fn corrupt_fields_keep_a_valid_frame() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "");
    let mut q = p.connect();
    for (seq, action) in [
        (0x10, "corrupt-seq"),
        (0x11, "corrupt-netfn"),
        (0x12, "corrupt-cmd"),
    ] {
        assert_eq!(
            p.ctl(&format!("plan match count=1 action={action}")),
            "ok rules=1"
        );
        let req = q.request(seq, 0x06, 0x01);
        let rsp = q.response(); // parses, so the checksum is right
        let want = good(&req);
        let mut fixed = rsp.clone();
        match action {
            "corrupt-seq" => {
                assert_ne!(rsp.seq, want.seq);
                fixed.seq = want.seq;
            }
            "corrupt-netfn" => {
                assert_ne!(rsp.netfn, want.netfn);
                assert_eq!(rsp.netfn & 1, 1);
                fixed.netfn = want.netfn;
            }
            _ => {
                assert_ne!(rsp.cmd, want.cmd);
                fixed.cmd = want.cmd;
            }
        }
        assert_eq!(fixed, want, "{action}");
    }
    let log = p.log();
    assert_eq!(log.len(), 3);
    assert!(log[0].is(0x10, 0x06, 0x01, "corrupt-seq"));
    assert!(log[1].is(0x11, 0x06, 0x01, "corrupt-netfn"));
    assert!(log[2].is(0x12, 0x06, 0x01, "corrupt-cmd"));
}

#[test]
fn delay_and_slow_hold_responses() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(
        bmc.addr,
        "match cmd=0x01 action=delay=300\nmatch action=slow=100\n",
    );
    let mut q = p.connect();
    let t = Instant::now();
    let req = q.request(1, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let req = q.request(2, 0x06, 0x02);
    assert_eq!(q.response(), good(&req));
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(100), "{e:?}");
    let log = p.log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log[0].is(1, 0x06, 0x01, "delay=300"));
    assert_eq!(log[0].rule, Some(1));
    assert!(log[1].is(1, 0x06, 0x01, "slow=100"));
    assert_eq!(log[1].rule, Some(2));
    assert!(log[2].is(2, 0x06, 0x02, "slow=100"));
    assert!(log[0].ms <= log[2].ms);
}

#[test]
fn truncate_and_oversize_change_the_length() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(
        bmc.addr,
        "match nth=1 action=truncate=3\nmatch nth=2 action=oversize=280\n",
    );
    let mut q = p.connect();
    let req = q.request(1, 0x06, 0x01);
    let rsp = q.response();
    // netfn/LUN, cmd and the completion code are left; the data is gone.
    let mut want = good(&req);
    want.data.truncate(1);
    assert_eq!(rsp, want);
    let req = q.request(2, 0x06, 0x01);
    let rsp = q.response();
    assert_eq!(rsp.data.len() + 2, 280);
    let want = good(&req);
    assert_eq!(rsp.data[..want.data.len()], want.data[..]);
    assert_eq!(rsp.data[want.data.len()..want.data.len() + 3], [0, 1, 2]);
    let log = p.log();
    assert!(log[0].is(1, 0x06, 0x01, "truncate=3"));
    assert!(log[1].is(2, 0x06, 0x01, "oversize=280"));
}

#[test]
fn garbage_precedes_an_intact_response() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match action=garbage=16\n");
    let mut q = p.connect();
    let req = q.request(1, 0x06, 0x01);
    let g = q.next_message_frame(LONG).unwrap();
    assert_eq!(g.body.len(), 16);
    assert!(g.message().is_err());
    assert_eq!(q.response(), good(&req));
    assert!(p.log()[0].is(1, 0x06, 0x01, "garbage=16"));
}

#[test]
fn unsolicited_adds_a_response_nobody_asked_for() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match action=unsolicited\n");
    let mut q = p.connect();
    let req = q.request(0x05, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let extra = q.response();
    assert_eq!(extra.seq, 0x85);
    let mut same = extra.clone();
    same.seq = 0x05;
    assert_eq!(same, good(&req));
    assert!(p.log()[0].is(5, 0x06, 0x01, "unsolicited"));
}

#[test]
fn silent_discards_everything_for_a_while() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match nth=1 action=silent=600ms\n");
    let mut q = p.connect();
    // The BMC's greeting must not fall into the silence.
    q.wait_bmc_hello();
    let t = Instant::now();
    q.request(1, 0x06, 0x01);
    q.request(2, 0x06, 0x01);
    q.assert_quiet();
    assert_eq!(p.stat("silent"), 1);
    let ev = bmc.drain(Duration::from_millis(50));
    assert!(FakeBmc::requests(&ev).is_empty(), "{ev:?}");
    let rest = Duration::from_millis(650).saturating_sub(t.elapsed());
    thread::sleep(rest);
    let req = q.request(3, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let log = p.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].is(1, 0x06, 0x01, "silent=600ms"));
    assert!(log[1].is(2, 0x06, 0x01, "silenced"));
    assert_eq!(log[1].rule, None);
    assert_eq!(p.stat("silenced"), 1);
}

#[test]
fn reconnect_closes_qemu_and_keeps_the_bmc() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match nth=1 action=reconnect\n");
    let mut q = p.connect();
    q.request(1, 0x06, 0x01);
    assert!(q.wait_closed());
    let mut q = p.connect();
    let req = q.request(2, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let ev = bmc.drain(Duration::from_millis(50));
    assert_eq!(FakeBmc::requests(&ev), vec![req]);
    assert!(!ev
        .iter()
        .any(|e| matches!(e, BmcEvent::Connected(2) | BmcEvent::Closed(_))));
    assert!(p.log()[0].is(1, 0x06, 0x01, "reconnect=qemu"));
    assert_eq!(p.stat("qemu_connections"), 2);
    assert_eq!(p.stat("bmc_connections"), 1);
}

#[test]
fn reconnect_bmc_redials_and_replays_the_handshake() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match nth=1 action=reconnect=bmc\n");
    let mut q = p.connect();
    q.request(1, 0x06, 0x01);
    q.assert_quiet();
    assert!(!q.closed);
    let req = q.request(2, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    let ev = bmc.drain(Duration::from_millis(50));
    assert!(
        ev.iter().any(|e| matches!(e, BmcEvent::Closed(1))),
        "{ev:?}"
    );
    let on_second: Vec<&Frame> = ev
        .iter()
        .filter_map(|e| match e {
            BmcEvent::Frame(2, f) => Some(f),
            _ => None,
        })
        .collect();
    let ops: Vec<u8> = on_second
        .iter()
        .filter_map(|f| f.control())
        .map(|c| c.op)
        .collect();
    assert_eq!(ops, vec![ctl::VERSION, ctl::CAPABILITIES]);
    assert_eq!(on_second.last().unwrap().message().unwrap(), req);
    assert!(p.log()[0].is(1, 0x06, 0x01, "reconnect=bmc"));
    assert_eq!(p.stat("bmc_connections"), 2);
}

#[test]
fn attn_storms_send_control_commands() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match nth=1 action=attn-storm=5 gap=2\n");
    let mut q = p.connect();
    let req = q.request(1, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.wait_controls(ctl::ATTN, 5), 5);
    // Once the storm is over, SMS_ATN goes down again (the BMC never
    // raised it), once.
    assert_eq!(q.wait_controls(ctl::NOATTN, 1), 1);
    assert_eq!(
        p.ctl("plan match count=1 action=attn-irq-storm=3"),
        "ok rules=1"
    );
    let req = q.request(2, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    q.assert_quiet();
    assert_eq!(
        q.controls.iter().filter(|c| c.op == ctl::ATTN_IRQ).count(),
        3
    );
    assert_eq!(q.controls.iter().filter(|c| c.op == ctl::NOATTN).count(), 2);
    let log = p.log();
    assert!(log[0].is(1, 0x06, 0x01, "attn-storm=5"));
    assert!(log[1].is(2, 0x06, 0x01, "attn-irq-storm=3"));
}

#[test]
fn a_storm_leaves_the_bmc_s_own_attn_up() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(
        bmc.addr,
        "match netfn=0x06 cmd=0x01 action=attn-storm=3 gap=1\n",
    );
    let mut q = p.connect();
    // The BMC raises SMS_ATN itself (ATTN reaches QEMU through the proxy).
    let req = q.request(1, RAISE_ATTN_NETFN, RAISE_ATTN_CMD);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.wait_controls(ctl::ATTN, 1), 1);
    // A storm after that must not clear it when it ends.
    let req = q.request(2, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.wait_controls(ctl::ATTN, 4), 4);
    q.assert_quiet();
    assert_eq!(q.controls.iter().filter(|c| c.op == ctl::NOATTN).count(), 0);
}

#[test]
fn events_fill_the_event_buffer_until_read() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "match netfn=0x0a cmd=0x40 action=events=2\n");
    let mut q = p.connect();
    // The trigger is forwarded and answered as usual; ATTN_IRQ follows.
    let req = q.request(1, 0x0a, 0x40);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.wait_controls(ctl::ATTN_IRQ, 1), 1);
    // Get Message Flags gains "event buffer full" while events wait.
    let req = q.request(2, 0x06, 0x31);
    let mut flagged = good(&req);
    flagged.data[1] |= 0x02;
    assert_eq!(q.response(), flagged);
    // Each Read Event Message Buffer gets one event from the proxy.
    for n in 1..=2u8 {
        let req = q.request(2 + n, 0x06, 0x35);
        let rsp = q.response();
        assert_eq!(rsp.seq, req.seq);
        assert_eq!(rsp.completion_code(), Some(0));
        assert_eq!(rsp.data.len(), 17);
        assert_eq!(rsp.data[1], n, "record id");
        assert_eq!(
            (rsp.data[3], rsp.data[11], rsp.data[12]),
            (0x02, 0x01, EVENT_SENSOR)
        );
    }
    // ATTN_IRQ again after the first event (one more waited); after the
    // last, NOATTN: the buffer is empty.
    assert_eq!(
        q.controls.iter().filter(|c| c.op == ctl::ATTN_IRQ).count(),
        2
    );
    assert_eq!(q.wait_controls(ctl::NOATTN, 1), 1);
    // Then the BMC's own answers again, flags untouched.
    let req = q.request(5, 0x06, 0x35);
    assert_eq!(q.response(), good(&req));
    let req = q.request(6, 0x06, 0x31);
    assert_eq!(q.response(), good(&req));
    let log = p.log();
    assert!(log[0].is(1, 0x0a, 0x40, "events=2"));
    assert!(log[1].is(3, 0x06, 0x35, "event"));
    assert!(log[2].is(4, 0x06, 0x35, "event"));
    assert_eq!(log.len(), 3);
}

#[test]
fn selectors_count_only_matching_requests() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(
        bmc.addr,
        "match netfn=0x06 every=2 after=1 count=2 action=busy\n",
    );
    let mut q = p.connect();
    let mut busy = Vec::new();
    for seq in 1..=8u8 {
        // Interleaved requests of another netfn are not counted.
        let other = q.request(seq | 0x40, 0x0a, 0x01);
        assert_eq!(q.response(), good(&other));
        q.request(seq, 0x06, 0x01);
        busy.push(q.response().completion_code() == Some(0xC0));
    }
    assert_eq!(busy, [false, false, true, false, true, false, false, false]);
    let seqs: Vec<u8> = p.log().iter().map(|l| l.seq).collect();
    assert_eq!(seqs, vec![3, 5]);
}

#[test]
fn control_socket_replaces_the_plan() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "");
    let mut q = p.connect();
    assert_eq!(
        p.ctl("plan match cmd=0x01 action=busy; match cmd=0x02 action=drop"),
        "ok rules=2"
    );
    q.request(1, 0x06, 0x01);
    assert_eq!(q.response().completion_code(), Some(0xC0));
    q.request(2, 0x06, 0x02);
    q.assert_quiet();
    let show = p.ctl("show");
    assert!(
        show.starts_with("ok rules=2 1: match cmd=0x01 action=busy"),
        "{show}"
    );
    assert!(show.contains("[selected=1 fired=1]"), "{show}");
    assert_eq!(p.ctl("clear"), "ok rules=0");
    let req = q.request(3, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert_eq!(p.ctl("add match action=duplicate"), "ok rules=1");
    let req = q.request(4, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert_eq!(q.response(), good(&req));
    assert!(p.ctl("plan match action=explode").starts_with("err "));
    assert!(p.ctl("frobnicate").starts_with("err "));
    assert_eq!(p.stat("rules"), 1);
    assert_eq!(p.stat("requests"), 4);
    assert_eq!(p.stat("fault.busy"), 1);
    assert_eq!(p.stat("fault.drop"), 1);
    assert_eq!(p.stat("fault.duplicate"), 1);
    assert_eq!(p.stat("faults"), 3);
    assert_eq!(p.log().len(), 3);
}

#[test]
fn survives_garbage_from_qemu() {
    let bmc = FakeBmc::start();
    let p = Proxy::start(bmc.addr, "");
    let mut q = p.connect();
    let mut junk: Vec<u8> = (0..=255u8).rev().collect();
    junk.extend([0xAA, 0xA0, 0x01, 0x02, 0xA0, 0xAA, 0xAA, 0x13, 0x55]);
    q.send_raw(&junk);
    q.send_raw(&[0xA0]);
    let req = q.request(1, 0x06, 0x01);
    assert_eq!(q.response(), good(&req));
    assert!(p.stat("bad_frames_from_qemu") >= 2);
}

#[test]
fn unreachable_bmc_closes_qemu() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let p = Proxy::start(port, "");
    let mut q = p.connect();
    assert!(q.wait_closed());
}

#[test]
fn refuses_a_bad_plan() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path("plan"),
        "match action=drop\nmatch action=nonsense\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--bmc", "127.0.0.1:1", "--plan"])
        .arg(dir.path("plan"))
        .arg("--log")
        .arg(dir.path("log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("nonsense"), "{err}");
    assert!(!Path::new(&dir.path("log")).exists());
}
