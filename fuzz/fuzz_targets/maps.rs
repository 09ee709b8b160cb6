//! /proc/<pid>/maps text: parse, filter and classify must never panic, and the fast shared-only
//! filter must agree with the full parse.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shmtool::source::maps;

fuzz_target!(|data: &[u8]| {
    let all = maps::parse(data);
    let mut shared = Vec::new();
    maps::parse_shared(data, &mut shared);
    let expect: Vec<_> = all.iter().filter(|m| m.is_shared()).cloned().collect();
    assert_eq!(shared, expect);
    for m in &all {
        let _ = m.path_kind();
        let _ = m.perms_str();
    }
});
