//! The command line, as clap derive types. Man pages and completions are generated from this.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// See, read and safely remove live shared memory on Linux.
///
/// shmtool lists every shared-memory object on the machine (System V segments, POSIX objects in
/// /dev/shm, memfds, shared anonymous memory, files mapped shared and files deleted while mapped)
/// with every process attached to it; reads their bytes without writing to them; and removes
/// leaked System V segments and POSIX objects without touching what is in use.
#[derive(Debug, Parser)]
#[command(
    name = "shmtool",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "EXAMPLES:\n  shmtool ls                 every object and who holds it\n  shmtool ls --stale         leak suspects only\n  shmtool show 32822         one segment in full\n  shmtool key ./keytest 100  which shmid does ftok(\"keytest\", 100) name?\n  shmtool rm --stale --dry-run  what rm --stale would remove, removing nothing"
)]
pub struct Cli {
    /// When to use colour: auto (a terminal, NO_COLOR unset or empty, TERM not dumb), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Where procfs is mounted (for tests on captured trees).
    #[arg(long, default_value = "/proc", global = true, hide = true)]
    pub proc_root: PathBuf,

    /// Where POSIX shared memory lives.
    #[arg(long, default_value = "/dev/shm", global = true, hide = true)]
    pub shm_dir: PathBuf,

    /// Where the mqueue filesystem (POSIX message queues) is mounted.
    #[arg(long, default_value = "/dev/mqueue", global = true, hide = true)]
    pub mqueue_dir: PathBuf,

    /// Look from inside the IPC namespace (and at the /dev/shm) of this process, as
    /// `nsenter -t PID -i -m` would: a container's segments, by the ids it knows them by.
    #[arg(long, value_name = "PID", global = true)]
    pub ns: Option<i32>,

