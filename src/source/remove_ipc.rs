//! Removing System V semaphore sets and message queues (IPC_RMID), each re-checked at the last
//! moment: ids are reused, and a set or queue used since it was listed is no longer a leak.

use super::remove::Refusal;

/// What identifies a semaphore set, and the evidence its verdict rested on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemIdentity {
    pub semid: i32,
    pub key: u32,
    pub ctime: i64,
    /// Last semop when listed (0: never): any operation since moves it.
    pub otime: i64,
    /// The last operating pid of each semaphore when listed.
    pub last_pids: Vec<i32>,
}

/// What identifies a message queue, and the evidence its verdict rested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgIdentity {
    pub msqid: i32,
    pub key: u32,
    pub ctime: i64,
    pub stime: i64,
    pub rtime: i64,
    pub lspid: i32,
    pub lrpid: i32,
}

fn refusal(e: nix::Error) -> Refusal {
    match e {
        nix::Error::EINVAL | nix::Error::EIDRM | nix::Error::ENOENT => Refusal::Gone,
        nix::Error::EPERM | nix::Error::EACCES => Refusal::NotPermitted,
        other => Refusal::Os(other.desc().to_string()),
    }
}

fn changed(what: Vec<&str>, noun: &str, id: i32) -> Result<(), Refusal> {
    if what.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Os(format!(
            "{noun} {id} is not as listed ({} changed); left alone",
            what.join(", ")
        )))
    }
}

/// The identity of a semaphore set now (IPC_STAT and GETPID; both only read).
pub fn sem_now(semid: i32) -> Result<SemIdentity, Refusal> {
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one semid_ds, which we own.
    let r = unsafe { libc::semctl(semid, 0, libc::IPC_STAT, &mut ds as *mut libc::semid_ds) };
    if r != 0 {
        return Err(refusal(nix::Error::last()));
    }
    let last_pids = (0..ds.sem_nsems as u64)
        .map(|n| super::ipc::sem_last_pid(semid as i64, n).unwrap_or(-1))
        .collect();
    Ok(SemIdentity {
        semid,
        key: ds.sem_perm.__key as u32,
        ctime: ds.sem_ctime,
        otime: ds.sem_otime,
        last_pids,
    })
}

/// Remove a listed semaphore set if it is the same set, untouched since it was listed.
pub fn remove_sem(listed: &SemIdentity) -> Result<(), Refusal> {
    let now = sem_now(listed.semid)?;
    let mut what = Vec::new();
    if now.key != listed.key {
        what.push("key");
    }
    if now.ctime != listed.ctime {
        what.push("change time");
    }
    if now.otime != listed.otime || now.last_pids != listed.last_pids {
        what.push("last operation (it was used since it was listed)");
    }
    changed(what, "semid", listed.semid)?;
    // SAFETY: IPC_RMID takes no buffer.
    if unsafe { libc::semctl(listed.semid, 0, libc::IPC_RMID) } != 0 {
        return Err(refusal(nix::Error::last()));
    }
    Ok(())
}

/// The identity of a message queue now (IPC_STAT).
pub fn msg_now(msqid: i32) -> Result<MsgIdentity, Refusal> {
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one msqid_ds, which we own.
    if unsafe { libc::msgctl(msqid, libc::IPC_STAT, &mut ds) } != 0 {
        return Err(refusal(nix::Error::last()));
    }
    Ok(MsgIdentity {
        msqid,
        key: ds.msg_perm.__key as u32,
        ctime: ds.msg_ctime,
        stime: ds.msg_stime,
        rtime: ds.msg_rtime,
        lspid: ds.msg_lspid,
        lrpid: ds.msg_lrpid,
    })
}

/// Remove a listed message queue if it is the same queue, unused since it was listed.
pub fn remove_msg(listed: &MsgIdentity) -> Result<(), Refusal> {
    let now = msg_now(listed.msqid)?;
    let mut what = Vec::new();
    if now.key != listed.key {
        what.push("key");
    }
    if now.ctime != listed.ctime {
        what.push("change time");
    }
    if (now.stime, now.rtime, now.lspid, now.lrpid)
        != (listed.stime, listed.rtime, listed.lspid, listed.lrpid)
    {
        what.push("last send or receive (it was used since it was listed)");
    }
    changed(what, "msqid", listed.msqid)?;
    // SAFETY: IPC_RMID takes no buffer.
    if unsafe { libc::msgctl(listed.msqid, libc::IPC_RMID, std::ptr::null_mut()) } != 0 {
        return Err(refusal(nix::Error::last()));
    }
    Ok(())
}
