// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared the way C declares them, so that `modinfo`
//! shows the C type names (`int`, `uint`, `bool`, `charp`) a C twin shows.
//!
//! The kernel crate's `module!` parameters work, but `modinfo` prints
//! their Rust type (`ipmi_major:... (i32)` where upstream's module says
//! `(int)`), and an operator's tooling or a diff between twins sees a
//! different module. This declares the same `__param` entry and
//! `.modinfo` strings that `module_param()` and `MODULE_PARM_DESC()` make
//! in C, over the kernel crate's parameter storage and operations.
//!
//! Beyond the crate's integers and bools: arrays (`module_param_array()`),
//! fixed strings (`module_param_string()`) and write callbacks
//! (`module_param_call()`), over the kernel's own `param_array_ops` and
//! `param_ops_string`.
//!
//! ```ignore
//! kext::modparam::module_param!(ipmi_major: i32 = 0, "int", PARAM_OPS_I32,
//!     "Major number ...");
//! // then: ipmi_major.value()
//! kext::modparam::module_param_array!(ports: [u32; 4], "uint", param_ops_uint, "...");
//! // then: ports.values() (the values given, at most 4)
//! ```

use kernel::types::Opaque;

/// A C structure the kernel reads from a parameter's `__param` entry
/// (`struct kparam_array`, `struct kparam_string`, `struct
/// kernel_param_ops`), holding pointers, made shareable.
#[repr(transparent)]
pub struct ParamData<T>(pub T);

// SAFETY: the kernel only reads these descriptions; the storage they point
// to is written by the kernel's parameter code under its own locking.
unsafe impl<T> Sync for ParamData<T> {}

/// The storage of an array parameter: up to `N` values of `T` and how
/// many were given.
pub struct ArrayParam<T: Copy, const N: usize> {
    values: Opaque<[T; N]>,
    count: Opaque<u32>,
}

// SAFETY: a load-time parameter (permission 0) is written only while the
// module loads, before any code of the module reads it.
unsafe impl<T: Copy, const N: usize> Sync for ArrayParam<T, N> {}

impl<T: Copy, const N: usize> ArrayParam<T, N> {
    /// `N` copies of `zero`, none given.
    pub const fn new(zero: T) -> Self {
        ArrayParam {
            values: Opaque::new([zero; N]),
            count: Opaque::new(0),
        }
    }

    /// The values given on the command line.
    pub fn values(&self) -> &[T] {
        // SAFETY: written only at load time (see `Sync`), read afterwards.
        let (all, count) = unsafe { (&*self.values.get(), *self.count.get()) };
        all.get(..(count as usize).min(N)).unwrap_or(&[])
    }

    /// Where the kernel writes the values.
    pub const fn elem_ptr(&self) -> *mut core::ffi::c_void {
        self.values.get().cast()
    }

    /// Where the kernel writes the count.
    pub const fn count_ptr(&self) -> *mut u32 {
        self.count.get()
    }
}

/// The storage of an array parameter that is accepted and never read
/// (see `module_param_array!`'s `accepted` form): only the kernel's
/// parameter code touches it, under its own lock.
pub struct AcceptedArray<T: Copy, const N: usize>(ArrayParam<T, N>);

// SAFETY: nothing of the module reads or writes the storage; the kernel
// writes it at load and through sysfs, under its parameter lock.
unsafe impl<T: Copy, const N: usize> Sync for AcceptedArray<T, N> {}

impl<T: Copy, const N: usize> AcceptedArray<T, N> {
    /// `N` copies of `zero`, none given.
    pub const fn new(zero: T) -> Self {
        AcceptedArray(ArrayParam::new(zero))
    }

    /// Where the kernel writes the values.
    pub const fn elem_ptr(&self) -> *mut core::ffi::c_void {
        self.0.elem_ptr()
    }

    /// Where the kernel writes the count.
    pub const fn count_ptr(&self) -> *mut u32 {
        self.0.count_ptr()
    }
}

/// The storage of a scalar parameter parsed by one of C's
/// `param_ops_*` (`bool`, `int`, ...), for types the kernel crate has no
/// operations for.
pub struct CParam<T: Copy> {
    value: Opaque<T>,
}

// SAFETY: a load-time parameter is written only while the module loads,
// before any code of the module reads it. One with a sysfs file (a
// non-zero permission) is also written later, by the kernel's parameter
// code under its own lock, one word or less in one store (the `T`s used
// are integers and bools); `value` reads it once, volatile, as C reads
// such a parameter with READ_ONCE, so a reader sees the old or the new
// value.
unsafe impl<T: Copy> Sync for CParam<T> {}

