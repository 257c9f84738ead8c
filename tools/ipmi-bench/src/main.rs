// SPDX-License-Identifier: GPL-2.0

//! Get Device ID round trips through /dev/ipmiN, the way ipmitool makes them
//! (SEND_COMMAND, poll for POLLIN, RECEIVE_MSG_TRUNC), from N concurrent
//! clients each with its own open file. Prints one `key=value` line:
//! round-trip p50/p99, throughput and the machine's CPU time per request.
//! With `--idle SECONDS` it instead reports the CPU the machine burns while
//! nobody talks to the BMC.
//!
//! Runs inside the VM; selftests/bench/run compares stacks with it.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// `struct ipmi_msg` (uapi/linux/ipmi.h).
#[repr(C)]
struct IpmiMsg {
    netfn: u8,
    cmd: u8,
    data_len: u16,
    data: *mut u8,
}

/// `struct ipmi_req`.
#[repr(C)]
struct IpmiReq {
    addr: *mut u8,
    addr_len: u32,
    msgid: libc::c_long,
    msg: IpmiMsg,
}

/// `struct ipmi_recv`.
#[repr(C)]
struct IpmiRecv {
    recv_type: libc::c_int,
    addr: *mut u8,
    addr_len: u32,
    msgid: libc::c_long,
    msg: IpmiMsg,
}

/// `struct ipmi_system_interface_addr` for the BMC, LUN 0.
#[repr(C)]
struct SystemInterfaceAddr {
    addr_type: libc::c_int,
    channel: libc::c_short,
    lun: u8,
}

const fn ioc(dir: u64, nr: u64, size: usize) -> libc::c_ulong {
    (dir << 30) | ((size as u64) << 16) | ((b'i' as u64) << 8) | nr
}
// Upstream declares both with historic direction bits: SEND is _IOR.
const IPMICTL_SEND_COMMAND: libc::c_ulong = ioc(2, 13, size_of::<IpmiReq>());
const IPMICTL_RECEIVE_MSG_TRUNC: libc::c_ulong = ioc(3, 11, size_of::<IpmiRecv>());
const IPMI_RESPONSE_RECV_TYPE: libc::c_int = 1;

struct Args {
    dev: String,
    clients: usize,
    requests: usize,
    warmup: usize,
    idle: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dev: "/dev/ipmi0".into(),
        clients: 1,
        requests: 1000,
        warmup: 300,
        idle: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dev" => args.dev = value()?,
            "--clients" => {
                args.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?
            }
            "--requests" => {
                args.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?
            }
            "--warmup" => args.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--idle" => args.idle = Some(value()?.parse().map_err(|e| format!("--idle: {e}"))?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    Ok(args)
}

