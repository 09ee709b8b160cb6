//! A hostile container cannot turn `--ns` against the host (issue 13, finding 1): its `/dev` or
//! the entries of its `/dev/shm` are symlinks (absolute, and relative `../../..`) that point at
//! the host's files; its /dev/shm holds a FIFO with no writer and a device node.
//!
//! Everything runs inside `unshare --mount --ipc --pid --fork --mount-proc` with private tmpfs
//! mounts on /dev/shm and on a scratch directory, so the "host" canaries are private and even a
//! regressed `rm --stale` can only reach them. A process chrooted into a directory plays the
//! container. Each command runs under `timeout` (a FIFO must never hang us); after each, the
//! host canaries must still be there with their bytes, and nothing of theirs may be printed.

use crate::fixtures::*;
use std::process::Command;

/// The scenario, in bash: $1 = shmtool, $2 = how the container's /dev is made.
const SCRIPT: &str = r#"
set -u
S=$1; MODE=$2
T=$(mktemp -d /tmp/shmtool-ct.XXXXXX)
P=
# The scratch directory was made in the host's /tmp before the private mount hid it: unmount it
# here and remove it, or every run would leave one behind.
trap '[ -n "$P" ] && { kill $P 2>/dev/null; wait $P 2>/dev/null; }; umount "$T" 2>/dev/null; rmdir "$T"' EXIT
mount -t tmpfs none "$T" || { echo "SETUP-FAILED mount"; exit 0; }
mount -t tmpfs none /dev/shm || { echo "SETUP-FAILED mount"; exit 0; }
# The host's canaries: an object in /dev/shm and a 0600 file elsewhere.
printf 'CANARY-SHM-BYTES' > /dev/shm/precious.db
# A host queue canary, on a private mqueue mount of this private IPC namespace.
mkdir -p /dev/mqueue 2>/dev/null
mount -t mqueue none /dev/mqueue && touch /dev/mqueue/precious.q || { echo "SETUP-FAILED mqueue"; exit 0; }
mkdir -p "$T/host"; printf 'CANARY-SECRET-BYTES' > "$T/host/secret"; chmod 600 "$T/host/secret"
printf 'x' > "$T/host/ftokfile"
C=$T/c; mkdir -p "$C/tmp" "$C/etc"
case $MODE in
  abs) ln -s /dev "$C/dev" ;;
  rel) ln -s ../../../../../../../../dev "$C/dev" ;;
  entries)
    mkdir -p "$C/dev/shm/d"
    ln -s /dev/shm/precious.db "$C/dev/shm/abs"
    ln -s ../../../../../../../../dev/shm/precious.db "$C/dev/shm/rel"
    ln -s /dev/shm "$C/dev/shm/dirlink"
    ln -s "$T/host" "$C/dev/shm/d/x"
    ln -s "$T/host/secret" "$C/dev/shm/secretlink"
    mkfifo "$C/dev/shm/fifo"
    mknod "$C/dev/shm/null" c 1 3
    printf 'container-own' > "$C/dev/shm/theirs"
    ln "$C/dev/shm/theirs" "$C/dev/shm/theirs2"
    ln -s /dev/mqueue "$C/dev/mqueue"
    ;;
esac
python3 -c 'import os, sys, signal; os.chroot(sys.argv[1]); os.chdir("/"); signal.pause()' "$C" &
P=$!
for i in $(seq 1 2000); do
  [ "$(readlink /proc/$P/root 2>/dev/null)" = "$C" ] && break
  sleep 0.01
