//! Capacity rules without IO (`domain.md` §5): aggregation periods in China time, the
//! database exclusion filter, MySQL tablespace names, size labels and the ledger's sync
//! status. Sizes are whole MB (`size_mb`), dates are China calendar dates.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// Today's China calendar date (Asia/Shanghai, UTC+8) — the date every capacity row and
/// period is keyed by (`domain.md` §5.5; the original used UTC in places, §13.4 #31).
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&crate::time::china()).date_naive()
}

/// Aggregation period type (`api-v1.md` §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodType {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

impl PeriodType {
    /// All four, in the order runs process them.
    pub const ALL: [PeriodType; 4] = [
        PeriodType::Daily,
        PeriodType::Weekly,
        PeriodType::Monthly,
        PeriodType::Quarterly,
    ];

    /// Parse a period name (case-insensitive, trimmed).
    pub fn parse(raw: &str) -> Option<PeriodType> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "daily" => Some(PeriodType::Daily),
            "weekly" => Some(PeriodType::Weekly),
            "monthly" => Some(PeriodType::Monthly),
            "quarterly" => Some(PeriodType::Quarterly),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodType::Daily => "daily",
            PeriodType::Weekly => "weekly",
            PeriodType::Monthly => "monthly",
            PeriodType::Quarterly => "quarterly",
        }
    }
}

/// An inclusive date range `[start, end]` of one period type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodType,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

fn first_of_month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid month")
}

/// First day of the month `offset` months after the month of `d`.
pub fn month_start(d: NaiveDate, offset: i32) -> NaiveDate {
    let idx = d.year() * 12 + d.month0() as i32 + offset;
    first_of_month(idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
}

/// Last day of the month of `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    month_start(d, 1) - Duration::days(1)
}

/// First day of the quarter of `d` (Q1 = Jan–Mar, …).
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    first_of_month(d.year(), d.month0() / 3 * 3 + 1)
}

/// Monday of the week of `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

impl Period {
    /// The period of `kind` that contains `day` (the "current" period when `day` is today;
    /// its end may lie in the future).
    pub fn containing(kind: PeriodType, day: NaiveDate) -> Period {
        let (start, end) = match kind {
            PeriodType::Daily => (day, day),
            PeriodType::Weekly => {
                let s = week_start(day);
                (s, s + Duration::days(6))
            }
            PeriodType::Monthly => (month_start(day, 0), month_end(day)),
            PeriodType::Quarterly => {
                let s = quarter_start(day);
                (s, month_end(month_start(s, 2)))
            }
        };
        Period { kind, start, end }
    }

    /// The last complete period before the one containing `today` (daily: yesterday).
    pub fn last(kind: PeriodType, today: NaiveDate) -> Period {
        Period::containing(kind, today).previous()
    }

    /// The period before this one, used for change figures (`domain.md` §5.5): the same
    /// length ending the day before `start` for daily/weekly ranges, the previous calendar
    /// month, and the **full** previous quarter (the original's Q2–Q4 ranges ended a month
    /// early, §13.3 #22).
    pub fn previous(&self) -> Period {
        match self.kind {
            PeriodType::Daily | PeriodType::Weekly => {
                let len = (self.end - self.start).num_days();
                let end = self.start - Duration::days(1);
                Period {
                    kind: self.kind,
                    start: end - Duration::days(len),
                    end,
                }
            }
            PeriodType::Monthly => {
                let s = month_start(self.start, -1);
                Period {
                    kind: self.kind,
                    start: s,
                    end: month_end(s),
                }
            }
            PeriodType::Quarterly => {
                let s = month_start(quarter_start(self.start), -3);
                Period::containing(PeriodType::Quarterly, s)
            }
        }
    }
}

/// Size label of the ledger and the trend: `"<x.xx> GB"` from 1,024 MB, else `"<n> MB"`;
/// `未采集` when unknown (`api-v1.md` §4.12).
pub fn size_label(size_mb: Option<i64>) -> String {
    match size_mb {
        None => "未采集".to_string(),
        Some(mb) if mb >= 1024 => format!("{:.2} GB", mb as f64 / 1024.0),
        Some(mb) => format!("{mb} MB"),
    }
}

