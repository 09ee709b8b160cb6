//! Small C and C++ programs of the kind our users write (after the seeds in ../shared/seeds),
//! built with gcc/g++ into a temporary directory and run as real targets. Each prints the
//! address of its shared mapping on its first line; dropping a [`Program`] kills and reaps it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The seed's writer: `struct STU` in a MAP_SHARED file, `id++` every 50ms. argv[1] is the file;
/// argv[2], if given, is how many writes to make before exiting. `seed_global` is a symbol
/// tests resolve.
pub const STU_WRITER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct STU { int id; char name[20]; char sex; };
struct STU seed_global = { 42, "symbolic", 'x' };

int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    struct STU student = { 10, "hqx", 'm' };
    if (ftruncate(fd, sizeof(student)) != 0) { perror("ftruncate"); return 1; }
    struct STU *mm = mmap(NULL, sizeof(student), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mm == MAP_FAILED) { perror("mmap"); return 1; }
    close(fd);
    memcpy(mm, &student, sizeof(student));
    printf("%p\n", (void *)mm);
    fflush(stdout);
    long limit = argc > 2 ? atol(argv[2]) : -1;
    for (long n = 0; limit < 0 || n < limit; n++) {
        memcpy(mm, &student, sizeof(student));
        student.id++;
        usleep(50000);
    }
    return 0;
}
"#;

/// The C++ bug from the seeds: a `std::string` (long enough to live on the heap) placed in
/// shared memory. argv[1] is a file to map shared.
pub const CXX_STRING: &str = r#"
#include <cstdio>
#include <fcntl.h>
#include <new>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

struct Rec { long id; std::string name; };

int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 1; }
    void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    close(fd);
    new (p) Rec{7, std::string("a name far too long for the small-string buffer")};
    std::printf("%p\n", p);
    std::fflush(stdout);
    pause();
    return 0;
}
"#;

/// Build `source` with `compiler` (gcc or g++) into `dir`; None (and a SKIPPED line) when the
/// compiler is missing.
pub fn build(dir: &Path, name: &str, compiler: &str, source: &str) -> Option<PathBuf> {
    let ext = if compiler == "g++" { "cc" } else { "c" };
    let src = dir.join(format!("{name}.{ext}"));
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(name);
    match Command::new(compiler)
        .args(["-O0", "-g", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
    {
        Ok(out) if out.status.success() => Some(exe),
        Ok(out) => panic!(
            "{compiler} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            crate::fixtures::skip(&format!("{compiler} is not installed"));
            None
        }
    }
}

/// A running test program; killed and reaped on drop.
pub struct Program {
    pub child: Child,
    pub pid: i32,
    /// The address it printed.
    pub addr: u64,
}

impl Program {
    pub fn start(exe: &Path, args: &[&str]) -> Program {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("start test program");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let hex = line.trim().trim_start_matches("0x");
        let addr = u64::from_str_radix(hex, 16)
            .unwrap_or_else(|_| panic!("test program printed {line:?}"));
        let pid = child.id() as i32;
        Program { child, pid, addr }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run shmtool with `args` (a shell word list) under a pseudo-terminal (util-linux `script`);
/// `then` gets script's pid while it runs. Returns the terminal's output, or None (and a
/// SKIPPED line) without `script`.
pub fn in_pty(args: &str, then: impl FnOnce(i32)) -> Option<Vec<u8>> {
    let bin = env!("CARGO_BIN_EXE_shmtool");
    let child = std::process::Command::new("script")
        .args(["-qec", &format!("exec {bin} {args}"), "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        crate::fixtures::skip("script (util-linux) is not installed");
        return None;
    };
    then(child.id() as i32);
    Some(child.wait_with_output().unwrap().stdout)
}
