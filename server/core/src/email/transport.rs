//! How a message leaves: SMTP through lettre, or the dev mailbox (the
//! outbox row itself, shown at /dev/mailbox) when no SMTP_URL is set.

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::repo::outbox::OutboxEmail;

#[async_trait]
pub trait EmailTransport: Send + Sync + std::fmt::Debug {
    /// Name recorded on the outbox row once sent.
    fn name(&self) -> &'static str;
    /// Whether the outbox row loses its tokens once sent (see
    /// `email::redact`). Only the dev mailbox keeps them: its row is the
    /// delivered mail.
    fn redact_sent(&self) -> bool {
        true
    }
    async fn send(&self, email: &OutboxEmail) -> Result<(), String>;
}

#[derive(Debug)]
pub struct SmtpTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    pub fn new(smtp_url: &str, from: Mailbox) -> Result<Self, String> {
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("SMTP_URL is not usable: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(15)))
            .build();
        Ok(SmtpTransport { mailer, from })
    }
}

#[async_trait]
impl EmailTransport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, email: &OutboxEmail) -> Result<(), String> {
        let to: Mailbox = email
            .to_address
            .parse()
            .map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!(
                "<outbox-{}@{}>",
                email.email_id,
                self.from.email.domain()
            )))
            .multipart(MultiPart::alternative_plain_html(
                email.text_body.clone(),
                email.html_body.clone(),
            ))
            .map_err(|e| format!("cannot build message: {e}"))?;
        self.mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// Development only: the message stays in the outbox table, where the dev
/// mailbox page reads it. Sign-in links are also written to the log so a
/// developer can click them from the terminal.
#[derive(Debug, Default)]
pub struct DevMailbox;

#[async_trait]
impl EmailTransport for DevMailbox {
    fn name(&self) -> &'static str {
        "dev_mailbox"
    }

    /// The developer opens the link from /dev/mailbox, which reads this
    /// row. Development only: without SMTP_URL there is no production.
    fn redact_sent(&self) -> bool {
        false
    }

    async fn send(&self, email: &OutboxEmail) -> Result<(), String> {
        let link = email
            .text_body
            .lines()
            .find(|l| l.contains("/auth/confirm?token="))
            .unwrap_or("");
        tracing::info!(to = %email.to_address, subject = %email.subject, link = link.trim(), "dev mailbox: email delivered (open /dev/mailbox)");
        Ok(())
    }
}