    /// Do not fit tables to the terminal: print every column and every name in full.
    #[arg(long, global = true)]
    pub wide: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Defined beside the code that decides colour, so that `render` need not import the command line.
pub use crate::render::color::ColorChoice;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every shared-memory object with the processes attached to it.
    ///
    /// One row per object of every kind (see shmtool(1), KINDS): its id, key, size, resident
    /// bytes, owner, permissions, attach count, the processes that map it or hold it open (as
    /// PID(COMMAND)), its age, its state and its name. Filters (--kind, --pid, --user, --name,
    /// --older-than, --stale, --idle, --verdict) narrow the rows; --json and --format
    /// prometheus write them for programs. Processes that cannot be read are counted in a note
    /// on standard error.
    ///
    /// The state starts with a verdict. "in use": a process maps it, holds it open, or is
    /// attached. "idle": nobody holds it, but something alive could come back for it (its
    /// creator; for a keyed System V segment its last user; for a /dev/shm object of a
    /// well-known program such as PostgreSQL, that program running as its owner, or the process
    /// whose pid its name carries). "leaked": nobody holds it and nothing alive can or will: a
    /// System V segment with no attachment whose creator and last user are gone, or made with
    /// IPC_PRIVATE and whose creator is gone; a /dev/shm object (a POSIX semaphore, a POSIX
    /// message queue too) nobody maps or holds open, no owner program keeps, when every
    /// process that could was seen; a System V semaphore set or message queue whose recorded
    /// users are all gone. "unknown": shmtool could not see enough: a process it may not read
    /// could hold it (the pids are named; root with CAP_SYS_PTRACE sees them), processes
    /// outside this pid namespace exist, the kernel reports the creator (or a keyed segment's
    /// last user) as pid 0, a live process has the creator's (or a keyed segment's last
    /// user's) pid but the wall clock says it started later (a clock step can fake that, so it
    /// is never taken as proof of reuse), a file lies below a subdirectory of /dev/shm, or a
    /// System V semaphore set or message queue has users not proven gone.
    /// Only "leaked" is removed by rm --stale. The README's verdict table lists every rule, the
    /// evidence it needs and the case behind it, and its owners table the programs shmtool
    /// knows; owner rules are read from
    /// /etc/shmtool/owners.d/*.conf and $XDG_CONFIG_HOME/shmtool/owners.conf.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show one object in full: every field and every attaching process.
    ///
    /// Every field ls knows about the object, its verdict and why, then one line per mapping
    /// with the process, the address range, the permissions and the offset.
    Show(ShowArgs),
    /// List every mapping of one process, classified, with RSS, PSS and swap.
    ///
    /// One line per mapping from /proc/PID/smaps, with the kind of shared memory it is (or
    /// heap, stack, anon-private, file-private, special) and its resident, proportional and
    /// swapped bytes, as pmap -X gives them. --shared keeps only shared mappings.
    Maps(MapsArgs),
    /// Compute the System V key ftok(PATH, PROJ_ID) gives, and find the segment that has it.
    Key(KeyArgs),
    /// Copy live shared memory out, read-only.
    ///
    /// Reads a process's memory at an address (or a symbol), a System V segment, or a POSIX
    /// object or file, and prints it as hex with printable text and pointer hints, as raw
    /// bytes, as text, or decoded as C structs (--layout, --type). Nothing is ever written to
    /// the target: segments are attached read-only, processes read with process_vm_readv.
    Dump(DumpArgs),
    /// Watch live shared memory change, read-only.
    ///
    /// Redraws the bytes (or the decoded struct) every --interval, highlighting what changed
    /// since the last refresh; on a terminal with colour on the screen is redrawn in place.
    /// With colour off (NO_COLOR, --color never, TERM=dumb) no escape byte is printed at all,
    /// so then, as into a pipe, it prints the first state and one line per refresh that
    /// changed something. --count stops after that many refreshes; --json writes the first
    /// state, then one line per refresh that changed something.
    Watch(WatchArgs),
    /// Remove System V segments and POSIX objects, refusing those still in use.
    ///
    /// Each object is checked again right before it is removed: one that gained an attacher, or
    /// an id reused by another segment, is kept. A segment still attached is refused unless
    /// --force (then the kernel frees it when the last process detaches). --stale removes only
    /// what ls --stale lists (verdict "leaked", see shmtool-ls(1)); --dry-run shows what would
    /// go; --user, --kind, --name and --older-than narrow it to one job's objects.
    ///
    /// With --stale, every object is judged again after the question on the terminal, and once
    /// more right before it goes: a System V segment must keep its key, creator, change time,
    /// last user and attach times and have nobody attached; a /dev/shm object is first renamed
    /// to a hidden name (so nobody can open it by name), then every process is looked at again,
    /// and if anyone maps or holds it, it is put back and kept. Without root, an object that a
    /// process you cannot read could hold is not removed by name either (unless --force).
    /// --backup DIR saves each object's bytes and metadata first; shmtool-restore(1) brings one
    /// back.
    Rm(RmArgs),
    /// Show the kernel's shared-memory limits and current use of each.
    ///
    /// kernel.shmmax, shmall and shmmni with how much of each is used, the size and use of
    /// /dev/shm and how much of that the listed objects explain, and the semaphore and message
    /// queue limits.
    Limits(LimitsArgs),
    /// Bring back an object `rm --backup DIR` saved: same bytes, same name or key (new shmid).
    ///
    /// A POSIX object or semaphore is made under its name in /dev/shm, created exclusively
    /// through the directory itself: it never replaces what has that name now and never
    /// follows a symbolic link planted there, and a name with '/' or '..' is refused. A System
    /// V segment gets its key again (IPC_PRIVATE ones a new private segment), never replacing
    /// a segment that has that key. As root, the saved owner and group are restored too.
    Restore(RestoreArgs),
    /// List the struct, class and union types a program's debug information defines.
    Types(TypesArgs),
    /// Log shared-memory lifecycle events machine-wide as they happen (needs root).
    Trace(TraceArgs),
    /// One object's whole life, from a `trace --log` file.
    History(HistoryArgs),
    /// Show who waits on whom: threads blocked on locks in shared memory, and their owners.
    ///
    /// Every thread blocked in futex(2) on an address in shared memory (a pthread mutex, a
    /// semaphore, a hand-rolled lock), or in semop(2) on a System V semaphore set: the object and
    /// offset of the lock, the lock word, and for a glibc mutex its owner thread, whether that owner
    /// is alive, whether the mutex is robust, and whether waiters form a deadlock cycle.
    ///
    /// Read-only: the lock words are read with process_vm_readv; nobody is stopped or signalled.
    ///
    /// Verdicts: `owner dead (not robust: waits forever)`; `owner dead (robust: next lock gets
    /// EOWNERDEAD)` (the kernel marked the word); `owner dead (robust, but the kernel did not mark
    /// it: waits forever)`; `owner alive`; `cycle: A waits on B waits on A`; `no owner (semaphore:
    /// waits for a post)`; `no owner (condition variable: waits for a signal)`; `unknown (…)` for
    /// words that look like none of these.
    Locks(LocksArgs),
    /// Write man pages and shell completions (for packagers).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// Output options shared by listing commands.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print sizes as exact byte counts instead of binary units.
    #[arg(long)]
    pub bytes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsFormat {
    Table,
    Json,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Sysv,
    Posix,
    Memfd,
    Anon,
    File,
    Deleted,
    /// POSIX named semaphores (/dev/shm/sem.NAME).
    Psem,
    /// System V semaphore sets.
    Sem,
    /// System V message queues.
    Msg,
    /// POSIX message queues.
    Mqueue,
}

/// Which IPC objects `ls` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IpcArg {
    /// Shared memory only.
    Shm,
    /// Shared memory, semaphore sets, and System V and POSIX message queues.
    All,
}

