//! /proc/sysvipc/shm text: errors are fine, panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(recs) = shmtool::source::sysv::parse(data) {
        for r in recs {
            let _ = (r.perms_string(), r.status());
        }
    }
});