done
[ "$(readlink /proc/$P/root)" = "$C" ] || { echo "SETUP-FAILED chroot"; exit 0; }
echo "STARTED"
check() {
  name=$1; shift
  timeout 20 "$S" --color never "$@" > "$T/out" 2> "$T/err" < /dev/null
  echo "RC $name $?"
  if [ "$(cat /dev/shm/precious.db 2>/dev/null)" != CANARY-SHM-BYTES ]; then echo "LOST $name shm"; fi
  if [ "$(cat "$T/host/secret" 2>/dev/null)" != CANARY-SECRET-BYTES ]; then echo "LOST $name secret"; fi
  [ -e /dev/mqueue/precious.q ] || echo "LOST $name mqueue"
  if grep -q -e CANARY -e precious -e ftokfile -e 'C A N A' -e '43 41 4e 41' "$T/out"; then echo "LEAK $name"; sed 's/^/  | /' "$T/out" | head -20; fi
  sed "s/^/ERR $name /" "$T/err" | head -3
}
check ls --ns $P ls --json --all
check show --ns $P show precious.db
check show-abs --ns $P show /dev/shm/abs
check dump --ns $P dump --path /dev/shm/precious.db
check dump-abs --ns $P dump --path /dev/shm/abs
check dump-rel --ns $P dump --path /dev/shm/rel
check dump-dirlink --ns $P dump --path /dev/shm/dirlink/precious.db
check dump-secret --ns $P dump --path /dev/shm/secretlink
check dump-dx --ns $P dump --path /dev/shm/d/x/secret
check watch --ns $P watch --path /dev/shm/precious.db --count 1
check watch-abs --ns $P watch --path /dev/shm/abs --count 1
check dump-fifo --ns $P dump --path /dev/shm/fifo
check watch-fifo --ns $P watch --path /dev/shm/fifo --count 1
check dump-null --ns $P dump --path /dev/shm/null
check ls-mq --ns $P ls --json --kind mqueue
check rm-mq --ns $P rm --mqueue precious.q
check dump-o-shm --ns $P dump --path /dev/shm/theirs --format raw -o /dev/shm/precious.db
check dump-o-secret --ns $P dump --path /dev/shm/theirs --format raw -o "$T/host/secret"
# The container's own object is still reachable the safe way.
if [ "$MODE" = entries ]; then
  check show-hl --ns $P show theirs2 --json
  grep -q '"/dev/shm/theirs2"' "$T/out" && echo "SHOWN-BY-LINK"
  check rm-hl --ns $P rm --posix theirs2 --json
  grep -q 'lives on under' "$T/out" && [ -e "$C/dev/shm/theirs" ] && echo "LINK-REMOVED-OBJECT-KEPT"
  check dump-theirs --ns $P dump --path /dev/shm/theirs
  grep -q 'container-own' "$T/out" && echo "READ-THEIRS"
  check ls-theirs --ns $P ls --json --kind posix
  grep -q '/dev/shm/theirs' "$T/out" && echo "LISTED-THEIRS"
  grep -q -e fifo -e '"/proc/[0-9]*/root/dev/shm/null"' "$T/out" && echo "LISTED-SPECIAL"
fi
check rm-posix --ns $P rm --posix precious.db --yes
check rm-posix-abs --ns $P rm --posix abs --yes
check rm-posix-dirlink --ns $P rm --posix dirlink/precious.db --yes
check rm-stale --ns $P rm --stale --yes
check key --ns $P key /dev/shm/precious.db 1
check key-dotdot --ns $P key /../../../../dev/shm/precious.db 1
K=$(python3 -c 'import os,sys; s=os.stat(sys.argv[1]); print(hex((s.st_ino&0xffff)|((s.st_dev&0xff)<<16)|(1<<24)))' "$T/host/ftokfile")
check key-find --ns $P key --find $K --json
check limits --ns $P limits --json
kill $P; wait $P 2>/dev/null; P=
echo "DONE"
"#;

