//! Containers and services from /proc/PID/cgroup: real cgroups where cgroup v2 is writable,
//! a captured /proc tree otherwise.

use crate::fixtures::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where cgroup v2 is mounted, from our mountinfo.
fn cgroup2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// A tree of cgroups this test made (under one uniquely named parent), removed on drop once the
/// processes put in it have gone.
struct Cgroups {
    top: PathBuf,
}

impl Cgroups {
    fn make() -> Option<Cgroups> {
        let root = cgroup2_mount()?;
        let top = root.join(unique_name("shmtool-test"));
        std::fs::create_dir(&top).ok()?;
        Some(Cgroups { top })
    }

    /// Make `rel` under our parent and move `pid` into it.
    fn put(&self, rel: &str, pid: i32) -> std::io::Result<()> {
        let dir = self.top.join(rel);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        // Deepest first; a cgroup empties as soon as its last process is reaped.
        fn remove(dir: &Path) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        remove(&e.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        remove(&self.top);
    }
}

const DOCKER_ID: &str = "5e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f";
const POD_UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const CTR_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn container_of(row: &Value, pid: i32) -> Option<String> {
    row["attachers"]
        .as_array()?
        .iter()
        .find(|a| a["pid"] == pid)?["container"]
        .as_str()
        .map(String::from)
}

#[test]
fn processes_in_docker_pod_and_unit_cgroups_show_those_names() {
    let cgroups = if is_root() { Cgroups::make() } else { None };
    let Some(cgroups) = cgroups else {
        // No writable cgroup v2 here: the same names from a captured /proc tree.
        eprintln!("cgroup v2 is not writable here: checking a captured /proc tree instead");
        return names_from_a_captured_tree();
    };
    let obj = PosixObj::new(4096, 41);
    let docker = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let pod = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let unit = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let unit_name = format!("{}.service", unique_name("shmtool-test"));
    let pod_slice = format!("kubepods-besteffort-pod{}.slice", POD_UID.replace('-', "_"));
    cgroups
        .put(&format!("docker-{DOCKER_ID}.scope"), docker.pid)
        .unwrap();
    cgroups
        .put(
            &format!("{pod_slice}/cri-containerd-{CTR_ID}.scope"),
            pod.pid,
        )
        .unwrap();
    cgroups.put(&unit_name, unit.pid).unwrap();

    let rows = ls_json(&["--kind", "posix"]);
    let p = obj.path.to_str().unwrap();
    let row = rows.iter().find(|r| r["path"] == p).expect("row");
    assert_eq!(
        container_of(row, docker.pid).as_deref(),
        Some("docker:5e1f0a9b8c7d")
    );
    assert_eq!(
        container_of(row, pod.pid),
        Some(format!("pod:{POD_UID}/a1b2c3d4e5f6"))
    );
    assert_eq!(container_of(row, unit.pid), Some(unit_name.clone()));
    // The row's containers are the containers, not host services.
    assert_eq!(
        row["containers"],
        serde_json::json!(["docker:5e1f0a9b8c7d", format!("pod:{POD_UID}/a1b2c3d4e5f6")])
    );

    // The table grows a CONTAINER column, and show names each holder's.
    let (code, out, err) = run(&["ls", "--kind", "posix"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().contains("CONTAINER"), "{out}");
    let line = out.lines().find(|l| l.contains(&obj.name)).expect(&out);
    assert!(line.contains("docker:5e1f0a9b8c7d"), "{line}");
    let (code, out, err) = run(&["show", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&unit_name), "{out}");
    drop((docker, pod, unit));
    drop(cgroups);
}

/// A captured /proc: one process per cgroup form, each mapping the same memfd.
fn names_from_a_captured_tree() {
    let root = tempfile::tempdir().unwrap();
    let shm = tempfile::tempdir().unwrap();
    let forms = [
        (4242, format!("0::/system.slice/docker-{DOCKER_ID}.scope\n")),
        (
            4243,
            format!(
                "11:memory:/kubepods/besteffort/pod{POD_UID}/{CTR_ID}\n1:name=systemd:/kubepods/besteffort/pod{POD_UID}/{CTR_ID}\n"
            ),
        ),
        (4244, "0::/system.slice/postgresql.service\n".to_string()),
    ];
    for (pid, cgroup) in &forms {
        let dir = root.path().join(pid.to_string());
        std::fs::create_dir_all(dir.join("fd")).unwrap();
        std::fs::write(dir.join("cgroup"), cgroup).unwrap();
        std::fs::write(dir.join("comm"), "holder\n").unwrap();
        std::fs::write(
            dir.join("maps"),
            "7f0000000000-7f0000001000 rw-s 00000000 00:01 99887 /memfd:captured (deleted)\n",
        )
        .unwrap();
    }
    let (code, out, err) = run(&[
        "--proc-root",
        root.path().to_str().unwrap(),
        "--shm-dir",
        shm.path().to_str().unwrap(),
        "ls",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["kind"] == "memfd").expect(&out);
    assert_eq!(
        container_of(row, 4242).as_deref(),
        Some("docker:5e1f0a9b8c7d")
    );
    assert_eq!(
        container_of(row, 4243),
        Some(format!("pod:{POD_UID}/a1b2c3d4e5f6"))
    );
    assert_eq!(
        container_of(row, 4244).as_deref(),
        Some("postgresql.service")
    );
}

#[test]
fn captured_tree_names_containers() {
    names_from_a_captured_tree();
}

/// A pod UID no other run uses (the cgroup and the log directory are both named by it).
fn unique_pod_uid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{:08x}-5a5a-4b4b-8c8c-{:012x}",
        std::process::id(),
        nanos as u64
    )
}

/// `shmtool ARGS` in a private mount namespace whose /var/log is a fresh tmpfs holding the
/// kubelet's directory for one pod, as a node has it: the host's /var/log is never touched.
/// It exits 97 when that cannot be set up.
fn with_pod_log_dir(pod_dir: &str, args: &[&str]) -> std::process::Command {
    let script = format!(
        "mount -t tmpfs -o size=1m shmtool-test /var/log || exit 97\n\
         mkdir -p /var/log/pods/{pod_dir}/app || exit 97\n\
         exec \"$0\" \"$@\""
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_shmtool"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "dumb")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Run [`with_pod_log_dir`]'s command: (exit code, stdout, stderr), or None when it could not
/// be set up.
fn run_with_pod_log_dir(pod_dir: &str, args: &[&str]) -> Option<(i32, String, String)> {
    let out = with_pod_log_dir(pod_dir, args).output().ok()?;
    let code = out.status.code().unwrap_or(-1);
    if code == 97 {
        return None;
    }
    Some((
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn a_pod_is_named_from_the_kubelets_log_directory_else_by_uid() {
    if !is_root() {
        return skip("real cgroups and a private /var/log need root");
    }
    let Some(cgroups) = Cgroups::make() else {
        return skip("cgroup v2 is not writable here (pod names are unit-tested on captured text)");
    };
    let uid = unique_pod_uid();
    let obj = PosixObj::new(4096, 43);
    let pod = Holder::spawn(&[Hold::File(obj.path.clone())]);
    let slice = format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"));
    cgroups
        .put(&format!("{slice}/cri-containerd-{CTR_ID}.scope"), pod.pid)
        .unwrap();
    let p = obj.path.to_str().unwrap();
    let pod_dir = format!("ml-team_trainer-0_{uid}");
    let Some((code, out, err)) =
        run_with_pod_log_dir(&pod_dir, &["ls", "--json", "--kind", "posix"])
    else {
        return skip("cannot mount a private tmpfs on /var/log in a new mount namespace");
    };
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["path"] == p).expect(&out);
    let named = "pod:ml-team/trainer-0/a1b2c3d4e5f6";
    assert_eq!(container_of(row, pod.pid).as_deref(), Some(named));
    assert_eq!(row["containers"], serde_json::json!([named]));
    // The table's CONTAINER column says the same.
    let (code, out, err) = run_with_pod_log_dir(&pod_dir, &["ls", "--kind", "posix"]).unwrap();
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.contains(&obj.name)).expect(&out);
    assert!(line.contains(named), "{line}");

    // Another pod's directory only: this one is shown by its UID.
    let other = format!("default_web-1_{}", unique_pod_uid().replace("5a5a", "6b6b"));
    let (code, out, err) =
        run_with_pod_log_dir(&other, &["ls", "--json", "--kind", "posix"]).unwrap();
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["path"] == p).expect(&out);
    assert_eq!(
        container_of(row, pod.pid),
        Some(format!("pod:{uid}/a1b2c3d4e5f6"))
    );
    drop(pod);
    drop(cgroups);
}

/// `trace` names a process's container as `ls` does: a pod by its namespace and name where the
/// kubelet's log directory gives them.
#[test]
fn trace_names_a_pod_as_ls_does() {
    if !is_root() {
        return skip("tracing, real cgroups and a private /var/log need root");
    }
    let Some(cgroups) = Cgroups::make() else {
        return skip("cgroup v2 is not writable here (pod names are unit-tested on captured text)");
    };
    let uid = unique_pod_uid();
    let name = unique_name("trace-pod");
    let path = format!("/dev/shm/{name}");
    // Waits on its stdin, then makes and removes one /dev/shm object, all in one process (rm
    // replaces the shell rather than running as a child of its own).
    let mut worker = std::process::Command::new("sh")
        .args(["-c", "read go; : > \"$0\"; exec rm -f \"$0\""])
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Cleanup<'a>(&'a str, &'a mut std::process::Child);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = self.1.kill();
            let _ = self.1.wait();
            let _ = std::fs::remove_file(self.0);
        }
    }
    let pid = worker.id() as i32;
    let mut go = worker.stdin.take().unwrap();
    let _cleanup = Cleanup(&path, &mut worker);
    let slice = format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"));
    cgroups
        .put(&format!("{slice}/cri-containerd-{CTR_ID}.scope"), pid)
        .unwrap();
    let pod_dir = format!("ml-team_trainer-0_{uid}");
    let pid_arg = pid.to_string();
    // --duration: a missing event fails the test below rather than hanging it.
    let cmd = with_pod_log_dir(
        &pod_dir,
        &[
            "trace",
            "--json",
            "--pid",
            &pid_arg,
            "--count",
            "2",
            "--duration",
            "120",
        ],
    );
    let Some(t) = crate::trace::Tracer::start_command(cmd) else {
        return;
    };
    use std::io::Write;
    go.write_all(b"go\n").unwrap();
    drop(go);
    let (events, err) = t.finish();
    let named = "pod:ml-team/trainer-0/a1b2c3d4e5f6";
    let mine: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("?"),
                e["container"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [("create", named), ("unlink", named)],
        "{events:#?} {err}"
    );
    drop(cgroups);
}
