// SPDX-License-Identifier: GPL-2.0

//! Fault plans: parsing the rule language (documented in the crate root)
//! and deciding, request by request, which fault applies.

use std::fmt;
use std::time::Duration;

/// Upper bounds that keep a mistyped plan from doing something absurd.
const MAX_DELAY_MS: u64 = 600_000;
const MAX_BYTES: usize = 4096;
const MAX_STORM: u32 = 100_000;

/// Which connection a `reconnect` closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The QEMU connection (QEMU reconnects after its `reconnect-ms`).
    Qemu,
    /// The BMC connection (the proxy dials the BMC again).
    Bmc,
    /// Both.
    Both,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Qemu => "qemu",
            Self::Bmc => "bmc",
            Self::Both => "both",
        })
    }
}

/// A fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward the request; discard its response.
    Drop,
    /// Hold the response this many milliseconds.
    Delay(u64),
    /// Send the response twice.
    Duplicate,
    /// Send the response with its checksum byte XORed with 0x01.
    CorruptChecksum,
    /// Send the response with its seq XORed with 0x01 (checksum fixed up).
    CorruptSeq,
    /// Send the response with its netfn XORed with 0x02 (checksum fixed up).
    CorruptNetfn,
    /// Send the response with its cmd XORed with 0x01 (checksum fixed up).
    CorruptCmd,
    /// Set byte `at` of the response's data (0: the completion code) to
    /// `value`, with a fresh checksum: a BMC whose answer changed.
    Patch {
        /// Which byte.
        at: usize,
        /// Its new value.
        value: u8,
    },
    /// Keep only this many bytes of the response after seq (netfn/LUN,
    /// cmd, completion code, data), with a fresh checksum.
    Truncate(usize),
    /// Pad the response's data so that netfn/LUN, cmd, completion code and
    /// data are this many bytes, with a fresh checksum.
    Oversize(usize),
    /// Send this many random bytes and a message terminator before the
    /// response.
    Garbage(usize),
    /// After the response, send a copy under a seq no request is waiting
    /// for.
    Unsolicited,
    /// Answer the request with completion code 0xC0 (node busy) without
    /// forwarding it.
    Busy,
    /// Discard everything in both directions for this long, this request
    /// included.
    Silent(Duration),
    /// Swallow the request and close a connection.
    Reconnect(Side),
    /// Add this many milliseconds to the response; stacks with the other
    /// actions.
    Slow(u64),
    /// Forward the request and send this many ATTN control commands to
    /// QEMU, `irq` selecting ATTN_IRQ (0x02) over ATTN (0x01).
    AttnStorm {
        /// How many.
        count: u32,
        /// ATTN_IRQ rather than ATTN.
        irq: bool,
    },
    /// Forward the request, then have this many events read from the
    /// BMC's event buffer: ATTN_IRQ to QEMU, the event-buffer-full flag
    /// added to Get Message Flags answers, and Read Event Message Buffer
    /// answered by the proxy with one made-up event each until they are
    /// all read.
    Events(u32),
    /// Forward the request, then have this many commands for the host in
    /// the BMC's receive queue: ATTN_IRQ to QEMU, the receive-message
    /// flag added to Get Message Flags answers, and Get Message answered
    /// by the proxy with one made-up IPMB command each until they are all
    /// read.
    Commands(u32),
    /// As `Commands`, but each one a command from a LAN session (see
    /// [`crate::lan`]), and the host's replies to them (Send Message to
    /// the LAN channel) checked and answered by the proxy.
    LanCommands(u32),
}

