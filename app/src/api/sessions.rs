use leptos::prelude::*;

use crate::error::AppError;
use crate::models::SessionView;

/// The signed-in person's own sessions (contacts and staff alike).
#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    use super::ssr::{fail, mapped, services, signed_in, timestamp};

    // People only: a session opened from an invoice link is shared by
    // everyone who has the link and may not see their sessions.
    let Some(me) = signed_in().filter(|me| {
        !matches!(
            me.principal,
            portal_core::domain::Principal::InvoiceLink { .. }
        )
    }) else {
        return fail(AppError::Unauthorized);
    };
    let rows = mapped(services()?.list_sessions(me.principal).await)?;
    Ok(rows
        .into_iter()
        .map(|row| SessionView {
            session_id: row.session_id,
            device: describe_user_agent(row.user_agent.as_deref().unwrap_or("")),
            ip: row.ip.unwrap_or_else(|| "unknown".into()),
            signed_in: timestamp(row.created_at),
            last_seen: timestamp(row.last_seen_at),
            current: row.id_hash == me.session_hash,
        })
        .collect())
}

/// "Chrome on Linux" rather than the raw user-agent string.
#[cfg(feature = "ssr")]
fn describe_user_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("Browser on {s}"),
        (None, None) if ua.is_empty() => "Unknown device".to_owned(),
        (None, None) => ua.chars().take(60).collect(),
    }
}
