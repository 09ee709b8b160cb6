//! The live state of one System V semaphore set or message queue, read without changing it:
//! semctl GETVAL/GETPID/GETNCNT/GETZCNT, msgctl IPC_STAT, and msgrcv with MSG_COPY (a copy of
//! a message, which stays in the queue; the queue's last-receiver pid and time are not touched).
//! None of these calls needs more than read permission, and none takes, sets or waits.

use crate::model::{MsgQueue, Semaphore};
use std::io::Error;

/// What stopped a read of a set or queue.
#[derive(Debug)]
pub enum StateError {
    /// It was removed (or its id never existed).
    Gone,
    /// We may not read it.
    Denied,
    /// The kernel cannot copy messages without taking them (built without
    /// CONFIG_CHECKPOINT_RESTORE, which MSG_COPY needs).
    NoCopy,
    /// A message is larger than the kernel will copy now (msgmax was lowered after it was sent).
    TooBig(u64),
    Other(Error),
}

fn classify(e: Error) -> StateError {
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::EIDRM) => StateError::Gone,
        Some(libc::EACCES | libc::EPERM) => StateError::Denied,
        Some(libc::ENOSYS) => StateError::NoCopy,
        _ => StateError::Other(e),
    }
}

/// One semctl command on one semaphore that takes no fourth argument.
fn semctl(semid: i64, num: u64, cmd: libc::c_int) -> Result<i32, StateError> {
    let id = i32::try_from(semid).map_err(|_| StateError::Gone)?;
    let num = i32::try_from(num).map_err(|_| StateError::Gone)?;
    // SAFETY: GETVAL, GETPID, GETNCNT and GETZCNT read one number and write nothing of ours.
    let r = unsafe { libc::semctl(id, num, cmd) };
    if r < 0 {
        return Err(classify(Error::last_os_error()));
    }
    Ok(r)
}

/// Every semaphore of a set of `nsems`: value, last pid, and the processes waiting for it to
/// grow (ncnt) or reach zero (zcnt). One semaphore at a time (GETVAL rather than GETALL): no
/// buffer sized from a count that could be stale by the time the kernel fills it.
pub fn semaphores(semid: i64, nsems: u64) -> Result<Vec<Semaphore>, StateError> {
    (0..nsems)
        .map(|num| {
            Ok(Semaphore {
                num,
                value: semctl(semid, num, libc::GETVAL)?,
                pid: semctl(semid, num, libc::GETPID)?,
                ncnt: semctl(semid, num, libc::GETNCNT)?,
                zcnt: semctl(semid, num, libc::GETZCNT)?,
            })
        })
        .collect()
}

fn msqid_ds(msqid: i64) -> Result<libc::msqid_ds, StateError> {
    let id = i32::try_from(msqid).map_err(|_| StateError::Gone)?;
    // SAFETY: an all-zero msqid_ds is a valid value of a plain C struct.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one msqid_ds, which we own.
    if unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return Err(classify(Error::last_os_error()));
    }
    Ok(ds)
}

/// A queue's counts and times (IPC_STAT; needs read permission).
// time_t and msgqnum_t are narrower on 32-bit targets: the casts are not always no-ops.
#[allow(clippy::unnecessary_cast)]
pub fn queue(msqid: i64) -> Result<MsgQueue, StateError> {
    let ds = msqid_ds(msqid)?;
    let t = |t: libc::time_t| (t != 0).then_some(t as i64);
    Ok(MsgQueue {
        qnum: ds.msg_qnum as u64,
        qbytes: Some(ds.msg_qbytes as u64),
        cbytes: ds.__msg_cbytes,
        lspid: ds.msg_lspid,
        lrpid: ds.msg_lrpid,
        stime: t(ds.msg_stime),
        rtime: t(ds.msg_rtime),
        ctime: t(ds.msg_ctime),
    })
}

/// One message copied out of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Its place in the queue, 0 first.
    pub index: u64,
    pub mtype: i64,
    pub text: Vec<u8>,
}

/// The largest message the kernel will copy now (kernel.msgmax).
fn msgmax() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/msgmax")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(8192)
}

/// Copies of the messages of a queue, oldest first, leaving the queue as it was. A queue that
/// shrinks meanwhile ends the copy early; one that grows is copied as far as it was long at
/// the start.
#[allow(clippy::unnecessary_cast)]
pub fn copy_messages(msqid: i64) -> Result<Vec<Copied>, StateError> {
    let id = i32::try_from(msqid).map_err(|_| StateError::Gone)?;
    let qnum = msqid_ds(msqid)?.msg_qnum as u64;
    let max = msgmax();
    // struct msgbuf: a long mtype, then the text.
    let head = std::mem::size_of::<libc::c_long>();
    let mut buf = vec![0u8; head + max];
    let mut out = Vec::new();
    for index in 0..qnum {
        // SAFETY: msgrcv writes at most `max` text bytes after the mtype into `buf`, which has
        // room for both. MSG_COPY takes no message; IPC_NOWAIT never sleeps.
        let n = unsafe {
            libc::msgrcv(
                id,
                buf.as_mut_ptr().cast(),
                max,
                index as libc::c_long,
                libc::IPC_NOWAIT | libc::MSG_COPY,
            )
        };
        if n < 0 {
            let e = Error::last_os_error();
            return match e.raw_os_error() {
                // Fewer messages than when we started: someone received them.
                Some(libc::ENOMSG) => Ok(out),
                Some(libc::E2BIG) => Err(StateError::TooBig(index)),
                _ => Err(classify(e)),
            };
        }
        out.push(Copied {
            index,
            mtype: libc::c_long::from_ne_bytes(buf[..head].try_into().unwrap_or_default()) as i64,
            text: buf[head..head + n as usize].to_vec(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_set_or_queue_is_gone() {
        // Ids are never negative; the kernel says EINVAL.
        assert!(matches!(semaphores(-5, 1), Err(StateError::Gone)));
        assert!(matches!(queue(-5), Err(StateError::Gone)));
        assert!(matches!(copy_messages(i64::MAX), Err(StateError::Gone)));
        assert!(semaphores(-5, 0).unwrap().is_empty());
    }
}
