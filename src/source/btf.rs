//! The kernel's own type information (BTF, `/sys/kernel/btf/vmlinux`), read only far enough to
//! find a type's id by kind and name: what a BTF-typed program needs to name its attach point
//! (`trace` finds `btf_trace_sys_exit` this way).
//!
//! Format: include/uapi/linux/btf.h and Documentation/bpf/btf.rst. A header, then the types one
//! after another (ids from 1, each a 12-byte `btf_type` followed by data whose length its kind
//! and `vlen` give), then the string table their names point into.
//!
//! Not a crate: trace needs one id, once per run, and the BTF crates (btf-rs, and aya-obj's
//! reader) parse every type of the 5.5 MB blob into owned structures to give it; this walk
//! reads four numbers per type and keeps nothing. Not measured against them.

/// `BTF_KIND_TYPEDEF`.
pub const KIND_TYPEDEF: u32 = 8;

/// The id of the first type of `kind` named `name` in a BTF blob (native byte order), or None
/// (not there, or a blob this reader cannot walk).
pub fn type_id(blob: &[u8], kind: u32, name: &str) -> Option<u32> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    let magic = u16::from_ne_bytes(blob.get(0..2)?.try_into().ok()?);
    if magic != 0xeb9f {
        return None;
    }
    let hdr_len = u32_at(4)? as usize;
    let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
    let (str_off, str_len) = (u32_at(16)? as usize, u32_at(20)? as usize);
    let strings = blob.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
    let name_is = |off: u32| {
        let s = strings.get(off as usize..).unwrap_or(&[]);
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        &s[..end] == name.as_bytes()
    };
    let (mut at, end) = (hdr_len + type_off, hdr_len + type_off + type_len);
    let mut id = 1;
    while at + 12 <= end {
        let (name_off, info) = (u32_at(at)?, u32_at(at + 4)?);
        let (this, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        if this == kind && name_is(name_off) {
            return Some(id);
        }
        at += 12 + extra_bytes(this, vlen)?;
        id += 1;
    }
    None
}

/// Bytes that follow a `btf_type` of this kind; None for a kind this reader does not know.
fn extra_bytes(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        // INT, VAR, DECL_TAG: one u32.
        1 | 14 | 17 => 4,
        // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG: nothing.
        2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
        // ARRAY: btf_array.
        3 => 12,
        // STRUCT, UNION: btf_member each; DATASEC: btf_var_secinfo each; ENUM64: btf_enum64.
        4 | 5 | 15 | 19 => 12 * vlen,
        // ENUM: btf_enum each; FUNC_PROTO: btf_param each.
        6 | 13 => 8 * vlen,
        _ => return None,
    })
}

/// The id of typedef `name` in the running kernel's BTF; None without BTF
/// (CONFIG_DEBUG_INFO_BTF) or without that type.
pub fn vmlinux_typedef(name: &str) -> Option<u32> {
    let blob = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    type_id(&blob, KIND_TYPEDEF, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob with: 1 INT "int", 2 STRUCT "s" (2 members), 3 TYPEDEF "t" -> 2.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0s\0t\0a\0b\0";
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_ne_bytes());
            }
        };
        push(&[1, 1 << 24, 4, 32]);
        push(&[5, (4 << 24) | 2, 8, 9, 1, 0, 11, 1, 32]);
        push(&[7, 8 << 24, 2]);
        let mut b = Vec::new();
        b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
        b.extend_from_slice(&[1, 0]);
        for w in [
            24,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        b.extend_from_slice(&types);
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn finds_a_typedef_after_a_struct() {
        let b = blob();
        assert_eq!(type_id(&b, KIND_TYPEDEF, "t"), Some(3));
        assert_eq!(type_id(&b, 4, "s"), Some(2));
        assert_eq!(type_id(&b, KIND_TYPEDEF, "s"), None);
        assert_eq!(type_id(&b, KIND_TYPEDEF, "missing"), None);
        assert_eq!(type_id(&b[..10], KIND_TYPEDEF, "t"), None);
        assert_eq!(type_id(b"not btf at all, no", KIND_TYPEDEF, "t"), None);
    }

    #[test]
    fn the_running_kernel_has_the_sys_exit_typedef_when_it_has_btf() {
        if std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            assert!(vmlinux_typedef("btf_trace_sys_exit").is_some());
        }
    }
}
