// SPDX-License-Identifier: GPL-2.0

//! The text of ipmi_si's parameters, as upstream reads it: the
//! comma-separated interface types of `type=` and the operations written
//! to `hotmod`:
//!
//! ```text
//! op[:op...]     op = add|remove,kcs|bt|smic,mem|i/o,<address>[,option...]
//!                option = rsp=<spacing> | rsi=<size> | rsh=<shift> | irq=<n> | ipmb=<addr>
//! ```
//!
//! Numbers take C's prefixes (`0x` hexadecimal, `0` octal). Surrounding
//! white space is ignored (`echo` adds a newline). Nothing is allocated;
//! the driver acts on each [`Hotmod`] in turn.

/// An interface type as the parameters name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiKind {
    /// `kcs`.
    Kcs,
    /// `smic` (parsed, refused by the driver).
    Smic,
    /// `bt`.
    Bt,
}

impl SiKind {
    /// The kind a name stands for.
    pub fn parse(name: &str) -> Option<SiKind> {
        match name {
            "kcs" => Some(SiKind::Kcs),
            "smic" => Some(SiKind::Smic),
            "bt" => Some(SiKind::Bt),
            _ => None,
        }
    }

    /// upstream's `enum si_type` value (the `ipmi-type` property).
    pub const fn code(self) -> u8 {
        match self {
            SiKind::Kcs => 1,
            SiKind::Smic => 2,
            SiKind::Bt => 3,
        }
    }

    /// The name.
    pub const fn name(self) -> &'static str {
        match self {
            SiKind::Kcs => "kcs",
            SiKind::Smic => "smic",
            SiKind::Bt => "bt",
        }
    }
}

/// Most interfaces the array parameters describe (upstream's
/// `SI_MAX_PARMS`).
pub const MAX_PARMS: usize = 4;

/// The kind `type=` gives interface `index`: KCS where it names none (as
/// upstream), `Err` with the name where it names an unknown one.
pub fn type_of(types: &str, index: usize) -> Result<SiKind, &str> {
    match types.split(',').nth(index).map(str::trim) {
        None | Some("") => Ok(SiKind::Kcs),
        Some(name) => SiKind::parse(name).ok_or(name),
    }
}

/// Add or remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `add`.
    Add,
    /// `remove`.
    Remove,
}

/// The address space of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrSpace {
    /// `i/o`.
    Io,
    /// `mem`.
    Mem,
}

/// One `hotmod` operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hotmod {
    /// Add or remove.
    pub action: Action,
    /// Interface type.
    pub kind: SiKind,
    /// Address space.
    pub space: AddrSpace,
    /// Address of the first register.
    pub addr: u64,
    /// `rsp=`: bytes between registers (0: the register size).
    pub regspacing: u32,
    /// `rsi=`: register size (0: one byte).
    pub regsize: u32,
    /// `rsh=`: bit shift of the data in a register.
    pub regshift: u32,
    /// `irq=`: interrupt (0: none).
    pub irq: u32,
    /// `ipmb=`: IPMB slave address (0: the default).
    pub slave_addr: u32,
}