/// A verdict, as `--verdict` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerdictArg {
    /// Some process maps it, holds it open or is attached.
    #[value(name = "in-use", alias = "in_use", alias = "inuse")]
    InUse,
    /// Nobody holds it now, but something alive could come back for it.
    Idle,
    /// Nobody holds it and nothing alive can or will (what --stale lists and removes).
    Leaked,
    /// shmtool could not see enough to tell (processes it cannot read, pids it cannot place).
    Unknown,
}

/// Which objects `ls` lists and `rm --stale` removes: every filter must match.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    /// Only objects whose name matches this glob (`*`, `?`): the name inside /dev/shm, a memfd's
    /// name, a file's path, or a System V key ("0x…").
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
    /// Only objects made more than this long ago (e.g. 30m, 12h, 7d): System V creation or last
    /// IPC_SET, a file's birth time (else its last modification), by the wall clock.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    Kind,
    Id,
    Key,
    Size,
    Rss,
    Owner,
    Attachers,
    Age,
    Path,
}

/// How a table is laid out (lsipc's options).
#[derive(Debug, Clone, Default, Args)]
pub struct TableArgs {
    /// Columns to show, separated by commas; `+COLS` adds to the default ones
    /// (see --list-columns).
    #[arg(long = "output", short = 'o', value_name = "COLS")]
    pub output: Option<String>,
    /// Print no header line.
    #[arg(long)]
    pub noheadings: bool,
    /// Raw output for scripts: one space between cells, spaces and backslashes in cells written
    /// as \x20 and \x5c, nothing cut, no colour.
    #[arg(long)]
    pub raw: bool,
    /// List the columns -o accepts, with what each shows, and exit.
    #[arg(long)]
    pub list_columns: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool ls --kind sysv --sort size  System V segments, largest first\n  shmtool ls --pid 4242  what process 4242 maps or holds open\n  shmtool ls --json | jq '.[] | select(.stale)'  the leaked objects, as JSON\n  shmtool ls -o +RSS,CPID  the default columns and two more\n  shmtool ls --raw --noheadings -o ID,NAME  for scripts: split lines on spaces"
)]
pub struct LsArgs {
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub table: TableArgs,
    /// Output format; `prometheus` writes the node_exporter textfile-collector format.
    #[arg(long, value_enum, default_value_t = LsFormat::Table, conflicts_with = "json")]
    pub format: LsFormat,
    /// Only objects of these kinds (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kind: Vec<KindArg>,
    /// Only objects that these processes map.
    #[arg(long, value_delimiter = ',')]
    pub pid: Vec<i32>,
    /// Only objects owned by this user (name or uid).
    #[arg(long)]
    pub user: Option<String>,
    /// Only leaked objects (verdict "leaked": what `rm --stale` removes), with a WHY column.
    #[arg(long)]
    pub stale: bool,
    /// Only idle objects (nobody holds them now, but something alive could come back for
    /// them), with a WHY column.
    #[arg(long, conflicts_with = "stale")]
    pub idle: bool,
    /// Only objects with these verdicts (repeat or separate with commas), with a WHY column.
    #[arg(long, value_enum, value_delimiter = ',', conflicts_with_all = ["stale", "idle"])]
    pub verdict: Vec<VerdictArg>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Add a PROGRAM column: the well-known program each /dev/shm object belongs to.
    #[arg(long)]
    pub programs: bool,
    /// Also list read-only shared file mappings (r--s), such as font and locale caches.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Which IPC objects: shared memory only (the default), or all (adding semaphore sets and
    /// message queues, which `--kind sem,msg,mqueue` also asks for).
    #[arg(long, value_enum, default_value_t = IpcArg::Shm)]
    pub ipc: IpcArg,
    /// Sort by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Kind)]
    pub sort: SortKey,
    /// Reverse the sort order.
    #[arg(long, short = 'r')]
    pub reverse: bool,
    /// List the System V segments of every IPC namespace found under /proc (needs root).
    #[arg(long, conflicts_with = "ns")]
    pub all_namespaces: bool,
    /// With --format prometheus: also one series per object (labelled kind, id, ipc_ns, key,
    /// owner, path); by default only aggregates, whose series do not churn.
    #[arg(long)]
    pub per_object: bool,
    /// Print no notes on standard error (for cron and timers); errors are still printed.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "ID is a shmid (123), a key (0x6f20d677), a POSIX name (/dev/shm/x or x),\nor PID:ADDR (an object some process maps at ADDR). Semaphore sets and message\nqueues count their ids apart from segments, so they take a prefix: sem:ID,\nmsg:ID, and mqueue:NAME for a POSIX message queue; a bare number is a shmid.\n\nEXAMPLES:\n  shmtool show 32822  a segment by shmid\n  shmtool show 0x6f20d677  a segment by key\n  shmtool show psm_0b4f2a  a POSIX object by its /dev/shm name\n  shmtool show 4242:0x7f3a12c00000  the object process 4242 maps there\n  shmtool show sem:3  semaphore set 3: each semaphore's value, last pid and waiters\n  shmtool show msg:0  message queue 0: messages waiting, bytes, last sender and receiver"
)]
pub struct ShowArgs {
    /// shmid, key (0x…), POSIX name, PID:ADDR, sem:ID, msg:ID or mqueue:NAME.
    pub id: String,
    /// A `trace --log` file to take the object's history from (used when it exists).
    #[arg(long, value_name = "FILE", env = "SHMTOOL_LOG", default_value = DEFAULT_LOG)]
    pub log: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool maps 4242  every mapping of process 4242 with RSS, PSS and swap\n  shmtool maps 4242 --shared  only what it shares\n  shmtool maps 4242 --json | jq '.[] | select(.kind == \"sysv\")'  its System V attachments, as JSON"
)]
pub struct MapsArgs {
    /// The process.
    pub pid: i32,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Only shared mappings.
    #[arg(long)]
    pub shared: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool key ./keytest 100  the key ftok(\"./keytest\", 100) gives, and its shmid\n  shmtool key /tmp/app 'A'  a proj_id given as a character\n  shmtool key --find 0x6f20d677 --in /srv  files under /srv that ftok could have made this key from"
)]
pub struct KeyArgs {
    /// The file given to ftok.
    #[arg(required_unless_present = "find")]
    pub path: Option<PathBuf>,
    /// The proj_id given to ftok: a number (decimal or 0x hex) or one character.
    #[arg(required_unless_present = "find")]
    pub proj_id: Option<String>,
    /// Reverse: which files could have produced this key?
    #[arg(long, value_name = "KEY", conflicts_with_all = ["path", "proj_id"])]
    pub find: Option<String>,
    /// With --find: directories to search (repeatable).
    #[arg(long = "in", value_name = "DIR", requires = "find")]
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Which object to read: a process address, or a System V / POSIX object.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(false).args(["pid", "shmid", "key", "ftok", "path"])))]
#[command(group(clap::ArgGroup::new("decode").multiple(false).args(["layout", "type_name"])))]
pub struct TargetArgs {
    /// Process whose memory to read.
    #[arg(requires = "addr")]
    pub pid: Option<i32>,
    /// Address in the process: hex (0x7f… or bare digits), a SYMBOL, or SYMBOL+OFF.
    #[arg(requires = "pid")]
    pub addr: Option<String>,
    /// A System V segment by shmid.
    #[arg(long, conflicts_with_all = ["pid", "key", "ftok", "path"])]
    pub shmid: Option<i32>,
    /// A System V segment by key.
    #[arg(long, conflicts_with_all = ["pid", "ftok", "path"], allow_negative_numbers = true)]
    pub key: Option<String>,
    /// A System V segment by ftok(PATH, PROJ_ID).
    #[arg(long, num_args = 2, value_names = ["PATH", "PROJ_ID"], conflicts_with_all = ["pid", "path"])]
    pub ftok: Option<Vec<String>>,
    /// A POSIX object (/dev/shm name) or any file.
    #[arg(long, conflicts_with = "pid")]
    pub path: Option<PathBuf>,
    /// Start this many bytes after ADDR or the object's start (bytes, 0x hex, or k/M/G; at
    /// most 2^63-1, the largest file offset).
    #[arg(long, default_value = "0", value_parser = parse_offset)]
    pub offset: u64,
    /// Read at most this many bytes (default: to the end of the mapping or object).
    #[arg(long)]
    pub length: Option<String>,
    /// Decode as a C struct, e.g. 'id:i32,name:char[20],sex:char', laid out with C alignment.
    ///
    /// Types: i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 (add `be` or `le` for a fixed byte order:
    /// u32be, i16le), bool, char, ptr; C spellings as on x86-64/aarch64 Linux (int, unsigned
    /// char, long, double, uint32_t, size_t, `T *`); arrays T[N], T[N][M].
    #[arg(long, value_name = "SPEC")]
    pub layout: Option<String>,
    /// With --layout or --type: decode this many structs one after another (at least 1).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "decode")]
    pub layout_repeat: usize,
    /// Decode with the program's own type, from its debug information (DWARF): 'struct STU',
    /// testmap, 'app::Rec', 'STU[4]' (four in a row).
    ///
    /// Looked up in the target process's executable and libraries; for a System V segment or a
    /// file, in those of the processes that map it. A stripped program's types are found in a
    /// separate debug file by build-id (/usr/lib/debug/.build-id, debuginfod's cache) or
    /// .gnu_debuglink. `shmtool types PID` lists the names.
    #[arg(long = "type", value_name = "NAME")]
    pub type_name: Option<String>,
    /// With --type: read types from this file (a -g build, or a separate debug file).
    #[arg(long, value_name = "FILE", requires = "type_name")]
    pub debug_file: Option<PathBuf>,
    /// With --type: take types from this process's executable and libraries (for a segment
    /// nobody maps now).
    #[arg(long, value_name = "PID", requires = "type_name")]
    pub pid_for_types: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    Hex,
    Raw,
    Text,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool dump --shmid 32822  a segment's bytes as hex\n  shmtool dump 4242 0x7f3a12c00000 --length 64  64 bytes of process 4242 at that address\n  shmtool dump --path /dev/shm/psm_1234 --format raw -o copy.bin  a copy of a POSIX object into a file\n  shmtool dump 4242 shared_table --layout 'id:i32,name:char[20],sex:char'  a global variable decoded as a C struct"
)]
pub struct DumpArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// A System V message queue: copies of its messages, oldest first, each with its type.
    /// The queue keeps them (msgrcv MSG_COPY, which needs a kernel with
    /// CONFIG_CHECKPOINT_RESTORE); nothing about the queue changes.
    #[arg(long, value_name = "MSQID", group = "target", conflicts_with_all = ["layout", "type_name", "length"])]
    pub msqid: Option<i64>,
    /// Output format: hex (the default, on a terminal or not), raw bytes, or text (printable runs).
    #[arg(long, value_enum)]
    pub format: Option<DumpFormat>,
    /// Write to this new file (mode 0600) instead of standard output; see --force.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Allow raw bytes to a terminal; with -o, overwrite an existing file, follow a symlink,
    /// or write into /dev/shm. Without it, -o only creates a new file (mode 0600, O_EXCL,
    /// O_NOFOLLOW). The object being dumped is never written.
    #[arg(long)]
    pub force: bool,
    /// Print JSON Lines: one {address, hex} object per 16-byte row, or with --layout one
    /// {index, address, fields, hints} object per record.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool watch --shmid 32822 --interval 100ms  a segment redrawn ten times a second, changes highlighted\n  shmtool watch --path /dev/shm/app --layout 'id:i32,name:char[20]' --count 10  a struct's fields, ten refreshes, then stop\n  shmtool watch 4242 0x7f3a12c00000 --json | jq .  changes as JSON Lines, for scripts"
)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Time between refreshes, e.g. 1s, 250ms (at least 10ms).
    #[arg(long, short = 'n', default_value = "1s")]
    pub interval: String,
    /// Stop after this many refreshes.
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Print JSON Lines: one object per refresh that changed something.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool rm 32822  remove a segment nobody is attached to\n  shmtool rm --key 0x6f20d677  remove a segment by key\n  shmtool rm --posix psm_0b4f2a  remove a POSIX object nobody holds\n  shmtool rm --stale --dry-run  what rm --stale would remove, removing nothing\n  shmtool rm --stale --yes  remove every leaked object without asking"
)]
pub struct RmArgs {
    /// shmids to remove.
    pub shmids: Vec<i32>,
    /// Remove the segment with this key (repeatable).
    #[arg(long = "key", value_name = "KEY", allow_negative_numbers = true)]
    pub keys: Vec<String>,
    /// Remove this POSIX object: a plain name inside /dev/shm (repeatable).
    #[arg(long = "posix", value_name = "NAME")]
    pub posix: Vec<String>,
    /// Remove this System V semaphore set (repeatable); refused while a process that last
    /// operated on it lives or waits on it, unless --force.
    #[arg(long = "sem", value_name = "SEMID")]
    pub sems: Vec<i64>,
    /// Remove this System V message queue (repeatable); refused while its last sender or
    /// receiver lives, unless --force.
    #[arg(long = "msg", value_name = "MSQID")]
    pub msgs: Vec<i64>,
    /// Remove this POSIX message queue (`/NAME` or `NAME`, repeatable); refused while a
    /// process holds it open, unless --force.
    #[arg(long = "mqueue", value_name = "NAME")]
    pub mqueues: Vec<String>,
    /// Remove every object `ls --stale` lists (verdict "leaked"), re-checking each right before.
    #[arg(long)]
    pub stale: bool,
    /// With --stale: only objects owned by this user (name or uid).
    #[arg(long, requires = "stale")]
    pub user: Option<String>,
    /// With --stale: only objects of these kinds (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', requires = "stale")]
    pub kind: Vec<KindArg>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Save each object's bytes and metadata in this directory before removing it
    /// (`shmtool restore FILE` brings it back).
    #[arg(long, value_name = "DIR")]
    pub backup: Option<PathBuf>,
    /// Show what would be removed; remove nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Remove segments that still have attachers (they go when the last one detaches).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool rm --stale --yes --backup /var/tmp/shm  save what goes\n  shmtool restore /var/tmp/shm/posix-myapp-1.shmbak  bring one back"
)]
pub struct RestoreArgs {
    /// A backup file written by `rm --backup DIR`.
    pub file: PathBuf,
    /// Print what was restored as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool limits  every limit, its use, and how full it is\n  shmtool limits --json | jq .dev_shm  /dev/shm's size and use, as JSON"
)]
pub struct LimitsArgs {
    #[command(flatten)]
    pub out: OutputArgs,
    /// Also each container's own /dev/shm (every mount namespace's, once per device), side by
    /// side with the host's (needs root).
    #[arg(long)]
    pub all_namespaces: bool,
}

