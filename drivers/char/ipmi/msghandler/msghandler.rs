// SPDX-License-Identifier: GPL-2.0

//! ipmi_msghandler: the IPMI message handler, in Rust, behind upstream's
//! in-kernel API.
//!
//! System interface drivers (upstream's C ipmi_si and ipmi_ssif, or ours)
//! register interfaces with `ipmi_add_smi()`; users (ipmi_devintf,
//! ipmi_watchdog, ipmi_poweroff, acpi_ipmi) send requests through them and
//! get answers, events and commands back. Every function here is one of
//! upstream's exports, with its prototype checked against the kernel's
//! headers (`ipmi_export!`); exports.c lists them for modpost. The work is
//! done by an interface ([`intf::Intf`]) and its users ([`user::User`]),
//! over the shared core's sequence table, maintenance state machine,
//! command receivers, event queue and bridging.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::debugfs;
use kernel::ffi::{c_char, c_int, c_long, c_uchar, c_uint};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;

/// The parts of the shared core this module uses.
#[path = "../../../../rust/ipmi/src"]
pub mod ipmi {
    pub mod addr;
    pub mod bridge;
    pub mod cc;
    pub mod cmd_rcvr;
    pub mod device_id;
    pub mod direct;
    pub mod events;
    pub mod ipmb;
    pub mod maintenance;
    pub mod msg;
    pub mod request;
    pub mod route;
    pub mod seq;
    pub mod smi;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../../../rust/glue"]
pub mod glue {
    pub mod abi;
    pub mod bindings;
    pub mod export;
}

/// The kernel abstractions this module uses that the kernel crate lacks.
#[path = "../../../../rust/kext"]
pub mod kext {
    pub mod inplace;
    pub mod modparam;
    pub mod panic;
    pub mod sysfs;
    pub mod work;
}

mod bmc;
mod intf;
mod msgs;
mod panic;
mod params;
mod stats;
mod user;

use glue::bindings;
use glue::export::ipmi_export;
use intf::Intf;
use ipmi::addr::{addr_length, Address, MAX_TYPED_ADDR_LEN};
use ipmi::smi::AddrSource;
use user::User;

module! {
    type: IpmiMsghandler,
    name: "ipmi_msghandler",
    authors: ["The ipmi-rs developers"],
    description: "Incoming and outgoing message routing for an IPMI interface (Rust)",
    license: "GPL",
}

/// A registered interface and its debugfs file (which holds a reference
/// to it, so it lives here rather than in the interface).
struct Registered {
    intf: Arc<Intf>,
    _debugfs: Option<Pin<KBox<debugfs::File<Arc<Intf>>>>>,
}

kernel::sync::global_lock! {
    // SAFETY: initialised first thing in the module's init.
    unsafe(uninit) static INTERFACES: Mutex<KVec<Registered>> = KVec::new();
}

kernel::sync::global_lock! {
    // SAFETY: initialised first thing in the module's init.
    // /sys/kernel/debug/ipmi_msghandler, while the module is loaded.
    unsafe(uninit) static DEBUGFS: Mutex<Option<debugfs::Dir>> = None;
}

/// The contents of /sys/kernel/debug/ipmi_msghandler/intfN.
fn show_intf(intf: &Arc<Intf>, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let mut r = Ok(());
    intf.show(|name, value| {
        if r.is_ok() {
            r = writeln!(f, "{name}: {value}");
        }
    });
    r
}

/// The debugfs file of interface `num`, if debugfs is there.
fn debugfs_file(intf: &Arc<Intf>, num: c_int) -> Option<Pin<KBox<debugfs::File<Arc<Intf>>>>> {
    let dir = DEBUGFS.lock();
    let dir = dir.as_ref()?;
    let name = CString::try_from_fmt(fmt!("intf{num}")).ok()?;
    KBox::pin_init(
        dir.read_callback_file(&name, intf.clone(), &show_intf),
        GFP_KERNEL,
    )
    .ok()
}

/// A registered watcher (the caller's structure, static in its module).
struct Watcher(*mut bindings::ipmi_smi_watcher);
// SAFETY: the watcher's callbacks may be called from any thread.
unsafe impl Send for Watcher {}

kernel::sync::global_lock! {
    // SAFETY: initialised first thing in the module's init.
    // Taken before INTERFACES when both are.
    unsafe(uninit) static WATCHERS: Mutex<KVec<Watcher>> = KVec::new();
}

/// Logs at most one message per call site every 5 seconds.
macro_rules! warn_limited {
    ($($arg:tt)*) => {{
        static LAST: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
        if $crate::may_log(&LAST) {
            kernel::pr_warn!($($arg)*);
        }
    }};
}
pub(crate) use warn_limited;

/// Whether a rate-limited message whose last time is in `last` may go.
pub(crate) fn may_log(last: &AtomicU64) -> bool {
    let now = intf::now_ms().max(1);
    let prev = last.load(Ordering::Relaxed);
    (prev == 0 || now >= prev + 5000)
        && last
            .compare_exchange(prev, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

struct IpmiMsghandler;

impl kernel::Module for IpmiMsghandler {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: once, before anything can use them (no export can be
        // called before init returns).
        unsafe {
            INTERFACES.init();
            WATCHERS.init();
            DEBUGFS.init();
            msgs::init();
        }
        bmc::init()?;
        *DEBUGFS.lock() = Some(debugfs::Dir::new(c"ipmi_msghandler"));
        panic::NOTIFIER.register();
        pr_info!("IPMI message handler (Rust) loaded\n");
        Ok(IpmiMsghandler)
    }
}

impl Drop for IpmiMsghandler {
    fn drop(&mut self) {
        panic::NOTIFIER.unregister();
        DEBUGFS.lock().take();
        bmc::exit();
        // Statics are never dropped: give back the lists' memory (empty
        // now, as every user of the module is gone, but still allocated).
        drop(core::mem::take(&mut *INTERFACES.lock()));
        drop(core::mem::take(&mut *WATCHERS.lock()));
        msgs::drain();
        let smi = msgs::SMI_MSGS_IN_USE.load(Ordering::Relaxed);
        let recv = msgs::RECV_MSGS_IN_USE.load(Ordering::Relaxed);
        if smi != 0 || recv != 0 {
            pr_warn!("unloaded with {smi} SMI and {recv} receive messages in use\n");
        }
    }
}

/// The interface numbered `num`.
fn find_intf(num: c_int) -> Option<Arc<Intf>> {
    let list = INTERFACES.lock();
    list.iter()
        .find(|r| r.intf.num.load(Ordering::Relaxed) == num)
        .map(|r| r.intf.clone())
}

/// Reads a caller's address: its type first, then as many bytes as that
/// type has (callers pass shorter structures cast to `struct ipmi_addr`).
///
/// # Safety
///
/// `addr` must point to a whole address structure of its own type.
unsafe fn read_address(addr: *const bindings::ipmi_addr) -> Result<Address> {
    if addr.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: every address structure starts with its type.
    let addr_type = unsafe { (*addr).addr_type };
    let len = addr_length(addr_type).min(MAX_TYPED_ADDR_LEN);
    if len == 0 {
        return Err(EINVAL);
    }
    // SAFETY: the structure of that type has `len` bytes.
    let (raw, n) = unsafe { glue::abi::read_addr(addr, len as i32) };
    Address::parse(&raw[..n]).map_err(|_| EINVAL)
}

/// Runs `f` on every registered interface at panic time, if the list is
/// not locked (by a CPU the panic stopped).
pub(crate) fn for_each_intf_at_panic(mut f: impl FnMut(&Intf)) {
    if let Some(list) = INTERFACES.try_lock() {
        for r in list.iter() {
            f(&r.intf);
        }
    }
}

/// Converts a kernel result to the C convention.
fn to_c(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

// ---- pure helpers -----------------------------------------------------

ipmi_export! {
    /// `ipmb_checksum()`: the IPMB checksum of `size` bytes at `data` (0
    /// for a size of 0 or less).
    ///
    /// # Safety
    ///
    /// When `size` is positive, `data` must be valid for reads of `size`
    /// bytes.
    pub unsafe extern "C" fn ipmb_checksum(data: *mut u8, size: c_int) -> u8 {
        let Ok(len) = usize::try_from(size) else {
            return 0;
        };
        if len == 0 || data.is_null() {
            return 0;
        }
        // SAFETY: the caller guarantees `data` is readable for `size` bytes.
        let bytes = unsafe { core::slice::from_raw_parts(data, len) };
        ipmi::ipmb::checksum(bytes)
    }
}

ipmi_export! {
    /// `ipmi_validate_addr()`: 0 if the first `len` bytes at `addr` are a
    /// valid address, `-EINVAL` otherwise. Unlike upstream, a negative
    /// `len` is refused instead of being compared as a huge unsigned value.
    ///
    /// # Safety
    ///
    /// When `len` is positive, `addr` must be valid for reads of `len` bytes.
    pub unsafe extern "C" fn ipmi_validate_addr(addr: *mut bindings::ipmi_addr, len: c_int) -> c_int {
        if len < 0 || addr.is_null() {
            return EINVAL.to_errno();
        }
        // SAFETY: the caller guarantees `len` readable bytes at `addr`.
        let (raw, n) = unsafe { glue::abi::read_addr(addr, len) };
        match Address::parse(raw.get(..n).unwrap_or(&[])) {
            Ok(_) => 0,
            Err(_) => EINVAL.to_errno(),
        }
    }
}

ipmi_export! {
    /// `ipmi_addr_length()`: the size of the address structure for
    /// `addr_type`, 0 for an unknown type.
    pub extern "C" fn ipmi_addr_length(addr_type: c_int) -> c_uint {
        c_uint::try_from(addr_length(addr_type)).unwrap_or(0)
    }
}

ipmi_export! {
    /// `ipmi_addr_src_to_str()`: the name of a discovery source.
    pub extern "C" fn ipmi_addr_src_to_str(src: bindings::ipmi_addr_src) -> *const c_char {
        AddrSource::from_raw(src).name().as_char_ptr()
    }
}

// ---- watchers -----------------------------------------------------------

ipmi_export! {
    /// `ipmi_smi_watcher_register()`: `new_smi` runs now for every
    /// interface, and later for each new one.
    ///
    /// # Safety
    ///
    /// `watcher` must stay valid until unregistered.
    pub unsafe extern "C" fn ipmi_smi_watcher_register(watcher: *mut bindings::ipmi_smi_watcher) -> c_int {
        if watcher.is_null() {
            return EINVAL.to_errno();
        }
        let mut watchers = WATCHERS.lock();
        if watchers.push(Watcher(watcher), GFP_KERNEL).is_err() {
            return ENOMEM.to_errno();
        }
        let existing: KVec<(c_int, *mut kernel::bindings::device)> = {
            let list = INTERFACES.lock();
            let mut v = KVec::new();
            for r in list.iter() {
                let _ = v.push((r.intf.num.load(Ordering::Relaxed), r.intf.si_dev), GFP_KERNEL);
            }
            v
        };
        // SAFETY: the caller's live watcher.
        if let Some(new_smi) = unsafe { (*watcher).new_smi } {
            for (num, dev) in existing.iter() {
                // SAFETY: the watcher's callback, with a live interface.
                unsafe { new_smi(*num, *dev) };
            }
        }
        0
    }
}

ipmi_export! {
    /// `ipmi_smi_watcher_unregister()`.
    ///
    /// # Safety
    ///
    /// `watcher` must be one given to `ipmi_smi_watcher_register()`.
    pub unsafe extern "C" fn ipmi_smi_watcher_unregister(watcher: *mut bindings::ipmi_smi_watcher) -> c_int {
        let mut watchers = WATCHERS.lock();
        if let Some(i) = watchers.iter().position(|w| w.0 == watcher) {
            let _ = watchers.remove(i);
        }
        0
    }
}

// ---- system interfaces --------------------------------------------------

ipmi_export! {
    /// `ipmi_add_smi()`: registers an interface. The BMC is asked for its
    /// Device ID and channels with bounded waits: a BMC that does not
    /// answer fails the registration (`-ETIMEDOUT`) instead of hanging.
    ///
    /// # Safety
    ///
    /// `handlers` and `send_info` must stay valid until the interface is
    /// unregistered; `si_dev` until then as well.
    pub unsafe extern "C" fn ipmi_add_smi(
        owner: *mut kernel::bindings::module,
        handlers: *const bindings::ipmi_smi_handlers,
        send_info: *mut c_void,
        si_dev: *mut kernel::bindings::device,
        slave_addr: c_uchar,
    ) -> c_int {
        if handlers.is_null() {
            return EINVAL.to_errno();
        }
        let intf = match Intf::new(owner, handlers, send_info, si_dev, slave_addr) {
            Ok(i) => i,
            Err(e) => return e.to_errno(),
        };
        let watchers = WATCHERS.lock();
        let num = {
            let list = INTERFACES.lock();
            let mut n = 0;
            while list.iter().any(|r| r.intf.num.load(Ordering::Relaxed) == n) {
                n += 1;
            }
            n
        };
        intf.num.store(num, Ordering::Relaxed);
        let handle = Intf::to_c(&intf);
        // SAFETY: the driver's table.
        let start = unsafe { (*handlers).start_processing };
        // SAFETY: the driver's callback with its context and our handle.
        let rv = start.map_or(EINVAL.to_errno(), |f| unsafe { f(send_info, handle) });
        if rv != 0 {
            intf.num.store(-1, Ordering::Relaxed);
            // SAFETY: the driver did not take the handle.
            drop(unsafe { Intf::take_c(handle) });
            return rv;
        }
        if let Err(e) = intf.discover() {
            pr_err!(
                "interface {num}: the BMC did not answer its Device ID and channel queries ({:?}); not registered\n",
                e
            );
            Intf::stop(&intf);
            Intf::finish(&intf);
            intf.num.store(-1, Ordering::Relaxed);
            // SAFETY: the driver is shut down and lets go of the handle.
            drop(unsafe { Intf::take_c(handle) });
            return e.to_errno();
        }
        let (id, guid) = intf.identity();
        let registered = match id {
            Some(id) => Intf::add_sysfs(&intf).and_then(|()| bmc::register(num, si_dev, &id, guid)),
            None => Err(EIO),
        };
        if let Err(e) = registered {
            pr_err!("interface {num}: unable to register its sysfs attributes and BMC device ({:?})\n", e);
            Intf::stop(&intf);
            Intf::finish(&intf);
            intf.num.store(-1, Ordering::Relaxed);
            // SAFETY: the driver is shut down and lets go of the handle.
            drop(unsafe { Intf::take_c(handle) });
            return e.to_errno();
        }
        let entry = Registered {
            intf: intf.clone(),
            _debugfs: debugfs_file(&intf, num),
        };
        {
            let mut list = INTERFACES.lock();
            let pos = list
                .iter()
                .position(|r| r.intf.num.load(Ordering::Relaxed) > num)
                .unwrap_or(list.len());
            if list.reserve(1, GFP_KERNEL).is_err() {
                drop(list);
                drop(entry);
                Intf::stop(&intf);
                Intf::finish(&intf);
                // SAFETY: the driver is shut down and lets go of the handle.
                drop(unsafe { Intf::take_c(handle) });
                return ENOMEM.to_errno();
            }
            // Cannot fail: room was made above.
            let _ = list.insert_within_capacity(pos, entry);
        }
        for w in watchers.iter() {
            // SAFETY: a registered watcher.
            if let Some(new_smi) = unsafe { (*w.0).new_smi } {
                // SAFETY: its callback with the new interface.
                unsafe { new_smi(num, si_dev) };
            }
        }
        0
    }
}

ipmi_export! {
    /// `ipmi_unregister_smi()`: the interface goes; its users are
    /// destroyed and whatever waited ends.
    ///
    /// # Safety
    ///
    /// `intf` must be a handle from `ipmi_add_smi()`, not used again.
    pub unsafe extern "C" fn ipmi_unregister_smi(intf: *mut bindings::ipmi_smi) {
        if intf.is_null() {
            return;
        }
        // SAFETY: the driver's handle, given back at the end.
        let this = unsafe { Intf::take_c(intf) };
        let watchers = WATCHERS.lock();
        let entry = {
            let mut list = INTERFACES.lock();
            list.iter()
                .position(|r| Arc::ptr_eq(&r.intf, &this))
                .and_then(|i| list.remove(i).ok())
        };
        // The debugfs file goes (it holds a reference) before the rest.
        drop(entry);
        let num = this.num.swap(-1, Ordering::Relaxed);
        Intf::stop(&this);
        for w in watchers.iter() {
            // SAFETY: a registered watcher.
            if let Some(gone) = unsafe { (*w.0).smi_gone } {
                // SAFETY: its callback.
                unsafe { gone(num) };
            }
        }
        drop(watchers);
        Intf::finish(&this);
        bmc::unregister(num);
    }
}

ipmi_export! {
    /// `ipmi_smi_msg_received()`: the driver hands back a message (any
    /// context).
    ///
    /// # Safety
    ///
    /// `intf` must be a live handle, `msg` a message the driver gives up.
    pub unsafe extern "C" fn ipmi_smi_msg_received(intf: *mut bindings::ipmi_smi, msg: *mut bindings::ipmi_smi_msg) {
        if intf.is_null() || msg.is_null() {
            return;
        }
        // SAFETY: as the caller guarantees.
        unsafe { Intf::from_c(intf).received(msg) };
    }
}

ipmi_export! {
    /// `ipmi_smi_watchdog_pretimeout()`.
    ///
    /// # Safety
    ///
    /// `intf` must be a live handle.
    pub unsafe extern "C" fn ipmi_smi_watchdog_pretimeout(intf: *mut bindings::ipmi_smi) {
        if intf.is_null() {
            return;
        }
        // SAFETY: as the caller guarantees.
        unsafe { Intf::from_c(intf).watchdog_pretimeout() };
    }
}

ipmi_export! {
    /// `ipmi_alloc_smi_msg()`: a message freed by its `done` (any context).
    pub extern "C" fn ipmi_alloc_smi_msg() -> *mut bindings::ipmi_smi_msg {
        msgs::alloc_smi_msg()
    }
}

// ---- users ----------------------------------------------------------------

ipmi_export! {
    /// `ipmi_create_user()`.
    ///
    /// # Safety
    ///
    /// `handler` must stay valid for the user's life; `user` must be
    /// writable.
    pub unsafe extern "C" fn ipmi_create_user(
        if_num: c_uint,
        handler: *const bindings::ipmi_user_hndl,
        handler_data: *mut c_void,
        user: *mut *mut bindings::ipmi_user,
    ) -> c_int {
        if handler.is_null() || user.is_null() {
            return EINVAL.to_errno();
        }
        let Ok(num) = c_int::try_from(if_num) else {
            return ENODEV.to_errno();
        };
        let Some(intf) = find_intf(num) else {
            return ENODEV.to_errno();
        };
        // SAFETY: the interface's driver module, alive while registered.
        if !unsafe { kernel::bindings::try_module_get(intf.owner) } {
            return ENODEV.to_errno();
        }
        let owner = intf.owner;
        let u = match User::new(intf.clone(), handler, handler_data) {
            Ok(u) => u,
            Err(e) => {
                // SAFETY: the reference taken above.
                unsafe { kernel::bindings::module_put(owner) };
                return e.to_errno();
            }
        };
        if let Err(e) = intf.add_user(&u) {
            u.destroyed.store(true, Ordering::Relaxed);
            // SAFETY: as above.
            unsafe { kernel::bindings::module_put(owner) };
            return e.to_errno();
        }
        // SAFETY: the caller's out pointer.
        unsafe { *user = User::to_c(u) };
        0
    }
}

ipmi_export! {
    /// `ipmi_destroy_user()`: no callback of the user runs after this
    /// returns.
    ///
    /// # Safety
    ///
    /// `user` must be a handle from `ipmi_create_user()`, not used again.
    pub unsafe extern "C" fn ipmi_destroy_user(user: *mut bindings::ipmi_user) {
        if user.is_null() {
            return;
        }
        // SAFETY: the caller gives its handle back.
        let u = unsafe { User::take_c(user) };
        User::destroy(&u, true);
    }
}

/// Runs `f` on the live user behind a handle: `-EINVAL` for none,
/// `-ENODEV` for a destroyed one.
///
/// # Safety
///
/// `user` must be null or a handle from `ipmi_create_user()` still held.
unsafe fn with_user(user: *mut bindings::ipmi_user, f: impl FnOnce(&Arc<User>) -> Result) -> c_int {
    // SAFETY: as the caller guarantees.
    let Some(u) = (unsafe { User::from_c(user) }) else {
        return EINVAL.to_errno();
    };
    let u: Arc<User> = u.into();
    if u.destroyed.load(Ordering::Acquire) {
        return ENODEV.to_errno();
    }
    to_c(f(&u))
}

ipmi_export! {
    /// `ipmi_get_smi_info()`: the driver's description of interface `if_num`.
    ///
    /// # Safety
    ///
    /// `data` must be writable.
    pub unsafe extern "C" fn ipmi_get_smi_info(if_num: c_int, data: *mut bindings::ipmi_smi_info) -> c_int {
        let Some(intf) = find_intf(if_num) else {
            return ENODEV.to_errno();
        };
        match intf.handlers().get_smi_info {
            // SAFETY: the driver's callback with its context.
            Some(f) if !data.is_null() => unsafe { f(intf.send_info(), data) },
            Some(_) => EINVAL.to_errno(),
            None => ENOTTY.to_errno(),
        }
    }
}

ipmi_export! {
    /// `ipmi_get_version()`: the BMC's IPMI version.
    ///
    /// # Safety
    ///
    /// `user` as for every user call; `major` and `minor` writable.
    pub unsafe extern "C" fn ipmi_get_version(user: *mut bindings::ipmi_user, major: *mut c_uchar, minor: *mut c_uchar) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe {
            with_user(user, |u| {
                let (ma, mi) = u.intf.version();
                if major.is_null() || minor.is_null() {
                    return Err(EINVAL);
                }
                *major = ma;
                *minor = mi;
                Ok(())
            })
        }
    }
}

ipmi_export! {
    /// `ipmi_set_my_address()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_set_my_address(user: *mut bindings::ipmi_user, channel: c_uint, address: c_uchar) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| u.intf.set_my_address(channel, address)) }
    }
}

/// Stores a getter's answer where the caller's out-pointer points (a null
/// one is `-EINVAL`, after the getter's own error).
///
/// # Safety
///
/// `out` must be null or writable.
unsafe fn store(out: *mut c_uchar, value: Result<u8>) -> Result {
    let value = value?;
    if out.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: not null, so writable (the caller's promise).
    unsafe { *out = value };
    Ok(())
}

ipmi_export! {
    /// `ipmi_get_my_address()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call; `address` writable.
    pub unsafe extern "C" fn ipmi_get_my_address(user: *mut bindings::ipmi_user, channel: c_uint, address: *mut c_uchar) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| store(address, u.intf.my_address(channel))) }
    }
}

