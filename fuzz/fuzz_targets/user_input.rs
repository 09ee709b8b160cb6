//! What users type: sizes, durations, keys, addresses, `show` IDs, ftok proj_ids.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shmtool::units;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = units::parse_size(s);
    let _ = units::parse_duration(s);
    if let Ok(k) = units::parse_key(s) {
        assert_eq!(units::parse_key(&shmtool::model::key_string(k)), Ok(k));
    }
    let _ = units::parse_hex_addr(s);
    let _ = shmtool::cmd::show::parse_id(s);
    let _ = shmtool::source::ftok::parse_proj_id(s);
});