impl Action {
    /// The action's name without its argument (for statistics).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Drop => "drop",
            Self::Delay(_) => "delay",
            Self::Duplicate => "duplicate",
            Self::CorruptChecksum => "corrupt-checksum",
            Self::CorruptSeq => "corrupt-seq",
            Self::CorruptNetfn => "corrupt-netfn",
            Self::CorruptCmd => "corrupt-cmd",
            Self::Patch { .. } => "patch",
            Self::Truncate(_) => "truncate",
            Self::Oversize(_) => "oversize",
            Self::Garbage(_) => "garbage",
            Self::Unsolicited => "unsolicited",
            Self::Busy => "busy",
            Self::Silent(_) => "silent",
            Self::Reconnect(_) => "reconnect",
            Self::Slow(_) => "slow",
            Self::AttnStorm { irq: false, .. } => "attn-storm",
            Self::AttnStorm { irq: true, .. } => "attn-irq-storm",
            Self::Events(_) => "events",
            Self::Commands(_) => "commands",
            Self::LanCommands(_) => "lan-commands",
        }
    }

    /// Every action name, in the order `stats` prints them.
    pub const NAMES: [&'static str; 21] = [
        "drop",
        "delay",
        "duplicate",
        "corrupt-checksum",
        "corrupt-seq",
        "corrupt-netfn",
        "corrupt-cmd",
        "patch",
        "truncate",
        "oversize",
        "garbage",
        "unsolicited",
        "busy",
        "silent",
        "reconnect",
        "slow",
        "attn-storm",
        "attn-irq-storm",
        "events",
        "commands",
        "lan-commands",
    ];

    /// Whether the action works on the request's response (so the proxy must
    /// remember the request until its response comes).
    pub fn acts_on_response(&self) -> bool {
        matches!(
            self,
            Self::Drop
                | Self::Delay(_)
                | Self::Duplicate
                | Self::CorruptChecksum
                | Self::CorruptSeq
                | Self::CorruptNetfn
                | Self::CorruptCmd
                | Self::Patch { .. }
                | Self::Truncate(_)
                | Self::Oversize(_)
                | Self::Garbage(_)
                | Self::Unsolicited
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Self::Delay(n) | Self::Slow(n) => write!(f, "{name}={n}"),
            Self::Truncate(n) | Self::Oversize(n) | Self::Garbage(n) => write!(f, "{name}={n}"),
            Self::Silent(d) => write!(f, "{name}={}ms", d.as_millis()),
            Self::Patch { at, value } => write!(f, "{name}={at}:0x{value:02x}"),
            Self::Reconnect(s) => write!(f, "{name}={s}"),
            Self::AttnStorm { count, .. }
            | Self::Events(count)
            | Self::Commands(count)
            | Self::LanCommands(count) => {
                write!(f, "{name}={count}")
            }
            _ => f.write_str(name),
        }
    }
}

/// One rule of a plan: which requests, and what to do to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Only requests with this netfn (6 bits), if given.
    pub netfn: Option<u8>,
    /// Only requests with this cmd, if given.
    pub cmd: Option<u8>,
    /// Fire on the K-th selected request (counted after `after`) only.
    pub nth: Option<u64>,
    /// Fire on every K-th selected request (counted after `after`).
    pub every: Option<u64>,
    /// Fire at most this many times.
    pub count: Option<u64>,
    /// Ignore the first K selected requests.
    pub after: u64,
    /// Select nothing until a request with this netfn and cmd has passed
    /// (a test arms the rule in-band, by sending that request).
    pub armed_by: Option<(u8, u8)>,
    /// Whether that request has passed.
    pub armed: bool,
    /// The fault.
    pub action: Action,
    /// Milliseconds between the commands of an ATTN storm.
    pub gap_ms: u64,
    /// Selected requests so far.
    pub selected: u64,
    /// Times fired so far.
    pub fired: u64,
}

impl Rule {
    /// Whether the rule's netfn and cmd match (and it is armed).
    pub fn selects(&self, netfn: u8, cmd: u8) -> bool {
        (self.armed_by.is_none() || self.armed)
            && self.netfn.is_none_or(|n| n == netfn)
            && self.cmd.is_none_or(|c| c == cmd)
    }

    /// Counts one selected request and says whether the rule fires for it.
    /// Does not count the firing (see [`Rule::fire`]).
    fn select_and_check(&mut self) -> bool {
        self.selected += 1;
        if self.count.is_some_and(|c| self.fired >= c) || self.selected <= self.after {
            return false;
        }
        let m = self.selected - self.after;
        match (self.nth, self.every) {
            (Some(k), _) => m == k,
            (None, Some(k)) => m.is_multiple_of(k),
            (None, None) => true,
        }
    }

    fn fire(&mut self) {
        self.fired += 1;
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("match")?;
        if let Some(n) = self.netfn {
            write!(f, " netfn=0x{n:02x}")?;
        }
        if let Some(c) = self.cmd {
            write!(f, " cmd=0x{c:02x}")?;
        }
        if let Some(k) = self.nth {
            write!(f, " nth={k}")?;
        }
        if let Some(k) = self.every {
            write!(f, " every={k}")?;
        }
        if self.after > 0 {
            write!(f, " after={}", self.after)?;
        }
        if let Some(k) = self.count {
            write!(f, " count={k}")?;
        }
        if let Some((n, c)) = self.armed_by {
            write!(f, " armed-by=0x{n:02x}/0x{c:02x}")?;
        }
        write!(f, " action={}", self.action)?;
        if matches!(self.action, Action::AttnStorm { .. }) && self.gap_ms > 0 {
            write!(f, " gap={}", self.gap_ms)?;
        }
        Ok(())
    }
}

