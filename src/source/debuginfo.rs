//! Where a program's DWARF is: in the ELF file itself (`gcc -g`), in a separate debug file found
//! by build-id (`/usr/lib/debug/.build-id/xx/yyyy.debug`, debuginfod's client cache), or by
//! `.gnu_debuglink` (`objcopy --only-keep-debug` + `--add-gnu-debuglink`), or in a file the
//! user names (`--debug-file`). A separate file must match: same build-id, or the CRC-32 the
//! debuglink records.
//!
//! The files of a process are read through `/proc/PID/map_files` (the very file mapped, even if
//! replaced on disk since), else through `/proc/PID/root`.

use super::dwarf::{build_id_and_debuglink, has_debug_info, Dwarf, DwarfError};
use super::maps::{MapLine, PathKind};
use super::Sys;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are not read (a debug build of a browser is ~2 GiB).
const MAX_FILE: u64 = 1 << 30;

/// An ELF file of a program.
#[derive(Debug, Clone)]
pub struct ElfFile {
    /// Its path as the process (or the user) names it.
    pub label: String,
    pub bytes: Vec<u8>,
    /// Its directory, reachable from here (through the process's root), for `.gnu_debuglink`.
    pub dir: Option<PathBuf>,
}

/// DWARF found for one ELF file.
pub struct Found {
    /// The program or library.
    pub binary: String,
    /// Where the DWARF came from: the binary itself or a separate debug file.
    pub source: String,
    pub dwarf: Dwarf,
}

/// Read at most [`MAX_FILE`] bytes of an ELF file; None for other files.
fn read_elf(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    // Never a FIFO or device node (a debuglink name comes from the file being read).
    read_elf_from(super::root::open_regular(path)?)
}

fn read_elf_from(mut f: std::fs::File) -> std::io::Result<Option<Vec<u8>>> {
    let meta = f.metadata()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Ok(None);
    }
    let mut magic = [0u8; 4];
    if f.read_exact(&mut magic).is_err() || &magic != b"\x7fELF" {
        return Ok(None);
    }
    let mut bytes = magic.to_vec();
    f.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// A file the user named (`types FILE`, `--debug-file FILE`).
pub fn open_file(path: &Path) -> anyhow::Result<ElfFile> {
    use anyhow::Context;
    let bytes = read_elf(path)
        .with_context(|| format!("reading {}", path.display()))?
        .ok_or_else(|| {
            crate::error::Error::BadInput(format!(
                "{} is not an ELF file (or is larger than 1 GiB)",
                path.display()
            ))
        })?;
    Ok(ElfFile {
        label: path.display().to_string(),
        bytes,
        dir: path.parent().map(Path::to_path_buf),
    })
}

/// The ELF files process `pid` maps: its executable first, then its libraries.
pub fn program_files(sys: &Sys, pid: i32) -> anyhow::Result<Vec<ElfFile>> {
    use super::procs::ReadError;
    use crate::error::Error;
    let maps = sys.maps_of(pid).map_err(|e| match e {
        ReadError::Gone => anyhow::Error::from(Error::NoSuchProcess(pid)),
        ReadError::Denied => {
            Error::PermissionDenied(format!("reading the maps of pid {pid}")).into()
        }
        ReadError::Other(e) => {
            anyhow::Error::from(e).context(format!("reading the maps of pid {pid}"))
        }
    })?;
    let exe = std::fs::read_link(sys.pid_path(pid, "exe")).ok();
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut files = Vec::new();
    for m in maps.iter().filter(|m| m.offset == 0 && m.inode != 0) {
        if !matches!(m.path_kind(), PathKind::File { .. }) || seen.contains(&m.path.as_slice()) {
            continue;
        }
        seen.push(&m.path);
        if let Some(f) = read_mapped(sys, pid, m) {
            files.push(f);
        }
    }
    // The executable first: its types are the ones users mean.
    if let Some(exe) = exe {
        let exe = exe.to_string_lossy().into_owned();
        if let Some(i) = files.iter().position(|f| f.label == exe) {
            let f = files.remove(i);
            files.insert(0, f);
        }
    }
    Ok(files)
}

fn read_mapped(sys: &Sys, pid: i32, m: &MapLine) -> Option<ElfFile> {
    let label = crate::text::bytes_to_string(&m.path);
    let via_map = sys.pid_path(pid, &format!("map_files/{:x}-{:x}", m.start, m.end));
    let rel = label.trim_start_matches('/');
    // Where .gnu_debuglink files are looked for, beside it. A string under /proc/PID/root,
    // so a symlinked directory there could lead the lookup out of the target's root; what it
    // can reach is read only if it is a regular ELF file ([`read_elf`]), and only its type
    // names are used. The mapped file itself is reached through the root layer.
    let via_root = sys.pid_path(pid, "root").join(rel);
    let bytes = read_elf(&via_map).ok().flatten().or_else(|| {
        super::root::open_in_root_of(&sys.proc_root, pid, Path::new(rel))
            .ok()
            .and_then(|f| read_elf_from(f).ok().flatten())
    })?;
    Some(ElfFile {
        label,
        bytes,
        dir: via_root.parent().map(Path::to_path_buf),
    })
}

/// CRC-32 (IEEE), as `.gnu_debuglink` records it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The places a debug file with this build-id may be: the distribution's tree and debuginfod's
/// client cache.
pub fn build_id_paths(id: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if id.len() < 2 {
        return out;
    }
    let h = hex(id);
    out.push(PathBuf::from(format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &h[..2],
        &h[2..]
    )));
    let mut caches = Vec::new();
    if let Some(p) = std::env::var_os("DEBUGINFOD_CACHE_PATH") {
        caches.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        caches.push(PathBuf::from(p).join("debuginfod_client"));
    }
    if let Some(p) = std::env::var_os("HOME") {
        caches.push(PathBuf::from(p).join(".cache/debuginfod_client"));
    }
    for c in caches {
        out.push(c.join(&h).join("debuginfo"));
    }
    out
}

