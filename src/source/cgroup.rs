//! Which container or service a process belongs to, from the text of /proc/PID/cgroup.
//!
//! Container engines and systemd name the cgroups they make after what runs in them:
//! `docker-<id>.scope` or `/docker/<id>` (Docker), `libpod-<id>.scope` (Podman),
//! `cri-containerd-<id>.scope` (containerd's CRI plugin), `crio-<id>.scope` (CRI-O),
//! `kubepods-…-pod<uid>.slice` or `/kubepods/…/pod<uid>/` (a Kubernetes pod), `lxc.payload.<name>`
//! (LXC), and plain `<unit>.service`, `session-<n>.scope` and `user@<uid>.service` (systemd).
//! The parser is a pure function over that text.
//!
//! A pod's name is not in its cgroup, only its UID. Where the node keeps it locally, it comes
//! from the kubelet's log directory, `/var/log/pods/<namespace>_<name>_<uid>/` (the layout of
//! the kubelet's `BuildPodLogsDirectory`, since Kubernetes 1.14; older kubelets named the
//! directory by UID alone, and then the UID is all we show). That one directory listing is the
//! only file this module reads.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// What a cgroup path says runs in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// `docker`, `podman`, `containerd`, `crio`, `lxc`, `container` (a 64-digit id under a
    /// parent the path does not name, e.g. a pod's container with the cgroupfs driver), `pod`
    /// (a Kubernetes pod's own cgroup), `unit` (a systemd service or user unit) or `session`
    /// (a login session).
    pub engine: String,
    /// The container id (full), unit name, or session number.
    pub id: String,
    /// Kubernetes pod UID, when the process is in a pod.
    pub pod: Option<String>,
    /// The pod's `<namespace>/<name>`, where the node's kubelet log directory names it.
    #[serde(default)]
    pub pod_name: Option<String>,
}

impl Container {
    /// Whether this is a container (not a host service or session).
    pub fn is_container(&self) -> bool {
        !matches!(self.engine.as_str(), "unit" | "session")
    }
}

/// Container ids are 64 hex digits; people and `docker ps` use the first 12.
fn short(id: &str) -> &str {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        &id[..12]
    } else {
        id
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pod = self.pod_name.as_ref().or(self.pod.as_ref());
        match (pod, self.engine.as_str()) {
            (Some(pod), "pod") => write!(f, "pod:{pod}"),
            (Some(pod), _) => write!(f, "pod:{pod}/{}", short(&self.id)),
            (None, "unit") => f.write_str(&self.id),
            (None, "session") => write!(f, "session {}", self.id),
            (None, _) => write!(f, "{}:{}", self.engine, short(&self.id)),
        }
    }
}

/// Docker, Podman, containerd and CRI-O ids are 64 hex digits (shorter hex names are common
/// elsewhere, e.g. a sandbox's own cgroups, and are not containers).
fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A runtime's container id in one path component, in its systemd or cgroupfs form.
fn runtime_id(component: &str, parent: Option<&str>) -> Option<(&'static str, String)> {
    let scope = component.strip_suffix(".scope").unwrap_or(component);
    for (prefix, engine) in [
        ("docker-", "docker"),
        ("libpod-conmon-", "podman"),
        ("libpod-", "podman"),
        ("cri-containerd-", "containerd"),
        ("crio-conmon-", "crio"),
        ("crio-", "crio"),
    ] {
        if let Some(id) = scope.strip_prefix(prefix) {
            if is_hex_id(id) {
                return Some((engine, id.to_string()));
            }
        }
    }
    // cgroupfs drivers: /docker/<id>, /libpod_parent/libpod-<id> (above), /kubepods/…/<id>.
    if is_hex_id(component) {
        let engine = if parent == Some("docker") {
            "docker"
        } else {
            "container"
        };
        return Some((engine, component.to_string()));
    }
    None
}

/// A Kubernetes pod UID in one component: `kubepods-burstable-pod<uid_with_underscores>.slice`
/// (systemd driver) or `pod<uid>` (cgroupfs driver).
fn pod_uid(component: &str) -> Option<String> {
    let c = component.strip_suffix(".slice").unwrap_or(component);
    let uid = match c.rfind("-pod") {
        Some(i) if c.starts_with("kubepods") => &c[i + 4..],
        _ => c.strip_prefix("pod")?,
    };
    let uid = uid.replace('_', "-");
    let ok = uid.len() >= 32 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    ok.then_some(uid)
}

/// What one cgroup path says, looking at every component (the deepest container wins).
pub fn classify_path(path: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut pod = None;
    let mut runtime: Option<(&str, String)> = None;
    let mut lxc = None;
    for (i, c) in parts.iter().enumerate() {
        if let Some(uid) = pod_uid(c) {
            pod = Some(uid);
            continue;
        }
        if let Some(r) = runtime_id(c, i.checked_sub(1).map(|j| parts[j])) {
            runtime = Some(r);
        }
        if let Some(name) = c.strip_prefix("lxc.payload.") {
            lxc = Some(name.to_string());
        } else if i > 0 && parts[i - 1] == "lxc" {
            lxc = Some(c.to_string());
        }
    }
    if let Some((engine, id)) = runtime {
        return Some(Container {
            engine: engine.to_string(),
            id,
            pod,
            pod_name: None,
        });
    }
    if let Some(pod) = pod {
        return Some(Container {
            engine: "pod".into(),
            id: String::new(),
            pod: Some(pod),
            pod_name: None,
        });
    }
    if let Some(name) = lxc {
        return Some(Container {
            engine: "lxc".into(),
            id: name,
            pod: None,
            pod_name: None,
        });
    }
    systemd_unit(&parts)
}

