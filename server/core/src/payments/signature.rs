//! The `Stripe-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<raw body>">` (more `v1` entries during a secret roll, `v0` ignored).
//! Written here rather than taken from async-stripe because its verifier
//! reads the system clock and parses the event into its own types: ours
//! takes `now` (the tests check Stripe's own vectors at their `now`) and
//! leaves the body as bytes until the signature is known good.

use hmac::digest::generic_array::GenericArray;
use hmac::digest::CtOutput;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's libraries default to five minutes.
pub const TOLERANCE_SECS: i64 = 300;

/// Entries a header may have. Stripe sends `t`, one `v1` (two while a
/// secret is being rolled) and sometimes a `v0`; more than this is not
/// Stripe, and each entry used to cost one HMAC of the whole body.
pub const MAX_ENTRIES: usize = 16;

/// Bytes a header may have: 16 entries of a 64-digit signature fit.
pub const MAX_HEADER_BYTES: usize = 2048;

/// A `v1` signature is a hex HMAC-SHA256: 64 digits.
const V1_HEX_LEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the Stripe-Signature header has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    #[error("the Stripe-Signature header is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("no v1 signature matches the body")]
    Mismatch,
    #[error("the signature is older than the tolerance")]
    TooOld,
}

/// Checks `header` against the raw `payload` at time `now`.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    verify_with(header, now, tolerance_secs, |timestamp| {
        let mut out = [0u8; 32];
        out.copy_from_slice(
            &signed_payload_mac(payload, secret, timestamp)
                .finalize()
                .into_bytes(),
        );
        out
    })
}

/// The rule, with the MAC of the signed payload computed by `mac` (at most
/// once, whatever the header holds: `FnOnce`). Each `v1` of the right
/// length is compared with it in constant time.
fn verify_with(
    header: Option<&str>,
    now: i64,
    tolerance_secs: i64,
    mac: impl FnOnce(i64) -> [u8; 32],
) -> Result<(), SignatureError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    if header.bytes().filter(|b| *b == b',').count() >= MAX_ENTRIES {
        return Err(SignatureError::TooManyEntries);
    }
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLong);
    }
    let mut timestamp = None;
    let mut has_v1 = false;
    let mut candidates: Vec<[u8; 32]> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                // Any `v1` counts as present (as in Stripe's libraries);
                // only one of the right length can match.
                has_v1 = true;
                let mut bytes = [0u8; 32];
                if value.len() == V1_HEX_LEN && hex::decode_to_slice(value, &mut bytes).is_ok() {
                    candidates.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if !has_v1 {
        return Err(SignatureError::Malformed);
    }
    if candidates.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    // `CtOutput`'s equality is constant-time.
    let expected = CtOutput::<Hmac<Sha256>>::new(GenericArray::clone_from_slice(&mac(timestamp)));
    let matches = candidates
        .iter()
        .any(|candidate| expected == CtOutput::new(GenericArray::clone_from_slice(candidate)));
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if timestamp < now - tolerance_secs {
        return Err(SignatureError::TooOld);
    }
    Ok(())
}

/// The header Stripe would send for `payload` at `timestamp` (the sandbox
/// gateway signs its events with it; tests too).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mac = signed_payload_mac(payload, secret, timestamp).finalize();
    format!("t={timestamp},v1={}", hex::encode(mac.into_bytes()))
}