ipmi_export! {
    /// `ipmi_set_my_LUN()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    #[allow(non_snake_case)]
    pub unsafe extern "C" fn ipmi_set_my_LUN(user: *mut bindings::ipmi_user, channel: c_uint, LUN: c_uchar) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| u.intf.set_my_lun(channel, LUN)) }
    }
}

ipmi_export! {
    /// `ipmi_get_my_LUN()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call; `LUN` writable.
    #[allow(non_snake_case)]
    pub unsafe extern "C" fn ipmi_get_my_LUN(user: *mut bindings::ipmi_user, channel: c_uint, LUN: *mut c_uchar) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| store(LUN, u.intf.my_lun(channel))) }
    }
}

ipmi_export! {
    /// `ipmi_get_maintenance_mode()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_get_maintenance_mode(user: *mut bindings::ipmi_user) -> c_int {
        // SAFETY: as the caller guarantees.
        let Some(u) = (unsafe { User::from_c(user) }) else {
            return EINVAL.to_errno();
        };
        u.intf.maintenance_mode()
    }
}

ipmi_export! {
    /// `ipmi_set_maintenance_mode()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_set_maintenance_mode(user: *mut bindings::ipmi_user, mode: c_int) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| u.intf.set_maintenance_mode(mode)) }
    }
}

