//! What a futex word in shared memory is, judged from the bytes around it and the call that waits
//! on it: a glibc mutex (with its owner and kind), a glibc semaphore, or just a futex.
//!
//! Pure functions over bytes. The layouts are glibc's on x86_64 (checked against this machine's
//! `bits/struct_mutex.h` and `bits/semaphore.h`); the kind bits and the lock word's meaning are
//! glibc's internal ones (`nptl/pthreadP.h`, `futex(2)` for robust and PI words):
//!
//! ```text
//! pthread_mutex_t  +0 __lock  +4 __count  +8 __owner (tid)  +12 __nusers  +16 __kind
//!                  +20 __spins  +22 __elision  +24 __list (robust list links)     40 bytes
//! sem_t            +0 value (u32, the futex word)  +4 waiters (u32)  +8 private   32 bytes
//! pthread_cond_t   +0 __wseq  +8 __g1_start  +16 __g_refs[2]  +24 __g_size[2]
//!                  +32 __g1_orig_size  +36 __wrefs  +40 __g_signals[2] (the futex words)  48
//! ```
//!
//! Nothing here can prove what a word is; each test below only rules things out. When the bytes
//! do not look like a mutex or a semaphore, the word is called a plain `futex`.

/// How many bytes to read at a futex address to judge it.
pub const WINDOW: usize = 40;

/// `__kind`: the mutex type (normal, recursive, errorcheck, adaptive).
pub const KIND_TYPE_MASK: u32 = 0x3;
/// `__kind`: PTHREAD_MUTEX_ROBUST_NORMAL_NP.
pub const KIND_ROBUST: u32 = 0x10;
/// `__kind`: PTHREAD_MUTEX_PRIO_INHERIT_NP.
pub const KIND_PI: u32 = 0x20;
/// `__kind`: PTHREAD_MUTEX_PRIO_PROTECT_NP.
pub const KIND_PP: u32 = 0x40;
/// `__kind`: PTHREAD_MUTEX_PSHARED_BIT (glibc also sets it on every robust mutex).
pub const KIND_PSHARED: u32 = 0x80;
/// `__kind`: elision bits (PTHREAD_MUTEX_ELISION_NP, PTHREAD_MUTEX_NO_ELISION_NP).
const KIND_ELISION: u32 = 0x100 | 0x200;
/// `__kind`: the priority ceiling of a PRIO_PROTECT mutex.
const KIND_CEILING: u32 = 0xfff8_0000;

/// Robust and PI lock words: the owner's tid, and two flags the kernel and glibc set.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// `__owner` after EOWNERDEAD until pthread_mutex_consistent, and once it can never be locked.
pub const OWNER_INCONSISTENT: i32 = 0x7fff_ffff;
pub const OWNER_NOTRECOVERABLE: i32 = 0x7fff_fffe;

/// futex(2) operations that block, after masking off FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME.
pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
pub const FUTEX_LOCK_PI2: u32 = 13;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CMD_MASK: u32 = !(128 | 256);

/// The blocking command of a futex op, or None for ops that do not wait.
pub fn waiting_command(op: u32) -> Option<u32> {
    let cmd = op & FUTEX_CMD_MASK;
    matches!(
        cmd,
        FUTEX_WAIT | FUTEX_LOCK_PI | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
    )
    .then_some(cmd)
}

/// The name of a futex op as futex(2) spells it.
pub fn op_name(op: u32) -> String {
    let base = match op & FUTEX_CMD_MASK {
        FUTEX_WAIT => "FUTEX_WAIT".to_string(),
        FUTEX_LOCK_PI => "FUTEX_LOCK_PI".to_string(),
        FUTEX_WAIT_BITSET => "FUTEX_WAIT_BITSET".to_string(),
        FUTEX_WAIT_REQUEUE_PI => "FUTEX_WAIT_REQUEUE_PI".to_string(),
        FUTEX_LOCK_PI2 => "FUTEX_LOCK_PI2".to_string(),
        n => format!("futex op {n}"),
    };
    if op & FUTEX_PRIVATE_FLAG != 0 {
        format!("{base}_PRIVATE")
    } else {
        base
    }
}

/// A glibc mutex, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutex {
    pub lock: u32,
    pub count: u32,
    /// `__owner` as stored (a tid, 0, or one of the OWNER_* markers).
    pub owner_field: i32,
    pub nusers: u32,
    pub kind: u32,
    /// The tid that holds it: from the lock word for robust and PI mutexes (the kernel reads
    /// it there too), from `__owner` otherwise. None when no owner is recorded.
    pub owner: Option<i32>,
}

