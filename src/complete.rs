//! Dynamic shell completions: live shmids, keys, pids (with their command names), /dev/shm
//! names, kinds and columns, for bash, zsh, fish (and elvish, PowerShell).
//!
//! The shell asks the binary itself at each Tab (clap_complete's `CompleteEnv`): the script a
//! user sources is `SHMTOOL_COMPLETE=bash shmtool` (or zsh, fish), and every completion request
//! runs `shmtool` again with that variable set. Completers are attached here to the real clap
//! definition by argument name, so a command added later with a `--pid`, `--shmid`, `--key`,
//! `--path` or an `ID` gets them without a line here. Completers never fail: whatever cannot be
//! read is left out.

use clap::Command;
use clap_complete::engine::{
    ArgValueCandidates, ArgValueCompleter, CompletionCandidate, ValueCompleter,
};
use std::ffi::OsStr;
use std::path::Path;

/// The environment variable that turns a run into a completion request.
pub const ENV: &str = "SHMTOOL_COMPLETE";

/// Answer a completion request and exit, when this run is one (see the module docs).
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(ENV)
        .bin("shmtool")
        .complete();
}

/// The command line with live completers attached to every argument that takes an object or a
/// process.
pub fn command() -> Command {
    attach(<crate::cli::Cli as clap::CommandFactory>::command())
}

fn attach(mut cmd: Command) -> Command {
    let sub_name = cmd.get_name().to_string();
    // mut_arg moves an argument to the end, which would renumber positionals: pin their order.
    let positionals: Vec<String> = cmd
        .get_positionals()
        .map(|a| a.get_id().to_string())
        .collect();
    let ids: Vec<(String, Option<String>, bool)> = cmd
        .get_arguments()
        .map(|a| {
            (
                a.get_id().to_string(),
                a.get_value_names()
                    .and_then(|v| v.first())
                    .map(|s| s.to_string()),
                a.is_positional(),
            )
        })
        .collect();
    for (id, value_name, _positional) in ids {
        let what = match (id.as_str(), value_name.as_deref(), sub_name.as_str()) {
            ("output", _, "ls") => Some(Which::Columns),
            ("pid" | "pids" | "ns", _, _) | (_, Some("PID"), _) => Some(Which::Pids),
            ("shmid" | "shmids", _, _) => Some(Which::Shmids),
            ("key" | "keys", _, _) if sub_name != "key" => Some(Which::Keys),
            ("posix", _, _) => Some(Which::PosixNames),
            ("path", _, "dump" | "watch") => Some(Which::ShmPaths),
            ("id", _, "show" | "history") => Some(Which::Ids),
            _ => None,
        };
        if let Some(what) = what {
            cmd = cmd.mut_arg(&id, |a| match what {
                Which::Columns => a.add(ArgValueCompleter::new(columns)),
                Which::ShmPaths => a.add(ArgValueCompleter::new(shm_paths)),
                Which::Pids => a.add(ArgValueCandidates::new(pids)),
                Which::Shmids => a.add(ArgValueCandidates::new(shmids)),
                Which::Keys => a.add(ArgValueCandidates::new(keys)),
                Which::PosixNames => a.add(ArgValueCandidates::new(posix_names)),
                Which::Ids => a.add(ArgValueCandidates::new(ids_for_show)),
            });
        }
    }
    for (i, id) in positionals.iter().enumerate() {
        cmd = cmd.mut_arg(id, |a| {
            if a.get_index().is_none() {
                a.index(i + 1)
            } else {
                a
            }
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, attach);
    }
    cmd
}

#[derive(Clone, Copy)]
enum Which {
    Columns,
    Pids,
    Shmids,
    Keys,
    PosixNames,
    ShmPaths,
    Ids,
}

/// One System V segment as /proc/sysvipc/shm lists it: (key, shmid, size, nattch).
fn segments() -> Vec<(u32, i64, u64, u64)> {
    let Ok(text) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let key = f.first()?.parse::<i64>().ok()? as u32;
            let id = f.get(1)?.parse().ok()?;
            let size = f.get(3)?.parse().ok()?;
            let nattch = f.get(6)?.parse().ok()?;
            Some((key, id, size, nattch))
        })
        .collect()
}

fn shmids() -> Vec<CompletionCandidate> {
    segments()
        .into_iter()
        .map(|(key, id, size, nattch)| {
            CompletionCandidate::new(id.to_string()).help(Some(
                format!(
                    "key 0x{key:08x}, {}, {nattch} attached",
                    crate::units::human_size(size)
                )
                .into(),
            ))
        })
        .collect()
}

fn keys() -> Vec<CompletionCandidate> {
    segments()
        .into_iter()
        .filter(|(key, ..)| *key != 0)
        .map(|(key, id, size, _)| {
            CompletionCandidate::new(format!("0x{key:08x}")).help(Some(
                format!("shmid {id}, {}", crate::units::human_size(size)).into(),
            ))
        })
        .collect()
}