/// Kinds of object `trace` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceKind {
    Sysv,
    Posix,
    Psem,
    Memfd,
    File,
}

/// Events `trace` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceEventArg {
    /// shmget or shm_open made a new object.
    Create,
    /// shmget or shm_open found an existing one.
    Open,
    /// shmat.
    Attach,
    /// shmdt.
    Detach,
    /// shmctl(IPC_RMID).
    Remove,
    /// shmctl(IPC_SET).
    Set,
    /// A /dev/shm name removed (shm_unlink, sem_unlink, rm).
    Unlink,
    /// memfd_create.
    Memfd,
    /// mmap(MAP_SHARED) of a shared-memory fd.
    Mmap,
    /// ftruncate of a shared-memory fd.
    Resize,
    /// munmap of a mapping an mmap event showed, from its start.
    Munmap,
    /// A process exited still holding the object.
    Exit,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Events: create, open, attach, detach, remove, set, unlink, memfd, mmap, munmap, resize, exit.\nA line 'shmtool: tracing ...' on stderr says when tracing has started; Ctrl-C stops it\nwith a one-line summary (events seen, events lost).\n\nEXAMPLES:\n  sudo shmtool trace  every event on the machine, as it happens\n  sudo shmtool trace --event remove,unlink     who removes things?\n  sudo shmtool trace --name 'psm_*' --json  events on matching names, as JSON Lines\n  sudo shmtool trace --log /var/log/shmtool/trace.jsonl --quiet  log events for history and show, printing nothing"
)]
pub struct TraceArgs {
    /// Print JSON Lines: one object per event.
    #[arg(long)]
    pub json: bool,
    /// Only objects of these kinds (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kind: Vec<TraceKind>,
    /// Only events of these kinds (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub event: Vec<TraceEventArg>,
    /// Only calls made by these processes.
    #[arg(long, value_delimiter = ',')]
    pub pid: Vec<i32>,
    /// Only calls made by this user (name or uid).
    #[arg(long)]
    pub user: Option<String>,
    /// Only objects whose path or name matches this glob (`*`, `?`), e.g. 'psm_*'.
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
    /// Only the System V segment with this key.
    #[arg(long, allow_negative_numbers = true)]
    pub key: Option<String>,
    /// Only the System V segment with this shmid.
    #[arg(long)]
    pub shmid: Option<i64>,
    /// Stop after this long, e.g. 30s, 5m.
    #[arg(long)]
    pub duration: Option<String>,
    /// Stop after this many events (after filtering).
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Also append every event shown, as JSON Lines, to this file (read by `history` and
    /// `show`).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Rotate the log when it would grow past this size (FILE becomes FILE.1, and so on).
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    pub log_size: String,
    /// How many rotated logs to keep.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub log_keep: u32,
    /// Print no events on standard output (with --log, for a service).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Where `trace --log` writes by default, and `history` and `show` read.
pub const DEFAULT_LOG: &str = "/var/log/shmtool/trace.jsonl";

#[derive(Debug, Args)]
#[command(
    after_help = "ID is a shmid (123), a key (0x6f20d677), or a POSIX or memfd name (/dev/shm/x, x,\nmemfd:x). Rotated logs (FILE.1, FILE.2, ...) are read too, oldest first.\n\nEXAMPLES:\n  shmtool history 32822  the life of segment 32822, from the log\n  shmtool history psm_0b4f2a --log ./trace.jsonl  a POSIX object's life, from another log\n  shmtool history 0x6f20d677 --json  a key's events, as JSON Lines"
)]
pub struct HistoryArgs {
    /// shmid, key (0x…), or POSIX or memfd name.
    pub id: String,
    /// The log `trace --log` writes.
    #[arg(long, value_name = "FILE", env = "SHMTOOL_LOG", default_value = DEFAULT_LOG)]
    pub log: PathBuf,
    /// Print JSON Lines, as the log holds them.
    #[arg(long)]
    pub json: bool,
}

