//! The C boundary: the `pam_sm_*` entry points Linux-PAM calls, and the
//! [`PamSession`] implementation over a real PAM handle.
//!
//! Every entry point checks the handle and its arguments and runs inside
//! `catch_unwind`: a null handle, a negative `argc`, a null `argv` or a null
//! argument, and any panic, answer `PAM_ABORT`, so no unwinding crosses into
//! the caller. The declarations below are those of `<security/_pam_types.h>`
//! and `<security/pam_modules.h>`, with the values Linux-PAM gives them.

use std::ffi::{CStr, CString};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use libc::{c_char, c_int, c_void};
use zeroize::{Zeroize, Zeroizing};

use crate::authenticate::{PamReturn, PamSession, SystemClock, authenticate};

const PAM_SUCCESS: c_int = 0;
const PAM_AUTH_ERR: c_int = 7;
const PAM_IGNORE: c_int = 25;
const PAM_ABORT: c_int = 26;
const PAM_MODULE_UNKNOWN: c_int = 28;

/// Item types of `pam_get_item` and `pam_set_item`.
const PAM_SERVICE: c_int = 1;
const PAM_RHOST: c_int = 4;
const PAM_CONV: c_int = 5;
const PAM_AUTHTOK: c_int = 6;

/// Message styles of the conversation.
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;

/// Linux-PAM's opaque `pam_handle_t`.
#[repr(C)]
pub struct PamHandle {
    _private: [u8; 0],
}

/// `struct pam_message`.
#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    /// Unused, always 0.
    _resp_retcode: c_int,
}

/// `struct pam_conv`, the application's conversation function.
#[repr(C)]
struct PamConv {
    conv: Option<
        unsafe extern "C" fn(
            num_msg: c_int,
            msg: *mut *const PamMessage,
            resp: *mut *mut PamResponse,
            appdata_ptr: *mut c_void,
        ) -> c_int,
    >,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_get_item(pamh: *const PamHandle, item_type: c_int, item: *mut *const c_void) -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_get_user(pamh: *mut PamHandle, user: *mut *const c_char, prompt: *const c_char)
    -> c_int;
}

/// Authenticates the user: asks for and checks the verification code.
///
/// # Safety
///
/// Linux-PAM's contract for a module's `pam_sm_authenticate`: `pamh` is the
/// live handle of the transaction, and `argv` holds `argc` NUL-terminated
/// strings, all valid for the duration of the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        entry(pamh, argc, argv, |handle, args| {
            match authenticate(&mut HandleSession { handle }, &SystemClock, &args) {
                PamReturn::Success => PAM_SUCCESS,
                PamReturn::AuthErr => PAM_AUTH_ERR,
                PamReturn::Ignore => PAM_IGNORE,
            }
        })
    }
}

/// Sets no credentials, successfully, as the reference does.
///
/// # Safety
///
/// As for [`pam_sm_authenticate`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: the caller's contract, passed on.
    unsafe { entry(pamh, argc, argv, |_, _| PAM_SUCCESS) }
}

/// The reference module implements only the two functions above; for the
/// others Linux-PAM reports `PAM_MODULE_UNKNOWN`, and so do these.
macro_rules! unknown_to_the_module {
    ($($name:ident),+) => {$(
        /// Not a service this module offers: `PAM_MODULE_UNKNOWN`.
        ///
        /// # Safety
        ///
        /// As for [`pam_sm_authenticate`].
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            pamh: *mut PamHandle,
            _flags: c_int,
            argc: c_int,
            argv: *const *const c_char,
        ) -> c_int {
            // SAFETY: the caller's contract, passed on.
            unsafe { entry(pamh, argc, argv, |_, _| PAM_MODULE_UNKNOWN) }
        }
    )+};
}

unknown_to_the_module!(
    pam_sm_acct_mgmt,
    pam_sm_chauthtok,
    pam_sm_open_session,
    pam_sm_close_session
);

/// Runs `hook` on the handle and the arguments, read as UTF-8 (lossily),
/// or answers `PAM_ABORT` when the handle or the arguments are missing or
/// when anything panics.
///
/// # Safety
///
/// When `pamh` is not null it is a live PAM handle; when `argc` is positive
/// and `argv` not null, `argv` points to `argc` pointers, each null or a
/// NUL-terminated string; all valid for the duration of the call.
unsafe fn entry(
    pamh: *mut PamHandle,
    argc: c_int,
    argv: *const *const c_char,
    hook: impl FnOnce(&mut PamHandle, Vec<String>) -> c_int,
) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a non-null `pamh` is a live handle (the caller's
        // contract), and nothing else refers to it during this call.
        let Some(handle) = (unsafe { pamh.as_mut() }) else {
            return PAM_ABORT;
        };
        // SAFETY: the caller's contract.
        match unsafe { arguments(argc, argv) } {
            Some(args) => hook(handle, args),
            None => PAM_ABORT,
        }
    }));
    outcome.unwrap_or_else(|payload| {
        // Dropping a payload runs its destructor, which could itself panic.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload))).map_err(std::mem::forget);
        PAM_ABORT
    })
}

