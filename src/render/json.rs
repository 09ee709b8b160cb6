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

    /// From an RFC 3339 UTC stamp (kept as it is, with its fraction of a second).
    pub fn from_iso(stamp: &str) -> Instant {
        Instant {
            unix: super::trace::parse_rfc3339_secs(stamp),
            iso: Some(stamp.to_string()),
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

/// A trace event as `trace --json`, `trace --log` and `history --json` write it: the model's
/// fields (`time` among them, deprecated) plus `time_unix` and `time_iso`.
#[derive(Debug, Serialize)]
pub struct EventJson<'a> {
    #[serde(flatten)]
    pub event: &'a TraceEvent,
    pub time_unix: Option<i64>,
    pub time_iso: Option<String>,
}

impl<'a> From<&'a TraceEvent> for EventJson<'a> {
    fn from(event: &'a TraceEvent) -> EventJson<'a> {
        let t = Instant::from_iso(&event.time);
        EventJson {
            event,
            time_unix: t.unix,
            time_iso: t.iso,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

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
        let t = Instant::from_iso("2023-11-14T22:13:20.123Z");
        assert_eq!(t.unix, Some(1_700_000_000));
    }
}
