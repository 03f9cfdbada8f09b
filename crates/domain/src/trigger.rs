//! Scheduler triggers (`domain.md` §7.4, `api-v1.md` §4.15): cron (5, 6 or 7 fields, via
//! croner), interval and date, their stored form, next fire times and descriptions.
//!
//! **Weekdays follow crontab**, not APScheduler: `0` and `7` are Sunday, `1` Monday … `6`
//! Saturday, names `sun`…`sat` work too — so the classic 5-field `0 1 * * 1` means Monday
//! 01:00 (the original read it as Tuesday, `domain.md` §13.2 #19). Day-of-month and
//! day-of-week both restricted match either (crontab OR). Times are in the job's time zone
//! (default Asia/Shanghai, which has no DST).

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

/// The default zone of every job.
pub const DEFAULT_TZ: Tz = chrono_tz::Asia::Shanghai;

/// Cron fields, most significant last as in APScheduler's argument order.
pub const CRON_FIELDS: [&str; 7] = [
    "year",
    "month",
    "day",
    "day_of_week",
    "hour",
    "minute",
    "second",
];

/// A job trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Cron fields by name (`second` … `year`; `year` may be empty = any).
    Cron { fields: Map<String, Value>, tz: Tz },
    /// Every `seconds` from `start` (UTC).
    Interval { seconds: i64, start: DateTime<Utc> },
    /// Once at `run_at` (UTC).
    Date { run_at: DateTime<Utc> },
}

/// Why a trigger update was refused (`api-v1.md` §4.15 messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerError {
    /// `缺少触发器类型配置`.
    MissingType,
    /// `无效的触发器配置`.
    Invalid,
}

fn zone(name: &str) -> Tz {
    name.parse::<Tz>().unwrap_or(DEFAULT_TZ)
}

fn field_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Fill unset cron fields the APScheduler way: fields more significant than the least
/// significant given one are `*`, less significant ones their minimum (`0`); `day_of_week`
/// defaults to `*`; `year` to empty (any).
fn complete(given: &Map<String, Value>) -> Map<String, Value> {
    let least = CRON_FIELDS
        .iter()
        .rposition(|f| given.contains_key(*f))
        .unwrap_or(0);
    let mut out = Map::new();
    for (i, f) in CRON_FIELDS.iter().enumerate() {
        let v = match given.get(*f) {
            Some(v) => v.clone(),
            None if *f == "year" => json!(""),
            None if *f == "day_of_week" || i < least => json!("*"),
            None if *f == "day" || *f == "month" => json!("*"),
            None => json!("0"),
        };
        out.insert(f.to_string(), v);
    }
    out
}

fn cron_pattern(fields: &Map<String, Value>) -> String {
    let get = |k: &str| {
        fields
            .get(k)
            .and_then(field_str)
            .unwrap_or_else(|| "*".into())
    };
    format!(
        "{} {} {} {} {} {} {}",
        get("second"),
        get("minute"),
        get("hour"),
        get("day"),
        get("month"),
        get("day_of_week"),
        get("year")
    )
}

fn cron_of(fields: &Map<String, Value>) -> Result<croner::Cron, TriggerError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Required)
        .build()
        .parse(&cron_pattern(fields))
        .map_err(|_| TriggerError::Invalid)
}

