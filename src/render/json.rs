//! The JSON vocabulary every command shares (doc/schema/README.md): the same name for the same
//! thing, and every point in time in two forms, `NAME_unix` (whole seconds since the epoch) and
//! `NAME_iso` (RFC 3339 in UTC). The older bare names (`atime`, `time`, …) stay as deprecated
//! aliases so that scripts written against them keep working.

use crate::model::{MsgQueue, Segment, TraceEvent};
use serde::Serialize;

/// Whole seconds since the epoch as `2026-11-23T09:41:56Z`.
pub fn iso_seconds(secs: i64) -> String {
    let full = crate::units::rfc3339(i128::from(secs) * 1_000_000_000);
    match full.split_once('.') {
        Some((whole, _)) => format!("{whole}Z"),
        None => full,
    }
}

/// One point in time in both forms; `null` in both when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instant {
    pub unix: Option<i64>,
    pub iso: Option<String>,
}

impl Instant {
    pub fn from_secs(secs: Option<i64>) -> Instant {
        Instant {
            unix: secs,
            iso: secs.map(iso_seconds),
        }
    }
}

/// An `ls` row or `show`'s object: the model's fields, plus the owner's name (as the table's
/// OWNER column shows it) and each time in both forms.
#[derive(Debug, Serialize)]
pub struct SegmentJson<'a> {
    #[serde(flatten)]
    pub seg: &'a Segment,
    /// The owner's user name; `null` when the uid has none (or is unknown).
    pub user: Option<String>,
    pub atime_unix: Option<i64>,
    pub atime_iso: Option<String>,
    pub dtime_unix: Option<i64>,
    pub dtime_iso: Option<String>,
    pub ctime_unix: Option<i64>,
    pub ctime_iso: Option<String>,
}

impl<'a> SegmentJson<'a> {
    /// `user_name` gives a uid's name, or None when it has none.
    pub fn new(seg: &'a Segment, user_name: &dyn Fn(u32) -> Option<String>) -> SegmentJson<'a> {
        let [a, d, c] = [seg.atime, seg.dtime, seg.ctime].map(Instant::from_secs);
        SegmentJson {
            seg,
            user: seg.uid.and_then(user_name),
            atime_unix: a.unix,
            atime_iso: a.iso,
            dtime_unix: d.unix,
            dtime_iso: d.iso,
            ctime_unix: c.unix,
            ctime_iso: c.iso,
        }
    }
}

/// A System V message queue's counts as `show msg:ID --json` gives them (`queue`): each time
/// also as `_unix` and `_iso` (`stime`, `rtime`, `ctime`: the same seconds, deprecated).
#[derive(Debug, Serialize)]
pub struct MsgQueueJson<'a> {
    #[serde(flatten)]
    pub queue: &'a MsgQueue,
    pub stime_unix: Option<i64>,
    pub stime_iso: Option<String>,
    pub rtime_unix: Option<i64>,
    pub rtime_iso: Option<String>,
    pub ctime_unix: Option<i64>,
    pub ctime_iso: Option<String>,
}

impl<'a> From<&'a MsgQueue> for MsgQueueJson<'a> {
    fn from(queue: &'a MsgQueue) -> MsgQueueJson<'a> {
        let [s, r, c] = [queue.stime, queue.rtime, queue.ctime].map(Instant::from_secs);
        MsgQueueJson {
            queue,
            stime_unix: s.unix,
            stime_iso: s.iso,
            rtime_unix: r.unix,
            rtime_iso: r.iso,
            ctime_unix: c.unix,
            ctime_iso: c.iso,
        }
    }
}

/// The rows of `ls --json`: a JSON array written one row at a time, each row's names and times
/// made as it is written (200,000 rows are not held a second time, as JSON objects).
pub fn segments<'a>(
    rows: &'a [Segment],
    user_name: &'a dyn Fn(u32) -> Option<String>,
) -> Segments<'a> {
    Segments { rows, user_name }
}

/// See [`segments`].
pub struct Segments<'a> {
    rows: &'a [Segment],
    user_name: &'a dyn Fn(u32) -> Option<String>,
}

impl Serialize for Segments<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.rows
                .iter()
                .map(|row| SegmentJson::new(row, self.user_name)),
        )
    }
}

