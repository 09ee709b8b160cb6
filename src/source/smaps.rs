//! Parser for `/proc/<pid>/smaps`: per-mapping RSS, PSS and swap (for `maps`).
