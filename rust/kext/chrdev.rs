// SPDX-License-Identifier: GPL-2.0

//! Character devices with a region of minors, a device class and one node
//! per minor, created and removed at run time; with file operations that
//! reach `poll` and `fasync` as well as `ioctl`.
//!
//! This is what a driver like ipmi_devintf needs (`/dev/ipmiN`: dynamic or
//! given major, minor = interface number, class `ipmi`, parent = the
//! interface's device) and what `miscdevice` cannot give: a chosen major,
//! many minors, a parent per node, poll and fasync.
//!
//! The file operations are a [`Operations`] implementation, turned into a
//! static `file_operations` at compile time, as `miscdevice` does.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;
use kernel::error::{from_result, to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::fs::File;
use kernel::module::{this_module, ModuleMetadata};
use kernel::prelude::*;
use kernel::sync::poll::PollTable;
use kernel::types::ForeignOwnable;

/// Minors in a region (upstream's `register_chrdev()` takes 256).
pub const MINORS: u32 = 256;

const MINOR_BITS: u32 = bindings::MINORBITS;

/// The file operations of a character-device region.
#[vtable]
pub trait Operations: Sized + 'static {
    /// The module the file operations belong to: it cannot be unloaded
    /// while a file is open.
    type OwnerModule: ModuleMetadata;

    /// What an open file carries (`file->private_data`).
    type Data: ForeignOwnable + Send + Sync;

    /// Opens minor `minor`.
    fn open(minor: u32, file: &File) -> Result<Self::Data>;

    /// The last close of the file.
    fn release(data: Self::Data, _file: &File) {
        drop(data);
    }

    /// `unlocked_ioctl`.
    fn ioctl(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `compat_ioctl` (a 32-bit process); without it, 32-bit processes get
    /// `ioctl` with the argument as a pointer (`compat_ptr_ioctl`).
    fn compat_ioctl(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `poll`: registers the file's wait queues with `table` and returns
    /// the ready mask (`EPOLLIN`, ...).
    fn poll(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _table: PollTable<'_>,
    ) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fasync`: `on` adds the file to the SIGIO list, else removes it.
    fn fasync(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _fd: i32,
        _file: &File,
        _on: bool,
    ) -> Result<i32> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// `EPOLLIN`: there is something to read.
pub const EPOLLIN: u32 = bindings::POLLIN;
/// `EPOLLRDNORM`: there is normal data to read.
pub const EPOLLRDNORM: u32 = bindings::POLLRDNORM;
/// `EPOLLERR`: an error condition.
pub const EPOLLERR: u32 = bindings::POLLERR;
/// `EPOLLHUP`: the other side is gone.
pub const EPOLLHUP: u32 = bindings::POLLHUP;

struct Vtable<T: Operations>(PhantomData<T>);

impl<T: Operations> Vtable<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        owner: this_module::<T::OwnerModule>().as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        llseek: Some(bindings::noop_llseek),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_COMPAT_IOCTL {
            Some(Self::compat_ioctl)
        } else if T::HAS_IOCTL {
            bindings::compat_ptr_ioctl
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        fasync: if T::HAS_FASYNC {
            Some(Self::fasync)
        } else {
            None
        },
        ..pin_init::zeroed()
    };

    /// # Safety
    ///
    /// Called by the VFS with a file being opened and its inode.
    unsafe extern "C" fn open(inode: *mut bindings::inode, raw_file: *mut bindings::file) -> c_int {
        // SAFETY: the VFS passes a valid inode; `i_rdev` is plain data.
        let rdev = unsafe { (*inode).i_rdev };
        let minor = rdev & ((1 << MINOR_BITS) - 1);
        // SAFETY: the file is valid for the duration of the call.
        let file = unsafe { File::from_raw_file(raw_file) };
        match T::open(minor, file) {
            Ok(data) => {
                // SAFETY: the open call of a file may set its private data.
                unsafe { (*raw_file).private_data = data.into_foreign() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS at the last close of a file opened by `open`.
    unsafe extern "C" fn release(
        _inode: *mut bindings::inode,
        raw_file: *mut bindings::file,
    ) -> c_int {
        // SAFETY: the file is valid; its private data came from
        // `into_foreign` in `open` and is taken back only here.
        let data = unsafe { T::Data::from_foreign((*raw_file).private_data) };
        // SAFETY: the file is valid for the duration of the call.
        let file = unsafe { File::from_raw_file(raw_file) };
        T::release(data, file);
        0
    }

    /// # Safety
    ///
    /// `raw_file` is an open file of this region.
    unsafe fn borrow<'a>(
        raw_file: *mut bindings::file,
    ) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: the private data came from `into_foreign` in `open` and
        // stays until `release`, which cannot run during a file operation.
        unsafe { T::Data::borrow((*raw_file).private_data) }
    }

    /// # Safety
    ///
    /// Called by the VFS with an open file of this region.
    unsafe extern "C" fn ioctl(raw_file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: the VFS passes an open file of this region.
        let (data, file) = unsafe { (Self::borrow(raw_file), File::from_raw_file(raw_file)) };
        from_result(|| T::ioctl(data, file, cmd, arg).map(|v| v as c_long))
    }

    /// # Safety
    ///
    /// Called by the VFS with an open file of this region.
    #[cfg(CONFIG_COMPAT)]
    unsafe extern "C" fn compat_ioctl(
        raw_file: *mut bindings::file,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // SAFETY: the VFS passes an open file of this region.
        let (data, file) = unsafe { (Self::borrow(raw_file), File::from_raw_file(raw_file)) };
        from_result(|| T::compat_ioctl(data, file, cmd, arg).map(|v| v as c_long))
    }

    /// # Safety
    ///
    /// Called by the VFS with an open file of this region.
    unsafe extern "C" fn poll(
        raw_file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: the VFS passes an open file of this region.
        let (data, file) = unsafe { (Self::borrow(raw_file), File::from_raw_file(raw_file)) };
        // SAFETY: the VFS passes a poll table (possibly null) valid for the call.
        let table = unsafe { PollTable::from_raw(table) };
        T::poll(data, file, table)
    }

    /// # Safety
    ///
    /// Called by the VFS with an open file of this region.
    unsafe extern "C" fn fasync(fd: c_int, raw_file: *mut bindings::file, on: c_int) -> c_int {
        // SAFETY: the VFS passes an open file of this region.
        let (data, file) = unsafe { (Self::borrow(raw_file), File::from_raw_file(raw_file)) };
        match T::fasync(data, fd, file, on != 0) {
            Ok(v) => v,
            Err(e) => e.to_errno(),
        }
    }
}

/// A region of [`MINORS`] minors under one major, its device class, and
/// the nodes created in it. Dropping it removes the nodes, the class and
/// the region.
///
/// Calls for one minor are expected not to race (an SMI watcher's are
/// serialised by the message handler); if they do, a node may be left
/// for the region's drop to remove, nothing worse.
///
/// # Invariants
///
/// `major` is registered with `__register_chrdev` for minors
/// `0..MINORS` under `name` with `Vtable::<T>::FOPS`; `class` is a class
/// from `class_create`; a device `(major, minor)` in `class` exists only
/// while (or just before) the minor's bit in `nodes` is set.
pub struct Region<T: Operations> {
    major: u32,
    name: &'static CStr,
    class: NonNull<bindings::class>,
    nodes: [AtomicU64; (MINORS / 64) as usize],
    _ops: PhantomData<T>,
}

// SAFETY: the class and region are global kernel objects, usable from any
// thread; the node set is atomic.
unsafe impl<T: Operations> Send for Region<T> {}
// SAFETY: as above.
unsafe impl<T: Operations> Sync for Region<T> {}

/// `IS_ERR()` for a pointer returned by the kernel.
fn err_ptr<U>(p: *mut U) -> Result<NonNull<U>> {
    let v = p as isize;
    if (-4095..0).contains(&v) {
        return Err(Error::from_errno(v as i32));
    }
    NonNull::new(p).ok_or(ENOMEM)
}

impl<T: Operations> Region<T> {
    /// Registers the region under `major` (0: a free one) as `name`
    /// (/proc/devices) and creates the class `class_name`.
    pub fn new(major: u32, name: &'static CStr, class_name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` and the table are static.
        let rv = unsafe {
            bindings::__register_chrdev(major, 0, MINORS, name.as_char_ptr(), &Vtable::<T>::FOPS)
        };
        to_result(rv)?;
        let major = if major == 0 { rv as u32 } else { major };
        // SAFETY: `class_name` is static.
        let class = match err_ptr(unsafe { bindings::class_create(class_name.as_char_ptr()) }) {
            Ok(c) => c,
            Err(e) => {
                // SAFETY: registered just above, with these arguments.
                unsafe { bindings::__unregister_chrdev(major, 0, MINORS, name.as_char_ptr()) };
                return Err(e);
            }
        };
        // INVARIANT: both registered above; no node yet.
        Ok(Region {
            major,
            name,
            class,
            nodes: [const { AtomicU64::new(0) }; (MINORS / 64) as usize],
            _ops: PhantomData,
        })
    }

    /// The major number.
    pub fn major(&self) -> u32 {
        self.major
    }

    fn devt(&self, minor: u32) -> u32 {
        (self.major << MINOR_BITS) | minor
    }

    fn slot(&self, minor: u32) -> Option<(&AtomicU64, u64)> {
        let word = self.nodes.get(usize::try_from(minor / 64).ok()?)?;
        Some((word, 1u64 << (minor % 64)))
    }

    /// Creates the node for `minor`, named `name` (e.g. `ipmi0`), under
    /// `parent` (may be null). A node already there is left as it is.
    ///
    /// # Safety
    ///
    /// `parent` is null or a live device.
    pub unsafe fn add_node(
        &self,
        minor: u32,
        parent: *mut bindings::device,
        name: &CStr,
    ) -> Result {
        let (word, bit) = self.slot(minor).ok_or(EINVAL)?;
        if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Ok(());
        }
        // SAFETY: the class is live (type invariant); `parent` is null or a
        // live device (the caller's); the format takes one string.
        let dev = unsafe {
            bindings::device_create(
                self.class.as_ptr(),
                parent,
                self.devt(minor),
                core::ptr::null_mut::<c_void>(),
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        if let Err(e) = err_ptr(dev) {
            word.fetch_and(!bit, Ordering::AcqRel);
            return Err(e);
        }
        Ok(())
    }

    /// Removes the node for `minor`, if there is one.
    pub fn remove_node(&self, minor: u32) {
        let Some((word, bit)) = self.slot(minor) else {
            return;
        };
        if word.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
            // SAFETY: the class is live (type invariant); destroying a
            // device number that has no device is a no-op.
            unsafe { bindings::device_destroy(self.class.as_ptr(), self.devt(minor)) };
        }
    }
}

impl<T: Operations> Drop for Region<T> {
    fn drop(&mut self) {
        for minor in 0..MINORS {
            self.remove_node(minor);
        }
        // SAFETY: created in `new`, destroyed only here; its devices are gone.
        unsafe { bindings::class_destroy(self.class.as_ptr()) };
        // SAFETY: registered in `new` with these arguments.
        unsafe { bindings::__unregister_chrdev(self.major, 0, MINORS, self.name.as_char_ptr()) };
    }
}
