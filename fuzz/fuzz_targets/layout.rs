//! `--layout` specs: parsing never panics, and a parsed layout decodes any bytes of its size.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shmtool::render::layout::Layout;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let Ok(spec) = std::str::from_utf8(&data[..split]) else { return };
    let Ok(layout) = Layout::parse(spec) else { return };
    let size = layout.size();
    if size > 1 << 16 {
        return;
    }
    let mut bytes = data.get(split + 1..).unwrap_or(&[]).to_vec();
    bytes.resize(size, 0xa5);
    let _ = layout.decode(&bytes, 0x1000, &|_| None);
});
