// SPDX-License-Identifier: GPL-2.0

//! The proxy itself: one engine thread owns every piece of state (plan,
//! connections, requests in flight, timers, statistics) and is fed by
//! threads that only read sockets. See the crate documentation for what
//! goes over the wire.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::codec::{self, ctl, Control, Decoder, Frame, FrameFault, FrameKind, Message};
use crate::lan;
use crate::plan::{self, Action, Plan, Side};

/// Completion code of the `busy` answer: node busy.
pub const CC_NODE_BUSY: u8 = 0xC0;
/// App netfn, and its commands the `events` action answers or changes.
const NETFN_APP: u8 = 0x06;
const CMD_GET_MESSAGE_FLAGS: u8 = 0x31;
const CMD_READ_EVENT_BUFFER: u8 = 0x35;
const CMD_GET_MESSAGE: u8 = 0x33;
const CMD_SEND_MESSAGE: u8 = 0x34;
/// Get Message Flags: the event message buffer is full.
const FLAG_EVENT_BUFFER_FULL: u8 = 0x02;
/// Get Message Flags: the receive message queue holds a message.
const FLAG_RECEIVE_MESSAGE: u8 = 0x01;
/// The IPMB address the commands the proxy makes up come from.
pub const COMMAND_SOURCE: u8 = 0x81;
/// The host's (the BMC's SMS) address on IPMB, their destination.
const SMS_ADDR: u8 = 0x20;
/// The sensor number of the events the proxy makes up.
pub const EVENT_SENSOR: u8 = 0x42;

/// How long dialling the BMC may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a write may block before the peer counts as gone (the engine
/// must not hang on a peer that stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the proxy is told on its command line.
#[derive(Debug)]
pub struct Config {
    /// Address QEMU connects to.
    pub listen: String,
    /// Address of the BMC (ipmi_sim).
    pub bmc: String,
    /// The initial plan.
    pub plan: Plan,
    /// The fault log.
    pub log: PathBuf,
    /// The control socket, if any.
    pub control: Option<PathBuf>,
    /// Seed of the generator behind `garbage`.
    pub seed: u64,
}

/// Which end a socket leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    Qemu,
    Bmc,
}

enum Event {
    QemuConnected(u64, TcpStream),
    Frames(Peer, u64, Vec<Frame>),
    Closed(Peer, u64),
    Control(String, Sender<String>),
}

/// A proxy whose sockets are bound; [`Proxy::run`] starts it.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    control: Option<UnixListener>,
    config: Config,
    log: File,
}

impl Proxy {
    /// Binds the listening and control sockets and creates the log.
    pub fn bind(config: Config) -> io::Result<Self> {
        let listener = TcpListener::bind(&config.listen)?;
        let control = match &config.control {
            Some(path) => {
                // Only ever remove a stale socket, never some other file.
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    std::fs::remove_file(path)?;
                }
                Some(UnixListener::bind(path)?)
            }
            None => None,
        };
        let log = File::create(&config.log)?;
        Ok(Self {
            listener,
            control,
            config,
            log,
        })
    }

    /// The address QEMU should connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Runs until the process is killed.
    pub fn run(self) -> io::Result<()> {
        let (tx, rx) = mpsc::channel();
        spawn_acceptor(self.listener, tx.clone());
        if let Some(l) = self.control {
            spawn_control(l, tx.clone());
        }
        let mut engine = Engine {
            start: Instant::now(),
            bmc_addr: self.config.bmc,
            plan: self.config.plan,
            log: self.log,
            rng: Rng::new(self.config.seed),
            tx,
            qemu: None,
            bmc: None,
            next_bmc_id: 0,
            pending: HashMap::new(),
            handshake: Vec::new(),
            silent_until: None,
            timers: BinaryHeap::new(),
            order: 0,
            stats: Stats::default(),
            events_waiting: 0,
            commands_waiting: 0,
            commands_rule: 0,
            commands_sent: 0,
            lan_commands_waiting: 0,
            lan_commands_rule: 0,
            lan_commands_sent: 0,
            events_rule: 0,
            events_sent: 0,
            bmc_attn: false,
            storms: 0,
        };
        engine.run(&rx);
        Ok(())
    }
}

fn spawn_acceptor(listener: TcpListener, tx: Sender<Event>) {
    thread::spawn(move || {
        let mut id = 0u64;
        for conn in listener.incoming() {
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("ipmi-fault-proxy: accept: {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let reader = match stream.try_clone() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("ipmi-fault-proxy: {e}");
                    continue;
                }
            };
            id += 1;
            // The engine must hear of the connection before its first frame.
            if tx.send(Event::QemuConnected(id, stream)).is_err() {
                return;
            }
            spawn_reader(Peer::Qemu, id, reader, tx.clone());
        }
    });
}

