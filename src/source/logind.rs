//! systemd-logind's `RemoveIPC=`: when on (the default), logind removes every System V object
//! and POSIX shared-memory file a non-system user owns as soon as that user's last session ends
//! — the classic way a PostgreSQL started from a login shell loses its memory
//! (systemd issues #2039, #4532). This reads whether it is on and where "system" users end.

use std::path::{Path, PathBuf};

pub use crate::model::RemoveIpc;

/// Where the machine's /etc and /usr are: `/`, or `SHMTOOL_SYSCONF_ROOT` (for tests).
pub fn root() -> PathBuf {
    std::env::var_os("SHMTOOL_SYSCONF_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The setting under `root` (`/` normally; tests pass a captured tree). None when logind is not
/// installed: nothing then removes anything at logout.
pub fn read(root: &Path) -> Option<RemoveIpc> {
    let installed = [
        "usr/lib/systemd/systemd-logind",
        "lib/systemd/systemd-logind",
    ]
    .iter()
    .any(|p| root.join(p).exists());
    if !installed {
        return None;
    }
    let mut enabled = true;
    let mut source = None;
    for file in config_files(root) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(v) = parse_remove_ipc(&text) {
                enabled = v;
                source = Some(file.to_string_lossy().into_owned());
            }
        }
    }
    let defs = std::fs::read_to_string(root.join("etc/login.defs")).unwrap_or_default();
    Some(RemoveIpc {
        enabled,
        sys_uid_max: sys_uid_max(&defs),
        source,
    })
}

/// The files logind reads, in the order it applies them: the main file, then drop-ins sorted by
/// name (a name in /etc hides the same name in /run and /usr).
fn config_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["usr/lib/systemd/logind.conf", "etc/systemd/logind.conf"]
        .iter()
        .map(|p| root.join(p))
        .filter(|p| p.exists())
        .collect();
    // logind reads /etc/systemd/logind.conf when it exists, else the one under /usr.
    if files.len() == 2 {
        files.remove(0);
    }
    let mut dropins: std::collections::BTreeMap<std::ffi::OsString, PathBuf> = Default::default();
    for dir in [
        "usr/lib/systemd/logind.conf.d",
        "usr/local/lib/systemd/logind.conf.d",
        "run/systemd/logind.conf.d",
        "etc/systemd/logind.conf.d",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().ends_with(".conf") {
                dropins.insert(name, e.path());
            }
        }
    }
    files.extend(dropins.into_values());
    files
}

/// The last `RemoveIPC=` in the `[Login]` section of one file, if any.
pub fn parse_remove_ipc(text: &str) -> Option<bool> {
    let mut in_login = false;
    let mut value = None;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
            continue;
        }
        if l.starts_with('[') {
            in_login = l == "[Login]";
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        if in_login && k.trim() == "RemoveIPC" {
            value = match v.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" | "on" | "1" | "y" | "t" => Some(true),
                "no" | "false" | "off" | "0" | "n" | "f" => Some(false),
                _ => value,
            };
        }
    }
    value
}

/// SYS_UID_MAX from login.defs text; UID_MIN - 1 without it; 999 without either.
pub fn sys_uid_max(login_defs: &str) -> u32 {
    let get = |name: &str| {
        login_defs.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name))
                .then(|| w.next()?.parse::<u32>().ok())
                .flatten()
        })
    };
    get("SYS_UID_MAX")
        .or_else(|| get("UID_MIN").map(|m| m.saturating_sub(1)))
        .unwrap_or(999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_ipc_settings() {
        assert_eq!(parse_remove_ipc("[Login]\n#RemoveIPC=no\n"), None);
        assert_eq!(parse_remove_ipc("[Login]\nRemoveIPC=no\n"), Some(false));
        assert_eq!(
            parse_remove_ipc("[Login]\nRemoveIPC=no\nRemoveIPC = yes\n"),
            Some(true)
        );
        assert_eq!(parse_remove_ipc("[Other]\nRemoveIPC=no\n"), None);
    }

    #[test]
    fn system_uid_range() {
        let debian = "UID_MIN\t\t\t 1000\n#SYS_UID_MIN\t\t  100\n#SYS_UID_MAX\t\t  999\n";
        assert_eq!(sys_uid_max(debian), 999);
        assert_eq!(sys_uid_max("SYS_UID_MAX 499\nUID_MIN 500\n"), 499);
        assert_eq!(sys_uid_max("UID_MIN 500\n"), 499);
        assert_eq!(sys_uid_max(""), 999);
    }

    #[test]
    fn reads_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(read(root), None);
        std::fs::create_dir_all(root.join("lib/systemd")).unwrap();
        std::fs::write(root.join("lib/systemd/systemd-logind"), "").unwrap();
        let r = read(root).unwrap();
        assert!(r.enabled && r.source.is_none() && r.sys_uid_max == 999);
        assert!(r.at_risk(1000) && !r.at_risk(999) && !r.at_risk(65534));
        std::fs::create_dir_all(root.join("etc/systemd/logind.conf.d")).unwrap();
        std::fs::write(
            root.join("etc/systemd/logind.conf"),
            "[Login]\nRemoveIPC=no\n",
        )
        .unwrap();
        assert!(!read(root).unwrap().enabled);
        std::fs::write(
            root.join("etc/systemd/logind.conf.d/50-x.conf"),
            "[Login]\nRemoveIPC=yes\n",
        )
        .unwrap();
        assert!(read(root).unwrap().enabled);
    }
}