/// A systemd service, login session, or user unit: the deepest meaningful component.
fn systemd_unit(parts: &[&str]) -> Option<Container> {
    let user = parts
        .iter()
        .find_map(|c| c.strip_prefix("user@")?.strip_suffix(".service"));
    let unit = parts
        .iter()
        .rev()
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))?;
    if let Some(n) = unit
        .strip_prefix("session-")
        .and_then(|s| s.strip_suffix(".scope"))
    {
        return Some(Container {
            engine: "session".into(),
            id: n.to_string(),
            pod: None,
            pod_name: None,
        });
    }
    if let Some(uid) = user {
        if !unit.starts_with("user@") {
            return Some(Container {
                engine: "unit".into(),
                id: format!("user@{uid}/{unit}"),
                pod: None,
                pod_name: None,
            });
        }
    }
    Some(Container {
        engine: "unit".into(),
        id: unit.to_string(),
        pod: None,
        pod_name: None,
    })
}

/// The container or service of a process, from the whole text of its /proc/PID/cgroup.
///
/// cgroup v2 (`0::/path`) is read first; on a v1 or hybrid machine the v1 hierarchies are
/// tried too (`name=systemd`, then the rest), and the most specific answer wins: a container
/// over a pod over a service.
pub fn parse(text: &str) -> Option<Container> {
    let mut best: Option<Container> = None;
    let rank = |c: &Container| match c.engine.as_str() {
        "unit" | "session" => 0,
        "pod" => 1,
        _ => 2,
    };
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_id), Some(_controllers), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Some(c) = classify_path(path) {
            if best.as_ref().is_none_or(|b| rank(&c) > rank(b)) {
                best = Some(c);
            }
        }
    }
    best
}

/// Where the kubelet keeps one directory of logs per pod.
pub const POD_LOG_DIR: &str = "/var/log/pods";

/// A kubelet pod log directory's name, `<namespace>_<name>_<uid>`, as (uid, `namespace/name`).
/// Namespaces and pod names are DNS names (lower-case letters, digits, `-` and `.`), so `_`
/// cannot occur in them; a name that does not look like that is not used.
pub fn parse_pod_dir(dir: &str) -> Option<(String, String)> {
    let mut parts = dir.splitn(3, '_');
    let (ns, name, uid) = (parts.next()?, parts.next()?, parts.next()?);
    let dns = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    let uid_ok = uid.len() >= 32 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (dns(ns) && dns(name) && uid_ok).then(|| (uid.to_ascii_lowercase(), format!("{ns}/{name}")))
}

/// Pod names by UID, from the names of the entries of a kubelet pod log directory.
pub fn pod_names<'a>(entries: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    entries.into_iter().filter_map(parse_pod_dir).collect()
}

