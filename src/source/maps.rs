//! Parser for `/proc/<pid>/maps` lines, over bytes.
//!
//! procfs 0.18 has a maps parser, but it is wrong for this tool: it reads lines as `String`, so one
//! mapped path that is not UTF-8 makes the whole process's maps fail to parse; it trims trailing
//! spaces off paths; it leaves the kernel's `\012` escape in place; and it allocates a `PathBuf`
//! per line, where `ls` wants to skip every private line without allocating (most lines are
//! private). This parser is a pure function over bytes; the I/O lives in `procs`.

use std::fmt;

/// One line of maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapLine {
    pub start: u64,
    pub end: u64,
    pub perms: [u8; 4],
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The path as the kernel prints it, with `\012` turned back into a newline; may be empty.
    pub path: Vec<u8>,
}

/// What a mapping's path says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// No path, or `[anon:NAME]` (named with `prctl(PR_SET_VMA_ANON_NAME)`): private
    /// anonymous memory (or bss).
    Anonymous,
    /// `[heap]`, `[stack]`, `[vdso]`, …
    Special(String),
    /// `/SYSV<key> (deleted)`: a System V segment; inode is the shmid.
    Sysv { key: u32 },
    /// `/memfd:NAME (deleted)`.
    Memfd { name: Vec<u8> },
    /// `/dev/zero (deleted)` or `/anon_hugepage (deleted)`: shared anonymous memory; or
    /// `[anon_shmem:NAME]`, the same named with `prctl(PR_SET_VMA_ANON_NAME)`.
    SharedAnon { name: Option<Vec<u8>> },
    /// A file that exists (as far as the name says).
    File { path: Vec<u8> },
    /// A file whose name ends ` (deleted)`: the path before that suffix.
    Deleted { path: Vec<u8> },
}

const DELETED: &[u8] = b" (deleted)";

impl MapLine {
    pub fn is_shared(&self) -> bool {
        self.perms[3] == b's'
    }

    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn perms_str(&self) -> String {
        String::from_utf8_lossy(&self.perms).into_owned()
    }

    pub fn dev(&self) -> crate::model::Dev {
        crate::model::Dev::from_parts(self.dev_major, self.dev_minor)
    }

    /// Classify the path. `" (deleted)"` is ambiguous (a file may be named so); callers that
    /// can, check with `map_files` or stat.
    pub fn path_kind(&self) -> PathKind {
        classify(&self.path)
    }
}

/// Classify a maps path by its name alone.
pub fn classify(path: &[u8]) -> PathKind {
    if path.is_empty() {
        return PathKind::Anonymous;
    }
    if let Some(inner) = path.strip_prefix(b"[").and_then(|p| p.strip_suffix(b"]")) {
        // Kernels with CONFIG_ANON_VMA_NAME show a name given to anonymous memory in brackets.
        if let Some(name) = inner.strip_prefix(b"anon_shmem:") {
            return PathKind::SharedAnon {
                name: Some(name.to_vec()),
            };
        }
        if inner.starts_with(b"anon:") {
            return PathKind::Anonymous;
        }
        return PathKind::Special(String::from_utf8_lossy(path).into_owned());
    }
    if let Some(rest) = path.strip_prefix(b"/SYSV") {
        if rest.len() >= 8 {
            if let Some(key) = std::str::from_utf8(&rest[..8])
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
            {
                return PathKind::Sysv { key };
            }
        }
    }
    let (stem, deleted) = match path.strip_suffix(DELETED) {
        Some(stem) => (stem, true),
        None => (path, false),
    };
    if let Some(name) = stem.strip_prefix(b"/memfd:") {
        return PathKind::Memfd {
            name: name.to_vec(),
        };
    }
    if deleted && (stem == b"/dev/zero" || stem == b"/anon_hugepage") {
        return PathKind::SharedAnon { name: None };
    }
    if deleted {
        PathKind::Deleted {
            path: stem.to_vec(),
        }
    } else {
        PathKind::File {
            path: path.to_vec(),
        }
    }
}

/// Error for a line that is not in maps format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine;

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed maps line")
    }
}

impl std::error::Error for BadLine {}

fn hex_u64(b: &[u8]) -> Result<u64, BadLine> {
    if b.is_empty() || b.len() > 16 {
        return Err(BadLine);
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = (c as char).to_digit(16).ok_or(BadLine)?;
        v = (v << 4) | d as u64;
    }
    Ok(v)
}

fn dec_u64(b: &[u8]) -> Result<u64, BadLine> {
    if b.is_empty() || b.len() > 20 {
        return Err(BadLine);
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(BadLine);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or(BadLine)?;
    }
    Ok(v)
}

/// Split off the next field ending at a single space.
fn field<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], BadLine> {
    let pos = rest.iter().position(|&c| c == b' ').ok_or(BadLine)?;
    let f = &rest[..pos];
    *rest = &rest[pos + 1..];
    Ok(f)
}