/// Database-ledger sync status `(value, label, variant)` from the latest collection time
/// (`api-v1.md` §3.11): none → pending, ≤ 6 h → completed, ≤ 48 h → running, older → failed.
pub fn sync_status(
    latest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (&'static str, &'static str, &'static str) {
    match latest {
        None => ("pending", "待采集", "secondary"),
        Some(t) if now - t <= Duration::hours(6) => ("completed", "已更新", "success"),
        Some(t) if now - t <= Duration::hours(48) => ("running", "待刷新", "warning"),
        Some(_) => ("failed", "超时", "danger"),
    }
}

/// Trend of an instance aggregation from its change percent (`domain.md` §5.7).
pub fn trend_direction(change_percent: Option<f64>) -> &'static str {
    match change_percent {
        Some(p) if p > 5.0 => "growing",
        Some(p) if p < -5.0 => "shrinking",
        _ => "stable",
    }
}

/// The database exclusion filter of one engine (`domain.md` §5.2): exact names compared
/// case-insensitively and SQL `LIKE` patterns (`%` any run, `_` one character, the rest
/// literal, whole name, case-insensitive — the original's patterns never matched, §13.3 #21).
#[derive(Debug, Clone)]
pub struct DatabaseFilter {
    names: &'static [&'static str],
    patterns: &'static [&'static str],
}

impl DatabaseFilter {
    /// The filter of a normalised db type (unknown types exclude nothing).
    pub fn for_engine(db_type: &str) -> DatabaseFilter {
        let (names, patterns): (&'static [&'static str], &'static [&'static str]) = match db_type {
            "mysql" => (
                &["information_schema", "performance_schema", "mysql", "sys"],
                &["tmp_%", "temp_%", "#sql%"],
            ),
            "postgresql" => (&["template0", "template1", "postgres"], &["pg_%"]),
            "sqlserver" => (&["master", "model", "msdb", "tempdb"], &["ReportServer%"]),
            "oracle" => (&["SYSTEM", "SYSAUX", "USERS"], &["SYS%", "SYSTEM%"]),
            _ => (&[], &[]),
        };
        DatabaseFilter { names, patterns }
    }

    /// True when `name` is excluded from inventory and collection.
    pub fn excludes(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
            || self.patterns.iter().any(|p| like_match(p, name))
    }
}

/// Case-insensitive SQL `LIKE` match of the whole `text` (`%` = any run, `_` = one char).
pub fn like_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // classic two-pointer wildcard match with backtracking to the last `%`
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