impl Mutex {
    pub fn robust(&self) -> bool {
        self.kind & KIND_ROBUST != 0
    }
    pub fn pi(&self) -> bool {
        self.kind & KIND_PI != 0
    }
    pub fn pshared(&self) -> bool {
        self.kind & KIND_PSHARED != 0
    }
    /// The kernel marked the word: its owner died holding it (robust list cleanup).
    pub fn owner_died_marked(&self) -> bool {
        (self.robust() || self.pi()) && self.lock & FUTEX_OWNER_DIED != 0
    }
    /// The mutex type, as pthread_mutexattr_settype names it.
    pub fn type_name(&self) -> &'static str {
        match self.kind & KIND_TYPE_MASK {
            0 => "normal",
            1 => "recursive",
            2 => "errorcheck",
            _ => "adaptive",
        }
    }
}

/// What a futex word is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    Mutex(Mutex),
    /// A glibc `sem_t`: its value and how many waiters it counts.
    Semaphore {
        value: u32,
        waiters: u32,
    },
    /// A glibc `pthread_cond_t`, waited on through `__g_signals[group]`; `waiters` from
    /// `__wrefs`.
    Condvar {
        group: u32,
        waiters: u32,
        pshared: bool,
    },
    /// Anything else: a condition variable, a barrier, a hand-rolled lock, …
    Futex {
        word: u32,
    },
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decode `bytes` (read at the futex address) as a glibc mutex, if they can be one for a thread
/// waiting with futex command `cmd` and expected value `val`.
///
/// A mutex's futex word is its first member, so the bytes start at the mutex. Rules:
/// - `__kind` has no bits glibc does not define (a ceiling only with PRIO_PROTECT);
/// - robust and PI: the word holds a tid (or the owner-died flag), the waiter's expected value is
///   the word it saw, and `__owner` is that tid or one of glibc's markers (or, once the kernel
///   marked the owner dead, the dead one);
/// - normal: the word is 1 or 2, a FUTEX_WAIT waiter expects 2 (glibc's "locked, with
///   waiters"), `__owner` is a tid, and `__nusers` counts at least the holder.
pub fn decode_mutex(bytes: &[u8], cmd: u32, val: u32) -> Option<Mutex> {
    let lock = u32_at(bytes, 0)?;
    let count = u32_at(bytes, 4)?;
    let owner_field = u32_at(bytes, 8)? as i32;
    let nusers = u32_at(bytes, 12)?;
    let kind = u32_at(bytes, 16)?;
    let known = KIND_TYPE_MASK | KIND_ROBUST | KIND_PI | KIND_PP | KIND_PSHARED | KIND_ELISION;
    let ceiling_ok = kind & KIND_CEILING == 0 || kind & KIND_PP != 0;
    if kind & !(known | KIND_CEILING) != 0 || !ceiling_ok {
        return None;
    }
    let marker = matches!(owner_field, OWNER_INCONSISTENT | OWNER_NOTRECOVERABLE);
    let pi = kind & KIND_PI != 0;
    let robust = kind & KIND_ROBUST != 0;
    let owner = if pi || robust {
        let tid = (lock & FUTEX_TID_MASK) as i32;
        let waits_on_word = match cmd {
            FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => pi,
            FUTEX_WAIT | FUTEX_WAIT_BITSET => !pi && val & FUTEX_TID_MASK == lock & FUTEX_TID_MASK,
            _ => false,
        };
        if !waits_on_word || (tid == 0 && lock & FUTEX_OWNER_DIED == 0) {
            return None;
        }
        // After the kernel marked a dead owner, `__owner` still names it.
        let died = lock & FUTEX_OWNER_DIED != 0;
        if owner_field != tid && owner_field != 0 && !marker && !died {
            return None;
        }
        (tid != 0).then_some(tid)
    } else {
        let plain_wait = matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET) && val == 2;
        if !plain_wait || !(lock == 1 || lock == 2) || nusers == 0 {
            return None;
        }
        if owner_field <= 0 && !marker {
            return None;
        }
        (owner_field > 0 && !marker).then_some(owner_field)
    };
    Some(Mutex {
        lock,
        count,
        owner_field,
        nusers,
        kind,
        owner,
    })
}