/// The places `.gnu_debuglink NAME` may be, next to a binary in `dir`.
fn debuglink_paths(dir: Option<&Path>, name: &str) -> Vec<PathBuf> {
    // The name is a file name, never a path: one from a hostile binary must not lead elsewhere.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(d) = dir {
        out.push(d.join(name));
        out.push(d.join(".debug").join(name));
    }
    out.push(Path::new("/usr/lib/debug").join(name));
    out
}

/// Find the DWARF for `file`: its own, else a matching separate debug file. The error names
/// what is missing, in one line.
pub fn locate(file: &ElfFile) -> Result<Found, String> {
    if has_debug_info(&file.bytes) {
        return Dwarf::parse(&file.bytes)
            .map(|dwarf| Found {
                binary: file.label.clone(),
                source: file.label.clone(),
                dwarf,
            })
            .map_err(|e| format!("{}: {e}", file.label));
    }
    let (id, link) = build_id_and_debuglink(&file.bytes);
    let mut tried = Vec::new();
    if let Some(id) = &id {
        for p in build_id_paths(id) {
            if let Some(found) = try_debug_file(file, &p, Some(id), None) {
                return Ok(found);
            }
            tried.push(p);
        }
    }
    if let Some((name, crc)) = &link {
        for p in debuglink_paths(file.dir.as_deref(), name) {
            if let Some(found) = try_debug_file(file, &p, id.as_deref(), Some(*crc)) {
                return Ok(found);
            }
            tried.push(p);
        }
    }
    let what = match (&id, &link) {
        (Some(id), Some((name, _))) => format!(
            "no separate debug file for build-id {} or debuglink {name:?} was found",
            hex(id)
        ),
        (Some(id), None) => format!("no separate debug file for build-id {} was found", hex(id)),
        (None, Some((name, _))) => format!("its debuglink {name:?} was not found"),
        (None, None) => "it has no build-id or debuglink to find a separate debug file by".into(),
    };
    let looked = match tried.first() {
        Some(p) => format!(" (looked in {} and {} more)", p.display(), tried.len() - 1),
        None => String::new(),
    };
    Err(format!(
        "{} has no debug information (.debug_info; stripped, or built without -g) and {what}{looked}; \
         rebuild with -g, install its debug package, or give --debug-file FILE",
        file.label
    ))
}

/// A separate debug file at `path`, if it exists and belongs to `file`.
fn try_debug_file(
    file: &ElfFile,
    path: &Path,
    id: Option<&[u8]>,
    crc: Option<u32>,
) -> Option<Found> {
    let bytes = read_elf(path).ok().flatten()?;
    let (their_id, _) = build_id_and_debuglink(&bytes);
    let matches = match (id, &their_id, crc) {
        (Some(a), Some(b), _) => a == b.as_slice(),
        (_, _, Some(c)) => crc32(&bytes) == c,
        _ => false,
    };
    if !matches {
        return None;
    }
    let dwarf = Dwarf::parse(&bytes).ok()?;
    Some(Found {
        binary: file.label.clone(),
        source: path.display().to_string(),
        dwarf,
    })
}

/// DWARF from a file the user named for `binary` (None: the file alone). A build-id mismatch is
/// reported as a note, not an error: the user chose the file.
pub fn from_debug_file(
    path: &Path,
    binary: Option<&ElfFile>,
) -> anyhow::Result<(Found, Option<String>)> {
    let f = open_file(path)?;
    let dwarf = Dwarf::parse(&f.bytes).map_err(|e| match e {
        DwarfError::NoDebugInfo => crate::error::Error::BadInput(format!(
            "{} has no debug information (.debug_info)",
            f.label
        )),
        other => crate::error::Error::BadInput(format!("{}: {other}", f.label)),
    })?;
    let mut note = None;
    if let Some(b) = binary {
        let (a, _) = build_id_and_debuglink(&b.bytes);
        let (d, _) = build_id_and_debuglink(&f.bytes);
        if let (Some(a), Some(d)) = (a, d) {
            if a != d {
                note = Some(format!(
                    "{}'s build-id {} differs from {}'s {}: the types may not match",
                    f.label,
                    hex(&d),
                    b.label,
                    hex(&a)
                ));
            }
        }
    }
    Ok((
        Found {
            binary: binary.map_or_else(|| f.label.clone(), |b| b.label.clone()),
            source: f.label,
            dwarf,
        },
        note,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn build_id_paths_split_the_first_byte() {
        let p = build_id_paths(&[0xab, 0xcd, 0xef]);
        assert_eq!(p[0], Path::new("/usr/lib/debug/.build-id/ab/cdef.debug"));
        assert!(p[1..].iter().all(|p| p.ends_with("abcdef/debuginfo")));
    }

    #[test]
    fn debuglinks_never_name_paths() {
        assert!(debuglink_paths(Some(Path::new("/x")), "../../etc/passwd").is_empty());
        assert!(debuglink_paths(None, "..").is_empty());
        assert_eq!(
            debuglink_paths(Some(Path::new("/opt/app")), "app.debug"),
            [
                PathBuf::from("/opt/app/app.debug"),
                PathBuf::from("/opt/app/.debug/app.debug"),
                PathBuf::from("/usr/lib/debug/app.debug")
            ]
        );
    }
}
