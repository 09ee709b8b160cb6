//! Parser for `/proc/<pid>/smaps`: every mapping's maps line followed by its memory figures
//! (size, RSS, PSS, swap, …) and its `VmFlags`.
//!
//! procfs 0.18 has an smaps parser, but it reads each header with the same `String`-based maps
//! parser as its maps (see [`super::maps`]): one mapped path that is not UTF-8 fails the whole
//! file, and paths lose trailing spaces and keep the `\012` escape. This one works over bytes and
//! reads each header with [`maps::parse_line`]. The file I/O is [`Sys::smaps_of`].

use super::maps::{self, MapLine};
use super::procs::ReadError;
use super::Sys;

/// The figures smaps gives a mapping in `kB`, here in bytes. Fields this kernel does not print
/// stay 0 (older kernels lack e.g. `Pss_Dirty`; `[vsyscall]` has only `Size` and page sizes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub size: u64,
    pub kernel_page_size: u64,
    pub mmu_page_size: u64,
    pub rss: u64,
    pub pss: u64,
    pub pss_dirty: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub referenced: u64,
    pub anonymous: u64,
    pub ksm: u64,
    pub lazy_free: u64,
    pub anon_huge_pages: u64,
    pub shmem_pmd_mapped: u64,
    pub file_pmd_mapped: u64,
    pub shared_hugetlb: u64,
    pub private_hugetlb: u64,
    pub swap: u64,
    pub swap_pss: u64,
    pub locked: u64,
}

impl Figures {
    /// Where the smaps field called `name` goes, if it is one we know.
    fn slot(&mut self, name: &[u8]) -> Option<&mut u64> {
        Some(match name {
            b"Size" => &mut self.size,
            b"KernelPageSize" => &mut self.kernel_page_size,
            b"MMUPageSize" => &mut self.mmu_page_size,
            b"Rss" => &mut self.rss,
            b"Pss" => &mut self.pss,
            b"Pss_Dirty" => &mut self.pss_dirty,
            b"Shared_Clean" => &mut self.shared_clean,
            b"Shared_Dirty" => &mut self.shared_dirty,
            b"Private_Clean" => &mut self.private_clean,
            b"Private_Dirty" => &mut self.private_dirty,
            b"Referenced" => &mut self.referenced,
            b"Anonymous" => &mut self.anonymous,
            b"KSM" => &mut self.ksm,
            b"LazyFree" => &mut self.lazy_free,
            b"AnonHugePages" => &mut self.anon_huge_pages,
            b"ShmemPmdMapped" => &mut self.shmem_pmd_mapped,
            b"FilePmdMapped" => &mut self.file_pmd_mapped,
            b"Shared_Hugetlb" => &mut self.shared_hugetlb,
            b"Private_Hugetlb" => &mut self.private_hugetlb,
            b"Swap" => &mut self.swap,
            b"SwapPss" => &mut self.swap_pss,
            b"Locked" => &mut self.locked,
            _ => return None,
        })
    }
}

/// One mapping as smaps describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmapsEntry {
    pub map: MapLine,
    pub figures: Figures,
    /// `THPeligible`, when the kernel prints it.
    pub thp_eligible: Option<bool>,
    /// The two-letter flags of `VmFlags` (`rd`, `wr`, `sh`, …), in the kernel's order.
    pub vm_flags: Vec<String>,
    /// Any other `Name: value [kB]` line (e.g. `ProtectionKey`, or fields of newer kernels),
    /// value in bytes when it had a `kB` unit.
    pub other: Vec<(String, u64)>,
}

