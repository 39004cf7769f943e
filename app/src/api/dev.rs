use leptos::prelude::*;

use crate::error::AppError;
use crate::models::MailView;

/// The dev mailbox: what the portal would have emailed. Development only;
/// in production it does not exist (404).
#[server(endpoint = "dev_mailbox")]
pub async fn dev_mailbox() -> Result<Vec<MailView>, AppError> {
    use super::ssr::{fail, mapped, services, timestamp};

    let services = services()?;
    if !services.config.dev_pages() {
        return fail(AppError::NotFound);
    }
    let emails = mapped(services.recent_emails(50).await)?;
    Ok(emails
        .into_iter()
        .map(|e| MailView {
            email_id: e.email_id,
            // Mail sent by SMTP keeps its link only redacted (the body shows
            // it); no button to a link that cannot work.
            link: e
                .text_body
                .split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                .filter(|w| !w.contains(portal_core::email::redact::REDACTED))
                .map(str::to_owned),
            to: e.to_address,
            subject: e.subject,
            text_body: e.text_body,
            status: e.status,
            created: timestamp(e.created_at),
        })
        .collect())
}
