//! User password policy (`domain.md` §9.1).

/// Check the policy: ≥ 8 chars, one upper-case, one lower-case letter and one digit.
/// Returns the first violated rule's message.
pub fn check_strength(pw: &str) -> Result<(), &'static str> {
    if pw.chars().count() < 8 {
        return Err("密码长度至少8位");
    }
    if !pw.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("密码必须包含大写字母");
    }
    if !pw.chars().any(|c| c.is_ascii_lowercase()) {
        return Err("密码必须包含小写字母");
    }
    if !pw.chars().any(|c| c.is_ascii_digit()) {
        return Err("密码必须包含数字");
    }
    Ok(())
}

/// Length pre-check of change-password: 6–128 characters.
pub fn check_length(pw: &str) -> Result<(), &'static str> {
    let n = pw.chars().count();
    if n < 6 {
        Err("密码长度至少6个字符")
    } else if n > 128 {
        Err("密码长度不能超过128个字符")
    } else {
        Ok(())
    }
}

/// Mask a stored secret for display: longer than 8 chars → `*` × (len − 4) + last 4, else all `*`
/// (`domain.md` §1.4).
pub fn mask(stored: &str) -> String {
    let chars: Vec<char> = stored.chars().collect();
    if chars.len() > 8 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{}{}", "*".repeat(chars.len() - 4), tail)
    } else {
        "*".repeat(chars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn policy() {
        assert_eq!(check_strength("Ab1"), Err("密码长度至少8位"));
        assert_eq!(check_strength("abcdefg1"), Err("密码必须包含大写字母"));
        assert_eq!(check_strength("ABCDEFG1"), Err("密码必须包含小写字母"));
        assert_eq!(check_strength("Abcdefgh"), Err("密码必须包含数字"));
        assert!(check_strength("TestPass1").is_ok());
        assert_eq!(mask("abcdefghij"), "******ghij");
        assert_eq!(mask("abc"), "***");
        assert_eq!(check_length("12345"), Err("密码长度至少6个字符"));
    }
}