/// Decode MySQL file-name escapes `@XXXX` (4 hex digits) to the character (`@0000` → empty);
/// anything else is kept as is (`domain.md` §5.3).
pub fn mysql_decode_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' && i + 5 <= chars.len() {
            let hex: String = chars[i + 1..i + 5].iter().collect();
            if let Ok(code) = u32::from_str_radix(&hex, 16)
                && hex.chars().all(|c| c.is_ascii_hexdigit())
            {
                if code != 0
                    && let Some(c) = char::from_u32(code)
                {
                    out.push(c);
                }
                i += 5;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// MySQL size rule: 0 for no bytes, else whole MB rounded up with a 1 MB minimum.
pub fn mysql_size_mb(bytes: i64) -> i64 {
    if bytes <= 0 {
        0
    } else {
        ((bytes + 1_048_575) / 1_048_576).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn china_midnight_is_not_utc_midnight() {
        // 2026-11-30 16:30 UTC is already 2026-12-01 00:30 in Shanghai
        let t = DateTime::parse_from_rfc3339("2026-11-30T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_today(t), d(2026, 12, 1));
        let t = DateTime::parse_from_rfc3339("2026-11-30T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_today(t), d(2026, 11, 30));
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-12-02 is a Wednesday
        let p = Period::containing(PeriodType::Weekly, d(2026, 12, 2));
        assert_eq!((p.start, p.end), (d(2026, 11, 30), d(2026, 12, 6)));
        let p = Period::containing(PeriodType::Weekly, d(2026, 11, 30));
        assert_eq!(p.start, d(2026, 11, 30));
        let p = Period::containing(PeriodType::Weekly, d(2026, 12, 6));
        assert_eq!(
            p.start,
            d(2026, 11, 30),
            "Sunday belongs to the week before"
        );
        let last = Period::last(PeriodType::Weekly, d(2026, 12, 2));
        assert_eq!((last.start, last.end), (d(2026, 11, 23), d(2026, 11, 29)));
    }

    #[test]
    fn month_ends_and_leap_years() {
        let p = Period::containing(PeriodType::Monthly, d(2028, 2, 10));
        assert_eq!((p.start, p.end), (d(2028, 2, 1), d(2028, 2, 29)));
        let p = Period::containing(PeriodType::Monthly, d(2026, 12, 31));
        assert_eq!((p.start, p.end), (d(2026, 12, 1), d(2026, 12, 31)));
        let last = Period::last(PeriodType::Monthly, d(2027, 1, 1));
        assert_eq!((last.start, last.end), (d(2026, 12, 1), d(2026, 12, 31)));
        let prev = Period::containing(PeriodType::Monthly, d(2026, 3, 31)).previous();
        assert_eq!((prev.start, prev.end), (d(2026, 2, 1), d(2026, 2, 28)));
    }

    #[test]
    fn quarters_and_the_full_previous_quarter() {
        let p = Period::containing(PeriodType::Quarterly, d(2026, 5, 15));
        assert_eq!((p.start, p.end), (d(2026, 4, 1), d(2026, 6, 30)));
        let prev = p.previous();
        assert_eq!((prev.start, prev.end), (d(2026, 1, 1), d(2026, 3, 31)));
        let q1 = Period::containing(PeriodType::Quarterly, d(2026, 2, 1)).previous();
        assert_eq!((q1.start, q1.end), (d(2025, 10, 1), d(2025, 12, 31)));
        let q4 = Period::containing(PeriodType::Quarterly, d(2026, 12, 2));
        assert_eq!((q4.start, q4.end), (d(2026, 10, 1), d(2026, 12, 31)));
        let last = Period::last(PeriodType::Quarterly, d(2026, 12, 2));
        assert_eq!((last.start, last.end), (d(2026, 7, 1), d(2026, 9, 30)));
    }

    #[test]
    fn days() {
        let p = Period::last(PeriodType::Daily, d(2026, 1, 1));
        assert_eq!((p.start, p.end), (d(2025, 12, 31), d(2025, 12, 31)));
        let prev = Period::containing(PeriodType::Daily, d(2026, 3, 1)).previous();
        assert_eq!(prev.start, d(2026, 2, 28));
        assert_eq!(PeriodType::parse(" Weekly "), Some(PeriodType::Weekly));
        assert_eq!(PeriodType::parse("yearly"), None);
    }

    #[test]
    fn labels_status_and_trend() {
        assert_eq!(size_label(None), "未采集");
        assert_eq!(size_label(Some(1023)), "1023 MB");
        assert_eq!(size_label(Some(1536)), "1.50 GB");
        let now = Utc::now();
        assert_eq!(sync_status(None, now).0, "pending");
        assert_eq!(
            sync_status(Some(now - Duration::hours(6)), now).0,
            "completed"
        );
        assert_eq!(
            sync_status(Some(now - Duration::hours(7)), now).0,
            "running"
        );
        assert_eq!(
            sync_status(Some(now - Duration::hours(49)), now).2,
            "danger"
        );
        assert_eq!(trend_direction(Some(5.01)), "growing");
        assert_eq!(trend_direction(Some(-5.0)), "stable");
        assert_eq!(trend_direction(None), "stable");
    }

    #[test]
    fn exclusion_filter_patterns_match() {
        let my = DatabaseFilter::for_engine("mysql");
        assert!(my.excludes("MySQL") && my.excludes("tmp_x") && my.excludes("#sql-1"));
        assert!(
            my.excludes("tmpx"),
            "`_` is any one character, as in SQL LIKE"
        );
        assert!(!my.excludes("tmp") && !my.excludes("app_tmp_1"));
        let pg = DatabaseFilter::for_engine("postgresql");
        assert!(
            pg.excludes("pg_stat")
                && pg.excludes("PG_X")
                && !pg.excludes("pg")
                && !pg.excludes("app_pg")
        );
        let ora = DatabaseFilter::for_engine("oracle");
        assert!(ora.excludes("SYSAUX") && ora.excludes("sys_data") && !ora.excludes("APP"));
        assert!(like_match("a%b_c", "aXXbYc") && !like_match("a%b_c", "aXXbc"));
        assert!(like_match("%", "") && !like_match("_", ""));
    }

    #[test]
    fn mysql_names_and_sizes() {
        assert_eq!(mysql_decode_name("my@002ddb"), "my-db");
        assert_eq!(mysql_decode_name("a@0000b"), "ab");
        assert_eq!(mysql_decode_name("@zz12"), "@zz12");
        assert_eq!(mysql_decode_name("x@00"), "x@00");
        assert_eq!(mysql_size_mb(0), 0);
        assert_eq!(mysql_size_mb(1), 1);
        assert_eq!(mysql_size_mb(1_048_576), 1);
        assert_eq!(mysql_size_mb(1_048_577), 2);
    }
}
