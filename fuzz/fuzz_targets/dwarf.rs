//! ELF files with DWARF (`types FILE`, `--type`, `--debug-file`): reading, listing, looking up,
//! flattening and decoding never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shmtool::cmd::types::flatten;
use shmtool::source::dwarf::{build_id_and_debuglink, member_at, Dwarf, TypeName};

fuzz_target!(|data: &[u8]| {
    let _ = build_id_and_debuglink(data);
    let Ok(d) = Dwarf::parse(data) else { return };
    for t in d.list_types().into_iter().take(64) {
        let Ok(name) = TypeName::parse(&t.name) else { continue };
        let Some(ty) = d.find_type(&name) else { continue };
        let _ = member_at(&ty, 0);
        let _ = member_at(&ty, ty.size().saturating_sub(1));
        let layout = flatten(&ty);
        if layout.stride() <= 1 << 16 {
            let bytes = vec![0xa5u8; layout.stride()];
            let _ = layout.decode(&bytes, 0x1000, &|_| None);
        }
    }
});
