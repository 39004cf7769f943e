//! Sign-in by magic link, for contacts and for staff (separate areas).
//!
//! * Asking for a link answers the same whether or not the email is known.
//! * A link carries 256 random bits, is stored hashed, works once, for
//!   `magic_link_ttl` (10 minutes by default).
//! * Opening the link only shows a page; the token is spent by the POST of
//!   its "Sign in" button, so mail scanners that open links burn nothing.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::Services;
use crate::domain::audit::Action;
use crate::domain::{token, EmailAddress, Principal};
use crate::email::templates::{sign_in_email, SignInEmail};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::{accounts, outbox, tokens};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Contact,
    Staff,
}

impl Area {
    fn purpose(self) -> &'static str {
        match self {
            Area::Contact => "contact_sign_in",
            Area::Staff => "staff_sign_in",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Area::Contact => "contact",
            Area::Staff => "staff",
        }
    }

    /// Where the emailed link points.
    pub fn confirm_path(self) -> &'static str {
        match self {
            Area::Contact => "/auth/confirm",
            Area::Staff => "/staff/auth/confirm",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum LinkRequest {
    /// The same outcome for known and unknown addresses.
    Accepted,
    RateLimited {
        retry_after: Duration,
    },
}

/// Why a link cannot be used. Shown to the user, with a way to get a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkProblem {
    Used,
    Expired,
    Invalid,
}

impl LinkProblem {
    pub fn key(self) -> &'static str {
        match self {
            LinkProblem::Used => "used",
            LinkProblem::Expired => "expired",
            LinkProblem::Invalid => "invalid",
        }
    }
}

/// A sign-in request by someone not (yet) known, logged by the SHA-256 of
/// the address they typed, never the address itself.
fn anonymous_sign_in<'a>(
    action: Action,
    area: Area,
    email_sha256: &str,
    ip: Option<&'a str>,
) -> AuditEvent<'a> {
    AuditEvent {
        actor_kind: "anonymous",
        actor_id: None,
        customer_id: None,
        action,
        detail: serde_json::json!({ "area": area.name(), "email_sha256": email_sha256 }),
        ip,
        subject: None,
    }
}

fn email_hash(email: &EmailAddress) -> String {
    hex::encode(Sha256::digest(email.as_str().as_bytes()))
}

impl Services {
    pub async fn request_sign_in_link(
        &self,
        area: Area,
        email_input: &str,
        ip: Option<&str>,
    ) -> ServiceResult<LinkRequest> {
        let email = EmailAddress::parse(email_input)
            .map_err(|e| ServiceError::invalid_field("email", e.to_string()))?;
        let now = self.clock.now();
        let window =
            chrono::Duration::from_std(self.config.sign_in_email_window).expect("window fits");
        let hash = email_hash(&email);

        let mut tx = self.db.begin_write().await?;
        let (count, oldest) =
            tokens::sign_in_requests_since(&mut tx, &hash, area.name(), now - window).await?;
        if count >= i64::from(self.config.sign_in_per_email) {
            let free_at = oldest.unwrap_or(now) + window;
            let retry_after = (free_at - now)
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_secs(1));
            audit::record(
                &mut tx,
                now,
                anonymous_sign_in(Action::SignInRateLimited, area, &hash, ip),
            )
            .await?;
            tx.commit().await?;
            return Ok(LinkRequest::RateLimited { retry_after });
        }
        tokens::record_sign_in_request(&mut tx, &hash, area.name(), ip, now).await?;

