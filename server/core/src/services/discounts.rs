//! Early-payment discounts (issue 13 item 7): what each invoice is offered
//! today (pages, reminders, the pay page), the discount a checkout locks,
//! and the credit note it becomes when that payment succeeds. The rules are
//! in `domain::discount`; the decisions in docs/ARCHITECTURE.md, "Early-
//! payment discounts (issue 13)".

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::reminders::customer_zone;
use super::Services;
use crate::domain::audit::Action;
use crate::domain::discount::{
    format_rate, format_terms, offer, parse_terms, DiscountOffer, PaymentTerms,
};
use crate::domain::reminder::local_date;
use crate::domain::{Currency, Money, StaffRole};
use crate::error::{ServiceError, ServiceResult};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::discounts as repo;
use crate::repo::payments::PaymentRow;
use crate::repo::{accounts, ledger, reminders as reminders_repo, Conn};

/// A customer's payment terms as AR sees and edits them.
#[derive(Clone, Debug)]
pub struct CustomerTermsView {
    /// "2/10 net 30", or "net 30" without a discount.
    pub terms: String,
    pub has_discount: bool,
}

/// One open invoice on AR's customer page: its own terms and its offer.
#[derive(Clone, Debug)]
pub struct InvoiceTermsView {
    pub invoice_id: i64,
    pub number: String,
    /// "2/10", "none" (no discount on it), or None: the customer's.
    pub own_terms: Option<String>,
    /// "Pay by Dec 10 and save $24.00 (3 days left)".
    pub offer: Option<String>,
}

/// The payment terms section of AR's customer page.
#[derive(Clone, Debug)]
pub struct StaffTermsView {
    pub customer: CustomerTermsView,
    pub invoices: Vec<InvoiceTermsView>,
    pub can_edit: bool,
}

impl Services {
    /// The seller's time zone (the business calendar's).
    pub(crate) async fn seller_zone(&self) -> ServiceResult<Tz> {
        Ok(self.sla_settings().await?.calendar.time_zone())
    }

    /// The customer's local date now (its own zone, else the seller's):
    /// the day a discount's last day is compared with.
    pub async fn customer_today(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        seller: Tz,
    ) -> ServiceResult<NaiveDate> {
        let own = reminders_repo::customer(conn, customer_id)
            .await?
            .and_then(|c| c.time_zone);
        Ok(local_date(
            self.clock.now(),
            customer_zone(own.as_deref(), seller),
        ))
    }

    /// The discount each of the invoices `ids` of the customer is offered
    /// today, by invoice id (invoices without an offer are absent).
    pub async fn discount_offers(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        ids: &[i64],
    ) -> ServiceResult<HashMap<i64, DiscountOffer>> {
        if ids.is_empty() || !repo::customer_has_terms(conn, customer_id).await? {
            return Ok(HashMap::new());
        }
        // On the connection already held: a second one from the pool while
        // holding this one could wait for ever under load.
        let seller = super::staff_requests::read_settings(conn)
            .await?
            .calendar
            .time_zone();
        self.discount_offers_in(conn, customer_id, ids, seller)
            .await
    }

    /// [`Self::discount_offers`] with the seller's zone already read (inside
    /// a write transaction, which should not wait for another connection).
    pub(crate) async fn discount_offers_in(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        ids: &[i64],
        seller: Tz,
    ) -> ServiceResult<HashMap<i64, DiscountOffer>> {
        let rows = repo::discount_rows(conn, customer_id, ids).await?;
        if rows.iter().all(|r| r.terms.is_none()) {
            return Ok(HashMap::new());
        }
        let today = self.customer_today(conn, customer_id, seller).await?;
        let in_plan = reminders_repo::plan_held(conn, customer_id).await?;
        Ok(rows
            .into_iter()
            .filter(|r| !r.already_discounted)
            .filter_map(|r| {
                let mut facts = r.facts;
                facts.in_plan = in_plan.contains(&r.invoice_id);
                offer(r.terms, &facts, today).map(|o| (r.invoice_id, o))
            })
            .collect())
    }