/// Whether the bytes look like a glibc semaphore a `sem_wait` is blocked on: it waits with
/// FUTEX_WAIT_BITSET for the value 0, the value is 0, the waiter count is at least 1, and the
/// `private` member is one of the two values glibc stores (0, or FUTEX_PRIVATE_FLAG for shared).
pub fn looks_like_semaphore(bytes: &[u8], cmd: u32, val: u32) -> bool {
    let (Some(value), Some(waiters), Some(private)) =
        (u32_at(bytes, 0), u32_at(bytes, 4), u32_at(bytes, 8))
    else {
        return false;
    };
    cmd == FUTEX_WAIT_BITSET
        && val == 0
        && value == 0
        && waiters >= 1
        && (private == 0 || private == FUTEX_PRIVATE_FLAG)
}

/// Whether the futex word is one of a glibc condition variable's `__g_signals`, judged from the
/// bytes just before it (`before` ends at the futex address): `pthread_cond_wait` sleeps with
/// FUTEX_WAIT_BITSET expecting 0 on `__g_signals[g]`, having added 8 to `__wrefs` and 2 to
/// `__g_refs[g]`. (glibc 2.36's layout; other versions fail these checks and stay `futex`.)
pub fn condvar(before: &[u8], word: u32, cmd: u32, val: u32) -> Option<Word> {
    if cmd != FUTEX_WAIT_BITSET || val != 0 || word & 1 != 0 {
        return None;
    }
    (0..2u32).find_map(|g| {
        // The condvar starts 40 + 4g bytes before the word.
        let start = before.len().checked_sub(40 + 4 * g as usize)?;
        let cond = &before[start..];
        let refs = u32_at(cond, 16 + 4 * g as usize)?;
        let wrefs = u32_at(cond, 36)?;
        (refs >= 2 && wrefs >> 3 >= 1 && wrefs >> 3 < 1 << 24).then_some(Word::Condvar {
            group: g,
            waiters: wrefs >> 3,
            pshared: wrefs & 1 != 0,
        })
    })
}

