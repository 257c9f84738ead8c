// SPDX-License-Identifier: GPL-2.0

//! ipmi_devintf: the /dev/ipmiN character devices, a drop-in for upstream's
//! module of the same name.
//!
//! One node per IPMI interface, made and removed as the message handler
//! reports interfaces coming and going (an SMI watcher): class `ipmi`,
//! node `ipmi<N>`, minor N, the interface's device as parent, under a
//! dynamic major or `ipmi_major`. Each open file is one user of the
//! handler, through upstream's user API, so this module runs on the C
//! ipmi_msghandler and on ours alike.
//!
//! - [`file`]: an open file: its handler user, its receive queue, poll
//!   and SIGIO.
//! - [`ioctl`]: the `IPMICTL_*` commands, native and 32-bit compat.
//!
//! What it decides without touching user memory or the handler is in the
//! shared core (`ipmi::devintf`), host-tested there.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::fs::File;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::poll::PollTable;

/// The parts of the shared core this module uses.
#[path = "../../../../rust/ipmi/src"]
pub mod ipmi {
    pub mod addr;
    pub mod cc;
    pub mod devintf;
    pub mod msg;
}

/// The IPMI C-ABI glue this module uses.
#[path = "../../../../rust/glue"]
pub mod glue {
    pub mod abi;
    pub mod bindings;
    pub mod recv_msg;
    pub mod user;
    pub mod watcher;
}

/// The kernel abstractions this module uses that the kernel crate lacks.
#[path = "../../../../rust/kext"]
pub mod kext {
    pub mod chrdev;
    pub mod fasync;
    pub mod modparam;
}

mod file;
mod ioctl;

use file::DevFile;
use glue::watcher::{SmiWatcher, Watcher};
use kext::chrdev::{Operations, Region};

module! {
    type: IpmiDevintf,
    name: "ipmi_devintf",
    authors: ["The ipmi-rs developers"],
    description: "/dev/ipmiN: the IPMI message handler for user space (Rust)",
    license: "GPL",
}

// Declared as C declares it, so modinfo shows upstream's `(int)`.
kext::modparam::module_param!(
    ipmi_major: i32 = 0,
    "int",
    PARAM_OPS_I32,
    "Major number of the IPMI devices; 0 (the default) takes a free one"
);

/// The file operations of /dev/ipmiN.
struct IpmiFops;

#[vtable]
impl Operations for IpmiFops {
    type OwnerModule = IpmiDevintf;
    type Data = Pin<KBox<DevFile>>;

    fn open(minor: u32, _file: &File) -> Result<Self::Data> {
        DevFile::open(minor)
    }

    fn release(data: Self::Data, file: &File) {
        data.release(file);
    }

    fn ioctl(data: Pin<&DevFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(&data, cmd, arg, false).map(|()| 0)
    }

    fn compat_ioctl(data: Pin<&DevFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(&data, cmd, arg, true).map(|()| 0)
    }

    fn poll(data: Pin<&DevFile>, file: &File, table: PollTable<'_>) -> u32 {
        data.poll(file, table)
    }

    fn fasync(data: Pin<&DevFile>, fd: i32, file: &File, on: bool) -> Result<i32> {
        data.fasync(fd, file, on)
    }
}

/// The region the watcher adds nodes to; set while the watcher is
/// registered (the watcher's callbacks carry no context).
static REGION: AtomicPtr<Region<IpmiFops>> = AtomicPtr::new(core::ptr::null_mut());

/// Makes and removes the nodes as interfaces come and go.
struct NodeWatcher;

impl SmiWatcher for NodeWatcher {
    type OwnerModule = IpmiDevintf;

    fn new_smi(if_num: u32, dev: *mut kernel::bindings::device) {
        let region = REGION.load(Ordering::Acquire);
        // SAFETY: set before the watcher is registered and cleared only
        // after it is unregistered, while the region lives.
        let Some(region) = (unsafe { region.as_ref() }) else {
            return;
        };
        let Ok(name) = CString::try_from_fmt(fmt!("ipmi{}", if_num)) else {
            pr_err!("no memory for the name of ipmi{}\n", if_num);
            return;
        };
        // SAFETY: the handler passes the interface's live device (or null).
        if let Err(e) = unsafe { region.add_node(if_num, dev, &name) } {
            pr_err!("unable to create /dev/ipmi{}: {:?}\n", if_num, e);
        }
    }

    fn smi_gone(if_num: u32) {
        let region = REGION.load(Ordering::Acquire);
        // SAFETY: as in `new_smi`.
        if let Some(region) = unsafe { region.as_ref() } {
            region.remove_node(if_num);
        }
    }
}

struct IpmiDevintf {
    // Dropped first: no node is made after this.
    watcher: Option<Watcher<NodeWatcher>>,
    region: Pin<KBox<Region<IpmiFops>>>,
}

impl kernel::Module for IpmiDevintf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let major = ipmi_major.value();
        let Ok(major) = u32::try_from(major) else {
            return Err(EINVAL);
        };
        pr_info!("ipmi device interface (Rust)\n");
        let region = match Region::<IpmiFops>::new(major, c"ipmidev", c"ipmi") {
            Ok(r) => KBox::pin(r, GFP_KERNEL)?,
            Err(e) => {
                pr_err!("can't get major {}\n", major);
                return Err(e);
            }
        };
        REGION.store(
            core::ptr::from_ref::<Region<IpmiFops>>(&region).cast_mut(),
            Ordering::Release,
        );
        match Watcher::register() {
            Ok(w) => Ok(IpmiDevintf {
                watcher: Some(w),
                region,
            }),
            Err(e) => {
                REGION.store(core::ptr::null_mut(), Ordering::Release);
                pr_warn!("can't register smi watcher\n");
                Err(e)
            }
        }
    }
}

impl Drop for IpmiDevintf {
    fn drop(&mut self) {
        self.watcher.take();
        REGION.store(core::ptr::null_mut(), Ordering::Release);
        pr_debug!("major {} released\n", self.region.major());
    }
}