/// Object kinds `locks --kind` accepts: those of `ls`, and `sem` for System V semaphore sets.
pub const LOCK_KINDS: [&str; 8] = [
    "sysv", "posix", "psem", "memfd", "anon", "file", "deleted", "sem",
];

#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLES:\n  shmtool locks  every lock in shared memory and who waits on it\n  shmtool locks --pid 4242  the locks process 4242 holds or waits for\n  shmtool locks --kind posix,sysv  locks in POSIX and System V objects only\n  shmtool locks --type 'struct shared'  name the member holding each lock\n  shmtool locks --json | jq '.[] | select(.verdict | startswith(\"owner dead\"))'  locks whose owner died, as JSON"
)]
pub struct LocksArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only waits of these processes, or on locks these processes hold (repeat or separate
    /// with commas).
    #[arg(long, value_delimiter = ',')]
    pub pid: Vec<i32>,
    /// Only locks in objects of these kinds (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(LOCK_KINDS))]
    pub kind: Vec<String>,
    /// The type laid out at the start of the objects ('struct shared', 'slot[16]'): name the
    /// member that holds each lock from the waiter's debug information (DWARF).
    ///
    /// Without it, a waiter built with -g (or with a separate debug file) still gets a member
    /// when exactly one of its program's structs, laid at the object's start, puts a
    /// pthread_mutex_t, pthread_cond_t, sem_t or other lock type there.
    #[arg(long = "type", value_name = "NAME")]
    pub type_name: Option<String>,
    /// Read types from this file (a -g build, or a separate debug file) instead of each waiter's
    /// own program.
    #[arg(long, value_name = "FILE")]
    pub debug_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Names are qualified (app::Rec); the standard and C libraries' own types are hidden\nunless --all. PATTERN is a substring, or a glob with * and ?.\n\nEXAMPLES:\n  shmtool types 4242            types of a running program and its libraries\n  shmtool types ./writer STU  the types named like STU in a program's debuginfo\n  shmtool types ./writer --json | jq '.[].name'  every type's name, as JSON\n  shmtool dump 4242 0x7f3a12c00000 --type 'struct STU'  bytes decoded with the program's own struct STU"
)]
pub struct TypesArgs {
    /// A process id, or an ELF file (a program, a library or a separate debug file).
    #[arg(value_name = "PID|FILE")]
    pub target: String,
    /// Only types whose name contains this (or matches it, with * and ?).
    pub pattern: Option<String>,
    /// Also list the standard and C libraries' own types (std::…, _IO_FILE, …).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Read types from this file instead (a -g build, or a separate debug file).
    #[arg(long, value_name = "FILE")]
    pub debug_file: Option<PathBuf>,
    /// Print a JSON array of {name, kind, size, members, file}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory for man pages.
    #[arg(long, default_value = "man")]
    pub man: PathBuf,
    /// Directory for completions.
    #[arg(long, default_value = "completions")]
    pub completions: PathBuf,
}

