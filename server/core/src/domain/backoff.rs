//! How long scheduled work waits after a failed try (outbox emails, webhook
//! events, and the jobs to come): doubling from a first wait to a cap.

/// The wait after `attempts` failed tries: `first`, 2 × `first`,
/// 4 × `first` … never more than `cap` (0 or 1 attempts wait `first`).
pub fn backoff(attempts: i64, first: chrono::Duration, cap: chrono::Duration) -> chrono::Duration {
    let doublings = attempts.clamp(1, 40) - 1;
    let factor = 1i32.checked_shl(doublings as u32).filter(|f| *f > 0);
    match factor.and_then(|f| first.checked_mul(f)) {
        Some(wait) if wait < cap => wait,
        _ => cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn doubles_from_the_first_wait_up_to_the_cap() {
        let wait = |n| backoff(n, Duration::seconds(10), Duration::minutes(30)).num_seconds();
        assert_eq!([wait(0), wait(1), wait(2), wait(4)], [10, 10, 20, 80]);
        assert_eq!(wait(8), 1280);
        assert_eq!(wait(9), 1800);
        assert_eq!(wait(i64::MAX), 1800);
        assert_eq!(wait(-3), 10);
    }
}
