//! Credential password encryption (`domain.md` §9.2).
//!
//! Stored format (compatible with the original): `base64_standard(fernet_token)` — the Fernet
//! token text is base64-encoded once more. Empty plaintext is stored as `""`. Unlike the
//! original, a value that cannot be decrypted is an error, never an empty password
//! (`domain.md` §13.6.44).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Fernet cipher for credential passwords.
#[derive(Clone)]
pub struct CredentialCipher {
    fernet: fernet::Fernet,
}

impl std::fmt::Debug for CredentialCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialCipher(***)")
    }
}

/// Decryption failure (wrong key, corrupted value).
#[derive(Debug, thiserror::Error)]
#[error("凭据密码无法解密(密钥不匹配或数据损坏)")]
pub struct DecryptError;

impl CredentialCipher {
    /// Build from a Fernet key (URL-safe base64 of 32 bytes, 44 chars). `None` when invalid.
    pub fn new(key: &str) -> Option<Self> {
        fernet::Fernet::new(key.trim()).map(|fernet| Self { fernet })
    }

    /// Generate a random key (used only outside production when none is configured).
    pub fn generate_key() -> String {
        fernet::Fernet::generate_key()
    }

    /// Encrypt a plaintext password into the stored format.
    pub fn encrypt(&self, plain: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        STANDARD.encode(self.fernet.encrypt(plain.as_bytes()))
    }

    /// Decrypt a stored value.
    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        let token = STANDARD.decode(stored.trim()).map_err(|_| DecryptError)?;
        let token = String::from_utf8(token).map_err(|_| DecryptError)?;
        let plain = self.fernet.decrypt(&token).map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_originals_ciphertexts() {
        // the compatibility vectors of the spec, copied into the repository (values written by the
        // original's own libraries)
        let raw = include_str!("../tests/fixtures/compat.json");
        let v: serde_json::Value = serde_json::from_str(raw).unwrap();
        let c = CredentialCipher::new(v["fernet"]["key"].as_str().unwrap()).unwrap();
        let creds = v["fernet"]["credentials"].as_array().unwrap();
        assert_eq!(creds.len(), 3);
        for item in creds {
            assert_eq!(
                c.decrypt(item["stored"].as_str().unwrap()).unwrap(),
                item["plaintext"].as_str().unwrap()
            );
        }
        let other = CredentialCipher::new(&CredentialCipher::generate_key()).unwrap();
        assert!(other.decrypt(creds[0]["stored"].as_str().unwrap()).is_err());
        assert!(c.decrypt("not base64 !!").is_err());
    }

    #[test]
    fn round_trip() {
        let c = CredentialCipher::new(&CredentialCipher::generate_key()).unwrap();
        let s = c.encrypt("pä$$wörd");
        assert_ne!(s, "pä$$wörd");
        assert_eq!(c.decrypt(&s).unwrap(), "pä$$wörd");
        assert_eq!(c.encrypt(""), "");
        assert!(CredentialCipher::new("short").is_none());
    }
}
