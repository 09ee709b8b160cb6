//! Symbols: `SYMBOL[+OFF]` addresses resolved from the ELF files a process maps, with goblin.
//!
//! A file's load bias is where its offset-0 mapping starts minus its lowest `PT_LOAD` address
//! (rounded down to a page, as the loader maps it); a symbol's address is its value plus that bias.

use super::maps::{MapLine, PathKind};
use super::Sys;
use crate::error::Error;
use goblin::elf::{program_header::PT_LOAD, Elf};
use std::io::Read;

/// Files larger than this are not read for symbols (a debug build of a browser is ~2 GiB).
const MAX_ELF: u64 = 512 << 20;
const PAGE: u64 = 4096;

/// Find a defined symbol in an ELF image: its value (st_value), from .symtab or .dynsym.
pub fn symbol_value(elf: &Elf, name: &str) -> Option<u64> {
    let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
    tables.iter().find_map(|(syms, strs)| {
        syms.iter()
            .find(|s| s.st_shndx != 0 && s.st_value != 0 && strs.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
    })
}

/// The lowest `PT_LOAD` virtual address, page-aligned.
pub fn lowest_load(elf: &Elf) -> Option<u64> {
    elf.program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .map(|p| p.p_vaddr & !(PAGE - 1))
        .min()
}

/// Read a mapped file: through map_files (the very file mapped, even if replaced on disk since),
/// else beneath the process's pinned root (the root layer). Non-ELF and huge files are skipped.
fn read_mapped(sys: &Sys, pid: i32, m: &MapLine) -> Option<Vec<u8>> {
    let via_map = sys.map_files_path(pid, m.start, m.end);
    let rel = std::str::from_utf8(&m.path).ok()?.trim_start_matches('/');
    let mut f = super::root::open_regular(&via_map)
        .or_else(|_| super::root::open_in_root_of(&sys.proc_root, pid, std::path::Path::new(rel)))
        .ok()?;
    let len = f.metadata().ok()?.len();
    if len > MAX_ELF {
        return None;
    }
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic).ok()?;
    if &magic != b"\x7fELF" {
        return None;
    }
    let mut bytes = magic.to_vec();
    f.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Resolve `name` in process `pid`, whose mappings are `maps`.
pub fn resolve_symbol(sys: &Sys, pid: i32, maps: &[MapLine], name: &str) -> anyhow::Result<u64> {
    let mut seen: Vec<&[u8]> = Vec::new();
    for m in maps.iter().filter(|m| m.offset == 0 && m.inode != 0) {
        if !matches!(m.path_kind(), PathKind::File { .. }) || seen.contains(&m.path.as_slice()) {
            continue;
        }
        seen.push(&m.path);
        let Some(bytes) = read_mapped(sys, pid, m) else {
            continue;
        };
        let Ok(elf) = Elf::parse(&bytes) else {
            continue;
        };
        if let (Some(value), Some(low)) = (symbol_value(&elf, name), lowest_load(&elf)) {
            let bias = m.start.wrapping_sub(low);
            return Ok(value.wrapping_add(bias));
        }
    }
    Err(Error::BadInput(format!(
        "no symbol {name:?} in the ELF files pid {pid} maps (stripped, or a typo?)"
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_a_symbol_of_this_test_binary() {
        // Our own process: the address the linker gave a function must match its real one.
        #[inline(never)]
        #[no_mangle]
        pub extern "C" fn shmtool_elf_test_marker() -> u32 {
            42
        }
        let sys = Sys::default();
        let me = std::process::id() as i32;
        let maps = match sys.maps_of(me) {
            Ok(m) => m,
            Err(_) => return,
        };
        let addr = resolve_symbol(&sys, me, &maps, "shmtool_elf_test_marker").unwrap();
        assert_eq!(addr, shmtool_elf_test_marker as *const () as usize as u64);
        assert!(resolve_symbol(&sys, me, &maps, "no_such_symbol_xyz").is_err());
    }
}
