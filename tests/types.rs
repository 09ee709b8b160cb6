//! `--type` and `types`: C and C++ programs built with -g write their own structs into System V,
//! POSIX and file mappings; shmtool decodes them with the programs' DWARF. Writers change every
//! member one step at a time when the test asks (a byte on their stdin) and say when they are
//! done (a line on their stdout), so no test waits by sleeping.

use crate::fixtures::{run, skip, start_paused, PosixObj, SysvSeg};
use crate::programs::build;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A writer of `struct REC` (which begins with the seed's `struct STU`). argv: `sysv SHMID`,
/// `posix /dev/shm/NAME` or `file PATH`. Prints the address of the record, then for each byte
/// read from stdin changes every member (step k: id = 10 + k, name "step k", ...), or for an
/// `i` only adds 100 to the id, and prints `ok`. Exits at end of input.
const REC_WRITER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

struct STU { int id; char name[20]; char sex; };
enum color { RED, GREEN, BLUE, CYAN };
struct inner { short a; double d; };
struct REC {
    struct STU stu;
    enum color colour;
    struct inner in[2];
    unsigned flags : 3;
    int delta : 5;
    union { int i; float f; } u;
    long *heap;
    unsigned char raw[3];
};

int main(int argc, char **argv) {
    void *mem;
    if (strcmp(argv[1], "sysv") == 0) {
        mem = shmat(atoi(argv[2]), NULL, 0);
        if (mem == (void *)-1) { perror("shmat"); return 1; }
    } else {
        int fd = open(argv[2], O_RDWR | O_CREAT, 0600);
        if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 1; }
        mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mem == MAP_FAILED) { perror("mmap"); return 1; }
        close(fd);
    }
    struct REC *r = mem;
    memset(r, 0, sizeof *r);
    r->stu.id = 10;
    strcpy(r->stu.name, "hqx");
    r->stu.sex = 'm';
    r->colour = RED;
    r->heap = malloc(64);
    printf("%p\n", mem);
    fflush(stdout);
    int c;
    for (int k = 1; (c = getchar()) != EOF; k++) {
        if (c == 'i') { /* only the id */
            r->stu.id += 100;
            k--;
            printf("ok\n");
            fflush(stdout);
            continue;
        }
        r->stu.id = 10 + k;
        snprintf(r->stu.name, sizeof r->stu.name, "step %d", k);
        r->stu.sex = k % 2 ? 'f' : 'm';
        r->colour = (enum color)(k % 4);
        r->in[0].a = -k;
        r->in[0].d = k + 0.5;
        r->in[1].a = 2 * k;
        r->in[1].d = -k - 0.25;
        r->flags = k % 8;
        r->delta = -(k % 16);
        r->u.i = 1000 + k;
        r->heap = malloc(64);
        r->raw[0] = k; r->raw[1] = 2 * k; r->raw[2] = 3 * k;
        printf("ok\n");
        fflush(stdout);
    }
    return 0;
}
"#;

/// What every member of `struct REC` holds after step `k`, as
/// `watch --json` and `dump --json` give it (the pointer is checked separately).
fn expected(k: i64) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let colours = ["RED", "GREEN", "BLUE", "CYAN"];
    vec![
        ("stu.id", json!(10 + k)),
        ("stu.name", json!(format!("step {k}"))),
        ("stu.sex", json!(if k % 2 == 1 { "f" } else { "m" })),
        ("colour", json!(colours[(k % 4) as usize])),
        ("in[0].a", json!(-k)),
        ("in[0].d", json!(k as f64 + 0.5)),
        ("in[1].a", json!(2 * k)),
        ("in[1].d", json!(-(k as f64) - 0.25)),
        ("flags", json!(k % 8)),
        ("delta", json!(-(k % 16))),
        ("u.i", json!(1000 + k)),
        ("raw", json!([k, 2 * k, 3 * k])),
    ]
}

/// Every member of `struct REC`, flattened as shmtool names them.
const REC_MEMBERS: [&str; 14] = [
    "stu.id", "stu.name", "stu.sex", "colour", "in[0].a", "in[0].d", "in[1].a", "in[1].d", "flags",
    "delta", "u.i", "u.f", "heap", "raw",
];

/// A running writer; killed and reaped on drop.
struct Writer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pid: i32,
    addr: String,
}

impl Writer {
    fn start(exe: &Path, args: &[&str]) -> Writer {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start writer");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("0x"), "writer printed {line:?}");
        let pid = child.id() as i32;
        Writer {
            child,
            stdin,
            stdout,
            pid,
            addr: line.trim().to_string(),
        }
    }

