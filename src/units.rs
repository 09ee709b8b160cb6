//! Parsing and printing of the small values users type and read: sizes, durations, keys, hex.

use std::time::Duration;

/// Parse a byte count: `4096`, `0x1000`, `4k`, `4KiB`, `1M`, `2G` (binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_err(|_| format!("invalid size {text:?}"));
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size {text:?}"))?;
    let mult: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "invalid size {text:?} (use bytes, 0x hex, or k/M/G)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// Parse a duration: `1s`, `250ms`, `0.5s`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (e.g. 1s, 250ms)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        "w" => n * 7.0 * 86400.0,
        _ => return Err(format!("invalid duration {text:?} (e.g. 1s, 250ms)")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Whether `name` matches a shell-style glob: `*` any run of characters, `?` any one, every
/// other character itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parse a System V key as users write it: `0x6f20d677`, a decimal (as `ipcs` prints in
/// /proc), or a negative decimal (key_t is signed). Returns the key's 32 bits.
pub fn parse_key(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let bad = || {
        format!("invalid key {text:?} (expected 0x followed by up to 8 hex digits, or a decimal)")
    };
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if hex.is_empty() || hex.len() > 8 {
            return Err(bad());
        }
        return u32::from_str_radix(hex, 16).map_err(|_| bad());
    }
    if let Ok(n) = t.parse::<i32>() {
        return Ok(n as u32);
    }
    t.parse::<u32>().map_err(|_| bad())
}

/// Parse a hex address: `0x7f…` or bare hex digits.
pub fn parse_hex_addr(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// A byte count in binary units, as people read them: `4.0 KiB`, `256 MiB`, `12 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 && value.fract() != 0.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{:.0} {}", value.round(), UNITS[unit])
    }
}

/// A size for a table: human by default, exact with `--bytes`.
pub fn size_cell(bytes: u64, exact: bool) -> String {
    if exact {
        bytes.to_string()
    } else {
        human_size(bytes)
    }
}

/// An age in the largest sensible unit: `42s`, `5m`, `3h`, `2d`.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Seconds since the epoch as local time, `2026-11-20 14:03:07`.
pub fn local_time(epoch: i64) -> String {
    let t: libc::time_t = epoch as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return epoch.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Nanoseconds since the epoch as `2026-11-23T09:41:56.123456789Z`.
pub fn rfc3339(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let nanos = ns.rem_euclid(1_000_000_000);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs() {
        use super::glob_match as g;
        assert!(g("PostgreSQL.*", "PostgreSQL.123"));
        assert!(!g("PostgreSQL.*", "PostgreSQL"));
        assert!(g("*", ""));
        assert!(g("a?c", "abc"));
        assert!(g("*job-7*", "x-job-7-y"));
        assert!(!g("*job-7*", "x-job-8-y"));
        assert!(g("a*b*c", "aXbYbZc"));
        assert!(!g("a*b*c", "aXbYbZ"));
    }

    use super::*;

    #[test]
    fn times_print_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_795_340_516_123_456_789),
            "2026-11-22T09:41:56.123456789Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn keys() {
        assert_eq!(parse_key("0x6f20d677"), Ok(0x6f20d677));
        assert_eq!(parse_key("-1"), Ok(0xffff_ffff));
        assert_eq!(parse_key("100"), Ok(100));
        assert!(parse_key("0x123456789").is_err());
        assert!(parse_key("0x").is_err());
        assert!(parse_key("zz").is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(256 << 20), "256 MiB");
        assert_eq!(human_age(30), "30s");
        assert_eq!(human_age(3600), "60m");
        assert_eq!(human_age(90000), "25h");
    }

    #[test]
    fn addrs() {
        assert_eq!(parse_hex_addr("0x7f00"), Some(0x7f00));
        assert_eq!(parse_hex_addr("7f00"), Some(0x7f00));
        assert_eq!(parse_hex_addr("main"), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_size(&s);
            let _ = parse_duration(&s);
            let _ = parse_key(&s);
            let _ = parse_hex_addr(&s);
        }

        #[test]
        fn keys_round_trip(k in any::<u32>()) {
            prop_assert_eq!(parse_key(&crate::model::key_string(k)), Ok(k));
            prop_assert_eq!(parse_key(&(k as i32).to_string()), Ok(k));
        }

        #[test]
        fn hex_addrs_round_trip(a in any::<u64>()) {
            prop_assert_eq!(parse_hex_addr(&crate::model::hex_addr(a)), Some(a));
            prop_assert_eq!(parse_hex_addr(&format!("{a:x}")), Some(a));
        }

        #[test]
        fn sizes_round_trip(n in any::<u64>()) {
            prop_assert_eq!(parse_size(&n.to_string()), Ok(n));
            prop_assert_eq!(parse_size(&format!("0x{n:x}")), Ok(n));
        }
    }
}
