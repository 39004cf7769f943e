//! One-time secrets (magic links): 256 random bits, shown once in a link,
//! stored only as a SHA-256 hash so a database leak cannot sign anyone in.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly minted secret: `plain` goes into the email, `hash` into the database.
pub struct MintedToken {
    pub plain: String,
    pub hash: String,
}

pub fn mint_token() -> MintedToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plain = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&plain);
    MintedToken { plain, hash }
}

/// Hash of a token as received. Malformed input (wrong length or alphabet)
/// is refused before it reaches the database.
pub fn parse_and_hash(candidate: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(candidate.trim()).ok()?;
    (bytes.len() == 32).then(|| hash_token(candidate.trim()))
}

pub fn hash_token(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_hash_stably() {
        let t = mint_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&t.plain).unwrap().len(), 32);
        assert_eq!(parse_and_hash(&t.plain), Some(t.hash.clone()));
        assert_ne!(mint_token().plain, t.plain);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert_eq!(parse_and_hash(""), None);
        assert_eq!(parse_and_hash("abc"), None);
        assert_eq!(parse_and_hash(&"A".repeat(43)[..42]), None);
        assert_eq!(parse_and_hash("!!!!"), None);
    }
}