/// Turn the kernel's `\012` back into a newline. Maps escapes nothing else, so a literal
/// backslash followed by `012` in a name is indistinguishable; `map_files` resolves that.
pub fn unescape(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i..].starts_with(b"\\012") {
            out.push(b'\n');
            i += 4;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    out
}

/// Parse the fixed part of a maps line and return it with the rest (the padded path).
fn parse_head(line: &[u8]) -> Result<(MapLine, &[u8]), BadLine> {
    let mut rest = line;
    let range = field(&mut rest)?;
    let dash = range.iter().position(|&c| c == b'-').ok_or(BadLine)?;
    let start = hex_u64(&range[..dash])?;
    let end = hex_u64(&range[dash + 1..])?;
    let perms_b = field(&mut rest)?;
    if perms_b.len() != 4 {
        return Err(BadLine);
    }
    let perms = [perms_b[0], perms_b[1], perms_b[2], perms_b[3]];
    let offset = hex_u64(field(&mut rest)?)?;
    let dev = field(&mut rest)?;
    let colon = dev.iter().position(|&c| c == b':').ok_or(BadLine)?;
    let dev_major = hex_u64(&dev[..colon])? as u32;
    let dev_minor = hex_u64(&dev[colon + 1..])? as u32;
    // The inode is the last fixed field; a line without a path may end right after it.
    let (inode_b, tail) = match rest.iter().position(|&c| c == b' ') {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let inode = dec_u64(inode_b)?;
    Ok((
        MapLine {
            start,
            end,
            perms,
            offset,
            dev_major,
            dev_minor,
            inode,
            path: Vec::new(),
        },
        tail,
    ))
}

/// The path part of a line: the kernel pads it with spaces to a fixed column; the path itself
/// may contain (and end with) spaces, so only the padding before it is removed.
fn path_of(tail: &[u8]) -> Vec<u8> {
    let start = tail.iter().position(|&c| c != b' ').unwrap_or(tail.len());
    unescape(&tail[start..])
}

/// Parse one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<MapLine, BadLine> {
    let (mut m, tail) = parse_head(line)?;
    m.path = path_of(tail);
    Ok(m)
}

/// Parse a whole maps file, skipping malformed lines.
pub fn parse(buf: &[u8]) -> Vec<MapLine> {
    lines(buf).filter_map(|l| parse_line(l).ok()).collect()
}

/// Parse only the shared lines (`s` in perms); private lines cost a byte compare each.
pub fn parse_shared(buf: &[u8], out: &mut Vec<MapLine>) {
    for line in lines(buf) {
        if is_shared_line(line) {
            if let Ok(m) = parse_line(line) {
                out.push(m);
            }
        }
    }
}

fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