impl SmapsEntry {
    fn new(map: MapLine) -> SmapsEntry {
        SmapsEntry {
            map,
            figures: Figures::default(),
            thp_eligible: None,
            vm_flags: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Take in one `Name: value` line.
    fn add_field(&mut self, name: &[u8], value: &[u8]) {
        if name == b"VmFlags" {
            self.vm_flags = value
                .split(|c| c.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            return;
        }
        let Some(v) = parse_value(value) else {
            return;
        };
        if name == b"THPeligible" {
            self.thp_eligible = Some(v != 0);
        } else if let Some(slot) = self.figures.slot(name) {
            *slot = v;
        } else {
            self.other
                .push((String::from_utf8_lossy(name).into_owned(), v));
        }
    }
}

/// `  132 kB` → 135168; `0` → 0 (unitless counts and flags).
fn parse_value(value: &[u8]) -> Option<u64> {
    let mut words = value
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let num = words.next()?;
    if num.is_empty() || num.len() > 20 || !num.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(num).ok()?.parse().ok()?;
    match words.next() {
        None => Some(n),
        Some(b"kB") => n.checked_mul(1024),
        Some(_) => None,
    }
}

/// A `Name: value` line: a name of letters, digits and `_` before the first colon. A header
/// (maps) line never is one: its first field has a `-` before any colon.
fn split_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&c| c == b':')?;
    let name = &line[..colon];
    let is_name = !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    is_name.then(|| (name, &line[colon + 1..]))
}

/// An smaps parser fed one line at a time, so that a process with tens of thousands of
/// mappings is parsed as it is read, without holding its whole smaps text (about 1 KiB a
/// mapping) in memory.
#[derive(Debug, Default)]
pub struct Parser {
    /// The entry whose figure lines we are reading, if the last header was in maps format.
    current: Option<SmapsEntry>,
}

impl Parser {
    /// Take one line (without its newline). Returns the previous entry when this line begins
    /// a new one. A header line that is not in maps format drops its mapping (and the figures
    /// under it); figure lines that cannot be read are ignored.
    pub fn line(&mut self, line: &[u8]) -> Option<SmapsEntry> {
        if line.is_empty() {
            return None;
        }
        match split_field(line) {
            Some((name, value)) => {
                if let Some(e) = self.current.as_mut() {
                    e.add_field(name, value);
                }
                None
            }
            None => {
                let next = maps::parse_line(line).ok().map(SmapsEntry::new);
                std::mem::replace(&mut self.current, next)
            }
        }
    }

    /// The last entry, at the end of the text.
    pub fn finish(self) -> Option<SmapsEntry> {
        self.current
    }
}

/// Parse a whole smaps text (captured files, tests); see [`Parser`] for the rules.
pub fn parse(buf: &[u8]) -> Vec<SmapsEntry> {
    let mut p = Parser::default();
    let mut out: Vec<SmapsEntry> = buf
        .split(|&c| c == b'\n')
        .filter_map(|l| p.line(l))
        .collect();
    out.extend(p.finish());
    out
}

/// Read `reader` to its end in chunks, handing each line (without its newline) to `line`. A
/// read error ends the text where it happened; it is returned after the lines before it.
pub fn for_each_line(
    mut reader: impl std::io::Read,
    mut line: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    // Bytes of an unfinished line at the start of `buf`.
    let mut kept = 0;
    loop {
        if kept == buf.len() {
            // One line longer than the buffer (a very long path): make room.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match reader.read(&mut buf[kept..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                line(&buf[..kept]);
                return Err(e);
            }
        };
        let filled = kept + n;
        let mut begin = 0;
        while let Some(nl) = buf[begin..filled].iter().position(|&c| c == b'\n') {
            line(&buf[begin..begin + nl]);
            begin += nl + 1;
        }
        buf.copy_within(begin..filled, 0);
        kept = filled - begin;
    }
    if kept > 0 {
        line(&buf[..kept]);
    }
    Ok(())
}

impl Sys {
    /// Every mapping of one process with its smaps figures, paths made exact where maps'
    /// escaping is ambiguous. Reading smaps walks the page tables, so it costs several times
    /// what maps does: only `maps` and PSS figures use it.
    pub fn smaps_of(&self, pid: i32) -> Result<Vec<SmapsEntry>, ReadError> {
        let mut entries = Vec::new();
        self.for_each_smaps(pid, |e| entries.push(e))?;
        Ok(entries)
    }