/// What the plan says about one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The action that applies (and the index of its rule), if any.
    pub action: Option<(usize, Action)>,
    /// Milliseconds of `slow` to add to the response, and the rules that
    /// contributed them.
    pub slow_ms: u64,
    /// Indices of the `slow` rules that fired.
    pub slow_rules: Vec<usize>,
    /// Gap between ATTN storm commands, from the firing rule.
    pub gap_ms: u64,
}

/// A list of rules in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Plan {
    /// Decides what happens to a request with this netfn and cmd.
    ///
    /// Every rule that selects the request counts it. Of the rules that fire,
    /// every `slow` rule adds its delay, and the first other one (in file
    /// order) is the action; later ones that would have fired do not, and do
    /// not use up their `count`.
    pub fn decide(&mut self, netfn: u8, cmd: u8) -> Decision {
        let mut d = Decision::default();
        for rule in &mut self.rules {
            if rule.armed_by == Some((netfn, cmd)) {
                rule.armed = true;
            }
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.selects(netfn, cmd) || !rule.select_and_check() {
                continue;
            }
            match rule.action {
                Action::Slow(ms) => {
                    rule.fire();
                    d.slow_ms = d.slow_ms.saturating_add(ms);
                    d.slow_rules.push(i);
                }
                a if d.action.is_none() => {
                    rule.fire();
                    d.action = Some((i, a));
                    d.gap_ms = rule.gap_ms;
                }
                _ => {}
            }
        }
        d
    }
}

/// A plan that failed to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    /// 1-based line (or `;`-separated item) number.
    pub line: usize,
    /// What was wrong.
    pub msg: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for PlanError {}

/// Parses a plan file: one rule a line, `#` comments, blank lines ignored.
pub fn parse_plan(text: &str) -> Result<Plan, PlanError> {
    parse_items(text.lines())
}

/// Parses rules separated by `;` (the control socket's `plan` command).
pub fn parse_inline(text: &str) -> Result<Plan, PlanError> {
    parse_items(text.split(';'))
}

fn parse_items<'a>(items: impl Iterator<Item = &'a str>) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    for (i, item) in items.enumerate() {
        match parse_rule(item) {
            Ok(Some(r)) => plan.rules.push(r),
            Ok(None) => {}
            Err(msg) => return Err(PlanError { line: i + 1, msg }),
        }
    }
    Ok(plan)
}

/// A number: decimal, or hexadecimal with `0x`.
pub fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("not a number: {s:?}"))
}

fn num_in(s: &str, lo: u64, hi: u64, what: &str) -> Result<u64, String> {
    let n = parse_num(s)?;
    if n < lo || n > hi {
        return Err(format!("{what} must be {lo}..={hi}, not {n}"));
    }
    Ok(n)
}

fn bytes_arg(arg: Option<&str>, name: &str, lo: u64) -> Result<usize, String> {
    let a = arg.ok_or_else(|| format!("{name} needs =N"))?;
    let n = num_in(a, lo, MAX_BYTES as u64, name)?;
    usize::try_from(n).map_err(|_| format!("{name}: {n} too large"))
}

fn ms_arg(arg: Option<&str>, name: &str) -> Result<u64, String> {
    let a = arg.ok_or_else(|| format!("{name} needs =MS"))?;
    num_in(a, 0, MAX_DELAY_MS, name)
}

/// `SECS`, or `MSms`.
fn duration_arg(arg: Option<&str>, name: &str) -> Result<Duration, String> {
    let a = arg.ok_or_else(|| format!("{name} needs =SECS or =MSms"))?;
    let ms = match a.strip_suffix("ms") {
        Some(ms) => num_in(ms, 1, MAX_DELAY_MS, name)?,
        None => {
            num_in(
                a.strip_suffix('s').unwrap_or(a),
                1,
                MAX_DELAY_MS / 1000,
                name,
            )? * 1000
        }
    };
    Ok(Duration::from_millis(ms))
}