impl<T: Copy> CParam<T> {
    /// A parameter holding `default` until set.
    pub const fn new(default: T) -> Self {
        CParam {
            value: Opaque::new(default),
        }
    }

    /// The value (the newest one written through sysfs, for a
    /// parameter that has a file there).
    pub fn value(&self) -> T {
        // SAFETY: the storage is valid and aligned for `T` for the life of
        // the module; a concurrent write is one store (see `Sync`).
        unsafe { core::ptr::read_volatile(self.value.get()) }
    }

    /// Where the kernel writes the value.
    pub const fn as_void_ptr(&self) -> *mut core::ffi::c_void {
        self.value.get().cast()
    }
}

/// The storage of a string parameter of at most `N - 1` bytes.
pub struct StringParam<const N: usize> {
    buf: Opaque<[u8; N]>,
}

// SAFETY: as for `ArrayParam`.
unsafe impl<const N: usize> Sync for StringParam<N> {}

impl<const N: usize> StringParam<N> {
    /// An empty string.
    pub const fn new() -> Self {
        StringParam {
            buf: Opaque::new([0; N]),
        }
    }

    /// The string given ("" if none, or if it is not UTF-8).
    pub fn as_str(&self) -> &str {
        // SAFETY: written only at load time (see `Sync`), read afterwards.
        let buf = unsafe { &*self.buf.get() };
        let len = buf.iter().position(|&b| b == 0).unwrap_or(N);
        core::str::from_utf8(buf.get(..len).unwrap_or(&[])).unwrap_or("")
    }

    /// Where the kernel writes the string.
    pub const fn buf_ptr(&self) -> *mut u8 {
        self.buf.get().cast()
    }
}

impl<const N: usize> Default for StringParam<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The `.modinfo` strings of a parameter: its type (if it has one shown)
/// and description. Internal to the macros below.
#[doc(hidden)]
#[macro_export]
macro_rules! __ipmi_rs_param_modinfo {
    ([$($pname:tt)+], $desc:literal) => {
        const PARM: &str = concat!("parm=", $($pname)+, ":", $desc, "\0");
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static MODINFO_PARM: [u8; PARM.len()] = $crate::kext::modparam::modinfo(PARM);
    };
    ([$($pname:tt)+], $ctype:expr, $desc:literal) => {
        const PARMTYPE: &str = concat!("parmtype=", $($pname)+, ":", $ctype, "\0");
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static MODINFO_PARMTYPE: [u8; PARMTYPE.len()] = $crate::kext::modparam::modinfo(PARMTYPE);
        $crate::__ipmi_rs_param_modinfo!([$($pname)+], $desc);
    };
}

/// The `__param` entry of a parameter. Internal to the macros below.
#[doc(hidden)]
#[macro_export]
macro_rules! __ipmi_rs_kernel_param {
    ([$($pname:tt)+], $ops:expr, $perm:expr, $arg:ident: $value:expr) => {
        #[link_section = "__param"]
        #[used(compiler)]
        static PARAM: ::kernel::module_param::KernelParam =
            ::kernel::module_param::KernelParam::new(::kernel::bindings::kernel_param {
                name: ::kernel::str::as_char_ptr_in_const_context(
                    match ::core::ffi::CStr::from_bytes_with_nul(
                        concat!($($pname)+, "\0").as_bytes(),
                    ) {
                        Ok(s) => s,
                        Err(_) => panic!("parameter name"),
                    },
                ),
                // `__this_module` is made by the kernel at load time and
                // lives until the module is unloaded; only its address is
                // taken.
                mod_: &raw mut ::kernel::bindings::__this_module,
                ops: $ops,
                perm: $perm,
                level: -1,
                flags: 0,
                __bindgen_anon_1: ::kernel::bindings::kernel_param__bindgen_ty_1 { $arg: $value },
            });
    };
}

