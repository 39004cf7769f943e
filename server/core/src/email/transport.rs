//! How a message leaves: SMTP through lettre, or the dev mailbox (the
//! outbox row itself, shown at /dev/mailbox) when no SMTP_URL is set.

use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
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
        let mut builder = Message::builder();
        for (name, value) in extra_headers(email.headers.as_deref())? {
            builder = builder.raw_header(HeaderValue::new(name, value));
        }
        let message = builder
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

/// The outbox row's extra header lines ("Name: value", one a line), as
/// lettre headers. A malformed line fails the send (it is a bug of ours,
/// and a reminder must not go without its unsubscribe header).
fn extra_headers(lines: Option<&str>) -> Result<Vec<(HeaderName, String)>, String> {
    lines
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line: {line}"))?;
            let name = HeaderName::new_from_ascii(name.trim().to_owned())
                .map_err(|_| format!("bad header name: {name}"))?;
            Ok((name, value.trim().to_owned()))
        })
        .collect()
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
        extra_headers(email.headers.as_deref())?;
        let link = email
            .text_body
            .lines()
            .find(|l| l.contains("/auth/confirm?token="))
            .unwrap_or("");
        tracing::info!(to = %email.to_address, subject = %email.subject, link = link.trim(), "dev mailbox: email delivered (open /dev/mailbox)");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::extra_headers;

    #[test]
    fn header_lines_become_headers() {
        let lines = "List-Unsubscribe: <https://x/reminders/unsubscribe/abc>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n";
        let headers = extra_headers(Some(lines)).unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[0].0.to_string(), "List-Unsubscribe");
        assert_eq!(headers[0].1, "<https://x/reminders/unsubscribe/abc>");
        assert_eq!(headers[1].1, "List-Unsubscribe=One-Click");
        assert!(extra_headers(None).unwrap().is_empty());
        assert!(extra_headers(Some("no colon here")).is_err());
    }
}