impl Trigger {
    /// The listed type name: `cron`, `interval`, `date`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Trigger::Cron { .. } => "cron",
            Trigger::Interval { .. } => "interval",
            Trigger::Date { .. } => "date",
        }
    }

    /// A cron trigger from its fields (completed as APScheduler would), validated.
    pub fn cron(given: &Map<String, Value>, tz: &str) -> Result<Trigger, TriggerError> {
        if given.is_empty() {
            return Err(TriggerError::Invalid);
        }
        let fields = complete(given);
        cron_of(&fields)?;
        Ok(Trigger::Cron {
            fields,
            tz: zone(tz),
        })
    }

    /// Rebuild from the stored row (`trigger_type`, `trigger_args`, `timezone`).
    pub fn from_stored(kind: &str, args: &Value, tz: &str) -> Result<Trigger, TriggerError> {
        let obj = args.as_object().cloned().unwrap_or_default();
        match kind {
            "cron" => {
                let fields: Map<String, Value> = obj
                    .into_iter()
                    .filter(|(k, _)| CRON_FIELDS.contains(&k.as_str()))
                    .collect();
                cron_of(&fields)?;
                Ok(Trigger::Cron {
                    fields,
                    tz: zone(tz),
                })
            }
            "interval" => {
                let seconds = obj
                    .get("seconds_total")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let start = obj
                    .get("start")
                    .and_then(Value::as_str)
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc))
                    .ok_or(TriggerError::Invalid)?;
                if seconds <= 0 {
                    return Err(TriggerError::Invalid);
                }
                Ok(Trigger::Interval { seconds, start })
            }
            "date" => obj
                .get("run_date")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| Trigger::Date {
                    run_at: d.with_timezone(&Utc),
                })
                .ok_or(TriggerError::Invalid),
            _ => Err(TriggerError::Invalid),
        }
    }

    /// The stored form: `(trigger_type, trigger_args, timezone)`.
    pub fn to_stored(&self) -> (&'static str, Value, String) {
        match self {
            Trigger::Cron { fields, tz } => {
                ("cron", Value::Object(fields.clone()), tz.name().to_string())
            }
            Trigger::Interval { seconds, start } => (
                "interval",
                json!({"seconds_total": seconds, "start": start.to_rfc3339()}),
                DEFAULT_TZ.name().to_string(),
            ),
            Trigger::Date { run_at } => (
                "date",
                json!({"run_date": run_at.to_rfc3339()}),
                DEFAULT_TZ.name().to_string(),
            ),
        }
    }

    /// The first fire time strictly after `after` (None: never again).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Trigger::Cron { fields, tz } => {
                let cron = cron_of(fields).ok()?;
                cron.find_next_occurrence(&after.with_timezone(tz), false)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            }
            Trigger::Interval { seconds, start } => {
                if after < *start {
                    return Some(*start);
                }
                let k = (after - *start).num_seconds() / seconds + 1;
                Some(*start + Duration::seconds(k * seconds))
            }
            Trigger::Date { run_at } => (*run_at > after).then_some(*run_at),
        }
    }

    /// The listed `trigger_args`: cron fields as strings (defaults `0`/`0`/`0`/`*`/`*`/`*`/
    /// `""`), otherwise `{description}`.
    pub fn list_args(&self) -> Value {
        match self {
            Trigger::Cron { fields, .. } => {
                let get = |k: &str, d: &str| {
                    fields
                        .get(k)
                        .map(|v| field_str(v).unwrap_or_default())
                        .unwrap_or_else(|| d.to_string())
                };
                json!({
                    "second": get("second", "0"), "minute": get("minute", "0"), "hour": get("hour", "0"),
                    "day": get("day", "*"), "month": get("month", "*"), "day_of_week": get("day_of_week", "*"),
                    "year": get("year", ""),
                })
            }
            other => json!({"description": other.describe()}),
        }
    }

    /// APScheduler-like text, e.g. `cron[month='*', day='*', day_of_week='*', hour='1',
    /// minute='0']`, `interval[1:00:00]`, `date[2026-12-03 01:00:00 CST]`.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Cron { fields, .. } => {
                let mut parts = Vec::new();
                for f in CRON_FIELDS {
                    let v = fields.get(f).and_then(field_str).unwrap_or_default();
                    if (f == "year" && v.is_empty())
                        || (f == "second" && (v == "0" || v.is_empty()))
                    {
                        continue;
                    }
                    parts.push(format!("{f}='{v}'"));
                }
                format!("cron[{}]", parts.join(", "))
            }
            Trigger::Interval { seconds, .. } => {
                let (d, rest) = (seconds / 86_400, seconds % 86_400);
                let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
                match d {
                    0 => format!("interval[{hms}]"),
                    1 => format!("interval[1 day, {hms}]"),
                    _ => format!("interval[{d} days, {hms}]"),
                }
            }
            Trigger::Date { run_at } => format!(
                "date[{} CST]",
                run_at
                    .with_timezone(&DEFAULT_TZ)
                    .format("%Y-%m-%d %H:%M:%S")
            ),
        }
    }
}