/// Live processes, each with its command name as the description.
fn pids() -> Vec<CompletionCandidate> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let comm = crate::text::escape(comm.trim_end_matches('\n'));
            CompletionCandidate::new(pid.to_string()).help(Some(comm.into()))
        })
        .collect()
}

/// Regular files directly in /dev/shm: (name, size). Names that are not UTF-8 are left out
/// (they cannot be typed back). Listed through the directory's fd, each entry stat'ed relative
/// to it without following a symlink (the root layer's listing): a link planted there is not
/// offered, and nothing outside the directory is looked at.
fn shm_files() -> Vec<(String, u64)> {
    use std::os::fd::AsFd;
    let Ok(dir) = crate::source::Sys::default().open_shm_dir() else {
        return Vec::new();
    };
    let Ok(entries) = crate::source::root::list_dir(dir.as_fd()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = entries
        .into_iter()
        .filter_map(|e| {
            let name = e.name.into_string().ok()?;
            (e.stat.is_file() && !name.chars().any(crate::text::is_unsafe))
                .then_some((name, e.stat.size))
        })
        .collect();
    out.sort();
    out
}

fn posix_names() -> Vec<CompletionCandidate> {
    shm_files()
        .into_iter()
        .map(|(name, size)| {
            CompletionCandidate::new(name).help(Some(crate::units::human_size(size).into()))
        })
        .collect()
}

/// What `show ID` accepts: shmids, keys and /dev/shm names.
fn ids_for_show() -> Vec<CompletionCandidate> {
    let mut all = shmids();
    all.extend(keys());
    all.extend(posix_names());
    all
}

/// `--path`: /dev/shm objects by full path first, then any file (paths are allowed too).
fn shm_paths(current: &OsStr) -> Vec<CompletionCandidate> {
    let cur = current.to_string_lossy();
    let mut out: Vec<CompletionCandidate> = shm_files()
        .into_iter()
        .map(|(name, size)| (format!("/dev/shm/{name}"), size))
        .filter(|(p, _)| p.starts_with(cur.as_ref()))
        .map(|(p, size)| {
            CompletionCandidate::new(p).help(Some(crate::units::human_size(size).into()))
        })
        .collect();
    // A comparison of what was typed with the text "/dev/shm/": nothing is looked up by it.
    if !cur.is_empty() && !Path::new("/dev/shm/").starts_with(cur.as_ref()) || out.is_empty() {
        out.extend(clap_complete::engine::PathCompleter::any().complete(current));
    }
    out
}

/// `ls -o`: column names after the last comma (and an optional leading `+`).
fn columns(current: &OsStr) -> Vec<CompletionCandidate> {
    let cur = current.to_string_lossy();
    let (done, last) = match cur.rfind(',') {
        Some(i) => (&cur[..=i], &cur[i + 1..]),
        None if cur.starts_with('+') => ("+", &cur[1..]),
        None => ("", cur.as_ref()),
    };
    let chosen: Vec<String> = done
        .trim_start_matches('+')
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .collect();
    crate::render::segments::LS_COLUMNS
        .iter()
        .filter(|c| !chosen.iter().any(|x| x == c.name))
        .filter(|c| {
            c.name
                .to_ascii_lowercase()
                .starts_with(&last.to_ascii_lowercase())
        })
        .map(|c| CompletionCandidate::new(format!("{done}{}", c.name)).help(Some(c.about.into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(c: Vec<CompletionCandidate>) -> Vec<String> {
        c.iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn columns_complete_after_the_last_comma() {
        let v = values(columns(OsStr::new("KIND,si")));
        assert_eq!(v, ["KIND,SIZE"]);
        let v = values(columns(OsStr::new("+RS")));
        assert_eq!(v, ["+RSS"]);
        assert!(!values(columns(OsStr::new("KIND,"))).contains(&"KIND,KIND".to_string()));
    }

    #[test]
    fn completers_are_attached_by_argument_name() {
        let cmd = command();
        let has = |sub: &str, arg: &str| {
            let s = cmd.find_subcommand(sub).unwrap();
            let a = s.get_arguments().find(|a| a.get_id() == arg).unwrap();
            a.get::<ArgValueCandidates>().is_some() || a.get::<ArgValueCompleter>().is_some()
        };
        assert!(has("rm", "shmids"));
        assert!(has("rm", "posix"));
        assert!(has("maps", "pid"));
        assert!(has("dump", "pid"));
        assert!(has("dump", "path"));
        assert!(has("show", "id"));
        assert!(has("ls", "output"));
        assert!(!has("key", "path"));
        // Positionals keep their order (pid before addr).
        let mut built = command();
        built.build();
        let dump = built.find_subcommand("dump").unwrap();
        let order: Vec<&str> = dump
            .get_positionals()
            .map(|a| a.get_id().as_str())
            .collect();
        assert_eq!(order, ["pid", "addr"]);
    }
}