    /// Each mapping of one process with its smaps figures, handed to `each` as it is parsed:
    /// memory stays bounded by one chunk of text and one entry, whatever the process maps.
    pub fn for_each_smaps(
        &self,
        pid: i32,
        mut each: impl FnMut(SmapsEntry),
    ) -> Result<(), ReadError> {
        let file =
            std::fs::File::open(self.pid_path(pid, "smaps")).map_err(super::procs::classify_io)?;
        let mut parser = Parser::default();
        let mut emit = |mut e: SmapsEntry| {
            self.disambiguate_paths(pid, std::slice::from_mut(&mut e.map));
            each(e);
        };
        let read = for_each_line(file, |l| {
            if let Some(e) = parser.line(l) {
                emit(e);
            }
        });
        if let Some(e) = parser.finish() {
            emit(e);
        }
        match read {
            Ok(()) => Ok(()),
            // The process exited while we read: what was read stands, and the caller checks
            // whether the process is still there.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(super::procs::classify_io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::maps::PathKind;

    /// Captured on this kernel (6.18) from a process mapping a System V segment, a memfd,
    /// shared anonymous memory and a /dev/shm object; 11 of its 28 mappings.
    pub(super) const SAMPLE: &[u8] = include_bytes!("testdata/smaps-sample.txt");

    const KB: u64 = 1024;

    fn find(all: &[SmapsEntry], start: u64) -> &SmapsEntry {
        all.iter().find(|e| e.map.start == start).expect("mapping")
    }

    #[test]
    fn parses_every_mapping_of_a_capture() {
        let all = parse(SAMPLE);
        assert_eq!(all.len(), 11);
        let starts: Vec<u64> = all.iter().map(|e| e.map.start).collect();
        let mut sorted = starts.clone();
        sorted.sort_unstable();
        assert_eq!(starts, sorted, "kernel order kept");
        for e in &all {
            assert_eq!(e.figures.size, e.map.len(), "{:x}", e.map.start);
            assert!(!e.vm_flags.is_empty());
        }
    }

    #[test]
    fn sysv_memfd_anon_and_posix_figures() {
        let all = parse(SAMPLE);
        let sysv = find(&all, 0x7f4b4465c000);
        assert_eq!(sysv.map.path_kind(), PathKind::Sysv { key: 0x6f20d677 });
        assert_eq!(sysv.map.inode, 55);
        assert_eq!(sysv.figures.size, 8 * KB);
        assert_eq!(sysv.figures.rss, 4 * KB);
        assert_eq!(sysv.figures.pss, 4 * KB);
        assert_eq!(sysv.figures.private_dirty, 4 * KB);
        assert_eq!(sysv.figures.swap, 0);
        assert_eq!(sysv.thp_eligible, Some(false));
        assert_eq!(
            sysv.vm_flags,
            ["rd", "wr", "sh", "mr", "mw", "me", "ms"].map(String::from)
        );

        let memfd = find(&all, 0x7f4b44659000);
        assert_eq!(
            memfd.map.path_kind(),
            PathKind::Memfd {
                name: b"ring buf".to_vec()
            }
        );
        assert_eq!(memfd.figures.size, 12 * KB);
        assert_eq!(memfd.figures.rss, 8 * KB);

        let anon = find(&all, 0x7f4b4446b000);
        assert_eq!(anon.map.path_kind(), PathKind::SharedAnon { name: None });
        assert_eq!(anon.figures.rss, 20 * KB);
        assert_eq!(anon.figures.pss_dirty, 20 * KB);

        let posix = find(&all, 0x7f4b44658000);
        assert_eq!(posix.map.path, b"/dev/shm/cap-test");
        assert_eq!(posix.map.dev().to_string(), "00:1b");
        assert_eq!(posix.figures.rss, 4 * KB);
    }

    #[test]
    fn heap_private_anon_and_vsyscall() {
        let all = parse(SAMPLE);
        let heap = find(&all, 0x561fae59f000);
        assert_eq!(heap.map.path, b"[heap]");
        assert_eq!(heap.figures.size, 132 * KB);
        assert_eq!(heap.figures.rss, 100 * KB);
        assert_eq!(heap.figures.anonymous, 100 * KB);
        assert!(heap.vm_flags.contains(&"ac".to_string()));

        let anon = find(&all, 0x7f4b44470000);
        assert!(anon.map.path.is_empty());
        assert_eq!(anon.figures.size, 12 * KB);

        // [vsyscall] has no Rss or Pss lines at all: they read as 0.
        let vsys = find(&all, 0xffffffffff600000);
        assert_eq!(vsys.map.end, 0xffffffffff601000);
        assert_eq!(vsys.figures.size, 4 * KB);
        assert_eq!(vsys.figures.rss, 0);
        assert_eq!(vsys.figures.pss, 0);
        assert_eq!(vsys.vm_flags, ["ex"]);
    }

    #[test]
    fn odd_paths_swap_and_unknown_fields() {
        let text = b"7f00-8f00 rw-s 00000000 00:01 7                          /tmp/a b \xff\\012z (deleted)
Size:                 4 kB
Rss:                  0 kB
Swap:                 4 kB
SwapPss:              2 kB
ProtectionKey:        3
NewField:             8 kB
VmFlags: rd wr sh
9000-a000 rw-p 00000000 00:00 0 
Size:                 4 kB
";
        let all = parse(text);
        assert_eq!(all.len(), 2);
        let e = &all[0];
        assert_eq!(e.map.path, b"/tmp/a b \xff\nz (deleted)");
        assert_eq!(e.figures.swap, 4 * KB);
        assert_eq!(e.figures.swap_pss, 2 * KB);
        assert_eq!(
            e.other,
            vec![
                ("ProtectionKey".to_string(), 3),
                ("NewField".into(), 8 * KB)
            ]
        );
        assert_eq!(e.thp_eligible, None);
        assert_eq!(all[1].figures.size, 4 * KB);
        assert!(all[1].map.path.is_empty());
    }

    #[test]
    fn garbage_is_dropped_without_panicking() {
        // Figures before any header, a bad header and its figures, bad values, and a
        // truncated last line: only the good mapping survives, with its good figures.
        let text = b"Rss: 4 kB
zzzz-1000 rw-p 0 00:00 0
Size: 8 kB
1000-2000 rw-p 00000000 00:00 0 
Size: 4 kB
Rss: lots kB
Pss: 4 MB
Swap: 99999999999999999999999 kB
Locked: 18446744073709551615 kB
Referenced:";
        let all = parse(text);
        assert_eq!(all.len(), 1);
        let f = &all[0].figures;
        assert_eq!(f.size, 4 * KB);
        assert_eq!(
            (f.rss, f.pss, f.swap, f.locked, f.referenced),
            (0, 0, 0, 0, 0)
        );
        assert!(parse(b"").is_empty());
        assert!(parse(b"\n\n\xff\xfe:\n").is_empty());
    }

    #[test]
    fn reads_through_an_injected_proc_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("42")).unwrap();
        std::fs::write(dir.path().join("42/smaps"), SAMPLE).unwrap();
        let sys = Sys::new(dir.path(), dir.path());
        assert_eq!(sys.smaps_of(42).unwrap(), parse(SAMPLE));
        assert!(matches!(sys.smaps_of(43), Err(ReadError::Gone)));
    }