/// A trace event as `trace --json`, `trace --log` and `history --json` write it, as one line
/// of JSON (`\n` included) appended to `buf`: the model's fields (`time` among them,
/// deprecated) plus `time_unix` and `time_iso`, as [`crate::render::write_json_compact`] would
/// write the model flattened into a struct with those two (the tests' `EventJson`).
///
/// Written field by field rather than through serde_json, which was too slow here: under
/// scripts/shm_churn.c's worst-case loop (about 300,000 events/s) `trace --json` used 0.83-1.04 s
/// of CPU in 3 s against 0.46-0.52 s for `--quiet`, most of the difference in escaping each of
/// the 18 keys and their values through the flattened struct's map. The keys here are
/// constants and a value is scanned once. The tracer's CPU per event in the same loop: 1.2 µs
/// before, 0.83 µs with this writer (4 alternating runs of 3 s each, medians). The test
/// `the_event_writer_writes_what_serde_writes` holds it to serde's bytes over random events.
pub fn push_event_line(buf: &mut Vec<u8>, e: &TraceEvent) {
    let mut num = itoa::Buffer::new();
    // `,"KEY":` before every value but the first.
    let field = |buf: &mut Vec<u8>, key: &str| {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(key.as_bytes());
        buf.extend_from_slice(b"\":");
    };
    buf.extend_from_slice(b"{\"time\":");
    push_str(buf, &e.time);
    field(buf, "mono_ns");
    push_int(buf, &mut num, Some(e.mono_ns));
    field(buf, "event");
    push_str(buf, &e.event);
    field(buf, "pid");
    push_int(buf, &mut num, Some(e.pid));
    field(buf, "tid");
    push_int(buf, &mut num, Some(e.tid));
    field(buf, "comm");
    push_str(buf, &e.comm);
    field(buf, "uid");
    push_int(buf, &mut num, Some(e.uid));
    field(buf, "user");
    push_str(buf, &e.user);
    field(buf, "container");
    push_opt_str(buf, e.container.as_deref());
    field(buf, "kind");
    push_str(buf, &e.kind);
    field(buf, "id");
    push_int(buf, &mut num, e.id);
    field(buf, "key");
    push_opt_str(buf, e.key.as_deref());
    field(buf, "path");
    push_opt_str(buf, e.path.as_deref());
    field(buf, "size");
    push_int(buf, &mut num, e.size);
    field(buf, "addr");
    push_opt_str(buf, e.addr.as_deref());
    field(buf, "detail");
    push_opt_str(buf, e.detail.as_deref());
    field(buf, "time_unix");
    push_int(buf, &mut num, super::trace::parse_rfc3339_secs(&e.time));
    field(buf, "time_iso");
    push_str(buf, &e.time);
    buf.extend_from_slice(b"}\n");
}

/// A number, or `null`.
fn push_int<I: itoa::Integer>(buf: &mut Vec<u8>, num: &mut itoa::Buffer, n: Option<I>) {
    match n {
        Some(n) => buf.extend_from_slice(num.format(n).as_bytes()),
        None => buf.extend_from_slice(b"null"),
    }
}

fn push_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(buf, s),
        None => buf.extend_from_slice(b"null"),
    }
}