ipmi_export! {
    /// `ipmi_set_gets_events()`: events waiting for a user go to this one.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_set_gets_events(user: *mut bindings::ipmi_user, val: bool) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe {
            with_user(user, |u| {
                u.intf.set_gets_events(u, val);
                Ok(())
            })
        }
    }
}

ipmi_export! {
    /// `ipmi_register_for_cmd()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_register_for_cmd(user: *mut bindings::ipmi_user, netfn: c_uchar, cmd: c_uchar, chans: c_uint) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| u.intf.register_for_cmd(u, netfn, cmd, chans)) }
    }
}

ipmi_export! {
    /// `ipmi_unregister_for_cmd()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_unregister_for_cmd(user: *mut bindings::ipmi_user, netfn: c_uchar, cmd: c_uchar, chans: c_uint) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe { with_user(user, |u| u.intf.unregister_for_cmd(u, netfn, cmd, chans)) }
    }
}

ipmi_export! {
    /// `ipmi_request_settime()`: sends a request; its answer, or an error
    /// answer, comes to the user's receive callback exactly once.
    ///
    /// # Safety
    ///
    /// `user` as for every user call; `addr` a whole address structure of
    /// its type; `msg` a message whose `data` holds `data_len` bytes.
    pub unsafe extern "C" fn ipmi_request_settime(
        user: *mut bindings::ipmi_user,
        addr: *mut bindings::ipmi_addr,
        msgid: c_long,
        msg: *mut bindings::kernel_ipmi_msg,
        user_msg_data: *mut c_void,
        priority: c_int,
        max_retries: c_int,
        retry_time_ms: c_uint,
    ) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe {
            with_user(user, |u| {
                let a = read_address(addr)?;
                if msg.is_null() {
                    return Err(EINVAL);
                }
                u.intf.request(
                    Some(u),
                    &a,
                    msgid,
                    &*msg,
                    user_msg_data,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    priority > 0,
                    max_retries,
                    retry_time_ms,
                )
            })
        }
    }
}

