//! Checked conversion of C arguments: every pointer is tested for NULL, every string for UTF-8,
//! every length for overflow before anything is read through it.

use super::error::IcStatus;
use std::ffi::{c_char, CStr};

/// The error of an argument check: the status and the message for `ic_last_error`.
pub(crate) type ArgResult<T> = Result<T, (IcStatus, String)>;

/// The error for a NULL pointer named `name`.
pub(crate) fn null(name: &str) -> (IcStatus, String) {
    (IcStatus::IcNullArgument, format!("{name} is NULL"))
}

/// The error for an invalid argument value.
pub(crate) fn invalid(msg: impl Into<String>) -> (IcStatus, String) {
    (IcStatus::IcInvalidArgument, msg.into())
}

/// A required UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unmodified for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> ArgResult<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: `p` is not NULL (checked above) and, per this function's contract, points to a
    // NUL-terminated string that outlives `'a` and is not written meanwhile.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| {
        (
            IcStatus::IcInvalidUtf8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// An optional UTF-8 string argument (NULL → `None`).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> ArgResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: this function's contract is the one `str_arg` requires.
    unsafe { str_arg(p, name) }.map(Some)
}

/// `n` owned strings from an array of `n` C strings.
///
/// # Safety
/// `p` is NULL or points to `n` readable string pointers, each NULL or pointing to a
/// NUL-terminated string; all stay valid and unmodified for the call.
pub(crate) unsafe fn strings_arg(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> ArgResult<Vec<String>> {
    // SAFETY: `p` is NULL or points to `n` initialised pointers, which is what `slice_arg`
    // requires (it rejects NULL when `n > 0`).
    let ptrs = unsafe { slice_arg(p, n, name)? };
    ptrs.iter()
        .enumerate()
        .map(|(i, &s)| {
            // SAFETY: every entry is NULL or a NUL-terminated string, per this function's
            // contract; `str_arg` rejects NULL.
            unsafe { str_arg(s, &format!("{name}[{i}]")) }.map(str::to_string)
        })
        .collect()
}

/// A slice of `n` elements (NULL is accepted only when `n == 0`).
///
/// # Safety
/// `p` is NULL or points to `n` initialised elements that stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(p: *const T, n: usize, name: &str) -> ArgResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    if !p.is_aligned() {
        return Err(invalid(format!(
            "{name} is not aligned for its element type"
        )));
    }
    if n.checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(invalid(format!("{name}: length {n} is too large")));
    }
    // SAFETY: `p` is non-NULL and aligned (checked above), points to `n` initialised elements
    // valid and unmodified for `'a` (this function's contract), and `n * size_of::<T>()` does not
    // exceed `isize::MAX` (checked above): the requirements of `from_raw_parts`.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Checks a required out-pointer and sets it to NULL, so that it reads NULL after any failure.
///
/// # Safety
/// `out` is NULL or valid for writing one `*mut T` (it need not be initialised).
pub(crate) unsafe fn out_arg<T>(out: *mut *mut T, name: &str) -> ArgResult<()> {
    if out.is_null() {
        return Err(null(name));
    }
    if !out.is_aligned() {
        return Err(invalid(format!("{name} is not aligned for a pointer")));
    }
    // SAFETY: `out` is non-NULL and aligned (checked above) and valid for writes (this
    // function's contract); `write` does not read or drop the old value, which may be
    // uninitialised.
    unsafe { out.write(std::ptr::null_mut()) };
    Ok(())
}

/// Hands `value` to the caller through an out-pointer already checked by [`out_arg`].
///
/// # Safety
/// `out` passed [`out_arg`] in this call and is still valid for writes.
pub(crate) unsafe fn put<T>(out: *mut *mut T, value: Box<T>) {
    // SAFETY: `out` is non-NULL, aligned and writable, as `out_arg` checked and this function's
    // contract keeps; the box's ownership passes to the caller (released by its `*_free`).
    unsafe { out.write(Box::into_raw(value)) };
}

/// Releases a handle created with `Box::into_raw`; NULL is ignored.
///
/// # Safety
/// `p` is NULL, or came from `Box::into_raw` of a `Box<T>` in this library and was not freed
/// yet, and no other thread uses it.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per this function's contract `p` came from `Box::into_raw` and is freed once
        // (here), with no other user left.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// A shared reference to a live handle, or IC_NULL_ARGUMENT for NULL.
///
/// # Safety
/// `p` is NULL or a live handle created by this library (not freed, not being freed) that
/// outlives `'a`.
pub(crate) unsafe fn handle_ref<'a, T>(p: *const T, name: &str) -> ArgResult<&'a T> {
    // SAFETY: a live handle came from `Box::into_raw` (aligned, initialised) and outlives `'a`,
    // per this function's contract; NULL becomes `None`.
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// A shared reference to a live handle, or `None` for NULL (for accessors that return a
/// sentinel instead of a status).
///
/// # Safety
/// As [`handle_ref`].
pub(crate) unsafe fn opt_handle<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: as in `handle_ref`: NULL or a live, aligned, initialised handle outliving `'a`.
    unsafe { p.as_ref() }
}