/// Judge a futex word from `bytes` (read at its address) and `before` (up to 48 bytes that end
/// there, for condition variables). `named_semaphore`: the object is a POSIX named semaphore
/// (`/dev/shm/sem.NAME`) and the address is its start, which settles it. A word that passes both
/// the semaphore and the condition-variable tests is called a plain futex.
pub fn judge(before: &[u8], bytes: &[u8], op: u32, val: u32, named_semaphore: bool) -> Word {
    let cmd = op & FUTEX_CMD_MASK;
    let word = u32_at(bytes, 0).unwrap_or(0);
    if named_semaphore {
        return Word::Semaphore {
            value: word,
            waiters: u32_at(bytes, 4).unwrap_or(0),
        };
    }
    if let Some(m) = decode_mutex(bytes, cmd, val) {
        return Word::Mutex(m);
    }
    let cond = condvar(before, word, cmd, val);
    let sem = looks_like_semaphore(bytes, cmd, val);
    match (sem, cond) {
        (true, None) => Word::Semaphore {
            value: word,
            waiters: u32_at(bytes, 4).unwrap_or(0),
        },
        (false, Some(c)) => c,
        _ => Word::Futex { word },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutex_bytes(lock: u32, count: u32, owner: i32, nusers: u32, kind: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [lock, count, owner as u32, nusers, kind] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(WINDOW, 0);
        b
    }

    // Captured from a waiter on a process-shared normal mutex held by tid 992:
    // futex(addr, FUTEX_WAIT, 2) over 02 00 00 00 | 00 | e0 03 00 00 | 01 | 80.
    #[test]
    fn a_pshared_normal_mutex() {
        let b = mutex_bytes(2, 0, 992, 1, 0x80);
        let Word::Mutex(m) = judge(&[], &b, 0, 2, false) else {
            panic!("not a mutex")
        };
        assert_eq!(m.owner, Some(992));
        assert!(m.pshared() && !m.robust() && !m.pi());
        assert_eq!(m.type_name(), "normal");
    }

    // Captured: a robust mutex held by tid 1207 with a waiter; the waiter's expected value is
    // the word it saw, 0x800004b7.
    #[test]
    fn a_robust_mutex() {
        let b = mutex_bytes(0x8000_04b7, 1, 0x4b7, 1, 0x90);
        let Word::Mutex(m) = judge(&[], &b, 0, 0x8000_04b7, false) else {
            panic!("not a mutex")
        };
        assert_eq!(m.owner, Some(0x4b7));
        assert!(m.robust() && m.pshared() && !m.owner_died_marked());
    }

    #[test]
    fn a_robust_mutex_the_kernel_marked() {
        let b = mutex_bytes(FUTEX_WAITERS | FUTEX_OWNER_DIED, 1, 0x4b7, 1, 0x90);
        let Word::Mutex(m) = judge(&[], &b, 0, FUTEX_WAITERS | FUTEX_OWNER_DIED, false) else {
            panic!("not a mutex")
        };
        assert_eq!(m.owner, None);
        assert!(m.owner_died_marked());
    }

    #[test]
    fn a_pi_mutex_waiter_uses_lock_pi() {
        let b = mutex_bytes(0x8000_0100, 0, 0x100, 1, 0xa0);
        let Word::Mutex(m) = judge(&[], &b, FUTEX_LOCK_PI, 0, false) else {
            panic!("not a mutex")
        };
        assert!(m.pi());
        assert_eq!(m.owner, Some(0x100));
    }

    #[test]
    fn an_unknown_kind_bit_is_not_a_mutex() {
        let b = mutex_bytes(2, 0, 992, 1, 0x80 | 0x400);
        assert_eq!(judge(&[], &b, 0, 2, false), Word::Futex { word: 2 });
    }

    #[test]
    fn a_word_waited_on_with_another_value_is_not_a_normal_mutex() {
        // A hand-rolled lock: word 1, the waiter expects 1.
        let b = mutex_bytes(1, 0, 992, 1, 0);
        assert_eq!(judge(&[], &b, 0, 1, false), Word::Futex { word: 1 });
    }

    #[test]
    fn a_normal_mutex_without_an_owner_tid_is_not_believed() {
        let b = mutex_bytes(2, 0, 0, 1, 0x80);
        assert_eq!(judge(&[], &b, 0, 2, false), Word::Futex { word: 2 });
    }

    // Captured from sem_wait on a process-shared semaphore (value 0, one waiter, private = 128):
    // futex(addr, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 0).
    #[test]
    fn a_semaphore() {
        let mut b = vec![0u8; WINDOW];
        b[4] = 1;
        b[8] = 0x80;
        assert_eq!(
            judge(&[], &b, 0x109, 0, false),
            Word::Semaphore {
                value: 0,
                waiters: 1
            }
        );
        // The same bytes waited on with plain FUTEX_WAIT are not what sem_wait does.
        assert_eq!(judge(&[], &b, 0, 0, false), Word::Futex { word: 0 });
    }

    #[test]
    fn a_named_semaphore_is_a_semaphore_whatever_its_bytes() {
        let b = vec![0u8; 16];
        assert!(matches!(
            judge(&[], &b, 0x189, 0, true),
            Word::Semaphore { .. }
        ));
    }

    // Captured: pthread_cond_wait on a process-shared condvar with one waiter; the futex is
    // __g_signals[0], 40 bytes in: wseq 2, g_refs {2, 0}, wrefs 9.
    #[test]
    fn a_condition_variable() {
        let words: [u32; 12] = [2, 0, 0, 0, 2, 0, 0, 0, 0, 9, 0, 0];
        let cond: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let (before, at) = cond.split_at(40);
        assert_eq!(
            judge(before, at, 0x109, 0, false),
            Word::Condvar {
                group: 0,
                waiters: 1,
                pshared: true
            }
        );
        // Without the bytes before it, it is only a futex.
        assert_eq!(judge(&[], at, 0x109, 0, false), Word::Futex { word: 0 });
    }

    #[test]
    fn a_word_that_could_be_a_semaphore_or_a_condvar_is_a_futex() {
        let words: [u32; 14] = [2, 0, 0, 0, 2, 0, 0, 0, 0, 9, 0, 1, 0x80, 0];
        let b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let (before, at) = b.split_at(40);
        assert_eq!(judge(before, at, 0x109, 0, false), Word::Futex { word: 0 });
    }

    #[test]
    fn a_short_read_is_a_plain_futex() {
        assert_eq!(judge(&[], &[2, 0], 0, 2, false), Word::Futex { word: 0 });
    }

    #[test]
    fn op_names() {
        assert_eq!(op_name(0x80), "FUTEX_WAIT_PRIVATE");
        assert_eq!(op_name(0x109), "FUTEX_WAIT_BITSET");
        assert_eq!(waiting_command(1), None);
        assert_eq!(waiting_command(0x189), Some(FUTEX_WAIT_BITSET));
    }
}
