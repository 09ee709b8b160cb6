//! Well-known owners of /dev/shm objects: which program makes objects of a given name, and how
//! to tell whether it still runs (so that an object nobody maps right now, but that its program
//! reopens by name on demand, is `idle` rather than `leaked`).
//!
//! The built-in table holds facts about each program's own naming (from its source); users add
//! rules in `/etc/shmtool/owners.d/*.conf` and `$XDG_CONFIG_HOME/shmtool/owners.conf`
//! (`~/.config/shmtool/owners.conf` when XDG_CONFIG_HOME is unset). A rule file has one rule a
//! line, fields separated by blanks, `#` starts a comment:
//!
//! ```text
//! # NAME-GLOB      PROGRAM   PROCESSES (comm globs, comma-separated)   [any-user]
//! myapp-*          MyApp     myappd,myapp-worker*
//! ```
//!
//! NAME-GLOB matches the object's name inside /dev/shm (`*` and `?`; semaphores are named
//! `sem.NAME`). The program is alive while a process whose command name (`/proc/PID/comm`, at
//! most 15 characters) matches one of PROCESSES runs as the object's owner; with `any-user`, as
//! anyone. User rules are tried before the built-in ones.

use super::Sys;
use crate::units::glob_match;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How a program's liveness is recognised beyond its command name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    None,
    /// The process's command line must contain this text as well.
    Cmdline(&'static str),
    /// The name carries the creator's pid right after this prefix: that pid alive (as the
    /// same user) counts too.
    PidAfter(&'static str),
}

/// One rule: objects whose name matches `pattern` belong to `program`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRule {
    pub pattern: String,
    pub program: String,
    /// Command-name globs of the processes that keep such objects; `*` is any process.
    pub processes: Vec<String>,
    /// Whether a process of another user than the object's owner counts.
    pub any_user: bool,
    pub extra: Extra,
}

fn rule(pattern: &str, program: &str, processes: &[&str], extra: Extra) -> OwnerRule {
    OwnerRule {
        pattern: pattern.into(),
        program: program.into(),
        processes: processes.iter().map(|s| s.to_string()).collect(),
        any_user: false,
        extra,
    }
}