        let recipient = match area {
            Area::Contact => accounts::active_contact_by_email(&mut tx, email.as_str())
                .await?
                .map(|c| (c.contact_id, c.name)),
            Area::Staff => accounts::active_staff_by_email(&mut tx, email.as_str())
                .await?
                .map(|s| (s.staff_id, s.name)),
        };
        match recipient {
            Some((principal_id, name)) => {
                let minted = token::mint_token();
                let ttl = self.config.magic_link_ttl;
                tokens::insert(
                    &mut tx,
                    now,
                    tokens::NewToken {
                        token_hash: &minted.hash,
                        purpose: area.purpose(),
                        principal_id,
                        expires_at: now + chrono::Duration::from_std(ttl).expect("ttl fits"),
                        requested_ip: ip,
                    },
                )
                .await?;
                let link =
                    self.config
                        .link(&format!("{}?token={}", area.confirm_path(), minted.plain));
                let message = sign_in_email(&SignInEmail {
                    seller_name: &self.config.seller_name,
                    recipient_name: &name,
                    link: &link,
                    valid_minutes: ttl.as_secs() / 60,
                    area_name: match area {
                        Area::Contact => "billing portal",
                        Area::Staff => "AR workspace",
                    },
                });
                outbox::enqueue(
                    &mut tx,
                    now,
                    outbox::NewEmail {
                        to: email.as_str(),
                        subject: &message.subject,
                        text_body: &message.text_body,
                        html_body: &message.html_body,
                    },
                )
                .await?;
                audit::record(
                    &mut tx,
                    now,
                    AuditEvent {
                        actor_kind: area.name(),
                        actor_id: Some(principal_id),
                        customer_id: None,
                        action: Action::SignInLinkSent,
                        detail: serde_json::json!({}),
                        ip,
                        subject: None,
                    },
                )
                .await?;
            }
            None => {
                audit::record(
                    &mut tx,
                    now,
                    anonymous_sign_in(Action::SignInUnknownEmail, area, &hash, ip),
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(LinkRequest::Accepted)
    }

    /// What the confirm page should say about a link, without spending it.
    pub async fn check_sign_in_link(
        &self,
        area: Area,
        token_input: &str,
    ) -> ServiceResult<Result<(), LinkProblem>> {
        let Some(hash) = token::parse_and_hash(token_input) else {
            return Ok(Err(LinkProblem::Invalid));
        };
        let mut conn = self.db.pool.acquire().await?;
        let state = tokens::find(&mut conn, &hash).await?;
        Ok(match state {
            None => Err(LinkProblem::Invalid),
            Some(s) if s.purpose != area.purpose() => Err(LinkProblem::Invalid),
            Some(s) if s.used => Err(LinkProblem::Used),
            Some(s) if s.expires_at <= self.clock.now() => Err(LinkProblem::Expired),
            Some(_) => Ok(()),
        })
    }

    /// Spends the link and returns who signed in. Successes and failures go
    /// to the audit log.
    pub async fn redeem_sign_in_link(
        &self,
        area: Area,
        token_input: &str,
        ip: Option<&str>,
    ) -> ServiceResult<Result<Principal, LinkProblem>> {
        let now = self.clock.now();
        let Some(hash) = token::parse_and_hash(token_input) else {
            self.audit_sign_in_failure(area, LinkProblem::Invalid, ip)
                .await?;
            return Ok(Err(LinkProblem::Invalid));
        };
        let mut tx = self.db.begin_write().await?;
        let redeemed = tokens::redeem(&mut tx, &hash, area.purpose(), now).await?;
        let principal = match redeemed {
            Some(id) => match area {
                Area::Contact => {
                    accounts::active_contact(&mut tx, id)
                        .await?
                        .map(|c| Principal::Contact {
                            contact_id: c.contact_id,
                        })
                }
                Area::Staff => {
                    accounts::active_staff(&mut tx, id)
                        .await?
                        .map(|s| Principal::Staff {
                            staff_id: s.staff_id,
                        })
                }
            },
            None => None,
        };
        let Some(principal) = principal else {
            tx.rollback().await?;
            let problem = match self.check_sign_in_link(area, token_input).await? {
                Err(problem) => problem,
                // Valid token whose person was disabled meanwhile.
                Ok(()) => LinkProblem::Invalid,
            };
            self.audit_sign_in_failure(area, problem, ip).await?;
            return Ok(Err(problem));
        };
        audit::record(
            &mut tx,
            now,
            AuditEvent {
                actor_kind: principal.kind(),
                actor_id: Some(principal.id()),
                customer_id: None,
                action: Action::SignInSucceeded,
                detail: serde_json::json!({}),
                ip,
                subject: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(principal))
    }

    async fn audit_sign_in_failure(
        &self,
        area: Area,
        problem: LinkProblem,
        ip: Option<&str>,
    ) -> ServiceResult<()> {
        let mut conn = self.db.pool.acquire().await?;
        audit::record(
            &mut conn,
            self.clock.now(),
            AuditEvent {
                actor_kind: "anonymous",
                actor_id: None,
                customer_id: None,
                action: Action::SignInFailed,
                detail: serde_json::json!({ "area": area.name(), "reason": problem.key() }),
                ip,
                subject: None,
            },
        )
        .await?;
        Ok(())
    }

    pub async fn audit_sign_out(
        &self,
        principal: Principal,
        everywhere: bool,
        ip: Option<&str>,
    ) -> ServiceResult<()> {
        let mut conn = self.db.pool.acquire().await?;
        audit::record(
            &mut conn,
            self.clock.now(),
            AuditEvent {
                actor_kind: principal.kind(),
                actor_id: Some(principal.id()),
                customer_id: None,
                action: if everywhere {
                    Action::SignOutEverywhere
                } else {
                    Action::SignOut
                },
                detail: serde_json::json!({}),
                ip,
                subject: None,
            },
        )
        .await?;
        Ok(())
    }
}

/// Used by the CLI and seeds.
pub fn normalise_email(input: &str) -> ServiceResult<EmailAddress> {
    EmailAddress::parse(input).map_err(|e| ServiceError::invalid_field("email", e.to_string()))
}
