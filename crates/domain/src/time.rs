//! Date/time formats (`api-v1.md` §2.11, `domain.md` §0.2).

use chrono::{DateTime, FixedOffset, Utc};

/// China Standard Time (Asia/Shanghai, UTC+8, no DST).
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Python `isoformat()` of a UTC instant: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`
/// (fraction omitted when zero).
pub fn iso(dt: &DateTime<Utc>) -> String {
    iso_in(dt, FixedOffset::east_opt(0).expect("utc"))
}

/// `isoformat()` in the given offset (e.g. `+08:00` for China time).
pub fn iso_in(dt: &DateTime<Utc>, tz: FixedOffset) -> String {
    let local = dt.with_timezone(&tz);
    if local.timestamp_subsec_micros() == 0 {
        local.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    } else {
        local.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
    }
}

/// Envelope timestamp: always with microseconds and `+00:00`.
pub fn envelope_now() -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // written field by field: every response has one, and parsing a strftime pattern per call
    // was a measurable part of a `/health/ping` (issue 16)
    let now = Utc::now();
    let mut s = String::with_capacity(32);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        now.year(),
        now.month(),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond() % 1_000_000_000 / 1_000
    );
    s
}

/// China-time display `YYYY-MM-DD HH:MM:SS`, or `未知` when absent.
pub fn china_display(dt: Option<&DateTime<Utc>>) -> String {
    match dt {
        Some(d) => d
            .with_timezone(&china())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "未知".to_string(),
    }
}

/// Optional ISO value as JSON (`null` when absent).
pub fn iso_opt(dt: Option<&DateTime<Utc>>) -> serde_json::Value {
    dt.map(|d| serde_json::Value::String(iso(d)))
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    #[test]
    fn formats() {
        let t = Utc.with_ymd_and_hms(2026, 1, 3, 4, 42, 16).unwrap();
        assert_eq!(iso(&t), "2026-01-03T04:42:16+00:00");
        let t2 = t + chrono::Duration::microseconds(123456);
        assert_eq!(iso(&t2), "2026-01-03T04:42:16.123456+00:00");
        assert_eq!(iso_in(&t, china()), "2026-01-03T12:42:16+08:00");
        assert_eq!(china_display(Some(&t)), "2026-01-03 12:42:16");
        assert_eq!(china_display(None), "未知");
        assert_eq!(
            envelope_now().len(),
            "2026-01-03T04:42:16.123456+00:00".len()
        );
    }
}