/// The module's arguments, or `None` if `argc` is negative, or positive
/// with a null `argv` or a null argument.
///
/// # Safety
///
/// As for [`entry`].
unsafe fn arguments(argc: c_int, argv: *const *const c_char) -> Option<Vec<String>> {
    let count = usize::try_from(argc).ok()?;
    if count == 0 {
        return Some(Vec::new());
    }
    if argv.is_null() {
        return None;
    }
    // SAFETY: `argv` is not null and points to `argc` pointers.
    let pointers = unsafe { std::slice::from_raw_parts(argv, count) };
    pointers
        .iter()
        .map(|&arg| {
            if arg.is_null() {
                return None;
            }
            // SAFETY: a non-null argument is a NUL-terminated string valid
            // for the duration of the call.
            let arg = unsafe { CStr::from_ptr(arg) };
            Some(arg.to_string_lossy().into_owned())
        })
        .collect()
}

/// A [`PamSession`] over the handle PAM passed in.
struct HandleSession<'a> {
    handle: &'a mut PamHandle,
}

impl HandleSession<'_> {
    /// The item `item_type`, or `None` if PAM has none or refuses.
    fn item(&self, item_type: c_int) -> Option<*const c_void> {
        let mut item: *const c_void = ptr::null();
        // SAFETY: `self.handle` is the live handle of this call, and `item`
        // a place for the one pointer `pam_get_item` stores.
        let status = unsafe { pam_get_item(&raw const *self.handle, item_type, &raw mut item) };
        (status == PAM_SUCCESS && !item.is_null()).then_some(item)
    }

    /// The string item `item_type` (one of those PAM stores as a C string).
    fn string_item(&self, item_type: c_int) -> Option<&CStr> {
        let item = self.item(item_type)?;
        // SAFETY: `item_type` names a string item, so PAM returned a
        // NUL-terminated string, which it keeps until the item is set again
        // or the transaction ends, both after this borrow of the handle.
        Some(unsafe { CStr::from_ptr(item.cast::<c_char>()) })
    }

    /// Sends one message of `style` through the application's conversation
    /// function, and returns its reply, if it gave one; `None` also when the
    /// conversation fails.
    fn converse(&mut self, style: c_int, text: &str) -> Option<Zeroizing<Vec<u8>>> {
        let text = CString::new(text).ok()?;
        // SAFETY: the `PAM_CONV` item is a `struct pam_conv`, valid for
        // this call.
        let conv = unsafe { &*self.item(PAM_CONV)?.cast::<PamConv>() };
        let function = conv.conv?;
        let message = PamMessage {
            msg_style: style,
            msg: text.as_ptr(),
        };
        let mut messages = [&raw const message];
        let mut responses: *mut PamResponse = ptr::null_mut();
        // SAFETY: one message, a NUL-terminated string that outlives the
        // call, and a place for the array of responses, as the conversation
        // function's contract asks.
        let status = unsafe {
            function(
                1,
                messages.as_mut_ptr(),
                &raw mut responses,
                conv.appdata_ptr,
            )
        };
        if status != PAM_SUCCESS || responses.is_null() {
            return None;
        }
        // SAFETY: on success `responses` is an array of one response the
        // application allocated with malloc, which the module must free.
        unsafe { take_reply(responses) }
    }
}

/// The reply in `responses`, copied; the application's copy is zeroed and
/// freed, and so is the array.
///
/// # Safety
///
/// `responses` points to one `struct pam_response` allocated with malloc,
/// whose `resp` is null or a NUL-terminated string allocated with malloc;
/// neither is used afterwards.
unsafe fn take_reply(responses: *mut PamResponse) -> Option<Zeroizing<Vec<u8>>> {
    // SAFETY: `responses` points to one response (the contract).
    let text = unsafe { (*responses).resp };
    let reply = (!text.is_null()).then(|| {
        // SAFETY: a non-null `resp` is a NUL-terminated string owned by the
        // module from now on.
        let owned = unsafe { CStr::from_ptr(text) };
        let copy = Zeroizing::new(owned.to_bytes().to_vec());
        // SAFETY: the string's bytes, without its NUL, are writable and
        // nothing else refers to them.
        unsafe { std::slice::from_raw_parts_mut(text.cast::<u8>(), copy.len()) }.zeroize();
        // SAFETY: allocated with malloc (the contract) and freed once.
        unsafe { libc::free(text.cast::<c_void>()) };
        copy
    });
    // SAFETY: allocated with malloc (the contract) and freed once.
    unsafe { libc::free(responses.cast::<c_void>()) };
    reply
}

