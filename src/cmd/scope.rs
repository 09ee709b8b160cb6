//! The filters `ls` and `rm --stale` share: owner, kind, name glob, age and verdict. An HPC
//! epilogue or a CI runner uses them to touch only one job's objects.

use crate::cli::{KindArg, ScopeArgs, VerdictArg};
use crate::error::Error;
use crate::model::{Kind, Segment, Verdict};
use crate::source::users::Users;
use crate::source::Sys;

impl From<VerdictArg> for Verdict {
    fn from(v: VerdictArg) -> Verdict {
        match v {
            VerdictArg::InUse => Verdict::InUse,
            VerdictArg::Idle => Verdict::Idle,
            VerdictArg::Leaked => Verdict::Leaked,
            VerdictArg::Unknown => Verdict::Unknown,
        }
    }
}

/// Every filter given; an object must pass them all.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub uid: Option<u32>,
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    /// Seconds.
    pub older_than: Option<i64>,
    pub verdicts: Vec<Verdict>,
}

impl Scope {
    pub fn new(
        user: Option<&str>,
        kinds: &[KindArg],
        args: &ScopeArgs,
        verdicts: Vec<Verdict>,
    ) -> Result<Scope, Error> {
        let uid = match user {
            Some(u) => Some(
                Users::resolve(u).ok_or_else(|| Error::BadInput(format!("no such user: {u}")))?,
            ),
            None => None,
        };
        let older_than = match &args.older_than {
            Some(d) => Some(
                crate::units::parse_duration(d)
                    .map_err(|e| Error::BadInput(format!("--older-than: {e}")))?
                    .as_secs() as i64,
            ),
            None => None,
        };
        Ok(Scope {
            uid,
            kinds: kinds.iter().map(|&k| k.into()).collect(),
            name: args.name.clone(),
            older_than,
            verdicts,
        })
    }

    /// Whether `seg` passes every filter; `now` is seconds since the epoch.
    pub fn matches(&self, sys: &Sys, seg: &Segment, now: i64) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&seg.kind))
            && (self.uid.is_none() || seg.uid == self.uid)
            && (self.verdicts.is_empty() || self.verdicts.contains(&seg.verdict))
            && self
                .older_than
                .is_none_or(|d| seg.ctime.is_some_and(|t| now - t >= d))
            && self
                .name
                .as_deref()
                .is_none_or(|g| name_matches(sys, seg, g))
    }
}

/// Whether any of the names an object goes by matches the glob.
fn name_matches(sys: &Sys, seg: &Segment, glob: &str) -> bool {
    let g = |s: &str| crate::units::glob_match(glob, s);
    match seg.kind {
        Kind::Sysv => seg
            .known_key()
            .is_some_and(|k| g(&crate::model::key_string(k))),
        Kind::Memfd => seg
            .path
            .as_deref()
            .is_some_and(|p| g(p) || g(p.strip_prefix("memfd:").unwrap_or(p))),
        _ => {
            let Some(path) = seg.path.as_deref() else {
                return false;
            };
            g(path) || g(&crate::source::inventory::shm_name(sys, seg))
        }
    }
}
