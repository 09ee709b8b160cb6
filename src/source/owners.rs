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

/// The same, but a process of any user counts.
fn rule_any_user(pattern: &str, program: &str, processes: &[&str], extra: Extra) -> OwnerRule {
    OwnerRule {
        any_user: true,
        ..rule(pattern, program, processes, extra)
    }
}

/// The built-in table: each program's own /dev/shm naming, read in its source (repository and
/// file beside each rule; README, "Well-known owners", says the same in words). Order matters:
/// the first match wins, so the catch-all libfabric shape comes last.
///
/// An empty process list means nothing comes back for such an object by name: the program
/// unlinks it right after making it (or maps it for as long as it lives), so a named one that
/// nobody holds is a crash's leftover. Programs that keep no names in /dev/shm at all (memfds
/// only) have no rule: PipeWire (`pipewire-memfd:…`), libwayland-cursor (`wayland-cursor`),
/// weston, mesa and Qt's wl_shm buffers.
pub fn builtin() -> Vec<OwnerRule> {
    use Extra::*;
    vec![
        // postgres/postgres src/backend/storage/ipc/dsm_impl.c (dsm_impl_posix):
        // "/PostgreSQL.<handle>"; backends map it on demand, the postmaster (comm "postgres")
        // removes it at shutdown.
        rule(
            "PostgreSQL.*",
            "PostgreSQL",
            &["postgres", "postmaster"],
            None,
        ),
        // python/cpython Lib/multiprocessing/shared_memory.py: "/psm_" + token_hex(4)
        // (psm_3f2a11b0), registered with the resource tracker (resource_tracker.py, run as
        // `python -c 'from multiprocessing.resource_tracker import main;main(N)'`), which
        // unlinks what is left when its program ends.
        rule(
            "psm_*",
            "Python multiprocessing",
            &["python*"],
            Cmdline("resource_tracker"),
        ),
        // python/cpython Lib/multiprocessing/synchronize.py: sem_open of
        // semprefix "/mp" (process.py) + "-" + 8 of [a-z0-9_] (tempfile._RandomNameSequence):
        // /dev/shm/sem.mp-x2k9q1ab. Named only under spawn/forkserver (fork unlinks at
        // once); tracked by the same resource tracker.
        rule(
            "sem.mp-*",
            "Python multiprocessing",
            &["python*"],
            Cmdline("resource_tracker"),
        ),
        // python/cpython Lib/multiprocessing/heap.py (Arena, POSIX): mkstemp(prefix=
        // "pym-<pid>-", dir="/dev/shm") then os.unlink at once: a named one is a crash's
        // leftover, or its creator (the pid in the name) between the two calls.
        rule("pym-*", "Python multiprocessing", &[], PidAfter("pym-")),
        // pytorch/pytorch aten/src/ATen/MapAllocator.cpp (NewProcessWideShmHandle):
        // "/torch_<pid>_<random>_<counter>" (older: "/torch_<pid>_<random>"). The file_system
        // sharing strategy leaves them to torch_shm_manager (torch/lib/libshm/manager.cpp,
        // comm "torch_shm_manag"), which unlinks them when its last client is gone.
        rule(
            "torch_*",
            "PyTorch",
            &["torch_shm_manag"],
            PidAfter("torch_"),
        ),
        // NVIDIA/nccl src/misc/shmutils.cc (ncclShmOpen): mkstemp("/dev/shm/nccl-XXXXXX"),
        // unlinked by the last peer to attach; the peers are the job's ranks, any program.
        rule("nccl-*", "NCCL", &["*"], None),
        // open-mpi/ompi opal/mca/btl/vader/btl_vader_component.c (v4.x):
        // "vader_segment.<node>.<euid>.<jobid hex>.<local rank>"; opal/mca/btl/sm/
        // btl_sm_component.c (v5): "sm_segment.<node>.<euid>.<jobid hex>.<node rank>", in
        // /dev/shm when writable (else the session dir), removed at job end through PMIx
        // cleanup. Opened by the job's ranks: any program of the owner.
        rule("vader_segment.*", "Open MPI", &["*"], None),
        rule("sm_segment.*", "Open MPI", &["*"], None),
        // cornelisnetworks/opa-psm2 ptl_am/am_reqrep_shmem.c: "/psm2_shm.<uid><epid %016lx><n>";
        // psm_context.c: "/psm2_hfi_affinity_shm.<hash>" and its semaphore
        // "/psm2_hfi_affinity_shm_rw_mutex.<hash>" (psm_user.h), shared by the job's ranks.
        rule("psm2_shm.*", "PSM2", &["*"], None),
        rule("psm2_hfi_affinity_shm.*", "PSM2", &["*"], None),
        rule("sem.psm2_hfi_affinity_shm_rw_mutex.*", "PSM2", &["*"], None),
        // ofiwg/libfabric prov/psm3/psm3/ptl_am/am_reqrep_shmem.c:
        // "/psm3_shm.<uid>.<epid 0x…:0x…:0x…>.<n>"; psm_nic_select.c and psm_config.h:
        // "/psm3_nic_affinity_shm.<hash>" and "/psm3_nic_affinity_shm_rw_mutex.<hash>".
        rule("psm3_shm.*", "PSM3", &["*"], None),
        rule("psm3_nic_affinity_shm.*", "PSM3", &["*"], None),
        rule("sem.psm3_nic_affinity_shm_rw_mutex.*", "PSM3", &["*"], None),
        // chromium/chromium base/memory/platform_shared_memory_region_posix.cc: a temporary
        // file in /dev/shm named by GetTempTemplate (base/files/file_util_posix.cc):
        // ".org.chromium.Chromium.XXXXXX", ".com.google.Chrome.XXXXXX" in branded builds,
        // unlinked before Create returns: never reopened by name.
        rule(".org.chromium.Chromium.*", "Chromium", &[], None),
        rule(".com.google.Chrome.*", "Chrome", &[], None),
        // pulseaudio/pulseaudio src/pulsecore/shm.c: "/pulse-shm-<random u32>", mapped by
        // its creator while it lives and opened by id by its peer; pa_shm_cleanup() in the
        // daemon removes those whose creator (a pid inside the segment) is dead. PipeWire's
        // pulse server uses memfds.
        rule("pulse-shm-*", "PulseAudio", &["pulseaudio"], None),
        // jackaudio/jack2 common/shm.c: the registry "/jack-shm-registry" (mode 0666, shared
        // by every user's server, left in place) and segments "/jack-<uid>-<n>";
        // linux/JackLinuxFutex.cpp (since 1.9.11): futexes in "jack_sem.<uid>_<server>_<client>"
        // made by shm_open; posix/JackPosixSemaphore.cpp (older, non-Linux): sem_open of the
        // same name, so "sem.jack_sem.…".
        rule_any_user("jack-shm-registry", "JACK", &["jackd", "jackdbus"], None),
        rule("jack-*", "JACK", &["jackd", "jackdbus"], None),
        rule("jack_sem.*", "JACK", &["jackd", "jackdbus"], None),
        rule("sem.jack_sem.*", "JACK", &["jackd", "jackdbus"], None),
        // Wayland clients' wl_shm pools are memfds; the fallbacks shm_open a random name and
        // shm_unlink it at once: swaywm/wlroots util/shm.c "/wlroots-XXXXXX", GNOME/gtk
        // gdk/wayland/gdkdisplay-wayland.c "/gdk-wayland-<hex>".
        rule("wlroots-??????", "Wayland (wlroots)", &[], None),
        rule("gdk-wayland-*", "Wayland (GTK)", &[], None),
        // lttng/lttng-ust include/lttng/ust-ctl.h and src/lib/lttng-ust/lttng-ust-comm.c:
        // "lttng-ust-wait-<abi>" (the root session daemon's) and "lttng-ust-wait-<abi>-<uid>"
        // (a user's), kept for traced programs to wait on; the global one serves every user.
        rule_any_user("lttng-ust-wait-*", "LTTng", &["lttng-sessiond"], None),
        // ofiwg/libfabric prov/shm/src/smr_ep.c (smr_endpoint_name) and smr_init.c
        // (smr_resolve_addr): "fi_shm://<pid>" + ":<uid>:<ep>" (1.10 and older:
        // ":<uid>:<dom>:<ep>"), shm_open'ed without its "fi_shm://" (smr_util.c): so
        // "<pid>:<uid>:<ep>". The creator maps its region until it closes the endpoint, which
        // unlinks it (smr_free; also on a fatal signal, smr_signal.h).
        rule("*:*:*", "libfabric shm", &[], PidAfter("")),
    ]
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
///
/// Rows judged alike ask alike: 200,000 `psm_` objects of one user ask 200,000 times which
/// PostgreSQL processes of that user are alive. The answer for a (rule, owner) pair is kept, so
/// the processes are matched against a rule's globs (and command lines read) once per pair, not
/// once per row: a listing grows with its rows, not with rows times processes (it took 25-50 s
/// for 200,000 such rows at 1,000 processes before).
#[derive(Debug, Default)]
pub struct ProcTable {
    /// Sorted by pid.
    pub procs: Vec<Proc>,
    /// Programs' live processes by (rule, owner uid): the rule's address in the `Owners` that
    /// outlives this table, which no two rules share.
    by_rule: std::cell::RefCell<std::collections::HashMap<RuleOwner, Vec<i32>>>,
}

/// A rule (by address) and an owner uid (None when any user's processes count).
type RuleOwner = (usize, Option<u32>);

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
        ProcTable::new(procs)
    }

    pub fn new(mut procs: Vec<Proc>) -> ProcTable {
        procs.sort_unstable_by_key(|p| p.pid);
        ProcTable {
            procs,
            by_rule: Default::default(),
        }
    }

    /// Live processes of `rule`'s program that could come back for an object owned by `uid`.
    pub fn alive(&self, sys: &Sys, rule: &OwnerRule, name: &str, uid: Option<u32>) -> Vec<i32> {
        let same_user = |p: &Proc| rule.any_user || uid.is_none_or(|u| u == p.uid);
        let key = (
            rule as *const OwnerRule as usize,
            uid.filter(|_| !rule.any_user),
        );
        let mut pids = self
            .by_rule
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                self.procs
                    .iter()
                    .filter(|p| same_user(p))
                    .filter(|p| rule.processes.iter().any(|g| glob_match(g, &p.comm)))
                    .filter(|p| match rule.extra {
                        Extra::Cmdline(text) => cmdline_contains(sys, p.pid, text),
                        _ => true,
                    })
                    .map(|p| p.pid)
                    .collect()
            })
            .clone();
        if let Extra::PidAfter(prefix) = rule.extra {
            if let Some(pid) = pid_after(name, prefix) {
                if let Ok(i) = self.procs.binary_search_by_key(&pid, |p| p.pid) {
                    if same_user(&self.procs[i]) {
                        pids.push(pid);
                        pids.sort_unstable();
                        pids.dedup();
                    }
                }
            }
        }
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

    /// Names as each program makes them (formats from the sources named in `builtin`).
    #[test]
    fn builtin_names() {
        let o = Owners {
            rules: builtin(),
            errors: Vec::new(),
        };
        let program = |n: &str| o.find(n).map(|r| r.program.as_str());
        for (name, want) in [
            ("PostgreSQL.1804289383", "PostgreSQL"),
            ("psm_3f2a11b0", "Python multiprocessing"),
            ("sem.mp-x2k9q1ab", "Python multiprocessing"),
            ("sem.mp-_q0zz9a1", "Python multiprocessing"),
            ("pym-4242-k3j_0xqa", "Python multiprocessing"),
            ("torch_4242_2913047713_0", "PyTorch"),
            ("torch_4242_1804289383", "PyTorch"),
            ("nccl-AbC123", "NCCL"),
            ("vader_segment.node1.1000.1a2b0001.0", "Open MPI"),
            ("sm_segment.x.1000.23c70000.0", "Open MPI"),
            ("psm2_shm.10000000f0a0001000a10", "PSM2"),
            ("psm2_hfi_affinity_shm.1827361", "PSM2"),
            ("sem.psm2_hfi_affinity_shm_rw_mutex.1827361", "PSM2"),
            ("psm3_shm.1000.0x2000041b17f04:0x0:0x0.0", "PSM3"),
            ("psm3_nic_affinity_shm.-93821", "PSM3"),
            ("sem.psm3_nic_affinity_shm_rw_mutex.-93821", "PSM3"),
            (".org.chromium.Chromium.aB3xQz", "Chromium"),
            (".com.google.Chrome.Zq81Lm", "Chrome"),
            ("pulse-shm-1483293622", "PulseAudio"),
            ("jack-shm-registry", "JACK"),
            ("jack-1000-0", "JACK"),
            ("jack_sem.1000_default_system", "JACK"),
            ("sem.jack_sem.1000_default_system", "JACK"),
            ("wlroots-KQAPbE", "Wayland (wlroots)"),
            ("gdk-wayland-5c1e03d2", "Wayland (GTK)"),
            ("lttng-ust-wait-8", "LTTng"),
            ("lttng-ust-wait-8-1000", "LTTng"),
            ("4242:1000:0", "libfabric shm"),
            ("4242:1000:0:1", "libfabric shm"),
        ] {
            assert_eq!(program(name), Some(want), "{name}");
        }
        for other in [
            "postgresql.1",
            "myapp",
            "fi_shm",
            "wl_shm-1",
            "wlroots-KQAPbEx",
        ] {
            assert_eq!(program(other), None, "{other}");
        }
    }

    /// Who keeps each program's objects: the pid in the name, a command name, or nobody.
    #[test]
    fn builtin_liveness() {
        let o = Owners {
            rules: builtin(),
            errors: Vec::new(),
        };
        let r = |n: &str| o.find(n).unwrap().clone();
        assert_eq!(r("pym-4242-k3j_0xqa").extra, Extra::PidAfter("pym-"));
        assert!(r("pym-4242-k3j_0xqa").processes.is_empty());
        assert_eq!(pid_after("4242:1000:0", ""), Some(4242));
        assert_eq!(r("4242:1000:0").extra, Extra::PidAfter(""));
        assert!(r(".org.chromium.Chromium.aB3xQz").processes.is_empty());
        assert!(r("wlroots-KQAPbE").processes.is_empty());
        assert_eq!(r("torch_1_2_3").processes, vec!["torch_shm_manag"]);
        assert_eq!(r("pulse-shm-1").processes, vec!["pulseaudio"]);
        assert!(r("jack-shm-registry").any_user && !r("jack-1000-0").any_user);
        assert!(r("lttng-ust-wait-8").any_user);
        // Command names are at most 15 bytes, as /proc/PID/comm keeps them.
        for each in builtin() {
            for p in &each.processes {
                assert!(p.len() <= 15, "{p}");
            }
        }
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

    /// The answer kept for one (rule, owner) pair is not given for another owner, and the pid in
    /// a name still counts per name.
    #[test]
    fn alive_is_kept_per_rule_and_owner() {
        let sys = Sys::new(
            Path::new("/nonexistent-proc"),
            Path::new("/nonexistent-shm"),
        );
        let p = |pid, comm: &str, uid| Proc {
            pid,
            comm: comm.into(),
            uid,
        };
        let t = ProcTable::new(vec![
            p(30, "postgres", 1001),
            p(10, "postgres", 1000),
            p(20, "bash", 1000),
            p(40, "python3", 1000),
        ]);
        let pg = rule("psm_*", "PostgreSQL", &["postgres"], Extra::None);
        for _ in 0..2 {
            assert_eq!(t.alive(&sys, &pg, "psm_1", Some(1000)), [10]);
            assert_eq!(t.alive(&sys, &pg, "psm_2", Some(1001)), [30]);
            assert_eq!(t.alive(&sys, &pg, "psm_3", Some(1002)), Vec::<i32>::new());
        }
        let any = rule_any_user("x*", "X", &["postgres"], Extra::None);
        assert_eq!(t.alive(&sys, &any, "x1", Some(1000)), [10, 30]);
        assert_eq!(t.alive(&sys, &any, "x2", Some(1002)), [10, 30]);
        let pym = rule(
            "pym-*",
            "Python multiprocessing",
            &[],
            Extra::PidAfter("pym-"),
        );
        assert_eq!(t.alive(&sys, &pym, "pym-40-abc", Some(1000)), [40]);
        assert_eq!(t.alive(&sys, &pym, "pym-20-abc", Some(1000)), [20]);
        assert_eq!(
            t.alive(&sys, &pym, "pym-30-abc", Some(1000)),
            Vec::<i32>::new()
        );
        assert_eq!(
            t.alive(&sys, &pym, "pym-99-abc", Some(1000)),
            Vec::<i32>::new()
        );
    }
}
