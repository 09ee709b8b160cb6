//! What `show` adds for a System V semaphore set (one row per semaphore) or message queue (its
//! counts and limit), and how `dump --msqid` prints the messages it copied.

use super::color::Palette;
use super::hex::{HexWriter, Sink};
use super::table::TableWriter;
use crate::model::{MsgQueue, Semaphore};
use crate::units::local_time;
use std::io::{self, Write};

/// Every semaphore of a set: number, value, last pid, waiters.
pub fn write_semaphores(out: &mut dyn Write, sems: &[Semaphore]) -> io::Result<()> {
    writeln!(out, "\nSemaphores:")?;
    let mut t = TableWriter::new(
        &[
            ("NUM", true),
            ("VALUE", true),
            ("LAST PID", true),
            ("NCNT", true),
            ("ZCNT", true),
        ],
        false,
    )
    .unlimited();
    for s in sems {
        let pid = if s.pid == 0 {
            "-".to_string()
        } else {
            s.pid.to_string()
        };
        t.row(&[
            s.num.to_string(),
            s.value.to_string(),
            pid,
            s.ncnt.to_string(),
            s.zcnt.to_string(),
        ]);
    }
    t.write(out)
}

/// A queue's counts, times and limit.
pub fn write_queue(out: &mut dyn Write, q: &MsgQueue) -> io::Result<()> {
    let pid = |p: i32| {
        if p == 0 {
            "-".to_string()
        } else {
            p.to_string()
        }
    };
    let time = |t: Option<i64>| t.map(local_time).unwrap_or_else(|| "never".into());
    let qbytes = q
        .qbytes
        .map(|b| b.to_string())
        .unwrap_or_else(|| "-".into());
    writeln!(out, "\nQueue:")?;
    writeln!(out, "  qnum    {} message(s)", q.qnum)?;
    writeln!(out, "  cbytes  {} of qbytes {qbytes}", q.cbytes)?;
    writeln!(out, "  lspid   {} at {}", pid(q.lspid), time(q.stime))?;
    writeln!(out, "  lrpid   {} at {}", pid(q.lrpid), time(q.rtime))?;
    writeln!(out, "  ctime   {}", time(q.ctime))
}

/// One copied message as hex, offsets from its first byte, under a line naming it.
pub fn write_message_hex(
    out: &mut dyn Write,
    index: u64,
    mtype: i64,
    text: &[u8],
    pal: Palette,
) -> io::Result<()> {
    writeln!(out, "message {index}: type {mtype}, {} bytes", text.len())?;
    let none = |_: u64| None;
    let mut w = HexWriter::new(0, text.len() as u64, pal, &none);
    w.write(out, text)?;
    w.finish(out)
}

/// One copied message as a JSON Lines record.
#[derive(Debug, serde::Serialize)]
pub struct MessageJson {
    pub msqid: i64,
    pub index: u64,
    pub mtype: i64,
    pub size: u64,
    /// The text as hex digits, two a byte.
    pub hex: String,
}

impl MessageJson {
    pub fn new(msqid: i64, index: u64, mtype: i64, text: &[u8]) -> MessageJson {
        MessageJson {
            msqid,
            index,
            mtype,
            size: text.len() as u64,
            hex: text.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semaphores_and_queues_render() {
        let mut out = Vec::new();
        write_semaphores(
            &mut out,
            &[
                Semaphore {
                    num: 0,
                    value: 3,
                    pid: 4242,
                    ncnt: 1,
                    zcnt: 0,
                },
                Semaphore {
                    num: 1,
                    value: 0,
                    pid: 0,
                    ncnt: 0,
                    zcnt: 2,
                },
            ],
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("LAST PID"), "{text}");
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(3)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["0", "3", "4242", "1", "0"], "{text}");
        assert_eq!(rows[1], ["1", "0", "-", "0", "2"], "{text}");

        let mut out = Vec::new();
        let q = MsgQueue {
            qnum: 2,
            cbytes: 300,
            qbytes: Some(16384),
            lspid: 77,
            lrpid: 0,
            stime: Some(1),
            rtime: None,
            ctime: Some(1),
        };
        write_queue(&mut out, &q).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("qnum    2 message(s)"), "{text}");
        assert!(text.contains("cbytes  300 of qbytes 16384"), "{text}");
        assert!(text.contains("lrpid   - at never"), "{text}");

        let mut out = Vec::new();
        write_message_hex(&mut out, 0, 7, b"hi\x1b[31m", Palette { on: false }).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("message 0: type 7, 7 bytes\n"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let j = MessageJson::new(3, 1, 2, b"\x00\xff");
        assert_eq!(j.hex, "00ff");
    }
}
