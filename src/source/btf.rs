//! The kernel's own type information (BTF, `/sys/kernel/btf/vmlinux`), read only as far as
//! trace needs: a type's id by kind and name (a BTF-typed program names its attach point,
//! `btf_trace_sys_exit`, by id) and a member's offset in a struct (a BTF-typed program loads
//! the caller's uid, cgroup and command name through the task pointer at those offsets).
//!
//! Format: include/uapi/linux/btf.h and Documentation/bpf/btf.rst. A header, then the types one
//! after another (ids from 1, each a 12-byte `btf_type` followed by data whose length its kind
//! and `vlen` give), then the string table their names point into.
//!
//! Not a crate: btf-rs 1.1 parses every type of the 5.5 MB blob into owned structures; on this
//! machine (kernel 6.18) `Btf::from_file` of vmlinux took 128 ms and left a 53 MB peak RSS,
//! once per `trace` start, to answer ten questions. This walk notes where each type starts
//! (4 bytes a type) and reads nothing else.

/// `BTF_KIND_TYPEDEF`.
pub const KIND_TYPEDEF: u32 = 8;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;

/// A BTF blob with the start of each type noted.
pub struct Index {
    blob: Vec<u8>,
    /// Where the string table lies in the blob.
    strings: std::ops::Range<usize>,
    /// Where type id `i + 1` starts in the blob.
    starts: Vec<u32>,
}

impl Index {
    /// None for a blob this reader cannot walk (not BTF, truncated, a kind it does not know).
    pub fn parse(blob: Vec<u8>) -> Option<Index> {
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
        let strings = hdr_len + str_off..hdr_len + str_off + str_len;
        blob.get(strings.clone())?;
        let (mut at, end) = (hdr_len + type_off, hdr_len + type_off + type_len);
        if end > blob.len() {
            return None;
        }
        let mut starts = Vec::new();
        while at + 12 <= end {
            let info = u32_at(at + 4)?;
            starts.push(u32::try_from(at).ok()?);
            at += 12 + extra_bytes((info >> 24) & 0x1f, (info & 0xffff) as usize)?;
        }
        Some(Index {
            blob,
            strings,
            starts,
        })
    }

    /// The running kernel's BTF; None without it (CONFIG_DEBUG_INFO_BTF).
    pub fn vmlinux() -> Option<Index> {
        Index::parse(std::fs::read("/sys/kernel/btf/vmlinux").ok()?)
    }

    fn u32_at(&self, at: usize) -> u32 {
        // Every read is inside a type the walk in `parse` measured.
        u32::from_ne_bytes(self.blob[at..at + 4].try_into().unwrap_or_default())
    }

    fn name(&self, off: u32) -> &[u8] {
        let s = &self.blob[self.strings.clone()];
        let s = s.get(off as usize..).unwrap_or(&[]);
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    /// (start in the blob, kind, vlen, kind_flag) of type `id`.
    fn ty(&self, id: u32) -> Option<(usize, u32, usize, bool)> {
        let at = *self.starts.get((id as usize).checked_sub(1)?)? as usize;
        let info = self.u32_at(at + 4);
        Some((
            at,
            (info >> 24) & 0x1f,
            (info & 0xffff) as usize,
            info >> 31 == 1,
        ))
    }

    /// The id of the first type of `kind` named `name`.
    pub fn type_id(&self, kind: u32, name: &str) -> Option<u32> {
        (1..=self.starts.len() as u32).find(|&id| {
            self.ty(id).is_some_and(|(at, k, _, _)| {
                k == kind && self.name(self.u32_at(at)) == name.as_bytes()
            })
        })
    }

    /// The byte offset of `member` in the struct named `strukt`, looking into anonymous
    /// struct and union members; None if there is none, or it is a bitfield.
    pub fn member_offset(&self, strukt: &str, member: &str) -> Option<u32> {
        let id = self.type_id(KIND_STRUCT, strukt)?;
        self.offset_in(id, member.as_bytes(), 0)
    }

    fn offset_in(&self, id: u32, member: &[u8], depth: u32) -> Option<u32> {
        let (at, kind, vlen, bitfields) = self.ty(id)?;
        if !matches!(kind, KIND_STRUCT | KIND_UNION) || depth > 8 {
            return None;
        }
        for i in 0..vlen {
            let m = at + 12 + 12 * i;
            let (name, ty, off) = (self.u32_at(m), self.u32_at(m + 4), self.u32_at(m + 8));
            let bits = if bitfields { off & 0xff_ffff } else { off };
            let found = if name == 0 {
                self.offset_in(self.skip_modifiers(ty)?, member, depth + 1)
                    .map(|o| o + bits / 8)
            } else if self.name(name) == member {
                (bits % 8 == 0).then_some(bits / 8)
            } else {
                None
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Follow typedef, volatile, const, restrict and type tags to the type beneath.
    fn skip_modifiers(&self, mut id: u32) -> Option<u32> {
        for _ in 0..16 {
            let (at, kind, _, _) = self.ty(id)?;
            if !matches!(kind, 8 | 9 | 10 | 11 | 18) {
                return Some(id);
            }
            id = self.u32_at(at + 8);
        }
        None
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob with: 1 INT "int", 2 STRUCT "s" (a at 0, b at 4), 3 TYPEDEF "t" -> 2, 4 an
    /// anonymous STRUCT (c at 2), 5 CONST -> 4, 6 STRUCT "u" (b at 0, a 5 at 8).
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0s\0t\0a\0b\0u\0c\0";
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_ne_bytes());
            }
        };
        push(&[1, 1 << 24, 4, 32]);
        push(&[5, (4 << 24) | 2, 8, 9, 1, 0, 11, 1, 32]);
        push(&[7, 8 << 24, 2]);
        push(&[0, (4 << 24) | 1, 4, 15, 1, 16]);
        push(&[0, 10 << 24, 4]);
        push(&[13, (4 << 24) | 2, 12, 11, 1, 0, 0, 5, 64]);
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
        let b = Index::parse(blob()).unwrap();
        assert_eq!(b.type_id(KIND_TYPEDEF, "t"), Some(3));
        assert_eq!(b.type_id(4, "s"), Some(2));
        assert_eq!(b.type_id(KIND_TYPEDEF, "s"), None);
        assert_eq!(b.type_id(KIND_TYPEDEF, "missing"), None);
        assert!(Index::parse(blob()[..10].to_vec()).is_none());
        assert!(Index::parse(b"not btf at all, no".to_vec()).is_none());
    }

    #[test]
    fn finds_members_also_inside_anonymous_ones() {
        let b = Index::parse(blob()).unwrap();
        assert_eq!(b.member_offset("s", "a"), Some(0));
        assert_eq!(b.member_offset("s", "b"), Some(4));
        // "u" holds an anonymous struct (through a const) at byte 8, whose "c" is at byte 2.
        assert_eq!(b.member_offset("u", "c"), Some(10));
        assert_eq!(b.member_offset("u", "missing"), None);
        assert_eq!(b.member_offset("nostruct", "a"), None);
    }

    #[test]
    fn the_running_kernel_has_what_trace_looks_up_when_it_has_btf() {
        let Some(b) = Index::vmlinux() else {
            return;
        };
        assert!(b.type_id(KIND_TYPEDEF, "btf_trace_sys_exit").is_some());
        for (s, m) in [
            ("task_struct", "comm"),
            ("task_struct", "cred"),
            ("cred", "uid"),
        ] {
            assert!(b.member_offset(s, m).is_some(), "{s}.{m}");
        }
    }
}
