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
//! ```ignore
//! kext::modparam::module_param!(ipmi_major: i32 = 0, "int", PARAM_OPS_I32,
//!     "Major number ...");
//! // then: ipmi_major.value()
//! ```

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
macro_rules! module_param {
    ($name:ident: $rty:ty = $default:expr, $ctype:literal, $ops:ident, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: ::kernel::module_param::ModuleParamAccess<$rty> =
            ::kernel::module_param::ModuleParamAccess::new($default);

        const _: () = {
            const PARMTYPE: &str = concat!("parmtype=", stringify!($name), ":", $ctype, "\0");
            const PARM: &str = concat!("parm=", stringify!($name), ":", $desc, "\0");

            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO_PARMTYPE: [u8; PARMTYPE.len()] =
                $crate::kext::modparam::modinfo(PARMTYPE);

            #[link_section = ".modinfo"]
            #[used(compiler)]
            static MODINFO_PARM: [u8; PARM.len()] = $crate::kext::modparam::modinfo(PARM);

            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: ::kernel::module_param::KernelParam =
                ::kernel::module_param::KernelParam::new(::kernel::bindings::kernel_param {
                    name: ::kernel::str::as_char_ptr_in_const_context(
                        match ::core::ffi::CStr::from_bytes_with_nul(
                            concat!(stringify!($name), "\0").as_bytes(),
                        ) {
                            Ok(s) => s,
                            Err(_) => panic!("parameter name"),
                        },
                    ),
                    // `__this_module` is made by the kernel at load time
                    // and lives until the module is unloaded; only its
                    // address is taken.
                    mod_: &raw mut ::kernel::bindings::__this_module,
                    ops: ::core::ptr::from_ref(&::kernel::module_param::$ops),
                    perm: 0,
                    level: -1,
                    flags: 0,
                    __bindgen_anon_1: ::kernel::bindings::kernel_param__bindgen_ty_1 {
                        arg: $name.as_void_ptr(),
                    },
                });
        };
    };
}
pub(crate) use module_param;
