//! The C boundary: the `pam_sm_*` entry points Linux-PAM calls, and the
//! [`PamSession`] implementation over a real PAM handle.
//!
//! The entry points come from `pam-bindings`' `pam_hooks!`, which checks the
//! handle and arguments and catches any panic (answering `PAM_ABORT`), so no
//! unwinding crosses into the caller. Everything else goes through that
//! crate's safe wrappers, except setting `PAM_AUTHTOK`, which it does not
//! offer: that one call is the only `unsafe` code here.

use std::ffi::{CStr, c_int, c_void};

use pam::constants::{
    PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PamFlag, PamResultCode,
};
use pam::conv::Conv;
use pam::items::{AuthTok, RHost, Service};
use pam::module::{PamHandle, PamHooks};
use zeroize::Zeroizing;

use crate::authenticate::{PamReturn, PamSession, SystemClock, authenticate};

/// `PAM_AUTHTOK` in `<security/_pam_types.h>`.
const PAM_AUTHTOK_ITEM: c_int = 6;

unsafe extern "C" {
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
}

/// The module, as seen by `pam_hooks!`.
struct PamRustTotp;

pam::pam_hooks!(PamRustTotp);

impl PamHooks for PamRustTotp {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        let args: Vec<String> = args
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        match authenticate(&mut HandleSession { handle: pamh }, &SystemClock, &args) {
            PamReturn::Success => PamResultCode::PAM_SUCCESS,
            PamReturn::AuthErr => PamResultCode::PAM_AUTH_ERR,
            PamReturn::Ignore => PamResultCode::PAM_IGNORE,
        }
    }

    fn sm_setcred(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_SUCCESS
    }

    // The reference module implements only the two functions above; for
    // the others Linux-PAM reports PAM_MODULE_UNKNOWN, and so do we.
    fn acct_mgmt(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_MODULE_UNKNOWN
    }

    fn sm_chauthtok(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_MODULE_UNKNOWN
    }

    fn sm_open_session(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_MODULE_UNKNOWN
    }

    fn sm_close_session(
        _pamh: &mut PamHandle,
        _args: Vec<&CStr>,
        _flags: PamFlag,
    ) -> PamResultCode {
        PamResultCode::PAM_MODULE_UNKNOWN
    }
}

/// A [`PamSession`] over the handle PAM passed in.
struct HandleSession<'a> {
    handle: &'a mut PamHandle,
}

impl PamSession for HandleSession<'_> {
    fn service(&self) -> String {
        match self.handle.get_item::<Service>() {
            Ok(Some(service)) => service.to_string_lossy().into_owned(),
            _ => String::new(),
        }
    }

    fn user(&mut self) -> Option<String> {
        self.handle.get_user(None).ok()
    }

    fn remote_host(&self) -> Option<String> {
        match self.handle.get_item::<RHost>() {
            Ok(Some(host)) => Some(host.to_string_lossy().into_owned()),
            _ => None,
        }
    }

    fn authtok(&self) -> Option<Zeroizing<Vec<u8>>> {
        match self.handle.get_item::<AuthTok>() {
            Ok(Some(token)) => Some(Zeroizing::new(token.as_bytes().to_vec())),
            _ => None,
        }
    }

    fn ask(&mut self, prompt: &str, echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let style = if echo {
            PAM_PROMPT_ECHO_ON
        } else {
            PAM_PROMPT_ECHO_OFF
        };
        let conv = self.handle.get_item::<Conv>().ok()??;
        let reply = conv.send(style, prompt).ok()??;
        Some(Zeroizing::new(reply.as_bytes().to_vec()))
    }

    fn show_error(&mut self, message: &str) {
        if let Ok(Some(conv)) = self.handle.get_item::<Conv>() {
            // Nothing more can be done if the message cannot be shown.
            let _ = conv.send(PAM_ERROR_MSG, message);
        }
    }

    fn set_authtok(&mut self, token: &[u8]) -> bool {
        if token.contains(&0) {
            return false;
        }
        let mut terminated = Zeroizing::new(Vec::with_capacity(token.len() + 1));
        terminated.extend_from_slice(token);
        terminated.push(0);
        // SAFETY: `self.handle` is the live handle PAM passed to this call
        // of `pam_sm_authenticate`, and `terminated` is a NUL-terminated
        // string without interior NULs that outlives the call;
        // `pam_set_item` copies the string and keeps no pointer to it.
        let status = unsafe {
            pam_set_item(
                &raw mut *self.handle,
                PAM_AUTHTOK_ITEM,
                terminated.as_ptr().cast::<c_void>(),
            )
        };
        status == PamResultCode::PAM_SUCCESS as c_int
    }
}

#[cfg(test)]
mod tests {
    /// The hooks' `catch_unwind` depends on an unwinder; `build.rs` links
    /// GCC's static one in place of `libgcc_s`. This test binary is linked
    /// the same way, so a panic here must unwind and be caught.
    #[test]
    fn panics_unwind_to_catch_unwind_with_the_linked_unwinder() {
        let caught = std::panic::catch_unwind(|| panic!("unwinding probe (expected)"));
        assert!(caught.is_err());
    }
}