/// Give every process in a pod its pod's name, where `dir` (the kubelet's log directory) names
/// it. The directory is listed once, and only when some process is in a pod; a missing or
/// unreadable one leaves the UIDs.
pub fn name_pods<'a>(containers: impl Iterator<Item = &'a mut Container>, dir: &Path) {
    let mut names: Option<HashMap<String, String>> = None;
    for c in containers {
        let Some(uid) = c.pod.as_deref() else {
            continue;
        };
        let names = names.get_or_insert_with(|| {
            let listed: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            pod_names(listed.iter().map(String::as_str))
        });
        c.pod_name = names.get(&uid.to_ascii_lowercase()).cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c1b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

    fn name(text: &str) -> Option<String> {
        parse(text).map(|c| c.to_string())
    }

    #[test]
    fn docker_systemd_driver_v2() {
        let text = format!("0::/system.slice/docker-{ID}.scope\n");
        let c = parse(&text).unwrap();
        assert_eq!(c.engine, "docker");
        assert_eq!(c.id, ID);
        assert!(c.is_container());
        assert_eq!(c.to_string(), "docker:4f3c1b2a9d8e");
    }

    #[test]
    fn docker_cgroupfs_driver_v1() {
        let text = format!(
            "12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"
        );
        assert_eq!(name(&text).as_deref(), Some("docker:4f3c1b2a9d8e"));
    }

    #[test]
    fn podman_and_conmon() {
        let text = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"
        );
        assert_eq!(name(&text).as_deref(), Some("podman:4f3c1b2a9d8e"));
        let text = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(parse(&text).unwrap().engine, "podman");
    }

    #[test]
    fn kubernetes_pod_systemd_driver_with_containerd() {
        let text = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/cri-containerd-{ID}.scope\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.engine, "containerd");
        assert_eq!(
            c.pod.as_deref(),
            Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
        );
        assert_eq!(
            c.to_string(),
            "pod:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/4f3c1b2a9d8e"
        );
    }

    #[test]
    fn kubernetes_pod_cgroupfs_driver_v1_and_crio() {
        let text = format!(
            "11:memory:/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/{ID}\n1:name=systemd:/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/{ID}\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(
            c.pod.as_deref(),
            Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
        );
        assert_eq!(c.id, ID);
        let text = format!(
            "0::/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/crio-{ID}.scope\n"
        );
        assert_eq!(parse(&text).unwrap().engine, "crio");
        // The pod's own cgroup (its pause process's parent): a pod without a container id.
        let text = "0::/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice\n";
        assert_eq!(
            name(text).as_deref(),
            Some("pod:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
        );
    }

    #[test]
    fn lxc() {
        assert_eq!(
            name("0::/lxc.payload.web1/init.scope\n").as_deref(),
            Some("lxc:web1")
        );
        assert_eq!(name("4:memory:/lxc/web2\n").as_deref(), Some("lxc:web2"));
    }

    #[test]
    fn systemd_units_sessions_and_user_units() {
        assert_eq!(
            name("0::/system.slice/postgresql@16-main.service\n").as_deref(),
            Some("postgresql@16-main.service")
        );
        assert_eq!(
            name("0::/user.slice/user-1000.slice/session-3.scope\n").as_deref(),
            Some("session 3")
        );
        assert_eq!(
            name("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope\n")
                .as_deref(),
            Some("user@1000/app-firefox-1234.scope")
        );
        assert_eq!(
            name("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n").as_deref(),
            Some("user@1000/init.scope")
        );
        let c = parse("0::/system.slice/nginx.service\n").unwrap();
        assert!(!c.is_container());
    }

    #[test]
    fn hybrid_prefers_the_most_specific() {
        // v2 says only the unit; a v1 hierarchy knows the container.
        let text = format!("9:name=systemd:/docker/{ID}\n4:memory:/docker/{ID}\n0::/system.slice/containerd.service\n");
        assert_eq!(name(&text).as_deref(), Some("docker:4f3c1b2a9d8e"));
    }

    #[test]
    fn root_and_garbage_say_nothing() {
        assert_eq!(parse("0::/\n"), None);
        // A sandbox's own cgroup with a 32-digit hex name is not a container.
        assert_eq!(
            parse(
                "9:name=systemd:/\n4:memory:/process_api/918e9a508ce9a8d496eff8491540dba5\n0::/\n"
            ),
            None
        );
        assert_eq!(parse(""), None);
        assert_eq!(parse("garbage\n::\n0::\n"), None);
        assert_eq!(parse("0::/docker/nothex\n"), None);
    }

    #[test]
    fn pod_names_from_kubelet_log_directories() {
        let uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        // As `ls /var/log/pods` prints them on a node (captured), with an old-style UID-only
        // directory and things that are not pod directories.
        let listing = [
            "kube-system_coredns-5d78c9869d-x7k2p_7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
            "ml-team_trainer-0_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "45eb687f-f270-11e7-a23e-5ab0d5506cd4",
            "Bad_Upper_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1",
            "ns_name_nothex",
            "ns__0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f2",
            "ns_na\x1bme_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f3",
        ];
        let names = pod_names(listing);
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(
            names.get(uid).map(String::as_str),
            Some("ml-team/trainer-0")
        );
        assert_eq!(
            parse_pod_dir(listing[0]),
            Some((
                "7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f".into(),
                "kube-system/coredns-5d78c9869d-x7k2p".into()
            ))
        );

        // The name replaces the UID; the container id stays.
        let text = format!(
            "0::/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{ID}.scope\n",
            uid.replace('-', "_")
        );
        let mut c = parse(&text).unwrap();
        c.pod_name = names.get(uid).cloned();
        assert_eq!(c.to_string(), "pod:ml-team/trainer-0/4f3c1b2a9d8e");
        let mut own = parse(&format!("0::/kubepods/pod{uid}\n")).unwrap();
        own.pod_name = names.get(uid).cloned();
        assert_eq!(own.to_string(), "pod:ml-team/trainer-0");
    }

    #[test]
    fn name_pods_falls_back_to_the_uid() {
        let dir = tempfile::tempdir().unwrap();
        let named = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let unnamed = "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        std::fs::create_dir(dir.path().join(format!("default_web-1_{named}"))).unwrap();
        let mut cs: Vec<Container> = [named, unnamed]
            .iter()
            .map(|u| parse(&format!("0::/kubepods/besteffort/pod{u}/{ID}\n")).unwrap())
            .collect();
        name_pods(cs.iter_mut(), dir.path());
        assert_eq!(cs[0].to_string(), "pod:default/web-1/4f3c1b2a9d8e");
        assert_eq!(cs[1].to_string(), format!("pod:{unnamed}/4f3c1b2a9d8e"));
        // No directory at all: UIDs.
        name_pods(cs[1..].iter_mut(), &dir.path().join("none"));
        assert_eq!(cs[1].pod_name, None);
    }
}