/// Parse the process's arguments. Usage errors become one line on stderr and exit code 2;
/// `--help` and `--version` print as usual and exit 0.
/// `--offset`: a size no file or mapping can exceed (`off_t` is signed), so that no address or
/// file position computed from it can wrap; anything larger is a usage error.
fn parse_offset(text: &str) -> Result<u64, String> {
    let n = crate::units::parse_size(text)?;
    if n > i64::MAX as u64 {
        return Err(format!(
            "{text} is larger than any file or mapping can be (at most 0x7fffffffffffffff)"
        ));
    }
    Ok(n)
}

pub fn parse() -> Result<Cli, std::process::ExitCode> {
    use clap::error::ErrorKind;
    match try_parse(std::env::args_os().collect()) {
        Ok(cli) => Ok(cli),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                Err(std::process::ExitCode::from(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                ))
            }
            _ => {
                eprintln!("shmtool: error: {}", usage_error_line(&e));
                Err(std::process::ExitCode::from(2))
            }
        },
    }
}

/// Parse `args` with clap told the colour the user asked for, so that `--color never --help` on a
/// terminal prints no escapes (clap prints help itself, before `--color` reaches [`Cli`]).
fn try_parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command()
        .color(help_color(&args))
        .try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The last `--color WHEN` or `--color=WHEN` before `--`, as clap's choice; clap's own auto
