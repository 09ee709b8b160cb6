//! /proc/<pid>/smaps text: never panics, and yields no more entries than header lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let entries = shmtool::source::smaps::parse(data);
    assert!(entries.len() <= data.split(|&c| c == b'\n').count());
});