ipmi_export! {
    /// `ipmi_request_supply_msgs()`: as `ipmi_request_settime()` with the
    /// caller's messages (freed through their own `done`) and the default
    /// retries.
    ///
    /// # Safety
    ///
    /// As for `ipmi_request_settime()`; the supplied messages, if not
    /// null, must be the caller's until their `done` runs.
    pub unsafe extern "C" fn ipmi_request_supply_msgs(
        user: *mut bindings::ipmi_user,
        addr: *mut bindings::ipmi_addr,
        msgid: c_long,
        msg: *mut bindings::kernel_ipmi_msg,
        user_msg_data: *mut c_void,
        supplied_smi: *mut c_void,
        supplied_recv: *mut bindings::ipmi_recv_msg,
        priority: c_int,
    ) -> c_int {
        // SAFETY: as the caller guarantees.
        unsafe {
            with_user(user, |u| {
                let a = read_address(addr)?;
                if msg.is_null() {
                    return Err(EINVAL);
                }
                u.intf.request(
                    Some(u),
                    &a,
                    msgid,
                    &*msg,
                    user_msg_data,
                    supplied_smi.cast(),
                    supplied_recv,
                    priority > 0,
                    -1,
                    0,
                )
            })
        }
    }
}

ipmi_export! {
    /// `ipmi_poll_interface()`.
    ///
    /// # Safety
    ///
    /// `user` as for every user call.
    pub unsafe extern "C" fn ipmi_poll_interface(user: *mut bindings::ipmi_user) {
        // SAFETY: as the caller guarantees.
        if let Some(u) = unsafe { User::from_c(user) } {
            u.intf.poll();
        }
    }
}