impl PamSession for HandleSession<'_> {
    fn service(&self) -> String {
        self.string_item(PAM_SERVICE)
            .map(|service| service.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn user(&mut self) -> Option<String> {
        let mut user: *const c_char = ptr::null();
        // SAFETY: `self.handle` is the live handle of this call; a null
        // prompt makes PAM use its default one.
        let status = unsafe { pam_get_user(&raw mut *self.handle, &raw mut user, ptr::null()) };
        if status != PAM_SUCCESS || user.is_null() {
            return None;
        }
        // SAFETY: on success PAM returns the `PAM_USER` item, a
        // NUL-terminated string it keeps for the transaction.
        let name = unsafe { CStr::from_ptr(user) };
        String::from_utf8(name.to_bytes().to_vec()).ok()
    }

    fn remote_host(&self) -> Option<String> {
        self.string_item(PAM_RHOST)
            .map(|host| host.to_string_lossy().into_owned())
    }

    fn authtok(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.string_item(PAM_AUTHTOK)
            .map(|token| Zeroizing::new(token.to_bytes().to_vec()))
    }

    fn ask(&mut self, prompt: &str, echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let style = if echo {
            PAM_PROMPT_ECHO_ON
        } else {
            PAM_PROMPT_ECHO_OFF
        };
        self.converse(style, prompt)
    }

    fn show_error(&mut self, message: &str) {
        // Nothing more can be done if the message cannot be shown.
        let _ = self.converse(PAM_ERROR_MSG, message);
    }

    fn set_authtok(&mut self, token: &[u8]) -> bool {
        if token.contains(&0) {
            return false;
        }
        let mut terminated = Zeroizing::new(Vec::with_capacity(token.len() + 1));
        terminated.extend_from_slice(token);
        terminated.push(0);
        // SAFETY: `self.handle` is the live handle of this call, and
        // `terminated` is a NUL-terminated string without interior NULs that
        // outlives the call; `pam_set_item` copies the string and keeps no
        // pointer to it.
        let status = unsafe {
            pam_set_item(
                &raw mut *self.handle,
                PAM_AUTHTOK,
                terminated.as_ptr().cast::<c_void>(),
            )
        };
        status == PAM_SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hooks' `catch_unwind` depends on an unwinder; `build.rs` links
    /// GCC's static one in place of `libgcc_s`. This test binary is linked
    /// the same way, so a panic here must unwind and be caught.
    #[test]
    fn panics_unwind_to_catch_unwind_with_the_linked_unwinder() {
        let caught = std::panic::catch_unwind(|| panic!("unwinding probe (expected)"));
        assert!(caught.is_err());
    }

    /// A handle the hooks below never use.
    fn unused_handle() -> *mut PamHandle {
        ptr::NonNull::dangling().as_ptr()
    }

    /// Calls `entry` with a hook that records the arguments it was given.
    fn entry_with(
        pamh: *mut PamHandle,
        argc: c_int,
        argv: *const *const c_char,
    ) -> (c_int, Option<Vec<String>>) {
        let mut seen = None;
        // SAFETY: the handle is never dereferenced by the hook, and `argv`
        // is null or points to `argc` valid pointers (each test's own).
        let status = unsafe {
            entry(pamh, argc, argv, |_, args| {
                seen = Some(args);
                PAM_SUCCESS
            })
        };
        (status, seen)
    }

    #[test]
    fn missing_handles_and_arguments_abort_without_running_the_hook() {
        let with_null = [c"nullok".as_ptr(), ptr::null()];
        let cases: [(*mut PamHandle, c_int, *const *const c_char); 4] = [
            (ptr::null_mut(), 0, ptr::null()),
            (unused_handle(), -1, ptr::null()),
            (unused_handle(), 1, ptr::null()),
            (unused_handle(), 2, with_null.as_ptr()),
        ];
        for (pamh, argc, argv) in cases {
            assert_eq!(
                entry_with(pamh, argc, argv),
                (PAM_ABORT, None),
                "argc {argc}"
            );
        }
    }

    #[test]
    fn arguments_reach_the_hook_in_order_and_lossily_decoded() {
        let argv = [c"nullok".as_ptr(), c"secret=/x/\xff".as_ptr()];
        let (status, seen) = entry_with(unused_handle(), 2, argv.as_ptr());
        assert_eq!(status, PAM_SUCCESS);
        assert_eq!(
            seen,
            Some(vec!["nullok".to_owned(), "secret=/x/\u{fffd}".to_owned()])
        );
        assert_eq!(
            entry_with(unused_handle(), 0, ptr::null()),
            (PAM_SUCCESS, Some(Vec::new()))
        );
    }

    #[test]
    fn a_panicking_hook_answers_pam_abort() {
        // SAFETY: the hook never dereferences the handle.
        let status = unsafe {
            entry(unused_handle(), 0, ptr::null(), |_, _| {
                panic!("hook (expected)")
            })
        };
        assert_eq!(status, PAM_ABORT);
    }
}
