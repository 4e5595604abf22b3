//! Checked conversion of C arguments.
// The SAFETY notes of this file are written with the C API redesign; until then the lint is
// allowed here only.
#![allow(clippy::undocumented_unsafe_blocks)]

use super::error::IcStatus;
use std::ffi::{c_char, CStr};

pub(crate) type ArgResult<T> = Result<T, (IcStatus, String)>;

/// A required UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> ArgResult<&'a str> {
    if p.is_null() {
        return Err((IcStatus::IcNullArgument, format!("{name} is NULL")));
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| {
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
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(p, name) }.map(Some)
    }
}

/// `n` strings from an array of C strings.
///
/// # Safety
/// `p` is NULL (only when `n == 0`) or points to `n` valid string pointers.
pub(crate) unsafe fn strings_arg(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> ArgResult<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let ptrs = unsafe { slice_arg(p, n, name)? };
    ptrs.iter()
        .enumerate()
        // SAFETY: each entry is a string pointer per the contract.
        .map(|(i, &s)| unsafe { str_arg(s, &format!("{name}[{i}]")) }.map(str::to_string))
        .collect()
}

/// A slice of `n` elements.
///
/// # Safety
/// `p` is NULL (only when `n == 0`) or points to `n` initialised elements that stay valid and
/// unmodified for the call.
pub(crate) unsafe fn slice_arg<'a, T>(p: *const T, n: usize, name: &str) -> ArgResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err((IcStatus::IcNullArgument, format!("{name} is NULL")));
    }
    if n.checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err((
            IcStatus::IcInvalidArgument,
            format!("{name}: length {n} is too large"),
        ));
    }
    // SAFETY: non-null, `n` initialised elements per the contract, size checked above.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Writes `value` through a required out-pointer.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub(crate) unsafe fn put<T>(out: *mut T, value: T, name: &str) -> ArgResult<()> {
    if out.is_null() {
        return Err((IcStatus::IcNullArgument, format!("{name} is NULL")));
    }
    // SAFETY: non-null and writable per the contract.
    unsafe { out.write(value) };
    Ok(())
}

/// Fails early (before any work) when a required out-pointer is NULL.
pub(crate) fn check_out<T>(out: *mut T, name: &str) -> ArgResult<()> {
    if out.is_null() {
        return Err((IcStatus::IcNullArgument, format!("{name} is NULL")));
    }
    Ok(())
}

/// Releases a handle created with `Box::into_raw`; NULL is ignored.
///
/// # Safety
/// `p` is NULL or came from `Box::into_raw` and was not freed yet.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per the contract, created by Box::into_raw and freed once.
        drop(unsafe { Box::from_raw(p) });
    }
}