fn parse_action(v: &str) -> Result<Action, String> {
    let (name, arg) = match v.split_once('=') {
        Some((n, a)) => (n, Some(a)),
        None => (v, None),
    };
    let no_arg = |a: Action| match arg {
        None => Ok(a),
        Some(_) => Err(format!("{name} takes no argument")),
    };
    match name {
        "drop" => no_arg(Action::Drop),
        "delay" => Ok(Action::Delay(ms_arg(arg, name)?)),
        "slow" => Ok(Action::Slow(ms_arg(arg, name)?)),
        "duplicate" => no_arg(Action::Duplicate),
        "corrupt-checksum" => no_arg(Action::CorruptChecksum),
        "corrupt-seq" => no_arg(Action::CorruptSeq),
        "corrupt-netfn" => no_arg(Action::CorruptNetfn),
        "corrupt-cmd" => no_arg(Action::CorruptCmd),
        "truncate" => Ok(Action::Truncate(bytes_arg(arg, name, 0)?)),
        "patch" => {
            let a = arg.ok_or("patch needs =BYTE:VALUE")?;
            let (at, value) = a
                .split_once(':')
                .ok_or_else(|| format!("patch wants BYTE:VALUE, not {a:?}"))?;
            Ok(Action::Patch {
                at: bytes_arg(Some(at), name, 0)?,
                value: u8::try_from(num_in(value, 0, 0xff, name)?).map_err(|e| e.to_string())?,
            })
        }
        "oversize" => Ok(Action::Oversize(bytes_arg(arg, name, 1)?)),
        "garbage" => Ok(Action::Garbage(bytes_arg(arg, name, 1)?)),
        "unsolicited" => no_arg(Action::Unsolicited),
        "busy" => no_arg(Action::Busy),
        "silent" => Ok(Action::Silent(duration_arg(arg, name)?)),
        "reconnect" => Ok(Action::Reconnect(match arg {
            None | Some("qemu") => Side::Qemu,
            Some("bmc") => Side::Bmc,
            Some("both") => Side::Both,
            Some(s) => {
                return Err(format!(
                    "reconnect side must be qemu, bmc or both, not {s:?}"
                ))
            }
        })),
        "attn-storm" | "attn-irq-storm" => {
            let a = arg.ok_or_else(|| format!("{name} needs =N"))?;
            let n = num_in(a, 1, u64::from(MAX_STORM), name)?;
            Ok(Action::AttnStorm {
                count: u32::try_from(n).map_err(|_| format!("{name}: {n} too large"))?,
                irq: name == "attn-irq-storm",
            })
        }
        "events" | "commands" | "lan-commands" => {
            let a = arg.ok_or_else(|| format!("{name} needs =N"))?;
            let n = num_in(a, 1, u64::from(MAX_STORM), name)?;
            let n = u32::try_from(n).map_err(|_| format!("{name}: {n} too large"))?;
            Ok(match name {
                "events" => Action::Events(n),
                "commands" => Action::Commands(n),
                _ => Action::LanCommands(n),
            })
        }
        _ => Err(format!("unknown action {name:?}")),
    }
}

