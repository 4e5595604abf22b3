//! HDF5 data the typed reads of `hdf5-metno` do not cover: fields of compound datasets (how
//! AnnData before 0.7 stored obs and var) and fixed-length strings (how it stored categories).
//!
//! Both are read whole — they are dataframe-sized, never matrix-sized — into a memory type
//! built for the purpose, which HDF5 fills converting from the file's byte order, then decoded.

use hdf5::types::{CompoundField, CompoundType, TypeDescriptor};
use hdf5::{Dataset, Datatype};
use hdf5_sys::h5d::H5Dread;
use hdf5_sys::h5p::H5P_DEFAULT;
use hdf5_sys::h5s::H5S_ALL;

use super::values::Values;

/// The field names of a compound dataset, in stored order; `None` for other datasets.
pub(crate) fn compound_fields(ds: &Dataset) -> hdf5::Result<Option<Vec<String>>> {
    Ok(match ds.dtype()?.to_descriptor()? {
        TypeDescriptor::Compound(c) => Some(c.fields.into_iter().map(|f| f.name).collect()),
        _ => None,
    })
}

/// Reads field `name` of the 1-D compound dataset `ds`.
pub(crate) fn read_field(ds: &Dataset, name: &str) -> Result<Values, String> {
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    let TypeDescriptor::Compound(c) = desc else {
        return Err("not a compound dataset".into());
    };
    let field = c
        .fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no field '{name}'"))?;
    let ty = field.ty.clone();
    if matches!(
        ty,
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii
    ) {
        return read_vlen_field(ds, name, ty);
    }
    let size = ty.size();
    // A compound of just this field: HDF5 picks it out of each record by name.
    let mem = TypeDescriptor::Compound(CompoundType {
        fields: vec![CompoundField::new(name, ty.clone(), 0, 0)],
        size,
    });
    let bytes = read_whole(ds, &mem, size)?;
    decode(&bytes, &ty, size).map_err(|what| format!("field '{name}': {what}"))
}

/// Reads variable-length string field `name` (type `ty`) of the 1-D compound dataset `ds`
/// (h5py's `str` fields, as anndata 0.6 wrote obs names and string columns).
fn read_vlen_field(ds: &Dataset, name: &str, ty: TypeDescriptor) -> Result<Values, String> {
    use std::ffi::{c_char, CStr};
    let n: usize = ds.shape().iter().product();
    let ptr = std::mem::size_of::<*mut c_char>();
    let mem = TypeDescriptor::Compound(CompoundType {
        fields: vec![CompoundField::new(name, ty, 0, 0)],
        size: ptr,
    });
    let mem = Datatype::from_descriptor(&mem).map_err(|e| e.to_string())?;
    let space = ds.space().map_err(|e| e.to_string())?;
    let mut buf: Vec<*mut c_char> = vec![std::ptr::null_mut(); n];
    if n == 0 {
        return Ok(Values::Str(Vec::new()));
    }
    let strings = hdf5::sync::sync(|| {
        // SAFETY: `buf` holds `n` pointer-sized slots, one per element of the whole selection
        // (H5S_ALL) of the `n`-element dataset, and `mem` is a compound of one variable-length
        // string of pointer size at offset 0, so HDF5 writes one `char *` (or NULL) per slot.
        let status = unsafe {
            H5Dread(
                ds.id(),
                mem.id(),
                H5S_ALL,
                H5S_ALL,
                H5P_DEFAULT,
                buf.as_mut_ptr().cast(),
            )
        };
        if status < 0 {
            return Err("HDF5 could not read the field".to_string());
        }
        let strings = buf
            .iter()
            .map(|&p| {
                if p.is_null() {
                    String::new()
                } else {
                    // SAFETY: HDF5 filled `p` with a NUL-terminated string it allocated; it
                    // stays valid until the reclaim below.
                    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
                }
            })
            .collect::<Vec<_>>();
        // SAFETY: `buf` was filled by the read above with the same memory type and selection;
        // the reclaim frees the strings HDF5 allocated, which are not used afterwards.
        #[allow(deprecated)]
        let freed = unsafe {
            hdf5_sys::h5d::H5Dvlen_reclaim(
                mem.id(),
                space.id(),
                H5P_DEFAULT,
                buf.as_mut_ptr().cast(),
            )
        };
        if freed < 0 {
            return Err("HDF5 could not free the strings it read".to_string());
        }
        Ok(strings)
    })?;
    Ok(Values::Str(strings))
}