/// What is wrong with a `hotmod` operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotmodError<'a> {
    /// A field is missing: `"operation"`, `"interface type"`, `"address
    /// space"` or `"address"`.
    Missing(&'static str),
    /// An unknown word in a field (which, what).
    Invalid(&'static str, &'a str),
    /// An address or option value that is not a number.
    BadNumber(&'a str),
    /// An unknown option.
    BadOption(&'a str),
}

/// A number as C's `kstrtoul(s, 0, ...)` reads it.
pub fn parse_number(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn parse_u32(s: &str) -> Option<u32> {
    parse_number(s).and_then(|n| u32::try_from(n).ok())
}

/// Parses one operation (no `:`).
pub fn parse_op(op: &str) -> Result<Hotmod, HotmodError<'_>> {
    let mut fields = op.split(',');
    let mut field = |what: &'static str| fields.next().ok_or(HotmodError::Missing(what));
    let action = match field("operation")? {
        "add" => Action::Add,
        "remove" => Action::Remove,
        other => return Err(HotmodError::Invalid("operation", other)),
    };
    let kind = field("interface type")?;
    let kind = SiKind::parse(kind).ok_or(HotmodError::Invalid("interface type", kind))?;
    let space = match field("address space")? {
        "i/o" => AddrSpace::Io,
        "mem" => AddrSpace::Mem,
        other => return Err(HotmodError::Invalid("address space", other)),
    };
    let addr = field("address")?;
    let addr = parse_number(addr).ok_or(HotmodError::BadNumber(addr))?;
    let mut hotmod = Hotmod {
        action,
        kind,
        space,
        addr,
        regspacing: 0,
        regsize: 0,
        regshift: 0,
        irq: 0,
        slave_addr: 0,
    };
    for option in fields {
        let (name, value) = option
            .split_once('=')
            .ok_or(HotmodError::BadOption(option))?;
        let value = parse_u32(value).ok_or(HotmodError::BadNumber(value))?;
        let slot = match name {
            "rsp" => &mut hotmod.regspacing,
            "rsi" => &mut hotmod.regsize,
            "rsh" => &mut hotmod.regshift,
            "irq" => &mut hotmod.irq,
            "ipmb" => &mut hotmod.slave_addr,
            _ => return Err(HotmodError::BadOption(name)),
        };
        *slot = value;
    }
    Ok(hotmod)
}

/// The operations of a `hotmod` write, in order; the driver stops at the
/// first error, as upstream does.
pub fn parse_hotmod(text: &str) -> impl Iterator<Item = Result<Hotmod, HotmodError<'_>>> {
    text.trim().split(':').map(parse_op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_default_to_kcs_and_unknown_ones_are_named() {
        assert_eq!(type_of("", 0), Ok(SiKind::Kcs));
        assert_eq!(type_of("kcs,bt", 1), Ok(SiKind::Bt));
        assert_eq!(type_of("kcs,bt", 3), Ok(SiKind::Kcs));
        assert_eq!(type_of("bt,,smic", 2), Ok(SiKind::Smic));
        assert_eq!(type_of("bt,,smic", 1), Ok(SiKind::Kcs));
        assert_eq!(type_of("kcs,usb", 1), Err("usb"));
    }

    #[test]
    fn numbers_read_as_c_reads_them() {
        assert_eq!(parse_number("0xca2"), Some(0xca2));
        assert_eq!(parse_number("0XCA2"), Some(0xca2));
        assert_eq!(parse_number("010"), Some(8));
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("3234"), Some(3234));
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("12a"), None);
        assert_eq!(parse_number("-1"), None);
    }

    #[test]
    fn a_full_operation() {
        let ops: Vec<_> =
            parse_hotmod("add,bt,mem,0xfe000000,rsp=4,rsi=4,rsh=8,irq=11,ipmb=0x22\n").collect();
        assert_eq!(
            ops,
            [Ok(Hotmod {
                action: Action::Add,
                kind: SiKind::Bt,
                space: AddrSpace::Mem,
                addr: 0xfe00_0000,
                regspacing: 4,
                regsize: 4,
                regshift: 8,
                irq: 11,
                slave_addr: 0x22,
            })]
        );
    }

    #[test]
    fn several_operations() {
        let ops: Vec<_> = parse_hotmod("remove,kcs,i/o,0xca2:add,kcs,i/o,0xca8").collect();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].unwrap().action, Action::Remove);
        assert_eq!(ops[1].unwrap().addr, 0xca8);
        assert_eq!(ops[1].unwrap().regspacing, 0);
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(parse_op("add"), Err(HotmodError::Missing("interface type")));
        assert_eq!(
            parse_op("plug,kcs,i/o,1"),
            Err(HotmodError::Invalid("operation", "plug"))
        );
        assert_eq!(
            parse_op("add,usb,i/o,1"),
            Err(HotmodError::Invalid("interface type", "usb"))
        );
        assert_eq!(
            parse_op("add,kcs,io,1"),
            Err(HotmodError::Invalid("address space", "io"))
        );
        assert_eq!(
            parse_op("add,kcs,i/o"),
            Err(HotmodError::Missing("address"))
        );
        assert_eq!(
            parse_op("add,kcs,i/o,zz"),
            Err(HotmodError::BadNumber("zz"))
        );
        assert_eq!(
            parse_op("add,kcs,i/o,1,irq"),
            Err(HotmodError::BadOption("irq"))
        );
        assert_eq!(
            parse_op("add,kcs,i/o,1,irq="),
            Err(HotmodError::BadNumber(""))
        );
        assert_eq!(
            parse_op("add,kcs,i/o,1,fast=1"),
            Err(HotmodError::BadOption("fast"))
        );
        assert_eq!(
            parse_op("add,kcs,i/o,1,rsp=0x100000000"),
            Err(HotmodError::BadNumber("0x100000000"))
        );
    }

    proptest::proptest! {
        /// Any text parses or fails without panicking.
        #[test]
        fn any_text(text in ".{0,80}") {
            for op in parse_hotmod(&text) {
                let _ = op;
            }
            let _ = type_of(&text, 2);
        }
    }
}