/// The built-in table. Each name pattern is the program's own (see README, "Well-known owners").
pub fn builtin() -> Vec<OwnerRule> {
    use Extra::*;
    let mpi = [
        "mpirun", "mpiexec", "orterun", "orted", "prte", "prted", "prterun", "srun", "*",
    ];
    let mut rules = vec![
        // dsm_impl_posix: "/PostgreSQL.<handle>"; backends map them on demand, the
        // postmaster (comm "postgres") removes them at shutdown.
        rule(
            "PostgreSQL.*",
            "PostgreSQL",
            &["postgres", "postmaster"],
            None,
        ),
        // multiprocessing.shared_memory: "/psm_<hex>"; synchronize: "/mp-<rand>" semaphores;
        // heap arenas "pym-<pid>-<rand>". The resource tracker runs while any user of it does.
        rule(
            "psm_*",
            "Python multiprocessing",
            &["python*"],
            Cmdline("resource_tracker"),
        ),
        rule(
            "sem.mp-*",
            "Python multiprocessing",
            &["python*"],
            Cmdline("resource_tracker"),
        ),
        rule(
            "pym-*",
            "Python multiprocessing",
            &["python*"],
            PidAfter("pym-"),
        ),
        // libshm: "/torch_<pid>_<rand>", kept by torch_shm_manager.
        rule(
            "torch_*",
            "PyTorch",
            &["torch_shm_manag"],
            PidAfter("torch_"),
        ),
        // NCCL: "nccl-XXXXXX" (mkstemp); its users are any program of the job's user.
        rule("nccl-*", "NCCL", &["*"], None),
        // Open MPI shared-memory BTL (vader before 5.0, sm since): per-job segment files.
        rule("vader_segment.*", "Open MPI", &mpi, None),
        rule("sm_segment.*", "Open MPI", &mpi, None),
        // Intel PSM2/PSM3 (under MPI or libfabric).
        rule("psm2_shm.*", "PSM2", &mpi, None),
        rule("psm3_shm.*", "PSM3", &mpi, None),
        // libfabric's shm provider.
        rule("fi_*", "libfabric", &mpi, None),
        // Chromium and Chrome: ".org.chromium.Chromium.XXXXXX", ".com.google.Chrome.XXXXXX".
        rule(".org.chromium.Chromium.*", "Chromium", &["chrom*"], None),
        rule(".com.google.Chrome.*", "Chrome", &["chrome"], None),
        // PulseAudio: "pulse-shm-<n>" (also made by PipeWire's pulse server).
        rule(
            "pulse-shm-*",
            "PulseAudio",
            &["pulseaudio", "pipewire*"],
            None,
        ),
        // JACK: "jack-<uid>-…" segments and "jack_sem.…" semaphores.
        rule("jack-*", "JACK", &["jackd", "jackdbus"], None),
        rule("sem.jack_sem.*", "JACK", &["jackd", "jackdbus"], None),
        // Wayland clients' wl_shm pools (when not memfds).
        rule(
            "wl_shm-*",
            "Wayland",
            &[
                "weston",
                "sway",
                "mutter",
                "gnome-shell",
                "kwin_wayland",
                "Xwayland",
                "labwc",
                "hyprland",
                "Hyprland",
            ],
            None,
        ),
        // LTTng-UST: "lttng-ust-wait-<abi>" (global) and "lttng-ust-wait-<abi>-<uid>".
        rule("lttng-ust-wait-*", "LTTng", &["lttng-sessiond"], None),
    ];
    // The global LTTng session daemon runs as root for everybody's tracing.
    if let Some(r) = rules.iter_mut().find(|r| r.program == "LTTng") {
        r.any_user = true;
    }
    rules
}

/// Parse one rules file; bad lines come back as messages naming the file and line.
pub fn parse_rules(text: &str, file: &Path) -> (Vec<OwnerRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let any_user = match fields.get(3) {
            None => false,
            Some(&"any-user") => true,
            Some(other) => {
                errors.push(format!(
                    "{}:{}: unknown option {other:?} (only 'any-user')",
                    file.display(),
                    n + 1
                ));
                continue;
            }
        };
        if fields.len() < 3 || fields.len() > 4 {
            errors.push(format!(
                "{}:{}: expected NAME-GLOB PROGRAM PROCESSES [any-user]",
                file.display(),
                n + 1
            ));
            continue;
        }
        rules.push(OwnerRule {
            pattern: fields[0].into(),
            program: fields[1].into(),
            processes: fields[2]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            any_user,
            extra: Extra::None,
        });
    }
    (rules, errors)
}

/// Where user rules are read from, in order.
pub fn rule_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/etc/shmtool/owners.d") {
        let mut found: Vec<PathBuf> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        found.sort();
        files.extend(found);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        files.push(c.join("shmtool/owners.conf"));
    }
    files
}

/// The rules in force: the user's, then the built-in table.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    pub rules: Vec<OwnerRule>,
    /// Lines of rule files that could not be used.
    pub errors: Vec<String>,
}

impl Owners {
    pub fn load() -> Owners {
        let mut o = Owners::default();
        for f in rule_files() {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let (rules, errors) = parse_rules(&text, &f);
            o.rules.extend(rules);
            o.errors.extend(errors);
        }
        o.rules.extend(builtin());
        o
    }

    /// The rule for an object's name inside /dev/shm.
    pub fn find(&self, name: &str) -> Option<&OwnerRule> {
        self.rules.iter().find(|r| glob_match(&r.pattern, name))
    }
}

/// A process as the owner check sees it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub comm: String,
    pub uid: u32,
}