fn spawn_reader(peer: Peer, id: u64, mut stream: TcpStream, tx: Sender<Event>) {
    thread::spawn(move || {
        let mut dec = Decoder::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut frames = Vec::new();
            dec.feed(buf.get(..n).unwrap_or_default(), &mut frames);
            if !frames.is_empty() && tx.send(Event::Frames(peer, id, frames)).is_err() {
                return;
            }
        }
        let _ = tx.send(Event::Closed(peer, id));
    });
}

fn spawn_control(listener: UnixListener, tx: Sender<Event>) {
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || serve_control(conn, &tx));
        }
    });
}

fn serve_control(conn: UnixStream, tx: &Sender<Event>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { return };
        let (rtx, rrx) = mpsc::channel();
        if tx.send(Event::Control(line, rtx)).is_err() {
            return;
        }
        let Ok(reply) = rrx.recv() else { return };
        if writeln!(out, "{reply}").is_err() {
            return;
        }
    }
}

/// xorshift64*: enough for garbage bytes, and reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that small seeds give good states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn byte(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_be_bytes()[0]
    }
}

/// `n` random bytes with no special byte among them and a non-zero sum,
/// then a message terminator: a frame every receiver discards (too short or
/// a bad checksum), after which it is back in step.
fn garbage(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut g: Vec<u8> = (0..n)
        .map(|_| loop {
            let b = rng.byte();
            if !codec::is_special(b) {
                break b;
            }
        })
        .collect();
    if codec::byte_sum(&g) == 0 {
        if let Some(last) = g.last_mut() {
            loop {
                *last = last.wrapping_add(1);
                if !codec::is_special(*last) {
                    break;
                }
            }
        }
    }
    g.push(codec::MSG_CHAR);
    g
}

struct Conn {
    id: u64,
    stream: TcpStream,
}

/// A forwarded request waiting for its response.
struct Pending {
    seq: u8,
    netfn: u8,
    cmd: u8,
    action: Option<(usize, Action)>,
    /// Message flags to add to this Get Message Flags answer (events
    /// waiting in the proxy's event buffer).
    add_flags: u8,
    slow_ms: u64,
    slow_rules: Vec<(usize, u64)>,
}