ipmi_export! {
    /// `ipmi_free_recv_msg()`.
    ///
    /// # Safety
    ///
    /// `msg` must be a receive message the caller owns, not used again.
    pub unsafe extern "C" fn ipmi_free_recv_msg(msg: *mut bindings::ipmi_recv_msg) {
        if !msg.is_null() {
            // SAFETY: as the caller guarantees.
            unsafe { msgs::free_recv(msg) };
        }
    }
}

ipmi_export! {
    /// `ipmi_panic_request_and_wait()`: at panic, sends a request and polls
    /// the interface until it is answered (bounded).
    ///
    /// # Safety
    ///
    /// As for `ipmi_request_settime()`.
    pub unsafe extern "C" fn ipmi_panic_request_and_wait(
        user: *mut bindings::ipmi_user,
        addr: *mut bindings::ipmi_addr,
        msg: *mut bindings::kernel_ipmi_msg,
    ) {
        // SAFETY: as the caller guarantees.
        let Some(u) = (unsafe { User::from_c(user) }) else {
            return;
        };
        // SAFETY: as the caller guarantees.
        let Ok(a) = (unsafe { read_address(addr) }) else {
            return;
        };
        if msg.is_null() {
            return;
        }
        // SAFETY: as the caller guarantees.
        let m = unsafe { &*msg };
        let len = usize::from(m.data_len).min(32);
        let data: &[u8] = if len == 0 || m.data.is_null() {
            &[]
        } else {
            // SAFETY: the caller's message holds `data_len` bytes.
            unsafe { core::slice::from_raw_parts(m.data, len) }
        };
        u.intf.run_to_completion.store(true, Ordering::Release);
        let _ = panic::request(&u.intf, &a, m.netfn, m.cmd, data);
    }
}
