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
    "ipcrm(1)",
    "pmap(1)",
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
    exit_status(&mut ours);
    environment(&mut ours);
    if parent.is_none() {
        files(&mut ours);
    }
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

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    tagged(
        roff,
        [bold("NO_COLOR")],
        "When set and not empty, no colour is used unless --color always is given.",
    );
    tagged(
        roff,
        [bold("TERM")],
        "When it is \"dumb\", no colour is used unless --color always is given.",
    );
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (path, what) in [
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