/// Parse a trigger update body (`api-v1.md` §4.15 `PUT /scheduler/jobs/{id}`): `trigger_type`
/// `cron` (an expression of 5/6/7 fields and/or per-field values, explicit fields win),
/// `interval` (positive `weeks`/`days`/`hours`/`minutes`/`seconds`) or `date` (`run_date`,
/// naive = China time). `now` anchors interval starts.
pub fn parse_update(
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Trigger, TriggerError> {
    let kind = body
        .get("trigger_type")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or(TriggerError::MissingType)?;
    match kind.as_str() {
        "cron" => {
            let mut given = Map::new();
            if let Some(expr) = body.get("cron_expression").and_then(Value::as_str) {
                let parts: Vec<&str> = expr.split_whitespace().collect();
                let names: &[&str] = match parts.len() {
                    0 => &[],
                    5 => &["minute", "hour", "day", "month", "day_of_week"],
                    6 => &["second", "minute", "hour", "day", "month", "day_of_week"],
                    7 => &[
                        "second",
                        "minute",
                        "hour",
                        "day",
                        "month",
                        "day_of_week",
                        "year",
                    ],
                    _ => return Err(TriggerError::Invalid),
                };
                for (n, p) in names.iter().zip(parts) {
                    given.insert(n.to_string(), json!(p));
                }
            }
            let aliases: [(&str, &[&str]); 7] = [
                ("second", &["cron_second", "second"]),
                ("minute", &["cron_minute", "minute"]),
                ("hour", &["cron_hour", "hour"]),
                ("day", &["cron_day", "day"]),
                ("month", &["cron_month", "month"]),
                (
                    "day_of_week",
                    &["cron_weekday", "cron_day_of_week", "day_of_week", "weekday"],
                ),
                ("year", &["year"]),
            ];
            for (field, keys) in aliases {
                if let Some(v) = keys.iter().find_map(|k| body.get(*k).and_then(field_str)) {
                    given.insert(field.to_string(), json!(v));
                }
            }
            let tz = body
                .get("timezone")
                .and_then(Value::as_str)
                .unwrap_or("Asia/Shanghai");
            Trigger::cron(&given, tz)
        }
        "interval" => {
            let mut seconds = 0i64;
            for (k, mult) in [
                ("weeks", 604_800),
                ("days", 86_400),
                ("hours", 3_600),
                ("minutes", 60),
                ("seconds", 1),
            ] {
                let n = body.get(k).and_then(|v| match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                });
                if let Some(n) = n.filter(|n| *n > 0) {
                    seconds = seconds.saturating_add(n.saturating_mul(mult));
                }
            }
            if seconds <= 0 {
                return Err(TriggerError::Invalid);
            }
            Ok(Trigger::Interval {
                seconds,
                start: now + Duration::seconds(seconds),
            })
        }
        "date" => {
            let raw = body
                .get("run_date")
                .and_then(Value::as_str)
                .map(str::trim)
                .ok_or(TriggerError::Invalid)?;
            let run_at = DateTime::parse_from_rfc3339(&raw.replace(' ', "T"))
                .map(|d| d.with_timezone(&Utc))
                .or_else(|_| {
                    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
                        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S"))
                        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
                        .map_err(|_| TriggerError::Invalid)?;
                    DEFAULT_TZ
                        .from_local_datetime(&naive)
                        .single()
                        .map(|d| d.with_timezone(&Utc))
                        .ok_or(TriggerError::Invalid)
                })?;
            Ok(Trigger::Date { run_at })
        }
        _ => Err(TriggerError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn daily_cron_in_china_time() {
        let t = Trigger::cron(&body(json!({"second": 0, "minute": 0, "hour": 1, "day": "*", "month": "*", "day_of_week": "*"})), "Asia/Shanghai").unwrap();
        // 2026-12-02 10:00 China = 02:00 UTC → next 2026-12-03 01:00 China = 2026-12-02 17:00 UTC
        assert_eq!(
            t.next_after(utc("2026-12-02T02:00:00Z")),
            Some(utc("2026-12-02T17:00:00Z"))
        );
        // just before 01:00 China
        assert_eq!(
            t.next_after(utc("2026-12-02T16:59:59Z")),
            Some(utc("2026-12-02T17:00:00Z"))
        );
        assert_eq!(
            t.describe(),
            "cron[month='*', day='*', day_of_week='*', hour='1', minute='0']"
        );
        assert_eq!(t.list_args()["year"], "");
    }

    #[test]
    fn crontab_weekdays() {
        // 5 fields: minute hour day month dow; 1 = Monday (crontab), not Tuesday
        let t = parse_update(
            &body(json!({"trigger_type": "cron", "cron_expression": "30 2 * * 1"})),
            Utc::now(),
        )
        .unwrap();
        // Wednesday 2026-12-02 → next Monday 2026-12-07 02:30 China = 2026-12-06 18:30 UTC
        assert_eq!(
            t.next_after(utc("2026-12-02T00:00:00Z")),
            Some(utc("2026-12-06T18:30:00Z"))
        );
        for sunday in ["0", "7", "sun"] {
            let t = parse_update(
                &body(
                    json!({"trigger_type": "cron", "cron_expression": format!("0 0 * * {sunday}")}),
                ),
                Utc::now(),
            )
            .unwrap();
            assert_eq!(
                t.next_after(utc("2026-12-02T00:00:00Z")),
                Some(utc("2026-12-05T16:00:00Z")),
                "{sunday}"
            );
        }
    }

    #[test]
    fn expressions_of_six_and_seven_fields_and_field_overrides() {
        let t = parse_update(&body(json!({"trigger_type": "cron", "cron_expression": "15 30 4 * * *", "cron_hour": "5"})), Utc::now()).unwrap();
        let Trigger::Cron { fields, .. } = &t else {
            panic!()
        };
        assert_eq!(
            (fields["second"].as_str(), fields["hour"].as_str()),
            (Some("15"), Some("5"))
        );
        let t = parse_update(
            &body(json!({"trigger_type": "cron", "cron_expression": "0 0 3 1 1 * 2030"})),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            t.next_after(utc("2026-12-02T00:00:00Z")),
            Some(utc("2029-12-31T19:00:00Z"))
        );
        // APScheduler defaults: given hour only → minute and second 0, the rest *
        let t = parse_update(
            &body(json!({"trigger_type": "cron", "hour": "3"})),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            t.describe(),
            "cron[month='*', day='*', day_of_week='*', hour='3', minute='0']"
        );
    }

    #[test]
    fn invalid_triggers() {
        let now = Utc::now();
        assert_eq!(
            parse_update(&body(json!({})), now),
            Err(TriggerError::MissingType)
        );
        for b in [
            json!({"trigger_type": "cron"}),
            json!({"trigger_type": "cron", "cron_expression": "1 2 3"}),
            json!({"trigger_type": "cron", "cron_expression": "99 * * * *"}),
            json!({"trigger_type": "cron", "day_of_week": "funday"}),
            json!({"trigger_type": "interval", "hours": 0, "minutes": -5}),
            json!({"trigger_type": "date", "run_date": "tomorrow"}),
            json!({"trigger_type": "weekly"}),
        ] {
            assert_eq!(
                parse_update(&body(b.clone()), now),
                Err(TriggerError::Invalid),
                "{b}"
            );
        }
    }

    #[test]
    fn interval_and_date() {
        let now = utc("2026-12-02T00:00:00Z");
        let t = parse_update(
            &body(json!({"trigger_type": "interval", "hours": 1, "minutes": "30", "days": -1})),
            now,
        )
        .unwrap();
        assert_eq!(t.describe(), "interval[1:30:00]");
        assert_eq!(t.next_after(now), Some(utc("2026-12-02T01:30:00Z")));
        assert_eq!(
            t.next_after(utc("2026-12-02T01:30:00Z")),
            Some(utc("2026-12-02T03:00:00Z"))
        );
        let (kind, args, tz) = t.to_stored();
        assert_eq!(Trigger::from_stored(kind, &args, &tz).unwrap(), t);
        // naive = China time; a trailing Z is UTC
        let d = parse_update(
            &body(json!({"trigger_type": "date", "run_date": "2026-12-03 09:00:00"})),
            now,
        )
        .unwrap();
        assert_eq!(d.next_after(now), Some(utc("2026-12-03T01:00:00Z")));
        assert_eq!(d.describe(), "date[2026-12-03 09:00:00 CST]");
        let z = parse_update(
            &body(json!({"trigger_type": "date", "run_date": "2026-12-03T09:00:00Z"})),
            now,
        )
        .unwrap();
        assert_eq!(z.next_after(now), Some(utc("2026-12-03T09:00:00Z")));
        assert_eq!(z.next_after(utc("2026-12-04T00:00:00Z")), None);
    }
}