/// The bytes of a `.modinfo` string `key=value\0` as an array.
pub const fn modinfo<const N: usize>(s: &str) -> [u8; N] {
    let bytes = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() && i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Declares a load-time module parameter `$name` of Rust type `$rty`
/// (read with `$name.value()`), shown by modinfo with the C type name
/// `$ctype` and the description `$desc`; `$ops` is the kernel crate's
/// `module_param::PARAM_OPS_*` for `$rty`. Like C's `module_param(...,
/// 0)`, it has no sysfs file.
// Each module compiles this file and uses only some of the macros.
#[allow(unused_macros)]
macro_rules! module_param {
    ($name:ident: $rty:ty = $default:expr, $ctype:literal, $ops:ident, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: ::kernel::module_param::ModuleParamAccess<$rty> =
            ::kernel::module_param::ModuleParamAccess::new($default);

        const _: () = {
            $crate::__ipmi_rs_param_modinfo!([stringify!($name)], $ctype, $desc);
            $crate::__ipmi_rs_kernel_param!(
                [stringify!($name)],
                ::core::ptr::from_ref(&::kernel::module_param::$ops),
                0,
                arg: $name.as_void_ptr()
            );
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_param;

/// Declares a parameter `$name` of Rust type `$rty` parsed by C's `$ops`
/// (`param_ops_bool`, ...), shown as `$ctype`: C's `module_param(...,
/// perm)` for types the kernel crate lacks. Without `$perm` (0) it is
/// read at load time only; with one (`0o644`) it also has its file under
/// /sys/module/*/parameters/ and root may change it at run time. Read
/// with `$name.value()`, at each use.
// Each module compiles this file and uses only some of the macros.
#[allow(unused_macros)]
macro_rules! module_param_c {
    ($name:ident: $rty:ty = $default:expr, $ctype:literal, $ops:ident, $desc:literal) => {
        $crate::kext::modparam::module_param_c!($name: $rty = $default, $ctype, $ops, 0, $desc);
    };
    ($name:ident: $rty:ty = $default:expr, $ctype:literal, $ops:ident, $perm:literal, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::kext::modparam::CParam<$rty> =
            $crate::kext::modparam::CParam::new($default);

        const _: () = {
            $crate::__ipmi_rs_param_modinfo!([stringify!($name)], $ctype, $desc);
            $crate::__ipmi_rs_kernel_param!(
                [stringify!($name)],
                &raw const ::kernel::bindings::$ops,
                $perm,
                arg: $name.as_void_ptr()
            );
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_param_c;

/// Declares a load-time array parameter `$name` of up to `$n` values of
/// `$rty`, C type `$ctype` (modinfo: `array of $ctype`), parsed by the
/// kernel's `$ops` (`param_ops_uint`, ...): C's `module_param_array(...,
/// 0)`. Read with `$name.values()`.
// Each module compiles this file and uses only some of the macros.
#[allow(unused_macros)]
macro_rules! module_param_array {
    ($name:ident: [$rty:ty; $n:literal], $ctype:literal, $ops:ident, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::kext::modparam::ArrayParam<$rty, $n> =
            $crate::kext::modparam::ArrayParam::new(0);
        $crate::kext::modparam::module_param_array!(@entry $name: [$rty; $n], $ctype, $ops, 0, $desc);
    };
    // A parameter taken for compatibility and never read: it keeps its
    // sysfs file with mode `$perm` (root's tuning scripts write it), and
    // its storage offers no way to read it, so no read can race a write.
    ($name:ident: [$rty:ty; $n:literal], $ctype:literal, $ops:ident, accepted $perm:literal, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::kext::modparam::AcceptedArray<$rty, $n> =
            $crate::kext::modparam::AcceptedArray::new(0);
        $crate::kext::modparam::module_param_array!(@entry $name: [$rty; $n], $ctype, $ops, $perm, $desc);
    };
    (@entry $name:ident: [$rty:ty; $n:literal], $ctype:literal, $ops:ident, $perm:literal, $desc:literal) => {

        const _: () = {
            $crate::__ipmi_rs_param_modinfo!(
                [stringify!($name)],
                concat!("array of ", $ctype),
                $desc
            );
            static ARRAY: $crate::kext::modparam::ParamData<::kernel::bindings::kparam_array> =
                $crate::kext::modparam::ParamData(::kernel::bindings::kparam_array {
                    max: $n,
                    elemsize: ::core::mem::size_of::<$rty>() as u32,
                    num: $name.count_ptr(),
                    ops: &raw const ::kernel::bindings::$ops,
                    elem: $name.elem_ptr(),
                });
            $crate::__ipmi_rs_kernel_param!(
                [stringify!($name)],
                &raw const ::kernel::bindings::param_array_ops,
                $perm,
                arr: &raw const ARRAY.0
            );
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_param_array;

/// Declares a load-time string parameter `$name` of at most `$n - 1`
/// bytes (modinfo: `string`): C's `module_param_string(..., 0)`. Read with
/// `$name.as_str()`.
// Each module compiles this file and uses only some of the macros.
#[allow(unused_macros)]
macro_rules! module_param_string {
    ($name:ident, $n:literal, $desc:literal) => {
        $crate::kext::modparam::module_param_string!($name as [stringify!($name)], $n, $desc);
    };
    ($name:ident as [$($pname:tt)+], $n:literal, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::kext::modparam::StringParam<$n> =
            $crate::kext::modparam::StringParam::new();

        const _: () = {
            $crate::__ipmi_rs_param_modinfo!([$($pname)+], "string", $desc);
            static STRING: $crate::kext::modparam::ParamData<::kernel::bindings::kparam_string> =
                $crate::kext::modparam::ParamData(::kernel::bindings::kparam_string {
                    maxlen: $n,
                    string: $name.buf_ptr(),
                });
            $crate::__ipmi_rs_kernel_param!(
                [$($pname)+],
                &raw const ::kernel::bindings::param_ops_string,
                0,
                str_: &raw const STRING.0
            );
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_param_string;

/// The kernel's `set` of a [`module_param_call`] parameter: hands the text
/// written to `set`.
///
/// # Safety
///
/// `val` must point to a NUL-terminated string.
pub unsafe fn call_set(
    val: *const kernel::ffi::c_char,
    set: fn(&str) -> kernel::error::Result,
) -> kernel::ffi::c_int {
    use kernel::str::CStrExt as _;
    // SAFETY: the caller's promise.
    let text = unsafe { kernel::str::CStr::from_char_ptr(val) };
    let Ok(text) = text.to_str() else {
        return kernel::error::code::EINVAL.to_errno();
    };
    match set(text) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The kernel's `get` of a [`module_param_call`] parameter: `text` (at
/// most 64 bytes of it) and a newline into the kernel's buffer; returns
/// the length written.
///
/// # Safety
///
/// `buffer` must be the kernel's page-sized parameter buffer.
pub unsafe fn call_get(buffer: *mut kernel::ffi::c_char, text: &str) -> kernel::ffi::c_int {
    let n = text.len().min(64);
    // SAFETY: the caller's promise: a page holds n + 2 bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(text.as_ptr(), buffer.cast::<u8>(), n);
        *buffer.add(n) = b'\n' as kernel::ffi::c_char;
        *buffer.add(n + 1) = 0;
    }
    (n + 1) as kernel::ffi::c_int
}

/// The `.modinfo` strings, operations and `__param` entry of a
/// [`module_param_call`] parameter with getter `$get` (`Some(f)` or
/// `None`). Internal to that macro.
#[doc(hidden)]
#[macro_export]
macro_rules! __ipmi_rs_param_call {
    ($name:ident, $set:path, $get:expr, $perm:literal, $desc:literal) => {
        $crate::__ipmi_rs_param_modinfo!([stringify!($name)], $desc);

        /// # Safety
        ///
        /// Called by the kernel's parameter code with a string.
        unsafe extern "C" fn set(
            val: *const ::kernel::ffi::c_char,
            _kp: *const ::kernel::bindings::kernel_param,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: the kernel passes a NUL-terminated string.
            unsafe { $crate::kext::modparam::call_set(val, $set) }
        }

        static OPS: $crate::kext::modparam::ParamData<::kernel::bindings::kernel_param_ops> =
            $crate::kext::modparam::ParamData(::kernel::bindings::kernel_param_ops {
                flags: 0,
                set: Some(set),
                get: $get,
                free: None,
            });
        $crate::__ipmi_rs_kernel_param!(
            [stringify!($name)],
            &raw const OPS.0,
            $perm,
            arg: ::core::ptr::null_mut()
        );
    };
}

/// Declares a parameter `$name` that only calls `$set(text)` when written
/// (at load, or through /sys/module/*/parameters/ with permission
/// `$perm`): C's `module_param_call(name, set, NULL, NULL, perm)`.
/// `$set: fn(&str) -> Result` runs under the kernel's parameter lock.
/// With `get $get` (`fn() -> &'static str`), reading it shows that text
/// and a newline.
// Each module compiles this file and uses only some of the macros.
#[allow(unused_macros)]
macro_rules! module_param_call {
    ($name:ident, $set:path, get $get:path, $perm:literal, $desc:literal) => {
        const _: () = {
            /// # Safety
            ///
            /// Called by the kernel's parameter code with a page-sized
            /// buffer.
            unsafe extern "C" fn get(
                buffer: *mut ::kernel::ffi::c_char,
                _kp: *const ::kernel::bindings::kernel_param,
            ) -> ::kernel::ffi::c_int {
                // SAFETY: the kernel's buffer holds a page.
                unsafe { $crate::kext::modparam::call_get(buffer, $get()) }
            }
            $crate::__ipmi_rs_param_call!($name, $set, Some(get), $perm, $desc);
        };
    };
    ($name:ident, $set:path, $perm:literal, $desc:literal) => {
        const _: () = {
            $crate::__ipmi_rs_param_call!($name, $set, None, $perm, $desc);
        };
    };
}
#[allow(unused_imports)]
pub(crate) use module_param_call;
