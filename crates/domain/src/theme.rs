//! Theme colour keys (`api-v1.md` §3.7): value (hex), name, description, CSS class.

/// `(key, hex, name)` of every theme colour.
pub const COLORS: [(&str, &str, &str); 8] = [
    ("primary", "#18bc9c", "主色绿"),
    ("danger", "#e74c3c", "危险红"),
    ("warning", "#f39c12", "警告橙"),
    ("info", "#3498db", "信息蓝"),
    ("secondary", "#95a5a6", "次要灰"),
    ("success", "#18bc9c", "成功绿"),
    ("dark", "#2c3e50", "深色"),
    ("light", "#ecf0f1", "浅色"),
];

/// What each colour is meant for (the `description` of the colour options, `api-v1.md` §4.11).
pub fn description(key: &str) -> &'static str {
    match key {
        "primary" => "主要、重要的分类",
        "danger" => "高风险、需立即关注",
        "warning" => "中风险、需要留意",
        "info" => "一般信息、默认分类",
        "secondary" => "次要、低优先级",
        "success" => "安全、正常状态",
        "dark" => "系统、特殊用途",
        "light" => "低调、辅助标记",
        _ => "",
    }
}

/// `(hex, name, css_class)` of a key; unknown keys render as info blue.
pub fn resolve(key: &str) -> (&'static str, &'static str, String) {
    match COLORS.iter().find(|(k, _, _)| *k == key) {
        Some((k, hex, name)) => (hex, name, format!("bg-{k}")),
        None => ("#3498db", "信息蓝", "bg-info".to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_is_info() {
        assert_eq!(super::resolve("nope").0, "#3498db");
        assert_eq!(super::resolve("danger").2, "bg-danger");
    }
}