/// Reads a whole dataset of fixed-length strings (`desc` is its type).
pub(crate) fn read_fixed_strings(ds: &Dataset, desc: &TypeDescriptor) -> Result<Values, String> {
    let size = desc.size();
    let bytes = read_whole(ds, desc, size)?;
    decode(&bytes, desc, size)
}

/// The raw bytes of the whole dataset read as memory type `mem` of `size` bytes per element.
fn read_whole(ds: &Dataset, mem: &TypeDescriptor, size: usize) -> Result<Vec<u8>, String> {
    let n: usize = ds.shape().iter().product();
    let total = n
        .checked_mul(size)
        .ok_or_else(|| "dataset too large".to_string())?;
    let mem = Datatype::from_descriptor(mem).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; total];
    if total == 0 {
        return Ok(buf);
    }
    let status = hdf5::sync::sync(|| {
        // SAFETY: `buf` holds exactly `n` elements of `mem`'s size, the whole selection
        // (H5S_ALL) of a dataset of `n` elements, and `mem` holds no variable-length members
        // (see `decode`: those are refused before their pointers could be used). Both ids are
        // live handles owned by `ds` and `mem` for the duration of the call.
        unsafe {
            H5Dread(
                ds.id(),
                mem.id(),
                H5S_ALL,
                H5S_ALL,
                H5P_DEFAULT,
                buf.as_mut_ptr().cast(),
            )
        }
    });
    if status < 0 {
        return Err("HDF5 could not read the dataset".into());
    }
    Ok(buf)
}

/// Decodes `bytes`, elements of type `ty` of `size` bytes each, in native byte order.
fn decode(bytes: &[u8], ty: &TypeDescriptor, size: usize) -> Result<Values, String> {
    use hdf5::types::{FloatSize, IntSize};
    let items = bytes.chunks_exact(size.max(1));
    macro_rules! num {
        ($variant:ident, $t:ty) => {
            Values::$variant(
                items
                    .map(|b| <$t>::from_ne_bytes(b.try_into().expect("element size")))
                    .collect(),
            )
        };
    }
    Ok(match ty {
        TypeDescriptor::Integer(IntSize::U1) => num!(I8, i8),
        TypeDescriptor::Integer(IntSize::U2) => num!(I16, i16),
        TypeDescriptor::Integer(IntSize::U4) => num!(I32, i32),
        TypeDescriptor::Integer(IntSize::U8) => num!(I64, i64),
        TypeDescriptor::Unsigned(IntSize::U1) => num!(U8, u8),
        TypeDescriptor::Unsigned(IntSize::U2) => num!(U16, u16),
        TypeDescriptor::Unsigned(IntSize::U4) => num!(U32, u32),
        TypeDescriptor::Unsigned(IntSize::U8) => num!(U64, u64),
        TypeDescriptor::Float(FloatSize::U4) => num!(F32, f32),
        TypeDescriptor::Float(FloatSize::U8) => num!(F64, f64),
        TypeDescriptor::Boolean => Values::Bool(items.map(|b| b[0] != 0).collect()),
        // numpy booleans as h5py stores them: an enum {FALSE = 0, TRUE = 1} over 8 bits.
        TypeDescriptor::Enum(e) if e.members.len() == 2 && e.size as usize == 1 => {
            Values::Bool(items.map(|b| b[0] != 0).collect())
        }
        TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => Values::Str(
            items
                .map(|b| {
                    // NUL-padded (numpy `S`) or NUL-terminated: the text ends at the first NUL.
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    String::from_utf8_lossy(&b[..end]).into_owned()
                })
                .collect(),
        ),
        other => return Err(format!("HDF5 type {other} is not supported here")),
    })
}