/// Bytes to write to a connection later; no bytes: release the SMS_ATN
/// the proxy raised, if nothing still wants it up then (see
/// [`Engine::release_attn`]).
struct Timed {
    at: Instant,
    order: u64,
    peer: Peer,
    conn: u64,
    bytes: Vec<u8>,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

#[derive(Default)]
struct Stats {
    qemu_connections: u64,
    bmc_connections: u64,
    requests: u64,
    responses: u64,
    unmatched_responses: u64,
    controls_to_bmc: u64,
    controls_to_qemu: u64,
    bad_frames_from_qemu: u64,
    bad_frames_from_bmc: u64,
    overflow_frames: u64,
    discarded_from_bmc: u64,
    silenced: u64,
    faults: u64,
    by_action: HashMap<&'static str, u64>,
}

struct Engine {
    start: Instant,
    bmc_addr: String,
    plan: Plan,
    log: File,
    rng: Rng,
    tx: Sender<Event>,
    qemu: Option<Conn>,
    bmc: Option<Conn>,
    next_bmc_id: u64,
    /// Forwarded requests by seq.
    pending: HashMap<u8, Pending>,
    /// QEMU's latest VERSION and CAPABILITIES commands, replayed to a BMC
    /// connection made while QEMU stays connected.
    handshake: Vec<Frame>,
    silent_until: Option<Instant>,
    timers: BinaryHeap<Reverse<Timed>>,
    order: u64,
    stats: Stats,
    /// Events the `events` action has put in the event buffer and the
    /// guest has not read yet, and the rule that put them there.
    events_waiting: u32,
    events_rule: usize,
    /// Events handed out so far (their record id and first data byte).
    events_sent: u32,
    /// Commands the `commands` action has put in the receive queue and
    /// the host has not fetched; the rule that did; commands handed out.
    commands_waiting: u32,
    commands_rule: usize,
    commands_sent: u32,
    /// The same for `lan-commands`.
    lan_commands_waiting: u32,
    lan_commands_rule: usize,
    lan_commands_sent: u32,
    /// The SMS_ATN state the BMC itself last set (its ATTN / NOATTN
    /// commands), to put back once the proxy's own reasons to hold the
    /// flag up are gone.
    bmc_attn: bool,
    /// Storms under way, each holding SMS_ATN up until its last command.
    storms: u32,
}

impl Engine {
    fn run(&mut self, rx: &Receiver<Event>) {
        loop {
            let ev = match self.timers.peek() {
                Some(Reverse(t)) => {
                    match rx.recv_timeout(t.at.saturating_duration_since(Instant::now())) {
                        Ok(ev) => Some(ev),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match rx.recv() {
                    Ok(ev) => Some(ev),
                    Err(_) => return,
                },
            };
            if let Some(ev) = ev {
                self.handle(ev);
            }
            self.fire_timers();
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::QemuConnected(id, stream) => self.qemu_connected(id, stream),
            Event::Frames(Peer::Qemu, id, frames) => {
                for f in frames {
                    if self.qemu.as_ref().map(|c| c.id) != Some(id) {
                        break;
                    }
                    self.qemu_frame(f);
                }
            }
            Event::Frames(Peer::Bmc, id, frames) => {
                for f in frames {
                    if self.bmc.as_ref().map(|c| c.id) != Some(id) {
                        break;
                    }
                    self.bmc_frame(f);
                }
            }
            Event::Closed(Peer::Qemu, id) => {
                if self.qemu.as_ref().is_some_and(|c| c.id == id) {
                    eprintln!("ipmi-fault-proxy: QEMU connection {id} closed");
                    self.close_qemu();
                }
            }
            Event::Closed(Peer::Bmc, id) => {
                if self.bmc.as_ref().is_some_and(|c| c.id == id) {
                    eprintln!("ipmi-fault-proxy: BMC closed the connection; closing QEMU's");
                    self.close_bmc();
                    self.close_qemu();
                }
            }
            Event::Control(line, reply) => {
                let r = self.control(&line);
                let _ = reply.send(r);
            }
        }
    }

    fn now_ms(&self) -> u128 {
        self.start.elapsed().as_millis()
    }

    fn is_silent(&self) -> bool {
        self.silent_until.is_some_and(|t| Instant::now() < t)
    }

    /// Writes one fault line; done before the fault reaches the wire, so
    /// that whoever sees the fault finds its line already there.
    fn log_line(&mut self, seq: u8, netfn: u8, cmd: u8, action: &str, rule: Option<usize>) {
        let mut line = format!(
            "{} seq=0x{seq:02x} netfn=0x{netfn:02x} cmd=0x{cmd:02x} action={action}",
            self.now_ms()
        );
        if let Some(r) = rule {
            let _ = write!(line, " rule={}", r + 1);
        }
        line.push('\n');
        if let Err(e) = self.log.write_all(line.as_bytes()) {
            eprintln!("ipmi-fault-proxy: log: {e}");
        }
        self.stats.faults += 1;
    }

    fn log_fault(&mut self, seq: u8, netfn: u8, cmd: u8, action: &Action, rule: usize) {
        self.log_line(seq, netfn, cmd, &action.to_string(), Some(rule));
        *self.stats.by_action.entry(action.name()).or_default() += 1;
    }

    fn silenced(&mut self, f: &Frame, from_bmc: bool) {
        self.stats.silenced += 1;
        if let Ok(m) = f.message() {
            let netfn = if from_bmc { m.netfn & !1 } else { m.netfn };
            self.log_line(m.seq, netfn, m.cmd, "silenced", None);
        }
    }

    fn qemu_connected(&mut self, id: u64, stream: TcpStream) {
        if self.qemu.is_some() {
            eprintln!("ipmi-fault-proxy: a new QEMU connection replaces the old one");
            self.close_qemu();
        }
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        eprintln!("ipmi-fault-proxy: QEMU connection {id}");
        self.qemu = Some(Conn { id, stream });
        self.stats.qemu_connections += 1;
        self.pending.clear();
        self.handshake.clear();
        if self.bmc.is_none() && !self.dial_bmc() {
            self.close_qemu();
        }
    }

    fn dial_bmc(&mut self) -> bool {
        let addrs = match self.bmc_addr.to_socket_addrs() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("ipmi-fault-proxy: BMC address {}: {e}", self.bmc_addr);
                return false;
            }
        };
        for a in addrs {
            match TcpStream::connect_timeout(&a, DIAL_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
                    let Ok(reader) = s.try_clone() else {
                        continue;
                    };
                    self.next_bmc_id += 1;
                    let id = self.next_bmc_id;
                    spawn_reader(Peer::Bmc, id, reader, self.tx.clone());
                    self.bmc = Some(Conn { id, stream: s });
                    self.stats.bmc_connections += 1;
                    eprintln!("ipmi-fault-proxy: BMC connection {id} to {a}");
                    return true;
                }
                Err(e) => eprintln!("ipmi-fault-proxy: BMC {a}: {e}"),
            }
        }
        false
    }

