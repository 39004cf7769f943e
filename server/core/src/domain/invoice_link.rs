//! Whether an invoice link still opens its invoice: the one rule behind the
//! link page, the session guard, the invoice page and AR's list of links.

use chrono::{DateTime, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Active,
    /// Past its expiry: a fresh link can be asked for.
    Expired,
    /// Revoked by AR: it stays revoked whatever its date says.
    Revoked,
}

impl LinkState {
    /// A link expiring at `now` is already expired.
    pub fn of(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> LinkState {
        if revoked_at.is_some() {
            LinkState::Revoked
        } else if expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Active
        }
    }

    /// Stable machine name, for CSS classes and tests.
    pub fn key(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Expired => "expired",
            LinkState::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_exclusive_and_revocation_wins() {
        let now = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let second = chrono::Duration::seconds(1);
        assert_eq!(LinkState::of(None, now + second, now), LinkState::Active);
        assert_eq!(LinkState::of(None, now, now), LinkState::Expired);
        assert_eq!(
            LinkState::of(Some(now), now + second, now),
            LinkState::Revoked
        );
        assert_eq!(
            LinkState::of(Some(now), now - second, now),
            LinkState::Revoked
        );
    }
}