    #[test]
    fn exited_processes() {
        let dir = tempfile::tempdir().unwrap();
        let sys = Sys::new(dir.path(), dir.path());
        for (pid, stat, exited) in [
            (1, &b"1 (init) S 0 1 1"[..], false),
            (2, b"2 (a) Z) R 1 2", false),
            (3, b"3 (x) Z 1 3 3", true),
            (4, b"4 (y (z)) X 1", true),
            (5, b"garbage", false),
        ] {
            std::fs::create_dir(dir.path().join(pid.to_string())).unwrap();
            std::fs::write(dir.path().join(format!("{pid}/stat")), stat).unwrap();
            assert_eq!(sys.exited(pid), exited, "{}", String::from_utf8_lossy(stat));
        }
        assert!(sys.exited(6));
        assert!(!Sys::default().exited(std::process::id() as i32));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// A reader that hands out at most `step` bytes per read, as a slow pipe would.
    struct Trickle<'a> {
        left: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.left.len());
            out[..n].copy_from_slice(&self.left[..n]);
            self.left = &self.left[n..];
            Ok(n)
        }
    }

    fn streamed(text: &[u8], step: usize) -> Vec<SmapsEntry> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for_each_line(Trickle { left: text, step }, |l| out.extend(p.line(l))).unwrap();
        out.extend(p.finish());
        out
    }

    #[test]
    fn streaming_in_any_chunks_equals_parsing_the_whole_text() {
        let whole = parse(super::tests::SAMPLE);
        for step in [1, 7, 100, 4096, 1 << 20] {
            assert_eq!(
                streamed(super::tests::SAMPLE, step),
                whole,
                "chunks of {step}"
            );
        }
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_kept_whole() {
        let long = format!(
            "7f00-7f01 rw-s 00000000 00:01 5 /dev/shm/{}\nRss: 4 kB\n",
            "x".repeat(200_000)
        );
        let e = streamed(long.as_bytes(), 1 << 20);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].map.path.len(), "/dev/shm/".len() + 200_000);
        assert_eq!(e[0].figures.rss, 4096);
    }

    proptest! {
        #[test]
        fn streaming_never_differs(bytes in prop::collection::vec(any::<u8>(), 0..400), step in 1usize..50) {
            prop_assert_eq!(streamed(&bytes, step), parse(&bytes));
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn round_trips_printed_blocks(
            blocks in prop::collection::vec(
                (any::<u32>(), 1u32..1 << 20, any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()),
                1..6,
            )
        ) {
            let mut text = String::new();
            for (i, (start, len, rss, pss, swap, shared)) in blocks.iter().enumerate() {
                let s = (*start as u64) << 12;
                let e = s + ((*len as u64) << 12);
                text.push_str(&format!(
                    "{s:x}-{e:x} rw-{} 00000000 00:01 {i}                          /memfd:x{i} (deleted)\n",
                    if *shared { 's' } else { 'p' }
                ));
                text.push_str(&format!("Size:           {:>8} kB\n", (e - s) / 1024));
                text.push_str(&format!("Rss:            {rss:>8} kB\nPss:            {pss:>8} kB\n"));
                text.push_str(&format!("Swap:           {swap:>8} kB\nVmFlags: rd wr sh mr mw me ms sd\n"));
            }
            let entries = parse(text.as_bytes());
            prop_assert_eq!(entries.len(), blocks.len());
            for (e, (start, len, rss, pss, swap, shared)) in entries.iter().zip(&blocks) {
                prop_assert_eq!(e.map.start, (*start as u64) << 12);
                prop_assert_eq!(e.figures.size, (*len as u64) << 12);
                prop_assert_eq!(e.figures.rss, *rss as u64 * 1024);
                prop_assert_eq!(e.figures.pss, *pss as u64 * 1024);
                prop_assert_eq!(e.figures.swap, *swap as u64 * 1024);
                prop_assert_eq!(e.map.is_shared(), *shared);
                prop_assert_eq!(e.vm_flags.len(), 8);
            }
        }
    }
}