    fn close_qemu(&mut self) {
        if let Some(c) = self.qemu.take() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        self.pending.clear();
    }

    fn close_bmc(&mut self) {
        if let Some(c) = self.bmc.take() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        self.pending.clear();
    }

    fn write_to(&mut self, peer: Peer, bytes: &[u8]) {
        let conn = match peer {
            Peer::Qemu => &mut self.qemu,
            Peer::Bmc => &mut self.bmc,
        };
        let Some(c) = conn.as_mut() else {
            return;
        };
        if let Err(e) = c.stream.write_all(bytes) {
            eprintln!("ipmi-fault-proxy: write to {peer:?}: {e}");
            match peer {
                Peer::Qemu => self.close_qemu(),
                Peer::Bmc => {
                    self.close_bmc();
                    self.close_qemu();
                }
            }
        }
    }

    /// Sends `bytes` to QEMU now, or after `delay_ms`.
    fn send_qemu(&mut self, bytes: Vec<u8>, delay_ms: u64) {
        if delay_ms == 0 {
            self.write_to(Peer::Qemu, &bytes);
        } else {
            self.schedule(Peer::Qemu, bytes, Duration::from_millis(delay_ms));
        }
    }

    fn schedule(&mut self, peer: Peer, bytes: Vec<u8>, after: Duration) {
        let conn = match peer {
            Peer::Qemu => self.qemu.as_ref(),
            Peer::Bmc => self.bmc.as_ref(),
        };
        let Some(conn) = conn.map(|c| c.id) else {
            return;
        };
        self.order += 1;
        self.timers.push(Reverse(Timed {
            at: Instant::now() + after,
            order: self.order,
            peer,
            conn,
            bytes,
        }));
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while self.timers.peek().is_some_and(|Reverse(t)| t.at <= now) {
            let Some(Reverse(t)) = self.timers.pop() else {
                break;
            };
            let current = match t.peer {
                Peer::Qemu => self.qemu.as_ref(),
                Peer::Bmc => self.bmc.as_ref(),
            };
            // Bytes meant for a connection that has gone are dropped.
            if current.is_some_and(|c| c.id == t.conn) {
                if t.bytes.is_empty() {
                    self.storm_ended();
                } else {
                    self.write_to(t.peer, &t.bytes);
                }
            }
        }
    }

    fn qemu_frame(&mut self, f: Frame) {
        if self.is_silent() {
            self.silenced(&f, false);
            return;
        }
        if f.fault == Some(FrameFault::Overflow) {
            self.stats.overflow_frames += 1;
            return;
        }
        match f.kind {
            FrameKind::Control => {
                match f.control() {
                    Some(c) if c.op == ctl::VERSION || c.op == ctl::CAPABILITIES => {
                        self.handshake
                            .retain(|h| h.control().is_none_or(|hc| hc.op != c.op));
                        self.handshake.push(f.clone());
                    }
                    Some(_) => {}
                    None => self.stats.bad_frames_from_qemu += 1,
                }
                self.stats.controls_to_bmc += 1;
                self.write_to(Peer::Bmc, &f.to_wire());
            }
            FrameKind::Message => match f.message() {
                Ok(req) => self.request(&req, &f),
                Err(_) => {
                    self.stats.bad_frames_from_qemu += 1;
                    self.write_to(Peer::Bmc, &f.to_wire());
                }
            },
        }
    }