    /// The offers as sentences ("Pay by Dec 10 and save $24.00 (3 days
    /// left)"), by invoice id, for pages that read without a connection.
    pub async fn discount_sentences(
        &self,
        customer_id: i64,
        invoices: &[(i64, Currency)],
    ) -> ServiceResult<HashMap<i64, String>> {
        let mut conn = self.db.pool.acquire().await?;
        let ids: Vec<i64> = invoices.iter().map(|(id, _)| *id).collect();
        let offers = self.discount_offers(&mut conn, customer_id, &ids).await?;
        Ok(invoices
            .iter()
            .filter_map(|(id, currency)| offers.get(id).map(|o| (*id, o.sentence(*currency))))
            .collect())
    }

    /// A payment succeeded: the discounts it locked become credit notes
    /// applied to their invoices, in the caller's transaction (the one
    /// that records the success, so a replayed event grants nothing more).
    pub(crate) async fn grant_locked_discounts(
        &self,
        conn: &mut Conn,
        payment: &PaymentRow,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        for locked in repo::ungranted(conn, payment.payment_id).await? {
            let credit_note_id = grant(
                conn,
                payment.customer_id,
                &locked.invoice_number,
                locked.invoice_id,
                payment.currency,
                locked.discount_minor,
                locked.rate_bp,
                locked.last_day,
                now,
            )
            .await?;
            if !repo::mark_granted(conn, payment.payment_id, locked.invoice_id, credit_note_id)
                .await?
            {
                return Err(sqlx::Error::Protocol(format!(
                    "discount of payment {} on invoice {} granted twice",
                    payment.payment_id, locked.invoice_id
                )));
            }
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor_kind: "system",
                    actor_id: None,
                    customer_id: Some(payment.customer_id),
                    action: Action::CreditApplied,
                    detail: serde_json::json!({
                        "amount_minor": locked.discount_minor,
                        "early_payment_discount": true,
                        "payment_id": payment.payment_id,
                        "credit_note": format!("DISC-{}", locked.invoice_number),
                    }),
                    ip: None,
                    subject: Some(format!("invoice:{}", locked.invoice_id)),
                },
            )
            .await?;
        }
        Ok(())
    }

    /// A customer's payment terms for AR's customer page.
    pub async fn customer_payment_terms(
        &self,
        customer_id: i64,
    ) -> ServiceResult<CustomerTermsView> {
        let mut conn = self.db.pool.acquire().await?;
        let (bp, days, net) = repo::customer_terms(&mut conn, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let discount = crate::domain::discount::effective_terms((None, None), (bp, days));
        Ok(CustomerTermsView {
            terms: format_terms(&PaymentTerms {
                discount,
                net_days: Some(net),
            }),
            has_discount: discount.is_some(),
        })
    }

    /// The payment terms section of AR's customer page (any active staff
    /// sees it; admins change it).
    pub async fn staff_payment_terms(
        &self,
        staff_id: i64,
        customer_id: i64,
    ) -> ServiceResult<StaffTermsView> {
        let mut conn = self.db.pool.acquire().await?;
        let role = accounts::active_staff(&mut conn, staff_id)
            .await?
            .map(|s| s.role)
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        let open = repo::open_invoice_terms(&mut conn, customer_id, 100).await?;
        let ids: Vec<i64> = open.iter().map(|i| i.invoice_id).collect();
        let offers = self.discount_offers(&mut conn, customer_id, &ids).await?;
        drop(conn);
        let customer = self.customer_payment_terms(customer_id).await?;
        Ok(StaffTermsView {
            customer,
            invoices: open
                .into_iter()
                .map(|i| InvoiceTermsView {
                    invoice_id: i.invoice_id,
                    number: i.number,
                    own_terms: i.own.map(
                        |(bp, days)| match crate::domain::discount::effective_terms(
                            (Some(bp), days),
                            (None, None),
                        ) {
                            Some(t) => format_terms(&PaymentTerms {
                                discount: Some(t),
                                net_days: None,
                            }),
                            None => "none".to_owned(),
                        },
                    ),
                    offer: offers.get(&i.invoice_id).map(|o| o.sentence(i.currency)),
                })
                .collect(),
            can_edit: role == StaffRole::Admin,
        })
    }

    /// An AR admin sets a customer's terms ("2/10 net 30"; "net 30" or
    /// empty for no discount). The net days become the default of the
    /// customer's future invoices; invoices keep their due dates.
    pub async fn set_customer_payment_terms(
        &self,
        staff_id: i64,
        customer_id: i64,
        text: &str,
    ) -> ServiceResult<CustomerTermsView> {
        let terms = parse_terms(text).map_err(|e| ServiceError::invalid_field("terms", e))?;
        let mut tx = self.db.begin_write().await?;
        require_admin(&mut tx, staff_id).await?;
        if !repo::set_customer_terms(&mut tx, customer_id, terms.discount, terms.net_days).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        self.customer_payment_terms(customer_id).await
    }

    /// An AR admin sets one invoice's own discount terms ("2/10", "none"
    /// for no discount on it, empty for the customer's).
    pub async fn set_invoice_payment_terms(
        &self,
        staff_id: i64,
        customer_id: i64,
        invoice_id: i64,
        text: &str,
    ) -> ServiceResult<()> {
        let trimmed = text.trim();
        let terms = if trimmed.is_empty() {
            None
        } else {
            let parsed =
                parse_terms(trimmed).map_err(|e| ServiceError::invalid_field("terms", e))?;
            Some(parsed.discount)
        };
        let mut tx = self.db.begin_write().await?;
        require_admin(&mut tx, staff_id).await?;
        if !repo::set_invoice_terms(&mut tx, customer_id, invoice_id, terms).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The seller's line under the payment methods when both card and
    /// ACH are offered ("Paying by bank transfer (ACH) costs us less…").
    pub async fn ach_note(&self) -> ServiceResult<String> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(repo::ach_note(&mut conn).await?)
    }

    /// The pay page settings as AR sees them: the ACH line, and whether
    /// this staff user may change it (admins).
    pub async fn payment_settings_view(&self, staff_id: i64) -> ServiceResult<(String, bool)> {
        let mut conn = self.db.pool.acquire().await?;
        let role = accounts::active_staff(&mut conn, staff_id)
            .await?
            .map(|s| s.role)
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        Ok((repo::ach_note(&mut conn).await?, role == StaffRole::Admin))
    }

    /// An AR admin changes that line (empty: no line).
    pub async fn save_ach_note(&self, staff_id: i64, note: &str) -> ServiceResult<String> {
        let note = note.trim();
        if note.chars().count() > 200 {
            return Err(ServiceError::invalid_field(
                "ach_note",
                "Keep the ACH note to 200 characters: it is one line on the pay page.",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        require_admin(&mut tx, staff_id).await?;
        repo::set_ach_note(&mut tx, note, staff_id, self.clock.now()).await?;
        tx.commit().await?;
        Ok(note.to_owned())
    }
}

/// Writes the discount's credit note and applies it to the invoice.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn grant(
    conn: &mut Conn,
    customer_id: i64,
    invoice_number: &str,
    invoice_id: i64,
    currency: Currency,
    discount_minor: i64,
    rate_bp: i64,
    last_day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let reason = format!(
        "Early-payment discount: {}% of invoice {invoice_number} ({}) for paying in full by {}",
        format_rate(rate_bp),
        Money::new(discount_minor, currency).display(),
        last_day.format("%b %-d, %Y")
    );
    let credit_note_id = repo::insert_discount_note(
        conn,
        customer_id,
        invoice_number,
        currency,
        discount_minor,
        &reason,
        now.date_naive(),
        now,
    )
    .await?;
    ledger::apply_credit(conn, credit_note_id, invoice_id, discount_minor, now).await?;
    Ok(credit_note_id)
}

async fn require_admin(conn: &mut Conn, staff_id: i64) -> ServiceResult<()> {
    match accounts::active_staff(conn, staff_id)
        .await?
        .map(|s| s.role)
    {
        Some(StaffRole::Admin) => Ok(()),
        Some(StaffRole::Agent) => Err(ServiceError::Forbidden(
            "Only AR admins can change payment terms and the pay page's notes.".into(),
        )),
        None => Err(ServiceError::Forbidden(
            "This is for active AR staff only".into(),
        )),
    }
}
