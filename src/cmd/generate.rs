//! `shmtool generate` (hidden, for packagers): man pages and shell completions, generated from
//! the clap definition in `cli.rs` so they never drift from what the binary accepts.
//!
//! The output is deterministic (no dates; the crate version is the only thing that varies), so
//! the copies committed under `man/` and `completions/` can be checked by a test
//! (`tests/generated.rs`) that regenerates them and compares.

use super::{Ctx, Run};
use crate::cli::{Cli, GenerateArgs};
use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Pages outside shmtool that a reader of any of its pages may want next.
const SEE_ALSO: &[&str] = &[
    "ipcs(1)",
    "lsipc(1)",
    "ipcrm(1)",
    "pmap(1)",
    "lsof(8)",
    "shm_overview(7)",
    "sysvipc(7)",
];

/// The shells we write completions for; file names are clap_complete's
/// (`shmtool.bash`, `_shmtool`, `shmtool.fish`, `shmtool.elv`, `_shmtool.ps1`).
const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

impl Run for GenerateArgs {
    fn run(&self, _ctx: &Ctx, out: &mut dyn Write) -> anyhow::Result<()> {
        for (name, text) in man_pages()? {
            let path = write_file(&self.man, &name, &text)?;
            writeln!(out, "wrote {}", path.display())?;
        }
        std::fs::create_dir_all(&self.completions)
            .with_context(|| format!("cannot create {}", self.completions.display()))?;
        let mut cmd = completion_command();
        for shell in SHELLS {
            let path = clap_complete::generate_to(shell, &mut cmd, "shmtool", &self.completions)
                .with_context(|| format!("cannot write {shell} completions"))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        Ok(())
    }
}

fn write_file(dir: &Path, name: &str, text: &[u8]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The command line as users see it, for completions: the real definition without hidden
/// subcommands and hidden arguments. clap_complete offers hidden items (clap issue #1335) and
/// clap has no way to remove a subcommand, so the root is re-assembled from the real one's
/// visible arguments and subcommands; nothing of the interface is restated here.
pub fn completion_command() -> Command {
    let full = Cli::command();
    Command::new("shmtool")
        .version(env!("CARGO_PKG_VERSION"))
        .about(full.get_about().cloned().unwrap_or_default())
        .propagate_version(full.is_propagate_version_set())
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set())
        .args(full.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// Every man page as (file name, roff text): `shmtool.1` and `shmtool-<sub>.1` for every
/// visible subcommand.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    // The `help` subcommand has no page of its own (as clap_mangen's own generate_to does).
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    collect_pages(&root, None, &mut pages)?;
    Ok(pages)
}

fn collect_pages(
    cmd: &Command,
    parent: Option<&Command>,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let man = Man::new(cmd.clone())
        .title(page_name(cmd).to_uppercase())
        .source(concat!("shmtool ", env!("CARGO_PKG_VERSION")));
    pages.push((man.get_filename(), man_page(&man, cmd, parent)?));
    for sub in visible_subcommands(cmd) {
        collect_pages(sub, Some(cmd), pages)?;
    }
    Ok(())
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// `shmtool` or `shmtool-ls`: clap's display name once the command is built.
fn page_name(cmd: &Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// One page, in the section order of man-pages(7): clap_mangen's sections for what clap knows
/// (name, synopsis, description, options, subcommands), then ours.
fn man_page(man: &Man, cmd: &Command, parent: Option<&Command>) -> anyhow::Result<Vec<u8>> {
    let help = AfterHelp::parse(
        &cmd.get_after_long_help()
            .or_else(|| cmd.get_after_help())
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    let mut notes = Roff::new();
    for alias in cmd.get_visible_aliases() {
        // "shmtool ls" → "shmtool list": the parent's words, then the alias.
        let bin = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
        let alias = match bin.rsplit_once(' ') {
            Some((parent, _)) => format!("{parent} {alias}"),
            None => alias.to_string(),
        };
        notes
            .control("PP", [])
            .text([roman("Also available as "), bold(alias), roman(".")]);
    }
    for para in &help.notes {
        notes.control("PP", []).text([roman(para.as_str())]);
    }
    notes.to_writer(&mut page)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    if visible_subcommands(cmd).next().is_some() {
        man.render_subcommands_section(&mut page)?;
    }
    let mut ours = Roff::new();
    if parent.is_none() {
        reference(&mut ours);
    }
    if cmd.get_name() == "ls" {
        columns(&mut ours);
        metrics(&mut ours);
    }
    if cmd.get_arguments().any(|a| a.get_id() == "layout") {
        layout(&mut ours);
    }
    exit_status(&mut ours);
    environment(&mut ours, cmd);
    files(&mut ours);
    examples(&mut ours, &help.examples);
    see_also(&mut ours, cmd, parent);
    ours.to_writer(&mut page)?;
    Ok(ascii_only(dedup_preamble(page)))
}

/// Help texts use "…"; groff has no such glyph for the ASCII device (`man` in the C locale) and
/// warns, so pages spell it out and read the same in every locale.
fn ascii_only(page: Vec<u8>) -> Vec<u8> {
    String::from_utf8(page)
        .expect("roff output is UTF-8")
        .replace('…', "...")
        .into_bytes()
}

/// Every `Roff` begins its output with the same preamble (a string definition for
/// apostrophes); the page needs it once, so the parts rendered one by one are stripped of it.
fn dedup_preamble(page: Vec<u8>) -> Vec<u8> {
    let preamble = Roff::new().render();
    let text = String::from_utf8(page).expect("roff output is UTF-8");
    let mut parts = text.split(preamble.as_str()).filter(|p| !p.is_empty());
    let mut out = preamble.clone();
    out.extend(parts.by_ref());
    out.into_bytes()
}

/// A subcommand's `after_help` text: free paragraphs, then an `EXAMPLES:` block of lines
/// `  COMMAND  [what it does]` (two or more spaces before the explanation).
#[derive(Debug, Default, PartialEq)]
struct AfterHelp {
    notes: Vec<String>,
    examples: Vec<(String, Option<String>)>,
}

impl AfterHelp {
    fn parse(text: &str) -> AfterHelp {
        let (notes, examples) = match text.split_once("EXAMPLES:") {
            Some((n, e)) => (n, e),
            None => (text, ""),
        };
        let notes = notes
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        let examples = examples
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once("  ") {
                Some((cmd, what)) => (cmd.trim().to_string(), Some(what.trim().to_string())),
                None => (l.to_string(), None),
            })
            .collect();
        AfterHelp { notes, examples }
    }
}

fn tagged(roff: &mut Roff, tag: impl Into<Vec<Inline>>, body: &str) {
    roff.control("TP", []).text(tag).text([roman(body)]);
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    tagged(roff, [bold("0")], "Success.");
    tagged(
        roff,
        [bold("1")],
        "A runtime error: no such object, permission denied, a target that vanished, or an \
         object still in use that was not removed. One line on standard error says why, \
         starting with \"shmtool: error:\".",
    );
    tagged(
        roff,
        [bold("2")],
        "A usage error: an unknown option, a missing or malformed argument.",
    );
}

fn environment(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["ENVIRONMENT"]);
    tagged(
        roff,
        [bold("NO_COLOR")],
        "When set and not empty, no colour is used unless --color always is given. With \
         colour off no escape byte is ever printed, so watch then writes lines (the first \
         state, then each change) instead of redrawing the screen.",
    );
    tagged(
        roff,
        [bold("TERM")],
        "When it is \"dumb\", no colour is used unless --color always is given.",
    );
    tagged(
        roff,
        [bold("COLUMNS")],
        "The width tables fit into when standard output is a terminal, instead of the \
         terminal's own (--wide: no limit).",
    );
    tagged(
        roff,
        [bold(crate::complete::ENV)],
        "Set to bash, zsh, fish, elvish or powershell, shmtool prints the script that makes \
         that shell complete its command lines with live shmids, keys, pids and names \
         (source <(SHMTOOL_COMPLETE=bash shmtool)); the shell then calls shmtool with it set \
         to complete each word.",
    );
    // Every variable an option of this command (or of its subcommands) reads.
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut stack = vec![cmd];
    while let Some(c) = stack.pop() {
        for a in c.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(var) = a.get_env() {
                let var = var.to_string_lossy().into_owned();
                let long = a.get_long().unwrap_or_default();
                if !vars.iter().any(|(v, _)| *v == var) {
                    vars.push((var, format!("The default for --{long}.")));
                }
            }
        }
        stack.extend(visible_subcommands(c));
    }
    vars.sort();
    for (var, what) in vars {
        tagged(roff, [bold(var)], &what);
    }
    tagged(
        roff,
        [bold("SHMTOOL_PAUSE_AT")],
        "For tests only: stop (SIGSTOP) at the named point, so that a test can change the \
         world between two steps.",
    );
}

/// The root page's reference sections: kinds, verdicts and states, columns, JSON, metrics.
fn reference(roff: &mut Roff) {
    roff.control("SH", ["KINDS"]);
    roff.text([roman(
        "Every row of ls is one object; its kind (the JSON field kind) says what it is and \
         how it was found.",
    )]);
    for (kind, what) in [
        ("sysv", "A System V segment (shmget), from /proc/sysvipc/shm. Its attachers are the processes whose maps show /SYSV<key> with the shmid as inode."),
        ("posix", "A POSIX object (shm_open): a file directly in /dev/shm, mapped or not."),
        ("psem", "A POSIX named semaphore: /dev/shm/sem.NAME."),
        ("memfd", "A memfd (memfd_create): /memfd:NAME (deleted) in maps, or an open fd to one."),
        ("anon", "Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) shared by a parent and its forked children: /dev/zero (deleted) with s in the permissions, or [anon_shmem:NAME] once named with prctl(PR_SET_VMA_ANON_NAME) (its path is then anon_shmem:NAME); one row per (device, inode)."),
        ("file", "A regular file mapped MAP_SHARED, outside /dev/shm (and any file in a subdirectory of /dev/shm, which shm_open did not make). Read-only ones only with ls --all."),
        ("deleted", "A file unlinked while still mapped or held open."),
        ("sem, msg", "System V semaphore sets and message queues, listed with --kind or --ipc all."),
        ("mqueue", "A POSIX message queue (/dev/mqueue), listed with --kind or --ipc all."),
    ] {
        tagged(roff, [bold(kind)], what);
    }
    roff.control("SH", ["VERDICTS AND STATES"]);
    roff.text([roman(
        "Removal needs proof. Every object gets a verdict (the JSON field verdict); rm --stale \
         removes only leaked ones, re-checking each right before removing it.",
    )]);
    for (verdict, what) in [
        ("in use", "Some process maps it, holds it open or is attached."),
        ("idle", "Nobody holds it now, but something alive could come back for it: its creator, its owner program, or anyone who can find it by key or name while its owner lives."),
        ("leaked", "Nobody holds it and nothing alive can or will. Shown as stale in the STATE column; the JSON field stale is true only for this verdict."),
        ("unknown", "A process that could hold it could not be read; the pids are named. Never removed by --stale."),
    ] {
        tagged(roff, [bold(verdict)], what);
    }
    roff.control("PP", []);
    roff.text([roman("The STATE column also shows:")]);
    for (state, what) in [
        ("dest", "A System V segment marked for removal (IPC_RMID) that still has attachers; the kernel frees it when the last one detaches. Its key reads 0x00000000; the key it was made with is former_key."),
        ("locked", "A System V segment locked in memory (SHM_LOCK)."),
    ] {
        tagged(roff, [bold(state)], what);
    }
    columns(roff);
    roff.control("SH", ["JSON"]);
    roff.text([roman(
        "Every listing command takes --json. ls --json is an array of objects, show --json \
         one such object. Every command uses one vocabulary: the same thing has the same name \
         and form everywhere (kind, id, key, path, size, uid, user, pid, comm, start, end, \
         perms, dev, inode, attachers, fd_holders, stale_reason, note). Absent values are \
         null, never missing keys. Sizes are numbers of bytes; addresses and keys are strings \
         (\"0x...\"); dev is \"MAJ:MIN\" in hex. Every point in time comes in two forms: \
         NAME_unix, whole seconds since the epoch as a number, and NAME_iso, an RFC 3339 \
         string in UTC (atime_unix and atime_iso; time_unix and time_iso on each line of \
         watch, trace and history). The older single names (atime, dtime, ctime: seconds; \
         time: RFC 3339) are kept as deprecated aliases. 64-bit values are exact integers; \
         those that can pass 2^53 (limits: shmmax, shmall_pages, shmall_bytes) are also \
         given as decimal strings (shmmax_str, ...) for readers that parse numbers as \
         doubles, such as JavaScript and jq. A JSON Schema for each command's output is in \
         doc/schema/ in the source; fields marked deprecated there will go in a later \
         release. The fields of an ls row:",
    )]);
    for (field, ty, what) in LS_FIELDS {
        tagged(roff, [bold(*field), roman(format!(" ({ty})"))], what);
    }
    roff.control("PP", []);
    roff.text([roman(
        "maps --json is an array of {start, end, perms, offset, dev, inode, path, clean_path, \
         deleted, kind, size, rss, pss, swap}: path as /proc/PID/maps prints it, clean_path \
         without the kernel's \" (deleted)\" and deleted true when it was there; kind is the \
         ls kind for a shared mapping (a shared anonymous mapping is anon, as in ls) and \
         heap, stack, anon-private, file-private or special for the others. key --json is \
         {path, proj_id, key, shmid} (shmid is the id of ls); limits --json one object with \
         each limit and its use. rm --json is {dry_run, results, removed, would_remove, \
         marked, kept, bytes_freed, bytes_would_free}: a dry run removes nothing, so its \
         removed and bytes_freed are 0 and would_remove and bytes_would_free say what would \
         go; each result has result (removed, marked, would_remove, kept), the object's kind, \
         id, key, path and size, stale_reason, attachers and fd_holders as in ls, note (why \
         it was kept or only marked) and backup (reason and held_by are deprecated). restore \
         --json is {kind, id, path, key, size}. watch --json, dump --json, trace --json and \
         history --json write JSON Lines; the first line of watch has initial true and the \
         bytes as hex (or the records).",
    )]);
    metrics(roff);
}

/// The fields of an `ls --json` row: name, JSON type, meaning.
pub const LS_FIELDS: &[(&str, &str, &str)] = &[
    ("kind", "string", "One of the kinds above."),
    ("id", "number|null", "The shmid (System V), semid or msqid."),
    ("key", "string|null", "System V key as \"0x%08x\", as the kernel reports it now (0x00000000 once marked for removal)."),
    ("former_key", "string|null", "For a segment marked for removal: the key it was made with, as its attachers' maps name it."),
    ("path", "string|null", "File path, POSIX object's full path, or memfd name."),
    ("size", "number", "Size in bytes."),
    ("uid", "number|null", "Owner's uid."),
    ("user", "string|null", "Owner's user name, as the OWNER column shows it; null when the uid has none."),
    ("gid", "number|null", "Owner's gid."),
    ("perms", "string|null", "Octal mode as ipcs prints it (\"644\")."),
    ("nattch", "number|null", "The kernel's attach count (System V)."),
    ("status", "array of strings", "\"dest\" (marked for removal), \"locked\"."),
    ("cpid", "number|null", "Creator pid (System V)."),
    ("lpid", "number|null", "Pid of the last attach or detach (System V)."),
    ("atime_unix, dtime_unix, ctime_unix", "number|null", "Last attach, detach, and change or creation, in whole seconds since the epoch (atime, dtime, ctime: the same, deprecated)."),
    ("atime_iso, dtime_iso, ctime_iso", "string|null", "The same times as RFC 3339 strings in UTC."),
    ("rss", "number|null", "Resident bytes."),
    ("swap", "number|null", "Swapped-out bytes."),
    ("dev, inode", "string|null, number|null", "Device (\"MAJ:MIN\") and inode that identify the object in maps."),
    ("attachers", "array", "One {pid, comm, start, end, perms, offset, other_ipc_ns} per mapping; start and end as \"0x...\" strings."),
    ("fd_holders", "array", "One {pid, comm, fd} per process holding it open without mapping it."),
    ("containers", "array of strings", "Containers of the processes that map or hold it."),
    ("ipc_ns", "number|null", "Inode of the IPC namespace a System V object belongs to."),
    ("stale", "boolean", "True only when the verdict is leaked."),
    ("stale_reason", "string|null", "Why it looks leaked, in one line."),
    ("verdict", "string", "\"in use\", \"idle\", \"leaked\" or \"unknown\"."),
    ("evidence", "object", "The facts behind the verdict: holders, whether the owner is alive, pids that could not be read, the rule that decided."),
    ("note", "string|null", "Anything else worth knowing, in one line."),
];

/// The columns `ls -o` accepts.
fn columns(roff: &mut Roff) {
    roff.control("SH", ["COLUMNS"]);
    roff.text([roman(
        "The columns of the ls table (choose with -o, add with -o +COLS; those marked * are \
         shown by default). On a terminal the table fits its width: names and paths lose \
         their middle to an ellipsis, other text its end, and then the least useful default \
         columns are left out; numbers are never cut. --wide, a pipe or --json show \
         everything.",
    )]);
    for c in crate::render::segments::LS_COLUMNS {
        let star = if crate::render::segments::LS_DEFAULT.contains(&c.name) {
            " *"
        } else {
            ""
        };
        tagged(roff, [bold(c.name), roman(star)], c.about);
    }
}

/// Every metric `ls --format prometheus` writes.
fn metrics(roff: &mut Roff) {
    roff.control("SH", ["METRICS"]);
    roff.text([roman(
        "ls --format prometheus writes the Prometheus text format for node_exporter's \
         textfile collector. By default only aggregates, labelled kind, owner, verdict, ipc_ns \
         and container, whose series do not churn; --per-object adds one series per object \
         (labels kind, id, ipc_ns, key, owner, path), never two with the same labels. \
         --quiet keeps notes off standard error. Every metric is a gauge:",
    )]);
    for (name, help) in crate::render::prometheus::METRICS {
        tagged(roff, [bold(*name)], help);
    }
    roff.control("PP", []);
    roff.text([roman(
        "A systemd service and timer that run it every minute, and the same as a cron line, \
         are in contrib/ (shmtool-metrics.service, shmtool-metrics.timer, \
         shmtool-metrics.cron): the output is written to a temporary file and renamed into \
         /var/lib/node_exporter/textfile/shmtool.prom.",
    )]);
}

/// The --layout grammar, on the pages of commands that take --layout.
fn layout(roff: &mut Roff) {
    roff.control("SH", ["LAYOUT"]);
    roff.text([roman(
        "--layout SPEC decodes bytes as a C struct: SPEC is a comma-separated list of \
         NAME:TYPE fields, laid out with C alignment (each field at a multiple of its \
         alignment, the struct padded to its largest), e.g. id:i32,name:char[20],sex:char. \
         --layout-repeat N decodes N structs one after another.",
    )]);
    for (ty, what) in [
        (
            "i8 i16 i32 i64 u8 u16 u32 u64",
            "Signed and unsigned integers of that many bits, in the machine's byte order.",
        ),
        (
            "u16be u32le i64be ...",
            "The same in a fixed byte order: be (big-endian) or le (little-endian).",
        ),
        ("f32 f64", "IEEE floating point (also f32be, f64le ...)."),
        ("char", "One byte, shown as a character."),
        ("bool", "One byte, false when 0."),
        (
            "ptr, T *",
            "A pointer (8 bytes), shown in hex with what it points into.",
        ),
        (
            "TYPE[N]",
            "An array of N elements; char[N] is shown as a string.",
        ),
        (
            "int, unsigned char, uint32_t, long ...",
            "C spellings of the same types are accepted.",
        ),
    ] {
        tagged(roff, [bold(ty)], what);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/proc/sys/kernel/shmmax, shmall, shmmni",
            "The System V limits that limits reports.",
        ),
        (
            "/proc/sysvipc/shm",
            "System V segments, as the kernel reports them.",
        ),
        (
            "/proc/PID/maps, /proc/PID/smaps",
            "What each process maps; how attachers are found.",
        ),
        (
            "/proc/PID/fd",
            "Open file descriptors; a POSIX object held open is not stale.",
        ),
        ("/dev/shm", "POSIX shared memory objects."),
        (
            "/dev/mqueue",
            "POSIX message queues (when the mqueue filesystem is mounted).",
        ),
        (
            "/var/log/shmtool/trace.jsonl",
            "The log trace --log writes by default, and history and show read.",
        ),
    ] {
        tagged(roff, [italic(path)], what);
    }
}

fn examples(roff: &mut Roff, examples: &[(String, Option<String>)]) {
    if examples.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (cmd, what) in examples {
        roff.control("TP", []).text([bold(cmd.as_str())]);
        if let Some(what) = what {
            roff.text([roman(what.as_str())]);
        }
    }
}

fn see_also(roff: &mut Roff, cmd: &Command, parent: Option<&Command>) {
    let mut pages: Vec<String> = parent
        .map(|p| format!("{}(1)", page_name(p)))
        .into_iter()
        .collect();
    pages.extend(visible_subcommands(cmd).map(|s| format!("{}(1)", page_name(s))));
    pages.extend(SEE_ALSO.iter().map(|s| s.to_string()));
    let mut line = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let (name, section) = page.split_once('(').expect("page(section)");
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(name));
        line.push(roman(format!("({section}")));
    }
    // No hyphenation: "shm-tool-dump(1)" split across lines reads as another page's name.
    roff.control("SH", ["SEE ALSO"])
        .control("nh", [])
        .text(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_help_splits_notes_from_examples() {
        let h = AfterHelp::parse(
            "ID is a shmid (123),\nor PID:ADDR.\n\nEXAMPLES:\n  shmtool ls   every object\n  shmtool ls --json | jq '.[]'\n",
        );
        assert_eq!(h.notes, vec!["ID is a shmid (123), or PID:ADDR."]);
        assert_eq!(
            h.examples,
            vec![
                ("shmtool ls".to_string(), Some("every object".to_string())),
                ("shmtool ls --json | jq '.[]'".to_string(), None),
            ]
        );
        assert_eq!(AfterHelp::parse(""), AfterHelp::default());
    }

    #[test]
    fn completions_hide_what_help_hides() {
        let full = Cli::command();
        let public = completion_command();
        let names = |c: &Command, hidden: bool| -> Vec<String> {
            c.get_subcommands()
                .filter(|s| s.is_hide_set() == hidden)
                .map(|s| s.get_name().to_string())
                .collect()
        };
        assert_eq!(names(&public, false), names(&full, false));
        assert!(names(&public, true).is_empty());
        assert!(!names(&full, true).is_empty(), "generate is hidden");
        let args = |c: &Command| -> Vec<String> {
            c.get_arguments()
                .filter(|a| !a.is_hide_set())
                .map(|a| a.get_id().to_string())
                .collect()
        };
        assert_eq!(args(&public), args(&full));
        assert!(public.get_arguments().all(|a| !a.is_hide_set()));
        public.debug_assert();
    }

    #[test]
    fn every_page_has_our_sections_once() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"shmtool.1"));
        assert!(names.contains(&"shmtool-watch.1"));
        assert!(!names
            .iter()
            .any(|n| n.contains("generate") || n.contains("help")));
        let preamble = Roff::new().render();
        for (name, text) in &pages {
            let text = String::from_utf8(text.clone()).unwrap();
            assert_eq!(text.matches(preamble.as_str()).count(), 1, "{name}");
            assert!(text.starts_with(&preamble), "{name}");
            for section in ["NAME", "SYNOPSIS", "\"EXIT STATUS\"", "\"SEE ALSO\""] {
                assert_eq!(
                    text.matches(&format!(".SH {section}\n")).count(),
                    1,
                    "{name}: {section}"
                );
            }
            assert!(!text.contains(".SH EXTRA"), "{name}");
            assert!(text.is_ascii(), "{name}");
        }
    }
}