    fn request(&mut self, req: &Message, f: &Frame) {
        self.stats.requests += 1;
        let d = self.plan.decide(req.netfn, req.cmd);
        let slow_rules: Vec<(usize, u64)> = d
            .slow_rules
            .iter()
            .map(|&i| {
                let ms = match self.plan.rules.get(i).map(|r| r.action) {
                    Some(Action::Slow(ms)) => ms,
                    _ => 0,
                };
                (i, ms)
            })
            .collect();
        let (seq, netfn, cmd) = (req.seq, req.netfn, req.cmd);
        let mut pending = Pending {
            seq,
            netfn,
            cmd,
            action: None,
            add_flags: 0,
            slow_ms: d.slow_ms,
            slow_rules,
        };
        if self.events_waiting > 0 && netfn == NETFN_APP {
            match cmd {
                CMD_READ_EVENT_BUFFER => {
                    self.answer_event(req, d.slow_ms);
                    return;
                }
                CMD_GET_MESSAGE_FLAGS => pending.add_flags |= FLAG_EVENT_BUFFER_FULL,
                _ => {}
            }
        }
        if netfn == NETFN_APP
            && cmd == CMD_SEND_MESSAGE
            && self.lan_commands_sent > 0
            && req.data.first().is_some_and(|c| c & 0x0f == lan::CHANNEL)
        {
            self.answer_lan_reply(req, d.slow_ms);
            return;
        }
        if self.commands_waiting + self.lan_commands_waiting > 0 && netfn == NETFN_APP {
            match cmd {
                CMD_GET_MESSAGE => {
                    self.answer_command(req, d.slow_ms);
                    return;
                }
                CMD_GET_MESSAGE_FLAGS => pending.add_flags |= FLAG_RECEIVE_MESSAGE,
                _ => {}
            }
        }
        match d.action {
            Some((i, a @ Action::Busy)) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.log_slow(&pending);
                let rsp = req.response(CC_NODE_BUSY, &[]);
                self.send_qemu(rsp.encode(), d.slow_ms);
            }
            Some((i, a @ Action::Silent(dur))) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.silent_until = Some(Instant::now() + dur);
            }
            Some((i, a @ Action::Reconnect(side))) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.reconnect(side);
            }
            Some((i, a @ Action::AttnStorm { count, irq })) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.pending.insert(seq, pending);
                self.write_to(Peer::Bmc, &f.to_wire());
                let attn = Control::new(if irq { ctl::ATTN_IRQ } else { ctl::ATTN }).encode();
                self.storms += 1;
                if d.gap_ms == 0 {
                    self.send_qemu(attn.repeat(usize::try_from(count).unwrap_or(1)), 0);
                } else {
                    for k in 0..u64::from(count) {
                        let after = Duration::from_millis(d.gap_ms.saturating_mul(k));
                        self.schedule(Peer::Qemu, attn.clone(), after);
                    }
                }
                // The storm ends one gap after its last command.
                let end = Duration::from_millis(d.gap_ms.saturating_mul(u64::from(count)));
                self.schedule(Peer::Qemu, Vec::new(), end);
            }
            Some((i, a @ Action::Events(count))) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.pending.insert(seq, pending);
                self.write_to(Peer::Bmc, &f.to_wire());
                self.events_waiting = self.events_waiting.saturating_add(count);
                self.events_rule = i;
                self.send_qemu(Control::new(ctl::ATTN_IRQ).encode(), 0);
            }
            Some((i, a @ (Action::Commands(count) | Action::LanCommands(count)))) => {
                self.log_fault(seq, netfn, cmd, &a, i);
                self.pending.insert(seq, pending);
                self.write_to(Peer::Bmc, &f.to_wire());
                if matches!(a, Action::Commands(_)) {
                    self.commands_waiting = self.commands_waiting.saturating_add(count);
                    self.commands_rule = i;
                } else {
                    self.lan_commands_waiting = self.lan_commands_waiting.saturating_add(count);
                    self.lan_commands_rule = i;
                }
                self.send_qemu(Control::new(ctl::ATTN_IRQ).encode(), 0);
            }
            Some((i, a)) if a.acts_on_response() => {
                pending.action = Some((i, a));
                self.pending.insert(seq, pending);
                self.write_to(Peer::Bmc, &f.to_wire());
            }
            _ => {
                self.pending.insert(seq, pending);
                self.write_to(Peer::Bmc, &f.to_wire());
            }
        }
    }

    /// Answers a Read Event Message Buffer from the proxy's event buffer:
    /// a system event record (type 0x02) from the BMC (generator 0x20) for
    /// temperature sensor [`EVENT_SENSOR`], its record id and first event
    /// data byte counting the events handed out.
    fn answer_event(&mut self, req: &Message, slow_ms: u64) {
        self.events_waiting -= 1;
        self.events_sent = self.events_sent.wrapping_add(1);
        let n = self.events_sent.to_le_bytes();
        let record = [
            n[0],
            n[1], // record id
            0x02, // system event record
            0,
            0,
            0,
            0, // timestamp
            0x20,
            0x00, // generator: the BMC, LUN 0, channel 0
            0x04, // event message revision
            0x01, // sensor type: temperature
            EVENT_SENSOR,
            0x01, // assertion, threshold
            n[0],
            0x00,
            0x00,
        ];
        let rule = self.events_rule;
        self.log_line(req.seq, req.netfn, req.cmd, "event", Some(rule));
        self.send_qemu(req.response(0, &record).encode(), slow_ms);
        // A BMC keeps SMS_ATN up while its buffer holds an event; QEMU's
        // is set by a command, once: set it again after each event while
        // more wait, or a driver that stops after some in a row (both
        // upstream's and ours) waits for its next timer.
        if self.events_waiting > 0 {
            self.send_qemu(Control::new(ctl::ATTN_IRQ).encode(), slow_ms);
        } else {
            self.release_attn(slow_ms);
        }
    }

    /// Answers a Get Message from the proxy's receive queue: an IPMB
    /// command on channel 0 from [`COMMAND_SOURCE`] to the host (LUN 2,
    /// the SMS LUN), App Get Device ID, its sequence number counting the
    /// commands handed out; both checksums right.
    fn answer_command(&mut self, req: &Message, slow_ms: u64) {
        if self.commands_waiting == 0 {
            self.answer_lan_command(req, slow_ms);
            return;
        }
        self.commands_waiting -= 1;
        self.commands_sent = self.commands_sent.wrapping_add(1);
        let seq = (self.commands_sent & 0x3f) as u8;
        let nl = (NETFN_APP << 2) | 2;
        let chk = |bytes: &[u8]| {
            bytes
                .iter()
                .fold(0u8, |s, b| s.wrapping_add(*b))
                .wrapping_neg()
        };
        let (rq, seq_lun, cmd) = (COMMAND_SOURCE, seq << 2, 0x01);
        let data = [
            0x00, // channel 0, no session
            nl,
            chk(&[SMS_ADDR, nl]),
            rq,
            seq_lun,
            cmd,
            chk(&[rq, seq_lun, cmd]),
        ];
        let rule = self.commands_rule;
        self.log_line(req.seq, req.netfn, req.cmd, "command", Some(rule));
        self.send_qemu(req.response(0, &data).encode(), slow_ms);
        self.after_command(slow_ms);
    }

    /// Answers a Get Message with a command from a LAN session
    /// ([`lan::command`]), its sequence number counting those handed out.
    fn answer_lan_command(&mut self, req: &Message, slow_ms: u64) {
        self.lan_commands_waiting -= 1;
        self.lan_commands_sent = self.lan_commands_sent.wrapping_add(1);
        let data = lan::command((self.lan_commands_sent & 0x3f) as u8);
        let rule = self.lan_commands_rule;
        self.log_line(req.seq, req.netfn, req.cmd, "lan-command", Some(rule));
        self.send_qemu(req.response(0, &data).encode(), slow_ms);
        self.after_command(slow_ms);
    }

    /// More commands waiting: ATTN_IRQ again (a BMC holds SMS_ATN up while
    /// its queue holds one); none: let the flag go.
    fn after_command(&mut self, slow_ms: u64) {
        if self.commands_waiting + self.lan_commands_waiting > 0 {
            self.send_qemu(Control::new(ctl::ATTN_IRQ).encode(), slow_ms);
        } else {
            self.release_attn(slow_ms);
        }
    }

    /// The host's Send Message to the LAN channel: checked as a reply to
    /// one of the LAN commands, logged, and answered with completion code
    /// 0 as the BMC would once it passed the reply on to the session.
    fn answer_lan_reply(&mut self, req: &Message, slow_ms: u64) {
        let what = match lan::check_reply(&req.data) {
            Ok(r) => {
                let data: Vec<String> = r.data.iter().map(|b| format!("{b:02x}")).collect();
                format!(
                    "lan-reply ok seq={} lun={} cc=0x{:02x} data={}",
                    r.seq,
                    r.host_lun,
                    r.cc,
                    if data.is_empty() {
                        "-".into()
                    } else {
                        data.join(",")
                    }
                )
            }
            Err(e) => format!("lan-reply bad: {e}"),
        };
        let rule = self.lan_commands_rule;
        self.log_line(req.seq, req.netfn, req.cmd, &what, Some(rule));
        self.send_qemu(req.response(0, &[]).encode(), slow_ms);
    }

    /// A storm's end timer fired: one reason fewer to hold SMS_ATN up.
    fn storm_ended(&mut self) {
        self.storms = self.storms.saturating_sub(1);
        self.release_attn(0);
    }

    /// Clears SMS_ATN (NOATTN to QEMU, after `delay_ms`) once nothing the
    /// proxy made up holds it up and the BMC's own last word was NOATTN, as
    /// a BMC drops the flag when its buffers are empty. QEMU clears it only
    /// on the BMC's command: without this, the flag the proxy raised would
    /// stay up for good and every driver would fetch the message flags
    /// over and over.
    fn release_attn(&mut self, delay_ms: u64) {
        if self.events_waiting == 0
            && self.commands_waiting == 0
            && self.lan_commands_waiting == 0
            && self.storms == 0
            && !self.bmc_attn
        {
            self.send_qemu(Control::new(ctl::NOATTN).encode(), delay_ms);
        }
    }

    fn log_slow(&mut self, p: &Pending) {
        for &(i, ms) in &p.slow_rules {
            self.log_fault(p.seq, p.netfn, p.cmd, &Action::Slow(ms), i);
        }
    }

    fn reconnect(&mut self, side: Side) {
        match side {
            Side::Qemu => self.close_qemu(),
            Side::Both => {
                self.close_qemu();
                self.close_bmc();
            }
            Side::Bmc => {
                self.close_bmc();
                if self.dial_bmc() {
                    for h in self.handshake.clone() {
                        self.write_to(Peer::Bmc, &h.to_wire());
                    }
                } else {
                    self.close_qemu();
                }
            }
        }
    }

    fn bmc_frame(&mut self, f: Frame) {
        if self.qemu.is_none() {
            self.stats.discarded_from_bmc += 1;
            return;
        }
        if self.is_silent() {
            self.silenced(&f, true);
            return;
        }
        if f.fault == Some(FrameFault::Overflow) {
            self.stats.overflow_frames += 1;
            return;
        }
        match f.kind {
            FrameKind::Control => {
                match f.control() {
                    Some(c) if c.op == ctl::NOATTN => self.bmc_attn = false,
                    Some(c) if c.op == ctl::ATTN || c.op == ctl::ATTN_IRQ => self.bmc_attn = true,
                    Some(_) => {}
                    None => self.stats.bad_frames_from_bmc += 1,
                }
                self.stats.controls_to_qemu += 1;
                self.write_to(Peer::Qemu, &f.to_wire());
            }
            FrameKind::Message => match f.message() {
                Ok(rsp) => self.response(rsp, &f),
                Err(_) => {
                    self.stats.bad_frames_from_bmc += 1;
                    self.write_to(Peer::Qemu, &f.to_wire());
                }
            },
        }
    }

    /// A seq near `want` that no request in flight uses.
    fn unused_seq(&self, want: u8, avoid: u8) -> u8 {
        let mut s = want;
        for _ in 0..=255 {
            if s != avoid && !self.pending.contains_key(&s) {
                break;
            }
            s = s.wrapping_add(1);
        }
        s
    }

    fn response(&mut self, rsp: Message, f: &Frame) {
        self.stats.responses += 1;
        let wire = f.to_wire();
        let Some(p) = self.pending.remove(&rsp.seq) else {
            self.stats.unmatched_responses += 1;
            self.send_qemu(wire, 0);
            return;
        };
        let delay = p.slow_ms;
        let wire = if p.add_flags != 0 && rsp.completion_code() == Some(0) && rsp.data.len() >= 2 {
            let mut m = rsp.clone();
            if let Some(flags) = m.data.get_mut(1) {
                *flags |= p.add_flags;
            }
            m.encode()
        } else {
            wire
        };
        let Some((i, a)) = p.action else {
            self.log_slow(&p);
            self.send_qemu(wire, delay);
            return;
        };
        self.log_fault(p.seq, p.netfn, p.cmd, &a, i);
        if a != Action::Drop {
            self.log_slow(&p);
        }
        match a {
            Action::Drop => {}
            Action::Delay(ms) => self.send_qemu(wire, delay.saturating_add(ms)),
            Action::Duplicate => {
                self.send_qemu(wire.clone(), delay);
                self.send_qemu(wire, delay);
            }
            Action::CorruptChecksum => {
                let bad = rsp.encode_with_checksum(rsp.checksum() ^ 0x01);
                self.send_qemu(bad, delay);
            }
            Action::CorruptSeq | Action::CorruptNetfn | Action::CorruptCmd => {
                let mut m = rsp;
                match a {
                    Action::CorruptSeq => m.seq ^= 0x01,
                    Action::CorruptNetfn => m.netfn ^= 0x02,
                    _ => m.cmd ^= 0x01,
                }
                self.send_qemu(m.encode(), delay);
            }
            Action::Patch { at, value } => {
                let mut m = rsp;
                if let Some(b) = m.data.get_mut(at) {
                    *b = value;
                }
                self.send_qemu(m.encode(), delay);
            }
            Action::Truncate(n) => {
                let mut body = rsp.header_and_data();
                body.truncate(n.saturating_add(1));
                body.push(codec::checksum(&body));
                self.send_qemu(codec::encode_frame(&body, FrameKind::Message), delay);
            }
            Action::Oversize(n) => {
                let mut m = rsp;
                let mut k = 0u8;
                while m.data.len() + 2 < n {
                    m.data.push(k);
                    k = k.wrapping_add(1);
                }
                self.send_qemu(m.encode(), delay);
            }
            Action::Garbage(n) => {
                let g = garbage(&mut self.rng, n);
                self.send_qemu(g, delay);
                self.send_qemu(wire, delay);
            }
            Action::Unsolicited => {
                let mut m = rsp;
                m.seq = self.unused_seq(m.seq ^ 0x80, m.seq);
                self.send_qemu(wire, delay);
                self.send_qemu(m.encode(), delay);
            }
            _ => self.send_qemu(wire, delay),
        }
    }

    fn stats_line(&self) -> String {
        let s = &self.stats;
        let mut out = format!(
            "qemu_connections={} bmc_connections={} qemu_connected={} bmc_connected={} \
             requests={} responses={} unmatched_responses={} in_flight={} \
             controls_to_bmc={} controls_to_qemu={} bad_frames_from_qemu={} \
             bad_frames_from_bmc={} overflow_frames={} discarded_from_bmc={} \
             silenced={} silent={} faults={} rules={}",
            s.qemu_connections,
            s.bmc_connections,
            u8::from(self.qemu.is_some()),
            u8::from(self.bmc.is_some()),
            s.requests,
            s.responses,
            s.unmatched_responses,
            self.pending.len(),
            s.controls_to_bmc,
            s.controls_to_qemu,
            s.bad_frames_from_qemu,
            s.bad_frames_from_bmc,
            s.overflow_frames,
            s.discarded_from_bmc,
            s.silenced,
            u8::from(self.is_silent()),
            s.faults,
            self.plan.rules.len(),
        );
        for name in Action::NAMES {
            let n = s.by_action.get(name).copied().unwrap_or(0);
            let _ = write!(out, " fault.{name}={n}");
        }
        out
    }

    fn control(&mut self, line: &str) -> String {
        let line = line.trim();
        let (cmd, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(c, r)| (c, r.trim()));
        match cmd {
            "plan" => match plan::parse_inline(rest) {
                Ok(p) => {
                    self.plan = p;
                    format!("ok rules={}", self.plan.rules.len())
                }
                Err(e) => format!("err {e}"),
            },
            "add" => match plan::parse_rule(rest) {
                Ok(Some(r)) => {
                    self.plan.rules.push(r);
                    format!("ok rules={}", self.plan.rules.len())
                }
                Ok(None) => "err add needs a rule".into(),
                Err(e) => format!("err {e}"),
            },
            "clear" => {
                self.plan = Plan::default();
                self.silent_until = None;
                "ok rules=0".into()
            }
            "stats" => format!("ok {}", self.stats_line()),
            "show" => {
                let rules: Vec<String> = self
                    .plan
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        format!("{}: {r} [selected={} fired={}]", i + 1, r.selected, r.fired)
                    })
                    .collect();
                format!("ok rules={} {}", rules.len(), rules.join("; "))
                    .trim_end()
                    .to_string()
            }
            "" => "err empty command".into(),
            _ => format!("err unknown command {cmd:?} (plan, add, clear, stats, show)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_discarded_by_any_receiver() {
        let mut rng = Rng::new(7);
        for n in 1..200 {
            let g = garbage(&mut rng, n);
            assert_eq!(g.len(), n + 1);
            let frames = Decoder::decode_all(&g);
            assert_eq!(frames.len(), 1);
            assert!(frames[0].message().is_err(), "{g:02x?}");
            assert!(g[..n].iter().all(|&b| !codec::is_special(b)));
        }
    }

    #[test]
    fn rng_is_seeded() {
        let a: Vec<u8> = {
            let mut r = Rng::new(1);
            (0..16).map(|_| r.byte()).collect()
        };
        let b: Vec<u8> = {
            let mut r = Rng::new(1);
            (0..16).map(|_| r.byte()).collect()
        };
        let c: Vec<u8> = {
            let mut r = Rng::new(2);
            (0..16).map(|_| r.byte()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