/// One Get Device ID round trip; returns its latency.
fn get_device_id(dev: &File, msgid: libc::c_long) -> io::Result<Duration> {
    let mut addr = SystemInterfaceAddr {
        addr_type: 0x0c,
        channel: 0x0f,
        lun: 0,
    };
    let mut req = IpmiReq {
        addr: (&raw mut addr).cast(),
        addr_len: size_of::<SystemInterfaceAddr>() as u32,
        msgid,
        msg: IpmiMsg {
            netfn: 0x06,
            cmd: 0x01,
            data_len: 0,
            data: std::ptr::null_mut(),
        },
    };
    let start = Instant::now();
    // SAFETY: `req` and the address it points to outlive the call.
    if unsafe { libc::ioctl(dev.as_raw_fd(), IPMICTL_SEND_COMMAND, &raw mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut rsp_addr = [0u8; 40];
    let mut data = [0u8; 1024];
    loop {
        let mut pfd = libc::pollfd {
            fd: dev.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&raw mut pfd, 1, 15_000) } {
            0 => return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in 15 s")),
            n if n < 0 => return Err(io::Error::last_os_error()),
            _ => {}
        }
        let mut recv = IpmiRecv {
            recv_type: 0,
            addr: rsp_addr.as_mut_ptr(),
            addr_len: rsp_addr.len() as u32,
            msgid: 0,
            msg: IpmiMsg {
                netfn: 0,
                cmd: 0,
                data_len: data.len() as u16,
                data: data.as_mut_ptr(),
            },
        };
        // SAFETY: `recv` points to buffers of the sizes it states.
        if unsafe { libc::ioctl(dev.as_raw_fd(), IPMICTL_RECEIVE_MSG_TRUNC, &raw mut recv) } < 0 {
            return Err(io::Error::last_os_error());
        }
        if recv.recv_type == IPMI_RESPONSE_RECV_TYPE && recv.msgid == msgid {
            if recv.msg.netfn != 0x07 || recv.msg.cmd != 0x01 || data[0] != 0 {
                return Err(io::Error::other(format!(
                    "bad answer: netfn {:#x} cmd {:#x} cc {:#x}",
                    recv.msg.netfn, recv.msg.cmd, data[0]
                )));
            }
            return Ok(start.elapsed());
        }
    }
}

/// What the whole machine has done so far, from /proc/stat: busy and
/// total jiffies, context switches and interrupts. Context switches and
/// interrupts per request show where a stack's wake-ups go; a round trip
/// that needs one more switch than another's costs a scheduler pass each.
#[derive(Clone, Copy, Default)]
struct MachineCounters {
    busy: u64,
    total: u64,
    ctxt: u64,
    intr: u64,
    /// The IPMI interface's own interrupts (/proc/interrupts lines that
    /// name ipmi): none per request means the driver is polling.
    ipmi_intr: u64,
}

fn machine_counters() -> io::Result<MachineCounters> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let mut c = MachineCounters::default();
    for line in stat.lines() {
        let mut fields = line.split_whitespace();
        let key = fields.next().unwrap_or_default();
        let mut values = fields.filter_map(|x| x.parse::<u64>().ok());
        match key {
            "cpu" => {
                let v: Vec<u64> = values.take(8).collect();
                c.total = v.iter().sum();
                // idle and iowait are the 4th and 5th fields.
                let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
                c.busy = c.total - idle;
            }
            "ctxt" => c.ctxt = values.next().unwrap_or(0),
            "intr" => c.intr = values.next().unwrap_or(0),
            _ => {}
        }
    }
    let interrupts = std::fs::read_to_string("/proc/interrupts")?;
    for line in interrupts.lines().filter(|l| l.contains("ipmi")) {
        // "IRQ: count-per-CPU... chip hwirq type name": the leading numbers.
        c.ipmi_intr += line
            .split_whitespace()
            .skip(1)
            .map_while(|x| x.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(c)
}

fn jiffy_us() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1e6 / hz as f64
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn open_dev(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(secs) = args.idle {
        let _dev = open_dev(&args.dev)?;
        let c0 = machine_counters().map_err(|e| e.to_string())?;
        thread::sleep(Duration::from_secs(secs));
        let c1 = machine_counters().map_err(|e| e.to_string())?;
        let pct = 100.0 * (c1.busy - c0.busy) as f64 / (c1.total - c0.total).max(1) as f64;
        println!("idle_seconds={secs} idle_cpu_pct={pct:.3}");
        return Ok(());
    }
    let per_client = args.requests.div_ceil(args.clients);
    let barrier = Arc::new(Barrier::new(args.clients + 1));
    let mut workers = Vec::new();
    for c in 0..args.clients {
        let dev = open_dev(&args.dev)?;
        let barrier = barrier.clone();
        let warmup = args.warmup.div_ceil(args.clients);
        workers.push(thread::spawn(move || -> io::Result<Vec<Duration>> {
            let mut msgid = (c as libc::c_long) << 32;
            for _ in 0..warmup {
                msgid += 1;
                get_device_id(&dev, msgid)?;
            }
            barrier.wait();
            let mut lat = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                msgid += 1;
                lat.push(get_device_id(&dev, msgid)?);
            }
            Ok(lat)
        }));
    }
    barrier.wait();
    let c0 = machine_counters().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut all = Vec::new();
    for w in workers {
        all.extend(
            w.join()
                .map_err(|_| "client thread panicked")?
                .map_err(|e| e.to_string())?,
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let c1 = machine_counters().map_err(|e| e.to_string())?;
    all.sort();
    let n = all.len() as f64;
    println!(
        "clients={} requests={} p50_us={:.1} p99_us={:.1} rps={:.1} cpu_us_per_req={:.1} \
         ctxt_per_req={:.2} intr_per_req={:.2} ipmi_intr_per_req={:.2}",
        args.clients,
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        n / elapsed,
        (c1.busy - c0.busy) as f64 * jiffy_us() / n,
        (c1.ctxt - c0.ctxt) as f64 / n,
        (c1.intr - c0.intr) as f64 / n,
        (c1.ipmi_intr - c0.ipmi_intr) as f64 / n,
    );
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|args| run(&args));
    if let Err(e) = result {
        eprintln!("ipmi-bench: {e}");
        std::process::exit(1);
    }
}