/// follows NO_COLOR and TERM=dumb as ours does.
fn help_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut args = args.iter().skip(1).map(|a| a.to_str());
    while let Some(arg) = args.next() {
        let value = match arg {
            Some("--") => break,
            Some("--color") => args.next().flatten(),
            Some(a) => a.strip_prefix("--color="),
            None => None,
        };
        choice = match value {
            Some("never") => clap::ColorChoice::Never,
            Some("always") => clap::ColorChoice::Always,
            Some("auto") => clap::ColorChoice::Auto,
            _ => choice,
        };
    }
    choice
}

/// clap's first message line without its `error: ` prefix or styling, plus where to get help.
fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    // The message is the first paragraph (clap lists missing arguments on lines of their own
    // under it); the usage and tips that follow a blank line are left out.
    let message: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let mut line = message.join(" ");
    if line.is_empty() {
        line = "invalid usage".into();
    }
    let mut line = line.trim_start_matches("error: ").to_string();
    // clap's "a similar subcommand exists" tip sits below the first paragraph: keep it.
    use clap::error::{ContextKind, ContextValue};
    for kind in [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg] {
        let names: Vec<String> = match e.get(kind) {
            Some(ContextValue::String(s)) => vec![s.clone()],
            Some(ContextValue::Strings(v)) => v.clone(),
            _ => continue,
        };
        if !names.is_empty() {
            let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
            line.push_str(&format!("; did you mean {}?", quoted.join(" or ")));
            break;
        }
    }
    format!("{} (try 'shmtool --help')", crate::text::escape(&line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_colour_follows_the_color_flag() {
        let choice = |args: &[&str]| help_color(&args.iter().map(Into::into).collect::<Vec<_>>());
        assert_eq!(choice(&["shmtool", "--help"]), clap::ColorChoice::Auto);
        assert_eq!(
            choice(&["shmtool", "--color", "never", "ls", "-h"]),
            clap::ColorChoice::Never
        );
        assert_eq!(
            choice(&["shmtool", "ls", "--color=always"]),
            clap::ColorChoice::Always
        );
        assert_eq!(
            choice(&["shmtool", "dump", "--", "--color=never"]),
            clap::ColorChoice::Auto
        );
        assert_eq!(choice(&["shmtool", "--color"]), clap::ColorChoice::Auto);
    }
}