/// Every process's command name and owner, read once (comm and the /proc/PID owner are
/// readable for every process, whoever we are).
#[derive(Debug, Default)]
pub struct ProcTable {
    pub procs: Vec<Proc>,
}

impl ProcTable {
    pub fn read(sys: &Sys) -> ProcTable {
        let me = std::process::id() as i32;
        let procs = sys
            .pids()
            .unwrap_or_default()
            .into_iter()
            .filter(|&p| p != me)
            .filter_map(|pid| {
                let uid = std::fs::metadata(sys.pid_path(pid, "")).ok()?.uid();
                let comm = sys.comm(pid);
                (comm != "?").then_some(Proc { pid, comm, uid })
            })
            .collect();
        ProcTable { procs }
    }

    /// Live processes of `rule`'s program that could come back for an object owned by `uid`.
    pub fn alive(&self, sys: &Sys, rule: &OwnerRule, name: &str, uid: Option<u32>) -> Vec<i32> {
        let same_user = |p: &Proc| rule.any_user || uid.is_none_or(|u| u == p.uid);
        let mut pids: Vec<i32> = self
            .procs
            .iter()
            .filter(|p| same_user(p))
            .filter(|p| rule.processes.iter().any(|g| glob_match(g, &p.comm)))
            .filter(|p| match rule.extra {
                Extra::Cmdline(text) => cmdline_contains(sys, p.pid, text),
                _ => true,
            })
            .map(|p| p.pid)
            .collect();
        if let Extra::PidAfter(prefix) = rule.extra {
            if let Some(pid) = pid_after(name, prefix) {
                if let Some(p) = self.procs.iter().find(|p| p.pid == pid && same_user(p)) {
                    pids.push(p.pid);
                }
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

/// The decimal number right after `prefix` in `name`.
fn pid_after(name: &str, prefix: &str) -> Option<i32> {
    let rest = name.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok().filter(|&p: &i32| p > 0)
}

fn cmdline_contains(sys: &Sys, pid: i32, text: &str) -> bool {
    let mut buf = Vec::new();
    let read = std::fs::File::open(sys.pid_path(pid, "cmdline"))
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut buf));
    read.is_ok() && buf.windows(text.len().max(1)).any(|w| w == text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names() {
        let o = Owners {
            rules: builtin(),
            errors: Vec::new(),
        };
        let program = |n: &str| o.find(n).map(|r| r.program.as_str());
        assert_eq!(program("PostgreSQL.1804289383"), Some("PostgreSQL"));
        assert_eq!(program("psm_3f2a11b0"), Some("Python multiprocessing"));
        assert_eq!(program("sem.mp-x2k9q1ab"), Some("Python multiprocessing"));
        assert_eq!(program("torch_4242_1234567"), Some("PyTorch"));
        assert_eq!(program("nccl-AbC123"), Some("NCCL"));
        assert_eq!(program("vader_segment.node1.1a2b0001.0"), Some("Open MPI"));
        assert_eq!(program("pulse-shm-12345"), Some("PulseAudio"));
        assert_eq!(program("lttng-ust-wait-8-1000"), Some("LTTng"));
        assert_eq!(program("postgresql.1"), None);
        assert_eq!(program("myapp"), None);
    }

    #[test]
    fn pid_in_name() {
        assert_eq!(pid_after("torch_4242_99", "torch_"), Some(4242));
        assert_eq!(pid_after("pym-17-abc", "pym-"), Some(17));
        assert_eq!(pid_after("torch_x", "torch_"), None);
    }

    #[test]
    fn rule_file_format() {
        let text = "# comment\n\nmyapp-*  MyApp  myappd,worker*\nrt.*  RT  rtd  any-user # trailing\nbad line\nx y z what\n";
        let (rules, errors) = parse_rules(text, Path::new("/etc/shmtool/owners.d/a.conf"));
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].processes, vec!["myappd", "worker*"]);
        assert!(!rules[0].any_user);
        assert!(rules[1].any_user);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("a.conf:5"), "{errors:?}");
    }
}