/// Run `script` as the init of a private container (`unshare --mount --ipc --pid --fork
/// --mount-proc`, private propagation) with `$0` = `name`, `$1` = the binary under test and
/// `args` after it; its standard output, or None (and a SKIPPED line) when no container can be
/// built. The script prints STARTED once it is inside and DONE at its end.
fn in_container(script: &str, name: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("unshare")
        .args(["--mount", "--ipc", "--pid", "--fork", "--mount-proc"])
        .args(["--propagation", "private", "bash", "-c", script, name])
        .arg(env!("CARGO_BIN_EXE_shmtool"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(out) = out else {
        skip("unshare(1) is not installed");
        return None;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    if !text.contains("STARTED") {
        skip(&format!("cannot build a private container: {text}{err}"));
        return None;
    }
    assert!(
        text.contains("DONE"),
        "scenario did not finish:\n{text}\n{err}"
    );
    Some(text)
}

/// Run the scenario for one way of building the container; its report lines.
fn scenario(mode: &str) -> Option<String> {
    in_container(SCRIPT, "container", &[mode])
}

/// What every scenario must show: no canary lost or printed, no command hung or crashed.
fn assert_host_untouched(text: &str) {
    for line in text.lines() {
        assert!(!line.starts_with("LOST"), "{line}\n{text}");
        assert!(!line.starts_with("LEAK"), "{line}\n{text}");
        if let Some(rc) = line.strip_prefix("RC ") {
            let code: i32 = rc.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(
                code == 0 || code == 1 || code == 2,
                "{line} (124: hung)\n{text}"
            );
        }
    }
}

fn rc(text: &str, name: &str) -> i32 {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("RC {name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn errors(text: &str, name: &str) -> String {
    let prefix = format!("ERR {name} ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_container_whose_dev_is_an_absolute_symlink_cannot_reach_the_host() {
    if !is_root() {
        return skip("building a container with unshare --mount --pid needs root");
    }
    let Some(text) = scenario("abs") else { return };
    assert_host_untouched(&text);
    for cmd in ["dump", "watch", "rm-posix", "key", "rm-mq"] {
        assert_eq!(rc(&text, cmd), 1, "{cmd} must fail\n{text}");
    }
    assert!(errors(&text, "dump").contains("symbolic link"), "{text}");
    assert!(errors(&text, "ls-mq").contains("not listed"), "{text}");
    assert!(errors(&text, "ls").contains("not listed"), "{text}");
}

#[test]
fn a_container_whose_dev_climbs_out_with_dotdot_cannot_reach_the_host() {
    if !is_root() {
        return skip("building a container with unshare --mount --pid needs root");
    }
    let Some(text) = scenario("rel") else { return };
    assert_host_untouched(&text);
    for cmd in ["dump", "watch", "rm-posix", "key", "key-dotdot", "rm-mq"] {
        assert_eq!(rc(&text, cmd), 1, "{cmd} must fail\n{text}");
    }
}

#[test]
fn symlinked_fifo_and_device_entries_in_a_containers_dev_shm_are_never_followed_or_opened() {
    if !is_root() {
        return skip("building a container with unshare --mount --pid and mknod need root");
    }
    let Some(text) = scenario("entries") else {
        return;
    };
    assert_host_untouched(&text);
    for cmd in [
        "dump-abs",
        "dump-rel",
        "dump-dirlink",
        "dump-secret",
        "dump-dx",
        "watch-abs",
        "dump-fifo",
        "watch-fifo",
        "dump-null",
        "rm-posix-abs",
        "rm-posix-dirlink",
        "rm-mq",
        "dump-o-shm",
        "dump-o-secret",
    ] {
        assert_eq!(rc(&text, cmd), 1, "{cmd} must fail\n{text}");
    }
    assert!(errors(&text, "dump-fifo").contains("a FIFO"), "{text}");
    assert!(
        errors(&text, "dump-null").contains("a character device"),
        "{text}"
    );
    assert!(
        errors(&text, "dump-abs").contains("symbolic link"),
        "{text}"
    );
    // What is the container's own is still read and listed.
    assert!(text.contains("READ-THEIRS"), "{text}");
    assert!(text.contains("LISTED-THEIRS"), "{text}");
    assert!(!text.contains("LISTED-SPECIAL"), "{text}");
    // A hard link of the container's own object finds it; removing it leaves the object.
    assert!(text.contains("SHOWN-BY-LINK"), "{text}");
    assert!(text.contains("LINK-REMOVED-OBJECT-KEPT"), "{text}");
    assert!(
        errors(&text, "dump-o-shm").contains("into /dev/shm"),
        "{text}"
    );
    assert!(errors(&text, "dump-o-secret").contains("exists"), "{text}");
    assert!(errors(&text, "ls-mq").contains("not listed"), "{text}");
}

/// A user swaps `/dev/shm/D/x` between a directory and a symlink to a 0700 directory while
/// `ls --json` runs: the listing must never name what is inside the 0700 directory (issue 13,
/// finding 6). 500 listings race a thread doing `renameat2(RENAME_EXCHANGE)` without pause.
#[test]
fn a_directory_swapped_for_a_symlink_never_leaks_the_names_behind_it() {
    use std::os::unix::ffi::OsStrExt;
    let base = std::path::PathBuf::from("/dev/shm").join(unique_name("swaprace"));
    let secret = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        secret.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let secret_name = unique_name("SECRETNAME");
    std::fs::write(secret.path().join(&secret_name), b"s").unwrap();
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(base.clone());
    let d = base.join("d");
    std::fs::create_dir_all(d.join("x")).unwrap();
    std::fs::write(d.join("x/harmless"), b"h").unwrap();
    std::os::unix::fs::symlink(secret.path(), d.join("y")).unwrap();
    // An empty proc root: the listing is /dev/shm only, so 500 of them are quick.
    let no_proc = tempfile::tempdir().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let x = std::ffi::CString::new(d.join("x").as_os_str().as_bytes()).unwrap();
        let y = std::ffi::CString::new(d.join("y").as_os_str().as_bytes()).unwrap();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: two valid C strings; RENAME_EXCHANGE swaps the two names atomically.
                let r = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        x.as_ptr(),
                        libc::AT_FDCWD,
                        y.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(r, 0, "renameat2: {}", std::io::Error::last_os_error());
                swaps += 1;
            }
            swaps
        })
    };
    let mut saw_harmless = 0;
    for i in 0..500 {
        let out = shmtool()
            .args(["ls", "--json", "--kind", "posix,file"])
            .arg("--proc-root")
            .arg(no_proc.path())
            .arg("--shm-dir")
            .arg(&base)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("SECRETNAME"),
            "run {i} listed the 0700 directory:\n{text}"
        );
        saw_harmless += usize::from(text.contains("harmless"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0);
    eprintln!("{saw_harmless} of 500 listings caught x as the directory; {swaps} swaps");
}

/// `--key -1` is the key 0xffffffff, as `--key=-1` is.
#[test]
fn a_negative_key_parses_with_a_space_too() {
    for cmd in [&["rm", "--dry-run"][..], &["dump"][..]] {
        let spaced = run(&[cmd, &["--key", "-1"]].concat());
        let joined = run(&[cmd, &["--key=-1"]].concat());
        assert_eq!(spaced.0, joined.0, "{cmd:?}: {spaced:?} vs {joined:?}");
        assert_eq!(spaced.2, joined.2, "{cmd:?}");
        assert!(!spaced.2.contains("unexpected argument"), "{spaced:?}");
    }
}

/// `--json` on a terminal: names with U+202E (right-to-left override) and U+009B (CSI on xterm)
/// come out as `\u202e` and `\u009b`, never raw (issue 13, finding 6).
#[test]
fn json_on_a_terminal_escapes_c1_and_bidi_characters() {
    let obj = PosixObj::named("json\u{202e}bidi\u{9b}c1".as_bytes(), 4096, 3);
    let name = obj.path.file_name().unwrap().to_string_lossy().into_owned();
    let Some(text) = crate::table::on_pty(200, &["ls", "--json", "--kind", "posix"], &[]) else {
        return skip("script(1) is not installed");
    };
    assert!(!text.contains('\u{202e}'), "raw U+202E on the terminal");
    assert!(!text.contains('\u{9b}'), "raw U+009B on the terminal");
    let escaped = name
        .replace('\u{202e}', "\\u202e")
        .replace('\u{9b}', "\\u009b");
    assert!(text.contains(&escaped), "{escaped:?} not in the output");
    drop(obj);
}

/// `--ns PID` lists and removes the target's own POSIX message queues: the mqueue directory is
/// the target's mount (of its own IPC namespace), reached beneath its pinned root, never the
/// host's /dev/mqueue. Built as a private "host" (unshare --mount --ipc --pid --fork with its
/// own mqueue mount) and a container in a further IPC and mount namespace, chrooted, with its
/// own mqueue mount. Queues are made by creating files on the mqueue filesystem.
const MQUEUE_SCRIPT: &str = r#"
set -u
S=$1
T=$(mktemp -d /tmp/shmtool-mq.XXXXXX)
P=
trap '[ -n "$P" ] && { kill $P 2>/dev/null; wait $P 2>/dev/null; }; umount "$T" 2>/dev/null; rmdir "$T"' EXIT
mount -t tmpfs none "$T" || { echo "SETUP-FAILED mount"; exit 0; }
mount -t tmpfs none /dev/shm || { echo "SETUP-FAILED mount"; exit 0; }
mkdir -p /dev/mqueue 2>/dev/null
mount -t mqueue none /dev/mqueue || { echo "SETUP-FAILED mqueue"; exit 0; }
touch /dev/mqueue/hostq || { echo "SETUP-FAILED queue"; exit 0; }
C=$T/c; mkdir -p "$C/dev/mqueue" "$C/dev/shm" "$C/tmp"
unshare --ipc --mount --propagation private sh -c '
  mount -t mqueue none "$1/dev/mqueue" && touch "$1/dev/mqueue/ctq" "$1/dev/mqueue/ctq2" &&
  exec python3 -c "import os, sys, signal; os.chroot(sys.argv[1]); os.chdir(\"/\"); signal.pause()" "$1"
' sh "$C" &
P=$!
for i in $(seq 1 2000); do
  [ "$(readlink /proc/$P/root 2>/dev/null)" = "$C" ] && [ -e /proc/$P/root/dev/mqueue/ctq2 ] && break
  sleep 0.01
done
[ -e /proc/$P/root/dev/mqueue/ctq2 ] || { echo "SETUP-FAILED container"; exit 0; }
echo "STARTED"
run() {
  name=$1; shift
  timeout 20 "$S" --color never "$@" > "$T/out" 2> "$T/err" < /dev/null
  echo "RC $name $?"
  sed "s/^/OUT $name /" "$T/out" | grep -e '"path"' -e removed -e 'no POSIX'
  sed "s/^/ERR $name /" "$T/err" | head -3
}
run ls-ns --ns $P ls --json --kind mqueue
run ls-host ls --json --kind mqueue
run rm-host-by-ns --ns $P rm --mqueue hostq
[ -e /dev/mqueue/hostq ] && echo "HOSTQ-KEPT"
run rm-ns --ns $P rm --mqueue ctq
[ -e /proc/$P/root/dev/mqueue/ctq ] || echo "CTQ-GONE"
[ -e /proc/$P/root/dev/mqueue/ctq2 ] && echo "CTQ2-KEPT"
kill $P; wait $P 2>/dev/null; P=
echo "DONE"
"#;

#[test]
fn ns_lists_and_removes_the_targets_own_posix_queues_not_the_hosts() {
    if !is_root() {
        return skip("building a container with unshare --mount --ipc needs root");
    }
    let Some(text) = in_container(MQUEUE_SCRIPT, "mq", &[]) else {
        return;
    };
    let out_of = |name: &str| {
        let prefix = format!("OUT {name} ");
        text.lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The target's queues, named as the target names them; none of the host's.
    assert_eq!(rc(&text, "ls-ns"), 0, "{text}");
    let ns = out_of("ls-ns");
    assert!(ns.contains("\"/dev/mqueue/ctq\""), "{text}");
    assert!(ns.contains("\"/dev/mqueue/ctq2\""), "{text}");
    assert!(!ns.contains("hostq"), "{text}");
    // And the host's view has the host's only.
    let host = out_of("ls-host");
    assert!(host.contains("hostq") && !host.contains("ctq"), "{text}");
    // rm by name within the target: the host's queue is not the target's to name.
    assert_eq!(rc(&text, "rm-host-by-ns"), 1, "{text}");
    assert!(
        errors(&text, "rm-host-by-ns").contains("no POSIX message queue"),
        "{text}"
    );
    assert!(text.contains("HOSTQ-KEPT"), "{text}");
    assert_eq!(rc(&text, "rm-ns"), 0, "{text}");
    assert!(
        text.contains("CTQ-GONE") && text.contains("CTQ2-KEPT"),
        "{text}"
    );
}
