//! User password hashing (`domain.md` §9.1): bcrypt `$2b$`, cost from `BCRYPT_LOG_ROUNDS`
//! (default 12, ≥ 4). Verification accepts the original's `$2b$12$` hashes.

/// Hash a password with the given cost.
pub fn hash(password: &str, cost: u32) -> String {
    bcrypt::hash_with_result(password, cost.clamp(4, 31))
        .map(|h| h.format_for_version(bcrypt::Version::TwoB))
        .unwrap_or_default()
}

/// Verify a password against a stored hash; malformed hashes never verify.
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// A policy-compliant random password of `len` (≥ 8) characters for the admin bootstrap
/// (`domain.md` §9.7): always contains an upper-case letter, a lower-case letter and a digit.
pub fn generate(len: usize) -> String {
    use rand_core::{OsRng, RngCore};
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const ALL: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!@#$%^&*";
    let len = len.max(8);
    let pick = |set: &[u8]| set[(OsRng.next_u32() as usize) % set.len()] as char;
    let mut chars: Vec<char> = vec![pick(UPPER), pick(LOWER), pick(DIGIT)];
    while chars.len() < len {
        chars.push(pick(ALL));
    }
    for i in (1..chars.len()).rev() {
        let j = (OsRng.next_u32() as usize) % (i + 1);
        chars.swap(i, j);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_originals_hashes() {
        // the compatibility vectors of the spec, copied into the repository (values written by the
        // original's own libraries)
        let raw = include_str!("../tests/fixtures/compat.json");
        let v: serde_json::Value = serde_json::from_str(raw).unwrap();
        for item in v["bcrypt"].as_array().unwrap() {
            assert!(verify(
                item["password"].as_str().unwrap(),
                item["hash"].as_str().unwrap()
            ));
            assert!(!verify("wrong", item["hash"].as_str().unwrap()));
        }
        assert!(!verify("x", "not-a-hash"));
    }

    #[test]
    fn hashing_and_generation() {
        let h = hash("TestPass1", 4);
        assert!(h.starts_with("$2b$04$"));
        assert!(verify("TestPass1", &h));
        for _ in 0..50 {
            let p = generate(12);
            assert_eq!(p.chars().count(), 12);
            assert!(wf_domain::password::check_strength(&p).is_ok(), "{p}");
        }
    }
}
