// SPDX-License-Identifier: GPL-2.0

//! Exporting upstream's functions from Rust with their C prototypes checked.
//!
//! `ipmi_export!` wraps a function definition: it adds `#[no_mangle]` and a
//! compile-time check that the function's type equals the type bindgen gave
//! the C declaration in the kernel's headers, so a prototype that drifts
//! from upstream's fails the build instead of corrupting a caller's stack.
//! The check relies on both arms of an `if` having to coerce to one
//! function-pointer type (the kernel's own `#[export]` does the same).
//!
//! Modpost only sees exports made in C, so each module also keeps a C file
//! with an `EXPORT_SYMBOL()` line per exported name and nothing else.
//!
//! The module mounts the glue as `crate::glue`, with the bindings in
//! `crate::glue::bindings`.

/// Defines an `extern "C"` function with `#[no_mangle]` and checks its
/// type against the C prototype of the same name in the IPMI bindings.
macro_rules! ipmi_export {
    ($(#[$attr:meta])* $vis:vis unsafe extern "C" fn $name:ident $($rest:tt)*) => {
        const _: () = {
            if true {
                $crate::glue::bindings::$name
            } else {
                $name
            };
        };
        $(#[$attr])*
        #[no_mangle]
        $vis unsafe extern "C" fn $name $($rest)*
    };
    ($(#[$attr:meta])* $vis:vis extern "C" fn $name:ident $($rest:tt)*) => {
        const _: () = {
            if true {
                $crate::glue::bindings::$name
            } else {
                $name
            };
        };
        $(#[$attr])*
        #[no_mangle]
        $vis extern "C" fn $name $($rest)*
    };
}
pub(crate) use ipmi_export;