/// Whether the perms field of a raw line ends in `s`, without parsing the line.
fn is_shared_line(line: &[u8]) -> bool {
    match line.iter().position(|&c| c == b' ') {
        Some(p) => line.get(p + 4) == Some(&b's'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"55d4c8a00000-55d4c8a02000 r--p 00000000 fe:01 1311765                    /usr/bin/cat
7f1c2a000000-7f1c2a001000 rw-s 00000000 00:01 32822                      /SYSV6f20d677 (deleted)
7f1c2a100000-7f1c2a200000 rw-s 00000000 00:01 1033                       /memfd:ring buf (deleted)
7f1c2a200000-7f1c2a300000 rw-s 00000000 00:01 2051                       /dev/zero (deleted)
7f1c2a300000-7f1c2a301000 rw-s 00000000 00:19 77                         /dev/shm/psm_1a2b
7f1c2a301000-7f1c2a302000 r--s 00001000 fe:01 99                         /var/cache/fontconfig/x.cache-8
7f1c2a302000-7f1c2a303000 rw-s 00000000 fe:01 100                        /tmp/gone (deleted)
7f1c2a303000-7f1c2a304000 rw-s 00000000 fe:01 101                        /tmp/new\\012line
7f1c2a304000-7f1c2a305000 rw-p 00000000 00:00 0 
7ffd0a000000-7ffd0a021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn parses_every_field() {
        let all = parse(SAMPLE);
        assert_eq!(all.len(), 10);
        let sysv = &all[1];
        assert_eq!(sysv.start, 0x7f1c2a000000);
        assert_eq!(sysv.end, 0x7f1c2a001000);
        assert_eq!(&sysv.perms, b"rw-s");
        assert_eq!(sysv.dev().to_string(), "00:01");
        assert_eq!(sysv.inode, 32822);
        assert_eq!(sysv.path_kind(), PathKind::Sysv { key: 0x6f20d677 });
        assert_eq!(all[5].offset, 0x1000);
        assert_eq!(all[8].path, b"");
        assert_eq!(all[8].path_kind(), PathKind::Anonymous);
    }

    #[test]
    fn classifies_kinds() {
        let all = parse(SAMPLE);
        assert_eq!(
            all[2].path_kind(),
            PathKind::Memfd {
                name: b"ring buf".to_vec()
            }
        );
        assert_eq!(all[3].path_kind(), PathKind::SharedAnon { name: None });
        assert_eq!(
            all[4].path_kind(),
            PathKind::File {
                path: b"/dev/shm/psm_1a2b".to_vec()
            }
        );
        assert_eq!(
            all[6].path_kind(),
            PathKind::Deleted {
                path: b"/tmp/gone".to_vec()
            }
        );
        assert_eq!(all[7].path, b"/tmp/new\nline");
        assert_eq!(all[9].path_kind(), PathKind::Special("[stack]".into()));
    }

    /// Lines as kernels with CONFIG_ANON_VMA_NAME print anonymous memory named with
    /// `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, …)` (the shared one since 6.2).
    #[test]
    fn named_anonymous_memory() {
        let all = parse(
            b"7f1c2a200000-7f1c2a300000 rw-s 00000000 00:01 2051                       [anon_shmem:ring buf]
7f1c2a304000-7f1c2a305000 rw-p 00000000 00:00 0                          [anon:arena]
",
        );
        assert_eq!(
            all[0].path_kind(),
            PathKind::SharedAnon {
                name: Some(b"ring buf".to_vec())
            }
        );
        assert_eq!(all[0].inode, 2051);
        assert_eq!(all[1].path_kind(), PathKind::Anonymous);
        assert_eq!(
            classify(b"[anon_shmem:]"),
            PathKind::SharedAnon { name: Some(vec![]) }
        );
    }

    #[test]
    fn shared_filter_matches_full_parse() {
        let mut shared = Vec::new();
        parse_shared(SAMPLE, &mut shared);
        let expect: Vec<_> = parse(SAMPLE)
            .into_iter()
            .filter(|m| m.is_shared())
            .collect();
        assert_eq!(shared, expect);
        assert_eq!(shared.len(), 7);
    }

    #[test]
    fn keeps_spaces_and_invalid_utf8_in_paths() {
        let line = b"1000-2000 rw-s 00000000 fe:01 5                          /tmp/a b  \xff\xfe";
        let m = parse_line(line).unwrap();
        assert_eq!(m.path, b"/tmp/a b  \xff\xfe");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            &b""[..],
            b"zzzz",
            b"1000-2000",
            b"1000-2000 rw-s",
            b"1000-2000 rw-s 0 fe:01",
            b"1000-2000 rwxsx 0 fe:01 5 /x",
            b"g000-2000 rw-s 0 fe:01 5 /x",
            b"1000-2000 rw-s 0 fe01 5 /x",
            b"1000-2000 rw-s 0 fe:01 99999999999999999999999 /x",
        ] {
            assert!(
                parse_line(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Format a line the way the kernel does (path escaped: newline as `\012`).
    fn print(m: &MapLine) -> Vec<u8> {
        let mut line = format!(
            "{:x}-{:x} {} {:08x} {:02x}:{:02x} {} ",
            m.start,
            m.end,
            String::from_utf8_lossy(&m.perms),
            m.offset,
            m.dev_major,
            m.dev_minor,
            m.inode
        )
        .into_bytes();
        if !m.path.is_empty() {
            while line.len() < 73 {
                line.push(b' ');
            }
            for &b in &m.path {
                if b == b'\n' {
                    line.extend_from_slice(b"\\012");
                } else {
                    line.push(b);
                }
            }
        }
        line
    }

    fn arb_line() -> impl Strategy<Value = MapLine> {
        (
            any::<u64>(),
            any::<u64>(),
            prop::sample::select(vec![*b"rw-s", *b"r--p", *b"r-xp", *b"---p", *b"rw-p"]),
            any::<u64>(),
            0u32..4096,
            0u32..1 << 20,
            any::<u64>(),
            // A path that starts with '/' or is empty; any bytes but NUL after it, and not
            // beginning with a space (the kernel's padding cannot be told from such a name).
            prop_oneof![
                Just(Vec::new()),
                prop::collection::vec(1u8..=255, 0..40).prop_map(|mut v| {
                    v.insert(0, b'/');
                    v
                }),
            ],
        )
            .prop_map(
                |(start, end, perms, offset, dev_major, dev_minor, inode, path)| MapLine {
                    start,
                    end,
                    perms,
                    offset,
                    dev_major,
                    dev_minor,
                    inode,
                    path,
                },
            )
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
            let mut v = Vec::new();
            parse_shared(&bytes, &mut v);
            for m in v { let _ = m.path_kind(); }
        }

        #[test]
        fn round_trips_printed_lines(m in arb_line()) {
            // A literal "\012" in a name cannot survive (the kernel's escape is ambiguous).
            prop_assume!(!m.path.windows(4).any(|w| w == b"\\012"));
            let line = print(&m);
            let back = parse_line(&line).unwrap();
            prop_assert_eq!(back, m);
        }
    }
}
