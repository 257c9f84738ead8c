// SPDX-License-Identifier: GPL-2.0

//! `ipmi-fault-proxy`: see the library documentation for the plan language,
//! the log and the control socket.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use ipmi_fault_proxy::plan::{self, Plan};
use ipmi_fault_proxy::proxy::{Config, Proxy};

const USAGE: &str = "usage: ipmi-fault-proxy --listen ADDR:PORT --bmc ADDR:PORT [--plan FILE] \
                     --log FILE [--control SOCKETPATH] [--seed N]";

fn parse_args() -> Result<Config, String> {
    let mut listen = None;
    let mut bmc = None;
    let mut plan_path: Option<PathBuf> = None;
    let mut log = None;
    let mut control = None;
    let mut seed = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = Some(value),
            "--bmc" => bmc = Some(value),
            "--plan" => plan_path = Some(value.into()),
            "--log" => log = Some(PathBuf::from(value)),
            "--control" => control = Some(PathBuf::from(value)),
            "--seed" => seed = Some(plan::parse_num(&value)?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let plan = match plan_path {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            plan::parse_plan(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => Plan::default(),
    };
    let seed = seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // The low 64 bits are plenty of variety for garbage bytes.
        u64::try_from(t & u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id())
    });
    Ok(Config {
        listen: listen.ok_or("--listen is required")?,
        bmc: bmc.ok_or("--bmc is required")?,
        plan,
        log: log.ok_or("--log is required")?,
        control,
        seed,
    })
}

fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ipmi-fault-proxy: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let proxy = match Proxy::bind(config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ipmi-fault-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    match proxy.local_addr() {
        Ok(a) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening {a}");
            let _ = out.flush();
        }
        Err(e) => {
            eprintln!("ipmi-fault-proxy: {e}");
            return ExitCode::FAILURE;
        }
    }
    match proxy.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipmi-fault-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}
