//! What `show` and `dump --path` accept: relative paths, every path `ls` prints, and IDs that
//! name several objects (listed, exit 1, never a guess).

use crate::fixtures::*;

/// A segment made with IPC_PRIVATE (key 0), removed by id on drop.
struct PrivateSeg(i32);

impl PrivateSeg {
    fn new() -> PrivateSeg {
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(id >= 0);
        PrivateSeg(id)
    }
}

impl Drop for PrivateSeg {
    fn drop(&mut self) {
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = shmtool().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn show_resolves_relative_paths_against_the_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, pattern(51, 4096)).unwrap();
    let _h = Holder::spawn(&[Hold::File(file.clone())]);
    let want = file.to_str().unwrap();
    for (cwd, rel) in [
        (dir.path(), "data.bin"),
        (dir.path(), "./data.bin"),
        (&sub, "../data.bin"),
    ] {
        let (code, out, err) = run_in(cwd, &["show", rel, "--json"]);
        assert_eq!(code, 0, "{rel}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["path"], want, "{rel}");
    }
    let obj = PosixObj::new(100, 52);
    let (code, out, err) = run_in(
        std::path::Path::new("/dev/shm"),
        &["show", &format!("./{}", obj.name), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&obj.name), "{out}");
}

#[test]
fn ambiguous_ids_list_candidates_and_exit_1() {
    let a = PrivateSeg::new();
    let b = PrivateSeg::new();
    let (code, out, err) = run(&["show", "0x00000000"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with("shmtool: error: 0x00000000 names "),
        "{err}"
    );
    assert!(err.contains(&format!("shmid {}", a.0)), "{err}");
    assert!(err.contains(&format!("shmid {}", b.0)), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // One memfd name, two processes each with its own memfd of that name.
    let name = unique_name("shmtool-twin");
    let hold = || Hold::Memfd {
        name: name.clone(),
        size: 4096,
        seed: 53,
    };
    let h1 = Holder::spawn(&[hold()]);
    let h2 = Holder::spawn(&[hold()]);
    for id in [name.clone(), format!("memfd:{name}")] {
        let (code, _, err) = run(&["show", &id]);
        assert_eq!(code, 1, "{id}");
        assert!(err.contains("names 2 objects"), "{err}");
        assert!(err.contains(&h1.pid.to_string()) && err.contains(&h2.pid.to_string()));
    }
    // PID:ADDR settles it.
    let (code, _, err) = run(&["show", &format!("{}:0x{:x}", h1.pid, h1.addrs[0])]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn dump_path_accepts_memfd_and_deleted_paths_ls_prints() {
    if !is_root() {
        return skip("opening another process's fd needs ptrace rights over it");
    }
    let name = unique_name("shmtool-dumpfd");
    let obj = PosixObj::new(3000, 55);
    let h = Holder::spawn(&[
        Hold::MemfdFd {
            name: name.clone(),
            size: 5000,
            seed: 54,
        },
        Hold::OpenFd(obj.path.clone()),
    ]);
    std::fs::remove_file(&obj.path).unwrap();
    let printed = obj.path.to_str().unwrap().to_string();
    for (path, want) in [
        (format!("memfd:{name}"), pattern(54, 5000)),
        (printed, pattern(55, 3000)),
    ] {
        let (code, out, err) = run_bytes(&["dump", "--format", "raw", "--path", &path]);
        assert_eq!(code, 0, "{path}: {err}");
        assert_eq!(out, want, "{path}");
    }
    drop(h);
}

/// `show` scans only for its object (the maps and fds that name it; names, namespaces and
/// cgroups of those holders alone), yet prints the row `ls` prints: for each kind, `show --json`
/// without its `waiters` is the matching `ls --all --json` row, verdict and evidence included.
#[test]
fn show_json_is_the_ls_row_of_each_kind() {
    let attached = SysvSeg::new(8192, 61);
    let unattached = SysvSeg::new(4096, 62);
    let mapped = PosixObj::new(4096, 63);
    let opened = PosixObj::new(4096, 64);
    let unheld = PosixObj::new(4096, 65);
    let memfd = unique_name("shmtool-showrow");
    let fd_only = unique_name("shmtool-showfd");
    let h = Holder::spawn(&[
        Hold::Sysv(attached.shmid),
        Hold::File(mapped.path.clone()),
        Hold::OpenFd(opened.path.clone()),
        Hold::Memfd {
            name: memfd.clone(),
            size: 4096,
            seed: 66,
        },
        Hold::MemfdFd {
            name: fd_only.clone(),
            size: 4096,
            seed: 67,
        },
    ]);
    let h2 = Holder::spawn(&[Hold::File(mapped.path.clone()), Hold::Sysv(attached.shmid)]);
    let by_id = |id: i32| move |r: &serde_json::Value| r["kind"] == "sysv" && r["id"] == id;
    let by_path = |p: String| move |r: &serde_json::Value| r["path"] == p.as_str();
    let path = |o: &PosixObj| o.path.to_str().unwrap().to_string();
    type Pick = Box<dyn Fn(&serde_json::Value) -> bool>;
    let cases: Vec<(String, Pick)> = vec![
        (attached.shmid.to_string(), Box::new(by_id(attached.shmid))),
        (attached.key_string(), Box::new(by_id(attached.shmid))),
        (
            unattached.shmid.to_string(),
            Box::new(by_id(unattached.shmid)),
        ),
        (mapped.name.clone(), Box::new(by_path(path(&mapped)))),
        (path(&opened), Box::new(by_path(path(&opened)))),
        (unheld.name.clone(), Box::new(by_path(path(&unheld)))),
        (
            format!("memfd:{memfd}"),
            Box::new(by_path(format!("memfd:{memfd}"))),
        ),
        (
            fd_only.clone(),
            Box::new(by_path(format!("memfd:{fd_only}"))),
        ),
    ];
    for (id, pick) in &cases {
        // Other users' processes come and go on a shared machine, and an unheld object's
        // evidence names the unreadable ones: a few tries for a listing and a show that agree.
        let mut last = None;
        for _ in 0..5 {
            let want = ls_json(&["--all"]).into_iter().find(|r| pick(r));
            let (code, out, err) = run(&["show", id, "--json"]);
            assert_eq!(code, 0, "show {id}: {err}");
            let mut got: serde_json::Value = serde_json::from_str(&out).unwrap();
            got.as_object_mut().unwrap().remove("waiters");
            let want = want.unwrap_or_else(|| panic!("ls has no row for {id}"));
            if got == want {
                last = None;
                break;
            }
            last = Some((got, want));
        }
        if let Some((got, want)) = last {
            panic!("show {id} is not its ls row:\nshow: {got:#}\nls:   {want:#}");
        }
    }
    drop((h, h2));
}