    /// One step: every member changes; returns when the writer says it is done.
    fn step(&mut self) {
        self.send(b'n');
    }

    /// Send one command byte and wait for the writer's `ok`.
    fn send(&mut self, byte: u8) {
        let w = self.stdin.as_mut().unwrap();
        w.write_all(&[byte]).unwrap();
        w.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ok\n");
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("shmtool-types")
        .tempdir()
        .unwrap()
}

/// The writer built with -g, or None (SKIPPED) without gcc.
fn rec_writer(dir: &Path) -> Option<PathBuf> {
    build(dir, "rec_writer", "gcc", REC_WRITER)
}

/// The three kinds of mapping a writer can share its record through: (label, writer args, the
/// shmtool selector). The returned guards remove the objects.
struct Mappings {
    seg: SysvSeg,
    obj: PosixObj,
    file: PathBuf,
}

impl Mappings {
    fn new(dir: &Path) -> Mappings {
        Mappings {
            seg: SysvSeg::new(4096, 0),
            obj: PosixObj::new(4096, 0),
            file: dir.join("shared.bin"),
        }
    }

    fn each(&self) -> Vec<(&'static str, Vec<String>, Vec<String>)> {
        let shmid = self.seg.shmid.to_string();
        let posix = self.obj.path.display().to_string();
        let file = self.file.display().to_string();
        vec![
            (
                "sysv",
                vec!["sysv".into(), shmid.clone()],
                vec!["--shmid".into(), shmid],
            ),
            (
                "posix",
                vec!["posix".into(), posix.clone()],
                vec!["--path".into(), self.obj.name.clone()],
            ),
            (
                "file",
                vec!["file".into(), file.clone()],
                vec!["--path".into(), file],
            ),
        ]
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn types_lists_the_structs_a_program_defines() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let file = dir.path().join("f.bin");
    let w = Writer::start(&exe, &["file", file.to_str().unwrap()]);
    let (code, out, err) = run(&["types", &w.pid.to_string()]);
    assert_eq!(code, 0, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("KIND") && header.contains("SIZE"),
        "{out}"
    );
    let stu = out.lines().find(|l| l.contains(" STU ")).expect(&out);
    assert!(stu.starts_with("struct") && stu.contains("28"), "{stu}");
    assert!(out.lines().any(|l| l.contains(" REC ")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(" inner ") && l.contains("16")),
        "{out}"
    );
    // From the file, filtered and as JSON.
    let (code, out, err) = run(&["types", exe.to_str().unwrap(), "ST*", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["STU"], "{out}");
    assert_eq!(v[0]["kind"], "struct");
    assert_eq!(v[0]["size"], 28);
    assert_eq!(v[0]["members"], 3);
}

#[test]
fn dump_type_decodes_like_the_layout_in_every_kind_of_mapping() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let maps = Mappings::new(dir.path());
    for (kind, wargs, sel) in maps.each() {
        let w = Writer::start(&exe, &strs(&wargs));
        let sel = strs(&sel);
        let mut typed_args = vec!["dump"];
        typed_args.extend(&sel);
        typed_args.extend(["--type", "struct STU"]);
        let typed = run(&typed_args);
        let mut layout_args = vec!["dump"];
        layout_args.extend(&sel);
        layout_args.extend(["--layout", "id:int,name:char[20],sex:char"]);
        let spelled = run(&layout_args);
        assert_eq!(typed.0, 0, "{kind}: {}", typed.2);
        assert_eq!(typed.1, "id=10 name=\"hqx\" sex='m'\n", "{kind}");
        assert_eq!(typed.1, spelled.1, "{kind}: --type and --layout differ");
        // The whole record, every member by name; the pointer into the writer's heap is named.
        let mut args = vec!["dump"];
        args.extend(&sel);
        args.extend(["--type", "struct REC"]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{kind}: {err}");
        let first = out.lines().next().unwrap();
        for m in REC_MEMBERS {
            assert!(
                first.contains(&format!("{m}=")),
                "{kind}: no {m} in {first}"
            );
        }
        assert!(first.contains("colour=RED"), "{first}");
        assert!(
            out.contains(&format!("heap: pointer into pid {} [heap]", w.pid)),
            "{kind}: {out}"
        );
        drop(w);
    }
}

#[test]
fn watch_type_shows_every_member_changing() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let maps = Mappings::new(dir.path());
    for (kind, wargs, sel) in maps.each() {
        let mut w = Writer::start(&exe, &strs(&wargs));
        // One refresh as text: every member by name.
        let mut args = vec!["watch"];
        args.extend(strs(&sel));
        args.extend(["--type", "struct REC", "--count", "1"]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{kind}: {err}");
        for m in REC_MEMBERS {
            assert!(out.contains(&format!(" {m}=")), "{kind}: no {m} in {out}");
        }
        // JSON Lines while the writer steps: each step's values arrive, member by member.
        // Stopped once its first snapshot is taken, so that every step is a change it sees.
        let mut wargs = vec!["watch"];
        wargs.extend(strs(&sel));
        wargs.extend(["--type", "struct REC", "--json", "--interval", "10ms"]);
        wargs.extend(["--count", "100000"]);
        let mut watch = start_paused(&wargs, "watch:shown");
        let guard = KillOnDrop(&mut watch);
        let mut lines = BufReader::new(guard.0.stdout.take().unwrap()).lines();
        unsafe { libc::kill(guard.0.id() as i32, libc::SIGCONT) };
        let mut heaps = Vec::new();
        for k in 1..=3i64 {
            w.step();
            // Refreshes may catch the writer mid-step; the last state always arrives.
            let fields = loop {
                let line = lines
                    .next()
                    .unwrap_or_else(|| panic!("{kind}: watch ended early"))
                    .unwrap();
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let rec = &v["records"][0];
                assert_eq!(rec["index"], 0, "{line}");
                let fields = rec["fields"].clone();
                if fields["stu.id"] == 10 + k && fields["raw"][2] == 3 * k {
                    break fields;
                }
            };
            for (name, want) in expected(k) {
                assert_eq!(fields[name], want, "{kind}: step {k}: {name}");
            }
            // The union's float is the same bits as its int.
            let f = fields["u.f"].as_f64().unwrap() as f32;
            assert_eq!(f.to_bits(), (1000 + k) as u32, "{kind}: step {k}: u.f");
            heaps.push(fields["heap"].as_str().unwrap().to_string());
        }
        heaps.dedup();
        assert_eq!(heaps.len(), 3, "{kind}: the pointer member did not change");
        drop(guard);
    }
}

#[test]
fn watch_type_on_a_terminal_highlights_the_members_that_changed() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let file = dir.path().join("f.bin");
    let mut w = Writer::start(&exe, &["file", file.to_str().unwrap()]);
    let bin = env!("CARGO_BIN_EXE_shmtool");
    // Two refreshes: the first draws, then it stops (pause point) while the id changes; the
    // second shows the change.
    let script = Command::new("script")
        .args([
            "-qec",
            &format!(
                "stty rows 30 cols 250; exec {bin} watch --path {} --type 'struct REC' \
                 --interval 20ms --count 2",
                file.display()
            ),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .env("SHMTOOL_PAUSE_AT", "watch:shown")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut script) = script else {
        skip("script (util-linux) is not installed");
        return;
    };
    let pid = crate::watch::shmtool_under(script.id() as i32);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !crate::fixtures::is_stopped(pid as u32) {
        assert!(std::time::Instant::now() < deadline, "watch never drew");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    w.send(b'i');
    // Continue it, and script too should it have stopped along with its child (job control).
    while script.try_wait().unwrap().is_none() {
        for p in [pid, script.id() as i32] {
            if crate::fixtures::is_stopped(p as u32) {
                unsafe { libc::kill(p, libc::SIGCONT) };
            }
        }
        assert!(std::time::Instant::now() < deadline, "watch never ended");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = script.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The last screen: the id highlighted, the other members plain.
    let last = &text[text.rfind("\x1b[H").expect("no screen drawn")..];
    let id = last.find("stu.id=").expect(&text) + "stu.id=".len();
    assert!(
        last[id..].starts_with('\x1b'),
        "id not highlighted: {last:?}"
    );
    assert!(last[id..].contains("110"), "{last:?}");
    assert!(
        last.contains("stu.name=\"hqx\""),
        "name highlighted: {last:?}"
    );
    assert!(last.contains("colour=RED"), "colour highlighted: {last:?}");
}

struct KillOnDrop<'a>(&'a mut Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A class holding a std::string (long enough to live on the heap), placed in shared memory.
const CXX_CLASS: &str = r#"
#include <cstdio>
#include <fcntl.h>
#include <new>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

class testmap {
public:
    int data;
    std::string str;
    int id;
};

int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 1; }
    void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    close(fd);
    testmap *t = new (p) testmap;
    t->data = 3;
    t->str = "a string far too long for the small-string buffer of libstdc++";
    t->id = 2;
    std::printf("%p\n", p);
    std::fflush(stdout);
    while (std::getchar() != EOF) {}
    return 0;
}
"#;

#[test]
fn a_class_holding_a_std_string_is_flagged() {
    let dir = temp();
    let Some(exe) = build(dir.path(), "testmap", "g++", CXX_CLASS) else {
        return;
    };
    let file = dir.path().join("testmmap");
    let w = Writer::start(&exe, &[file.to_str().unwrap()]);
    let path = file.to_str().unwrap();
    let (code, out, err) = run(&["dump", "--path", path, "--type", "testmap"]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("data=3 str=<std::string: heap 0x"),
        "{out}"
    );
    assert!(first.ends_with(" id=2"), "{out}");
    assert!(
        out.contains(
            "str: std::string points into the writer's heap — this is why the reader crashes"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("str: pointer into pid {} [heap]", w.pid)),
        "{out}"
    );
    // JSON: the member is marked, and the warning travels with the record.
    let (code, out, err) = run(&["dump", "--path", path, "--type", "class testmap", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["fields"]["str"]["heap_owner"], true);
    assert_eq!(v["fields"]["data"], 3);
    assert!(v["hints"][0]
        .as_str()
        .unwrap()
        .contains("points into the writer's heap"));
    // `types` names the class.
    let (code, out, _) = run(&["types", exe.to_str().unwrap(), "testmap"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("class") && l.contains("testmap")),
        "{out}"
    );
}

fn tool(cmd: &str, args: &[&str]) -> bool {
    match Command::new(cmd).args(args).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => panic!("{cmd} {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            skip(&format!("{cmd} (binutils) is not installed"));
            false
        }
    }
}

#[test]
fn a_split_debug_file_is_found_by_its_debuglink() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let e = exe.to_str().unwrap();
    let debug = format!("{e}.debug");
    if !(tool("objcopy", &["--only-keep-debug", e, &debug])
        && tool("strip", &["--strip-debug", "--strip-unneeded", e])
        && tool("objcopy", &[&format!("--add-gnu-debuglink={debug}"), e]))
    {
        return;
    }
    let file = dir.path().join("f.bin");
    let w = Writer::start(&exe, &["file", file.to_str().unwrap()]);
    let (code, out, err) = run(&["dump", &w.pid.to_string(), &w.addr, "--type", "struct STU"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "id=10 name=\"hqx\" sex='m'\n");
    // The stripped file alone leads to its debug file too.
    let (code, out, err) = run(&["types", e, "STU"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("STU"), "{out}");
}

#[test]
fn a_stripped_program_without_debuginfo_is_a_one_line_error() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let e = exe.to_str().unwrap();
    if !tool("strip", &["--strip-debug", e]) {
        return;
    }
    let file = dir.path().join("f.bin");
    let w = Writer::start(&exe, &["file", file.to_str().unwrap()]);
    for args in [
        vec![
            "dump",
            "--path",
            file.to_str().unwrap(),
            "--type",
            "struct STU",
        ],
        vec![
            "watch",
            "--path",
            file.to_str().unwrap(),
            "--type",
            "STU",
            "--count",
            "1",
        ],
        vec!["types", e],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("shmtool: error: "), "{err}");
        assert!(
            err.contains(e) && err.contains("no debug information"),
            "{err}"
        );
        assert!(err.contains("build-id"), "{err}");
    }
    drop(w);
}

#[test]
fn a_segment_nobody_maps_takes_types_from_a_debug_file_or_a_pid() {
    let dir = temp();
    let Some(exe) = rec_writer(dir.path()) else {
        return;
    };
    let seg = SysvSeg::new(4096, 0);
    let id = seg.shmid.to_string();
    let (code, _, err) = run(&["dump", "--shmid", &id, "--type", "struct STU"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--debug-file") && err.contains("--pid-for-types"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "dump",
        "--shmid",
        &id,
        "--type",
        "struct STU",
        "--debug-file",
        exe.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(
        v["fields"]["id"].is_number() && v["fields"]["name"].is_string(),
        "{out}"
    );
    // Another process running the same program lends its types.
    let file = dir.path().join("f.bin");
    let w = Writer::start(&exe, &["file", file.to_str().unwrap()]);
    let (code, out, err) = run(&[
        "dump",
        "--shmid",
        &id,
        "--type",
        "STU[2]",
        "--pid-for-types",
        &w.pid.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.starts_with("[0] id="), "{out}");
    // Unknown names and bad names are one-line errors.
    for (ty, want) in [
        ("struct NOPE", "no type 'struct NOPE'"),
        ("STU[0]", "array length 0"),
    ] {
        let (code, _, err) = run(&[
            "dump",
            "--shmid",
            &id,
            "--type",
            ty,
            "--debug-file",
            exe.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{ty}");
        let errors = err.lines().filter(|l| l.starts_with("shmtool: error: "));
        assert_eq!(errors.count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
}