fn signed_payload_mac(payload: &[u8], secret: &str, timestamp: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stripe's own verdicts (stripe-python 16.1.0), copied from
    /// ../shared/fixtures/stripe into tests/fixtures/stripe.
    #[test]
    fn agrees_with_every_stripe_vector() {
        let text = include_str!("../../../../tests/fixtures/stripe/signature_vectors.json");
        let file: serde_json::Value = serde_json::from_str(text).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 9);
        for v in vectors {
            let verdict = verify(
                v["payload"].as_str().unwrap().as_bytes(),
                Some(v["stripe_signature"].as_str().unwrap()),
                v["secret"].as_str().unwrap(),
                v["now"].as_i64().unwrap(),
                v["tolerance_s"].as_i64().unwrap(),
            );
            assert_eq!(
                verdict.is_ok(),
                v["valid"].as_bool().unwrap(),
                "case {}: got {verdict:?}",
                v["case"]
            );
        }
    }

    #[test]
    fn signs_what_it_verifies() {
        let header = sign(b"{}", "whsec_x", 1_000);
        assert_eq!(verify(b"{}", Some(&header), "whsec_x", 1_100, 300), Ok(()));
        assert_eq!(
            verify(b"{} ", Some(&header), "whsec_x", 1_100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"{}", None, "whsec_x", 1_100, 300),
            Err(SignatureError::Missing)
        );
    }

    /// Issue 9, item 4: 20,000 `v1=` entries cost one HMAC of the body
    /// each. A header with that many entries is refused as such, even when
    /// its last entry is the right signature.
    #[test]
    fn a_header_with_too_many_entries_is_refused_whatever_it_holds() {
        let good = sign(b"{}", "whsec_x", 1_000);
        let signature = good.trim_start_matches("t=1000,");
        let header = format!("t=1000,{}{signature}", "v1=,".repeat(20_000));
        let verdict = verify(b"{}", Some(&header), "whsec_x", 1_100, 300);
        assert!(verdict.is_err(), "{verdict:?}");
        assert!(
            verdict.unwrap_err().to_string().contains("entries"),
            "the refusal says why"
        );
        assert_eq!(verdict, Err(SignatureError::TooManyEntries));
        // Long but with few entries: refused too.
        let long = format!("t=1000,v1={}", "0".repeat(MAX_HEADER_BYTES));
        assert_eq!(
            verify(b"{}", Some(&long), "whsec_x", 1_100, 300),
            Err(SignatureError::TooLong)
        );
    }

    /// Counts the MACs computed through the seam `verify_with`.
    fn macs_for(header: &str) -> (usize, Result<(), SignatureError>) {
        let count = std::cell::Cell::new(0);
        let verdict = verify_with(Some(header), 1_100, 300, |t| {
            count.set(count.get() + 1);
            let mut out = [0u8; 32];
            out.copy_from_slice(
                &signed_payload_mac(b"{}", "whsec_x", t)
                    .finalize()
                    .into_bytes(),
            );
            out
        });
        (count.get(), verdict)
    }

    #[test]
    fn one_mac_at_most_however_many_signatures() {
        let good = sign(b"{}", "whsec_x", 1_000);
        let v1 = good.trim_start_matches("t=1000,");
        let wrong = format!("v1={}", "ab".repeat(32));
        // As many entries as allowed, all wrong but well formed: one MAC.
        let header = format!("t=1000{}", format!(",{wrong}").repeat(MAX_ENTRIES - 1));
        assert_eq!(macs_for(&header), (1, Err(SignatureError::Mismatch)));
        // The right one among them: one MAC, accepted.
        let header = format!("t=1000{},{v1}", format!(",{wrong}").repeat(MAX_ENTRIES - 2));
        assert_eq!(macs_for(&header), (1, Ok(())));
        // Empty or short `v1` values cost nothing; they cannot match.
        assert_eq!(
            macs_for("t=1000,v1=,v1=ab,v1=zz"),
            (0, Err(SignatureError::Mismatch))
        );
        // Too many entries: refused before any MAC.
        let header = format!("t=1000,{}{v1}", "v1=,".repeat(20_000));
        assert_eq!(macs_for(&header), (0, Err(SignatureError::TooManyEntries)));
        let header = format!("t=1000{},{v1}", format!(",{wrong}").repeat(MAX_ENTRIES - 1));
        assert_eq!(macs_for(&header), (0, Err(SignatureError::TooManyEntries)));
    }
}
