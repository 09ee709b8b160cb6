//! Which struct member holds a lock, from the waiter's own debuginfo: the type laid out at the
//! start of the shared object (given with `--type`, or guessed: the program's struct types that
//! put a lock-typed member at that offset), walked down to the member that covers the lock word.

use super::dwarf::{CType, Dwarf, TypeName};

/// Typedefs that are locks: the walk stops at a member of one of these types, rather than
/// descending into glibc's internals (`lock.__data.__lock`).
pub const LOCK_TYPES: [&str; 8] = [
    "pthread_mutex_t",
    "pthread_cond_t",
    "sem_t",
    "pthread_rwlock_t",
    "pthread_barrier_t",
    "pthread_spinlock_t",
    "mtx_t",
    "cnd_t",
];

/// Guessing walks at most this many struct types (find_type is a scan of every unit).
pub const MAX_GUESS_TYPES: usize = 2000;

fn lock_typedef(ty: &CType) -> bool {
    let mut t = ty;
    for _ in 0..16 {
        match t {
            CType::Typedef { name, ty } => {
                if LOCK_TYPES.contains(&name.as_str()) {
                    return true;
                }
                t = ty;
            }
            _ => return false,
        }
    }
    false
}

/// The member path (`hdr.lock`, `slots[3].m`) of the lock-typed member that covers byte
/// `offset` of a value of type `ty`; None when the byte is not inside a lock-typed member.
pub fn lock_member(ty: &CType, offset: u64) -> Option<String> {
    super::dwarf::walk_to_member(ty, offset, lock_typedef)
}

/// `--type`: the member of the named type (or array of it) that holds byte `offset`, as
/// `struct shm.lock`; any member when none is lock-typed (a hand-rolled futex is an int).
pub fn named(dwarf: &Dwarf, want: &TypeName, offset: u64) -> Option<String> {
    let ty = dwarf.find_type(want)?;
    let size = ty.size().max(1);
    let (index, within) = match want.count {
        Some(n) if offset / size < n => (Some(offset / size), offset % size),
        Some(_) => return None,
        None if offset < size => (None, offset),
        None => return None,
    };
    let path = lock_member(&ty, within).or_else(|| super::dwarf::member_at(&ty, within))?;
    Some(label(&ty.name(), index, &path))
}

fn label(type_name: &str, index: Option<u64>, path: &str) -> String {
    match index {
        Some(i) => format!("{type_name}[{i}].{path}"),
        None => format!("{type_name}.{path}"),
    }
}

/// Without `--type`: every struct the program defines that, laid at the object's start, puts a
/// lock-typed member over `offset`. Empty when there are none, or too many types to try.
pub fn guesses(dwarf: &Dwarf, offset: u64) -> Vec<String> {
    let types = dwarf.list_types();
    if types.len() > MAX_GUESS_TYPES {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for t in types.iter().filter(|t| t.size > offset && t.members > 0) {
        let want = TypeName {
            kind: Some(t.kind),
            is_enum: false,
            name: t.name.clone(),
            count: None,
        };
        let Some(ty) = dwarf.find_type(&want) else {
            continue;
        };
        if let Some(path) = lock_member(&ty, offset) {
            let l = label(&ty.name(), None, &path);
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::dwarf::{Encoding, Member, RecordKind};

    fn int(name: &str) -> CType {
        CType::Base {
            name: name.into(),
            size: 4,
            encoding: Encoding::Signed,
        }
    }

    /// `pthread_mutex_t` as glibc's headers define it: a typedef of an anonymous union.
    fn mutex_t() -> CType {
        CType::Typedef {
            name: "pthread_mutex_t".into(),
            ty: Box::new(CType::Record {
                kind: RecordKind::Union,
                name: "<anonymous>".into(),
                size: 40,
                members: vec![Member::named("__lock_word", 0, int("int"))],
            }),
        }
    }

    fn orders() -> CType {
        CType::Record {
            kind: RecordKind::Struct,
            name: "orders".into(),
            size: 0x40 + 40 + 3 * 48,
            members: vec![
                Member::named("version", 0, int("int")),
                Member::named("lock", 0x40, mutex_t()),
                Member::named(
                    "slots",
                    0x68,
                    CType::Array {
                        elem: Box::new(CType::Record {
                            kind: RecordKind::Struct,
                            name: "slot".into(),
                            size: 48,
                            members: vec![
                                Member::named("id", 0, int("int")),
                                Member::named("m", 8, mutex_t()),
                            ],
                        }),
                        count: 3,
                    },
                ),
            ],
        }
    }

    #[test]
    fn the_walk_stops_at_the_lock_member() {
        assert_eq!(lock_member(&orders(), 0x40).as_deref(), Some("lock"));
        // Any byte of the mutex names it (a condvar's futex word is 40 bytes in).
        assert_eq!(lock_member(&orders(), 0x44).as_deref(), Some("lock"));
        assert_eq!(
            lock_member(&orders(), 0x68 + 48 + 8).as_deref(),
            Some("slots[1].m")
        );
        // An int is not a lock.
        assert_eq!(lock_member(&orders(), 0), None);
        // Past the end.
        assert_eq!(lock_member(&orders(), 0x1000), None);
    }

    #[test]
    fn labels() {
        assert_eq!(label("struct orders", None, "lock"), "struct orders.lock");
        assert_eq!(label("struct slot", Some(2), "m"), "struct slot[2].m");
    }
}
