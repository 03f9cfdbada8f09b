//! WhaleFall services: credential encryption, password hashing, connection tests and account
//! synchronisation (`domain.md` §2, §3, §9). Handlers call these; they own no HTTP concerns.

pub mod accounts;
pub mod admin;
pub mod connection;
pub mod crypto;
pub mod passwords;

pub use crypto::CredentialCipher;