/// A JSON string as serde_json escapes it (`\"`, `\\`, the short escapes of C0 controls,
/// `\u00XX` for the other C0 controls), the text between those escapes passed through
/// [`super::write_safe_fragment`] as serde_json's own fragments are.
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    // Nearly every value needs no escape: tested without an early exit, which the compiler
    // turns into a vector loop, then copied whole.
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    if bytes.iter().fold(true, |all, &b| all & plain(b)) {
        buf.extend_from_slice(bytes);
        buf.push(b'"');
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Writing to a Vec cannot fail.
    let text = |buf: &mut Vec<u8>, t: &str| {
        let _ = super::write_safe_fragment(buf, t);
    };
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Its short escape, None for a C0 control that has none.
        let short: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0a => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            0x0d => Some(b"\\r"),
            0..=0x1f => None,
            _ => continue,
        };
        // `b` is ASCII: `i` is a character boundary.
        text(buf, &s[start..i]);
        match short {
            Some(e) => buf.extend_from_slice(e),
            None => {
                buf.extend_from_slice(b"\\u00");
                buf.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            }
        }
        start = i + 1;
    }
    text(buf, &s[start..]);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use proptest::prelude::*;

    /// The serde form [`push_event_line`] is held to.
    #[derive(Serialize)]
    struct EventJson<'a> {
        #[serde(flatten)]
        event: &'a TraceEvent,
        time_unix: Option<i64>,
        time_iso: Option<String>,
    }

    impl<'a> From<&'a TraceEvent> for EventJson<'a> {
        fn from(event: &'a TraceEvent) -> EventJson<'a> {
            EventJson {
                event,
                time_unix: super::super::trace::parse_rfc3339_secs(&event.time),
                time_iso: Some(event.time.clone()),
            }
        }
    }

    /// Strings with what JSON and terminals need escaped, and plain ones.
    fn text() -> impl Strategy<Value = String> {
        let tricky = prop_oneof![
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('\u{1}'),
            Just('\u{1f}'),
            Just('\u{7f}'),
            Just('\u{9b}'),
            Just('\u{202e}'),
            Just('\u{feff}'),
            Just('é'),
            Just('\u{1f600}'),
            any::<char>(),
            Just('a'),
        ];
        prop_oneof![
            "[ -~]{0,24}",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z",
            prop::collection::vec(tricky, 0..16).prop_map(|v| v.into_iter().collect()),
        ]
    }

    fn event() -> impl Strategy<Value = TraceEvent> {
        let who = (
            text(),
            any::<u64>(),
            text(),
            any::<i32>(),
            any::<i32>(),
            text(),
        );
        let what = (any::<u32>(), text(), proptest::option::of(text()), text());
        let object = (
            proptest::option::of(any::<i64>()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        );
        (who, what, object).prop_map(
            |(
                (time, mono_ns, event, pid, tid, comm),
                (uid, user, container, kind),
                (id, key, path, size, addr, detail),
            )| TraceEvent {
                time,
                mono_ns,
                event,
                pid,
                tid,
                comm,
                uid,
                user,
                container,
                kind,
                id,
                key,
                path,
                size,
                addr,
                detail,
            },
        )
    }

    proptest! {
        #[test]
        fn the_event_writer_writes_what_serde_writes(e in event()) {
            let mut want = Vec::new();
            crate::render::write_json_compact(&mut want, &EventJson::from(&e)).unwrap();
            want.push(b'\n');
            let mut got = b"left alone".to_vec();
            push_event_line(&mut got, &e);
            prop_assert_eq!(String::from_utf8_lossy(&got[10..]), String::from_utf8_lossy(&want));
            let back: TraceEvent = serde_json::from_slice(&got[10..]).unwrap();
            prop_assert_eq!(back, e);
        }
    }

    #[test]
    fn rows_streamed_are_the_rows_collected() {
        let mut a = Segment::new(Kind::Posix);
        (a.uid, a.ctime) = (Some(0), Some(1_700_000_000));
        let rows = vec![a, Segment::new(Kind::Sysv)];
        let named = |u: u32| (u == 0).then(|| "root".to_string());
        let whole: Vec<SegmentJson> = rows.iter().map(|s| SegmentJson::new(s, &named)).collect();
        assert_eq!(
            serde_json::to_string_pretty(&segments(&rows, &named)).unwrap(),
            serde_json::to_string_pretty(&whole).unwrap()
        );
    }

    #[test]
    fn times_come_in_both_forms_and_agree() {
        assert_eq!(iso_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
        let mut s = Segment::new(Kind::Sysv);
        s.uid = Some(0);
        s.ctime = Some(1_700_000_000);
        let v = serde_json::to_value(SegmentJson::new(&s, &|u| {
            (u == 0).then(|| "root".to_string())
        }))
        .unwrap();
        assert_eq!(v["user"], "root");
        assert_eq!(v["ctime"], 1_700_000_000);
        assert_eq!(v["ctime_unix"], 1_700_000_000);
        assert_eq!(v["ctime_iso"], "2023-11-14T22:13:20Z");
        assert!(v["atime_unix"].is_null() && v["atime_iso"].is_null());
        assert_eq!(v["kind"], "sysv");
        let t = super::super::trace::parse_rfc3339_secs("2023-11-14T22:13:20.123Z");
        assert_eq!(t, Some(1_700_000_000));
    }
}