/// Parses one rule; `Ok(None)` for a blank or comment-only line.
pub fn parse_rule(line: &str) -> Result<Option<Rule>, String> {
    let line = line.split_once('#').map_or(line, |(l, _)| l).trim();
    let mut words = line.split_whitespace();
    match words.next() {
        None => return Ok(None),
        Some("match") => {}
        Some(w) => return Err(format!("a rule starts with \"match\", not {w:?}")),
    }
    let mut rule = Rule {
        netfn: None,
        cmd: None,
        nth: None,
        every: None,
        count: None,
        after: 0,
        armed_by: None,
        armed: false,
        action: Action::Drop,
        gap_ms: 0,
        selected: 0,
        fired: 0,
    };
    let mut action = None;
    let mut gap = None;
    let mut after = None;
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, not {w:?}"))?;
        let dup = || format!("{k} given twice");
        match k {
            "netfn" if rule.netfn.is_none() => {
                rule.netfn = Some(u8::try_from(num_in(v, 0, 0x3f, k)?).map_err(|e| e.to_string())?)
            }
            "cmd" if rule.cmd.is_none() => {
                rule.cmd = Some(u8::try_from(num_in(v, 0, 0xff, k)?).map_err(|e| e.to_string())?)
            }
            "nth" if rule.nth.is_none() => rule.nth = Some(num_in(v, 1, u64::MAX, k)?),
            "every" if rule.every.is_none() => rule.every = Some(num_in(v, 1, u64::MAX, k)?),
            "count" if rule.count.is_none() => rule.count = Some(num_in(v, 1, u64::MAX, k)?),
            "after" if after.is_none() => after = Some(num_in(v, 0, u64::MAX, k)?),
            "gap" if gap.is_none() => gap = Some(num_in(v, 0, 10_000, k)?),
            "armed-by" if rule.armed_by.is_none() => {
                let (n, c) = v
                    .split_once('/')
                    .ok_or_else(|| format!("armed-by wants NETFN/CMD, not {v:?}"))?;
                let n = u8::try_from(num_in(n, 0, 0x3f, "armed-by netfn")?)
                    .map_err(|e| e.to_string())?;
                let c =
                    u8::try_from(num_in(c, 0, 0xff, "armed-by cmd")?).map_err(|e| e.to_string())?;
                rule.armed_by = Some((n, c));
            }
            "action" if action.is_none() => action = Some(parse_action(v)?),
            "netfn" | "cmd" | "nth" | "every" | "count" | "after" | "gap" | "armed-by"
            | "action" => return Err(dup()),
            _ => return Err(format!("unknown key {k:?}")),
        }
    }
    if rule.nth.is_some() && rule.every.is_some() {
        return Err("nth and every exclude each other".into());
    }
    rule.after = after.unwrap_or(0);
    rule.action = action.ok_or("missing action=")?;
    if let Some(g) = gap {
        if !matches!(rule.action, Action::AttnStorm { .. }) {
            return Err("gap= only goes with attn-storm and attn-irq-storm".into());
        }
        rule.gap_ms = g;
    }
    Ok(Some(rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Rule {
        parse_rule(line).unwrap().unwrap()
    }

    #[test]
    fn parses_the_documented_example() {
        let r = one("match netfn=0x06 cmd=0x01 every=3 count=10 action=drop");
        assert_eq!(r.netfn, Some(6));
        assert_eq!(r.cmd, Some(1));
        assert_eq!(r.every, Some(3));
        assert_eq!(r.count, Some(10));
        assert_eq!(r.action, Action::Drop);
        assert_eq!(
            r.to_string(),
            "match netfn=0x06 cmd=0x01 every=3 count=10 action=drop"
        );
    }

    #[test]
    fn parses_every_action() {
        let cases: &[(&str, Action)] = &[
            ("drop", Action::Drop),
            ("delay=250", Action::Delay(250)),
            ("duplicate", Action::Duplicate),
            ("corrupt-checksum", Action::CorruptChecksum),
            ("corrupt-seq", Action::CorruptSeq),
            ("corrupt-netfn", Action::CorruptNetfn),
            ("corrupt-cmd", Action::CorruptCmd),
            ("truncate=2", Action::Truncate(2)),
            ("oversize=300", Action::Oversize(300)),
            ("garbage=0x10", Action::Garbage(16)),
            ("unsolicited", Action::Unsolicited),
            ("busy", Action::Busy),
            ("silent=2", Action::Silent(Duration::from_secs(2))),
            ("silent=3s", Action::Silent(Duration::from_secs(3))),
            ("silent=750ms", Action::Silent(Duration::from_millis(750))),
            ("reconnect", Action::Reconnect(Side::Qemu)),
            ("reconnect=bmc", Action::Reconnect(Side::Bmc)),
            ("reconnect=both", Action::Reconnect(Side::Both)),
            ("slow=40", Action::Slow(40)),
            (
                "attn-storm=5",
                Action::AttnStorm {
                    count: 5,
                    irq: false,
                },
            ),
            (
                "attn-irq-storm=7",
                Action::AttnStorm {
                    count: 7,
                    irq: true,
                },
            ),
            ("events=3", Action::Events(3)),
            ("commands=2", Action::Commands(2)),
            ("lan-commands=4", Action::LanCommands(4)),
            ("patch=4:0x12", Action::Patch { at: 4, value: 0x12 }),
        ];
        for (text, want) in cases {
            let r = one(&format!("match action={text}"));
            assert_eq!(r.action, *want, "{text}");
            // Printing and parsing again gives the same rule.
            assert_eq!(one(&r.to_string()), r, "{text}");
        }
        let mut names: Vec<&str> = cases.iter().map(|(_, a)| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        let mut all = Action::NAMES.to_vec();
        all.sort_unstable();
        assert_eq!(names, all);
    }

    #[test]
    fn rejects_bad_rules() {
        for bad in [
            "drop",
            "match",
            "match netfn=0x40 action=drop",
            "match cmd=256 action=drop",
            "match nth=1 every=2 action=drop",
            "match nth=0 action=drop",
            "match action=drop action=busy",
            "match action=explode",
            "match action=delay",
            "match action=drop=3",
            "match action=oversize=0",
            "match action=garbage=5000",
            "match action=silent=0",
            "match action=reconnect=guest",
            "match action=busy gap=3",
            "match bogus=1 action=drop",
            "match netfn action=drop",
            "match after=1 after=2 action=drop",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_and_blank_lines() {
        let p =
            parse_plan("# a plan\n\n  match action=busy # inline\n\t\nmatch cmd=2 action=drop\n")
                .unwrap();
        assert_eq!(p.rules.len(), 2);
        let e = parse_plan("match action=busy\nnonsense\n").unwrap_err();
        assert_eq!(e.line, 2);
        let p = parse_inline("match action=busy count=1; match action=drop").unwrap();
        assert_eq!(p.rules.len(), 2);
        assert!(parse_inline("").unwrap().rules.is_empty());
    }

    fn fired(plan: &mut Plan, netfn: u8, cmd: u8) -> Option<usize> {
        plan.decide(netfn, cmd).action.map(|(i, _)| i)
    }

    #[test]
    fn selectors() {
        let mut p = parse_plan("match every=2 after=1 count=2 action=busy").unwrap();
        let got: Vec<bool> = (0..8).map(|_| fired(&mut p, 6, 1).is_some()).collect();
        // Requests 3 and 5 (the 2nd and 4th after the first); count stops 7.
        assert_eq!(got, [false, false, true, false, true, false, false, false]);

        let mut p = parse_plan("match netfn=6 cmd=1 nth=2 action=drop").unwrap();
        assert_eq!(fired(&mut p, 6, 1), None);
        assert_eq!(fired(&mut p, 6, 2), None); // not selected, not counted
        assert_eq!(fired(&mut p, 4, 1), None);
        assert_eq!(fired(&mut p, 6, 1), Some(0));
        assert_eq!(fired(&mut p, 6, 1), None);

        let mut p = parse_plan("match count=3 action=drop").unwrap();
        let n = (0..10).filter(|_| fired(&mut p, 0, 0).is_some()).count();
        assert_eq!(n, 3);

        // Armed in-band: nothing until 0x30/0x7f has passed, which the
        // rule does not select itself; the later rule wins while armed.
        let mut p = parse_plan(
            "match netfn=6 cmd=1 armed-by=0x30/0x7f action=patch=4:0x12\nmatch netfn=6 cmd=1 action=delay=1",
        )
        .unwrap();
        assert_eq!(fired(&mut p, 6, 1), Some(1));
        assert_eq!(p.rules[0].selected, 0);
        assert_eq!(fired(&mut p, 0x30, 0x7f), None);
        assert_eq!(fired(&mut p, 6, 1), Some(0));
        assert_eq!(fired(&mut p, 6, 1), Some(0));
        assert_eq!(
            p.rules[0].to_string(),
            "match netfn=0x06 cmd=0x01 armed-by=0x30/0x7f action=patch=4:0x12"
        );
        assert!(parse_rule("match armed-by=0x30 action=drop").is_err());
        assert!(parse_rule("match armed-by=0x40/1 action=drop").is_err());
        assert!(parse_rule("match action=patch=4").is_err());
    }

    #[test]
    fn first_rule_wins_and_slow_stacks() {
        let mut p = parse_plan(
            "match action=slow=10\nmatch cmd=1 count=1 action=busy\nmatch action=drop\nmatch action=slow=5",
        )
        .unwrap();
        let d = p.decide(6, 1);
        assert_eq!(d.action, Some((1, Action::Busy)));
        assert_eq!(d.slow_ms, 15);
        assert_eq!(d.slow_rules, vec![0, 3]);
        // The drop rule was preempted and did not count a firing.
        assert_eq!(p.rules[2].fired, 0);
        assert_eq!(p.rules[2].selected, 1);
        let d = p.decide(6, 1);
        assert_eq!(d.action, Some((2, Action::Drop)));
        assert_eq!(p.rules[1].fired, 1);
    }

    #[test]
    fn storm_gap() {
        let mut p = parse_plan("match action=attn-storm=3 gap=4").unwrap();
        let d = p.decide(0, 0);
        assert_eq!(d.gap_ms, 4);
        assert_eq!(p.rules[0].to_string(), "match action=attn-storm=3 gap=4");
    }
}
