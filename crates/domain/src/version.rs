//! Version string parsing (`domain.md` §3.3).

use regex::RegexBuilder;

/// Parsed engine version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedVersion {
    /// e.g. `8.0`, or `未知`.
    pub main_version: String,
    /// e.g. `8.0.32`, or the truncated raw string.
    pub detailed_version: String,
}

impl ParsedVersion {
    /// Display format: `main` when equal, `detailed` when main is 未知, else `main (detailed)`.
    pub fn formatted(&self) -> String {
        if self.main_version == self.detailed_version {
            self.main_version.clone()
        } else if self.main_version == "未知" {
            self.detailed_version.clone()
        } else {
            format!("{} ({})", self.main_version, self.detailed_version)
        }
    }
}

fn patterns(db_type: &str) -> &'static [&'static str] {
    match db_type {
        "mysql" => &[r"(\d+\.\d+\.\d+)", r"(\d+\.\d+)"],
        "postgresql" => &[r"PostgreSQL\s+(\d+\.\d+)", r"(\d+\.\d+)"],
        "sqlserver" => &[
            r"Microsoft SQL Server \d+\s+\([^)]+\)\s+\([^)]+\)\s+-\s+(\d+\.\d+\.\d+\.\d+)",
            r"(\d+\.\d+\.\d+\.\d+)",
        ],
        "oracle" => &[
            r"Oracle Database \d+g Release (\d+\.\d+\.\d+\.\d+\.\d+)",
            r"(\d+\.\d+\.\d+\.\d+\.\d+)",
        ],
        _ => &[],
    }
}

/// Parse a raw version string of `db_type`.
///
/// PostgreSQL ≥ 10 reports `main_version` as the real major (`15`), fixing `domain.md` §13.55;
/// other engines keep `major.minor`.
pub fn parse(db_type: &str, raw: &str) -> ParsedVersion {
    let unknown = || ParsedVersion {
        main_version: "未知".into(),
        detailed_version: "未知".into(),
    };
    if raw.trim().is_empty() {
        return unknown();
    }
    for p in patterns(db_type) {
        let re = RegexBuilder::new(p)
            .case_insensitive(true)
            .build()
            .expect("static regex");
        if let Some(c) = re.captures(raw) {
            let detailed = c[1].to_string();
            let parts: Vec<&str> = detailed.split('.').collect();
            let main = if db_type == "postgresql"
                && parts[0].parse::<u32>().map(|m| m >= 10).unwrap_or(false)
            {
                parts[0].to_string()
            } else if parts.len() >= 2 {
                format!("{}.{}", parts[0], parts[1])
            } else {
                detailed.clone()
            };
            return ParsedVersion {
                main_version: main,
                detailed_version: detailed,
            };
        }
    }
    let detailed = if raw.chars().count() > 50 {
        format!("{}...", raw.chars().take(50).collect::<String>())
    } else {
        raw.to_string()
    };
    ParsedVersion {
        main_version: "未知".into(),
        detailed_version: detailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn engines() {
        let v = parse("mysql", "8.0.32-log");
        assert_eq!(
            (v.main_version.as_str(), v.detailed_version.as_str()),
            ("8.0", "8.0.32")
        );
        assert_eq!(v.formatted(), "8.0 (8.0.32)");
        let v = parse("mysql", "10.11.19-MariaDB-0+deb12u1");
        assert_eq!(v.detailed_version, "10.11.19");
        let v = parse(
            "postgresql",
            "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64",
        );
        assert_eq!(
            (v.main_version.as_str(), v.detailed_version.as_str()),
            ("15", "15.20")
        );
        let v = parse("postgresql", "PostgreSQL 9.6.24 on x86_64");
        assert_eq!(v.main_version, "9.6");
        let v = parse(
            "sqlserver",
            "Microsoft SQL Server 2017 (RTM-CU31) (KB5016884) - 14.0.3456.2 (X64)",
        );
        assert_eq!(
            (v.main_version.as_str(), v.detailed_version.as_str()),
            ("14.0", "14.0.3456.2")
        );
        let v = parse(
            "oracle",
            "Oracle Database 11g Release 11.2.0.4.0 - 64bit Production",
        );
        assert_eq!(v.detailed_version, "11.2.0.4.0");
        assert_eq!(parse("mysql", "").formatted(), "未知");
        let v = parse("mysql", &"x".repeat(60));
        assert_eq!(v.detailed_version.len(), 53);
        assert_eq!(v.formatted(), v.detailed_version);
    }
}
