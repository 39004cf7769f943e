//! Paying invoices: what can be paid, the checked plan of a payment, and
//! starting it at the gateway. The ledger changes that follow come from
//! gateway events (services::webhooks).

use chrono::NaiveDate;

use super::Services;
use crate::domain::audit::Action;
use crate::domain::payment_state::PaymentStatus;
use crate::domain::{ContactRole, Currency, EmailAddress, Money};
use crate::error::{ServiceError, ServiceResult};
use crate::payments::{CheckoutLine, CheckoutRequest, CustomerRequest, PayMethod};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::discounts as discounts_repo;
use crate::repo::ledger::{self, NewPayment, OpenCredit, PayableInvoice};
use crate::repo::payments::{self as payments_repo, PaymentRow};
use crate::repo::{accounts, invoice_links, invoices, Conn};

/// Who pays: a signed-in contact with the payer or admin role on the
/// account, or whoever holds an invoice link from a reminder, for that one
/// invoice only (DESIGN.md: the link "opens that invoice and lets the
/// reader pay it"). A link payment records the link, and only that link's
/// session reaches the payment afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payer {
    Contact(i64),
    InvoiceLink(i64),
}

impl Payer {
    /// The payer a signed-in request stands for (staff pay nothing here).
    pub fn of(principal: crate::domain::Principal) -> Option<Payer> {
        match principal {
            crate::domain::Principal::Contact { contact_id } => Some(Payer::Contact(contact_id)),
            crate::domain::Principal::InvoiceLink { link_id } => Some(Payer::InvoiceLink(link_id)),
            crate::domain::Principal::Staff { .. } => None,
        }
    }

    fn contact_id(self) -> Option<i64> {
        match self {
            Payer::Contact(id) => Some(id),
            Payer::InvoiceLink(_) => None,
        }
    }

    fn invoice_link_id(self) -> Option<i64> {
        match self {
            Payer::InvoiceLink(id) => Some(id),
            Payer::Contact(_) => None,
        }
    }
}

/// What a payer may pay on one account.
struct PayerScope {
    customer_name: String,
    /// The one invoice a link pays; `None` for a contact (any invoice).
    only_invoice: Option<i64>,
}

impl PayerScope {
    /// Whether every invoice named is one this payer may pay. A link
    /// asked for another invoice of the account answers 404, as the page
    /// of that invoice does.
    fn check(&self, invoice_ids: &[i64]) -> ServiceResult<()> {
        match self.only_invoice {
            Some(only) if invoice_ids.iter().any(|id| *id != only) => Err(ServiceError::NotFound),
            _ => Ok(()),
        }
    }

    /// Credit notes belong to the account: a link holder, who sees one
    /// invoice and nothing else of the account, is not offered them.
    fn sees_credits(&self) -> bool {
        self.only_invoice.is_none()
    }
}

/// What the payment form offers for a selection of invoices.
#[derive(Clone, Debug)]
pub struct PaymentChoice {
    pub customer_name: String,
    pub currency: Currency,
    pub invoices: Vec<PayableInvoice>,
    pub credits: Vec<OpenCredit>,
    pub methods: Vec<PayMethod>,
    pub contact_email: String,
}

/// The customer's answers on the payment form, as typed.
#[derive(Clone, Debug, Default)]
pub struct PaymentDraft {
    /// (invoice id, amount text) in the order shown.
    pub amounts: Vec<(i64, String)>,
    pub credit_note_ids: Vec<i64>,
    pub method: String,
    pub receipt_email: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanLine {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: NaiveDate,
    /// What this payment settles on the invoice…
    pub amount_minor: i64,
    /// …of which an early-payment discount covers this much (issue 13:
    /// the whole balance paid by the discount's last day)…
    pub discount_minor: i64,
    /// …credit notes this much…
    pub credit_minor: i64,
    /// …and the card or bank pays the rest.
    pub charge_minor: i64,
}

/// A checked payment: every amount within its invoice's payable balance.
#[derive(Clone, Debug)]
pub struct PaymentPlan {
    pub customer_name: String,
    pub currency: Currency,
    pub lines: Vec<PlanLine>,
    /// (credit note, amount used) per selected credit.
    pub credits: Vec<(OpenCredit, i64)>,
    pub method: PayMethod,
    pub receipt_email: EmailAddress,
}

impl PaymentPlan {
    pub fn total_minor(&self) -> i64 {
        self.lines.iter().map(|l| l.amount_minor).sum()
    }
    pub fn credit_minor(&self) -> i64 {
        self.lines.iter().map(|l| l.credit_minor).sum()
    }
    pub fn discount_minor(&self) -> i64 {
        self.lines.iter().map(|l| l.discount_minor).sum()
    }
    pub fn charge_minor(&self) -> i64 {
        self.lines.iter().map(|l| l.charge_minor).sum()
    }
}

/// The payment form's fields: `invoice` (repeated), `amount_<id>`,
/// `credit` (repeated), `method`, `email`.
impl PaymentDraft {
    pub fn from_pairs(pairs: &[(String, String)]) -> PaymentDraft {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ids = |name: &str| -> Vec<i64> {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect()
        };
        PaymentDraft {
            amounts: ids("invoice")
                .into_iter()
                .map(|id| (id, value(&format!("amount_{id}"))))
                .collect(),
            credit_note_ids: ids("credit"),
            method: value("method"),
            receipt_email: value("email"),
        }
    }
}

/// Where the browser goes after pressing "Pay".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedPayment {
    pub redirect: String,
}

/// Why "Pay" sent the customer back to the review page. The review page
/// gets only this code in its URL (never text a link could choose) and
/// checks the payment again itself, so it also shows what changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayProblem {
    /// The invoices, holds or role changed since the review page was drawn.
    Changed,
    /// The form's one-time key is missing or malformed.
    Stale,
    /// A chosen credit was used by another payment meanwhile.
    CreditTaken,
    /// The payment provider could not be reached; nothing was charged.
    GatewayUnreachable,
}

impl PayProblem {
    pub const ALL: [PayProblem; 4] = [
        PayProblem::Changed,
        PayProblem::Stale,
        PayProblem::CreditTaken,
        PayProblem::GatewayUnreachable,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PayProblem::Changed => "changed",
            PayProblem::Stale => "stale",
            PayProblem::CreditTaken => "credit_taken",
            PayProblem::GatewayUnreachable => "gateway",
        }
    }

    /// Unknown codes are ignored (the page then says nothing extra).
    pub fn parse(code: &str) -> Option<PayProblem> {
        PayProblem::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn message(self) -> &'static str {
        match self {
            PayProblem::Changed => "Nothing was paid: something changed since this page was shown. Check the payment below and press Pay again.",
            PayProblem::Stale => "This payment form is out of date: review the payment below and press Pay again.",
            PayProblem::CreditTaken => "Nothing was paid: a credit you chose was just used by another payment. Review the payment below and press Pay again.",
            PayProblem::GatewayUnreachable => "The payment provider could not be reached. Nothing was charged; please try again in a minute.",
        }
    }
}

fn invalid<T>(message: impl Into<String>) -> ServiceResult<T> {
    Err(ServiceError::invalid(message))
}

/// Checks a draft against the invoices and credits as they are now. Pure,
/// so the review page and the final "Pay" (under lock) agree.
pub fn plan_payment(
    customer_name: &str,
    invoices: &[PayableInvoice],
    credits: &[OpenCredit],
    draft: &PaymentDraft,
) -> ServiceResult<PaymentPlan> {
    if draft.amounts.is_empty() {
        return invalid("Choose at least one invoice to pay.");
    }
    let mut lines = Vec::new();
    let mut currency: Option<Currency> = None;
    for (invoice_id, text) in &draft.amounts {
        if lines.iter().any(|l: &PlanLine| l.invoice_id == *invoice_id) {
            return invalid("An invoice is listed twice; pay each invoice once.");
        }
        let Some(invoice) = invoices.iter().find(|i| i.invoice_id == *invoice_id) else {
            return invalid("One of the invoices is not on this account.");
        };
        match currency {
            None => currency = Some(invoice.currency),
            Some(c) if c != invoice.currency => {
                return invalid(format!(
                    "A payment is in one currency: invoice {} is in {}, others in {}. Pay them separately.",
                    invoice.number,
                    invoice.currency.code(),
                    c.code()
                ))
            }
            Some(_) => {}
        }
        let number = &invoice.number;
        if invoice.voided {
            return invalid(format!(
                "Invoice {number} is void; there is nothing to pay."
            ));
        }
        let payable = invoice.payable_minor();
        let money = |minor| Money::new(minor, invoice.currency).display();
        if payable == 0 {
            return invalid(if invoice.pending_minor > 0 {
                format!("Invoice {number} already has a payment in progress for its whole balance. Wait for it to finish, or cancel it from the payment history.")
            } else if invoice.disputed_minor > 0 {
                format!("Invoice {number} is disputed for its whole open balance; nothing can be paid until the dispute is resolved or withdrawn.")
            } else {
                format!("Invoice {number} is paid; there is nothing left to pay.")
            });
        }
        let amount = Money::parse_amount(text, invoice.currency)
            .map_err(|e| ServiceError::invalid(format!("Amount for invoice {number}: {e}.")))?
            .minor;
        if amount <= 0 {
            return invalid(format!(
                "Amount for invoice {number} must be more than zero."
            ));
        }
        if amount > payable {
            return invalid(if invoice.disputed_minor > 0 {
                // The held dispute is why: say so rather than "the balance".
                format!(
                    "Invoice {number}: at most {} can be paid now; {} is disputed and held until the dispute is resolved.",
                    money(payable),
                    money(invoice.disputed_minor)
                )
            } else if invoice.pending_minor > 0 {
                format!(
                    "Invoice {number}: at most {} can be paid now; {} is already in a payment in progress.",
                    money(payable),
                    money(invoice.pending_minor)
                )
            } else {
                format!(
                    "Invoice {number}: the open balance is {}; you cannot pay more than that.",
                    money(payable)
                )
            });
        }
        // Paying at least the discounted amount by the last day settles the
        // whole balance: the discount covers the rest. Less is a partial
        // payment, without discount.
        let (amount, discount) = match invoice.discount {
            Some(offer) if amount >= offer.pay_minor => {
                (invoice.balance_minor, offer.discount_minor)
            }
            _ => (amount, 0),
        };
        lines.push(PlanLine {
            invoice_id: invoice.invoice_id,
            number: number.clone(),
            due_date: invoice.due_date,
            amount_minor: amount,
            discount_minor: discount,
            credit_minor: 0,
            charge_minor: amount - discount,
        });
    }
    let currency = currency.expect("at least one line");
    let method = PayMethod::parse(&draft.method)
        .ok_or_else(|| ServiceError::invalid_field("method", "Choose card or ACH bank debit."))?;
    if !method.available_for(currency) {
        return invalid(format!(
            "ACH bank debit is for USD payments only; pay {} invoices by card.",
            currency.code()
        ));
    }
    let receipt_email = EmailAddress::parse(&draft.receipt_email).map_err(|_| {
        ServiceError::invalid_field(
            "email",
            "Enter the email address that should get the receipt.",
        )
    })?;

    // Credits settle the oldest invoices first.
    let mut chosen = Vec::new();
    for id in &draft.credit_note_ids {
        let Some(credit) = credits.iter().find(|c| c.credit_note_id == *id) else {
            return invalid("That credit is no longer available on this account.");
        };
        if credit.currency != currency {
            return invalid(format!(
                "Credit {} is in {}; it cannot be applied to {} invoices.",
                credit.number,
                credit.currency.code(),
                currency.code()
            ));
        }
        if !chosen
            .iter()
            .any(|(c, _): &(OpenCredit, i64)| c.credit_note_id == *id)
        {
            chosen.push((credit.clone(), 0));
        }
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| (lines[i].due_date, lines[i].invoice_id));
    for (credit, used) in chosen.iter_mut() {
        let mut left = credit.unapplied_minor;
        for &i in &order {
            let take = left.min(lines[i].charge_minor);
            lines[i].credit_minor += take;
            lines[i].charge_minor -= take;
            left -= take;
            *used += take;
        }
    }
    chosen.retain(|(_, used)| *used > 0);
    Ok(PaymentPlan {
        customer_name: customer_name.to_owned(),
        currency,
        lines,
        credits: chosen,
        method,
        receipt_email,
    })
}

/// The offer a plan line took, if it took one.
fn discount_of(
    invoices: &[PayableInvoice],
    line: &PlanLine,
) -> Option<crate::domain::discount::DiscountOffer> {
    if line.discount_minor == 0 {
        return None;
    }
    invoices
        .iter()
        .find(|i| i.invoice_id == line.invoice_id)
        .and_then(|i| i.discount)
}

/// Form tokens are random (see the review page); anything else is refused.
fn valid_attempt_key(key: &str) -> bool {
    (16..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Services {
    /// Fills in the early-payment discount each invoice is offered now.
    async fn attach_discounts(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        invoices: &mut [PayableInvoice],
        seller_zone: Option<chrono_tz::Tz>,
    ) -> ServiceResult<()> {
        let ids: Vec<i64> = invoices.iter().map(|i| i.invoice_id).collect();
        let offers = match seller_zone {
            Some(zone) => {
                self.discount_offers_in(conn, customer_id, &ids, zone)
                    .await?
            }
            None => self.discount_offers(conn, customer_id, &ids).await?,
        };
        for invoice in invoices.iter_mut() {
            invoice.discount = offers.get(&invoice.invoice_id).copied();
        }
        Ok(())
    }

    /// The contact's role on the account, if a member.
    async fn payer_role(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<(String, ContactRole)> {
        accounts::memberships(conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .map(|m| (m.customer_name, m.role))
            .ok_or(ServiceError::NotFound)
    }

    async fn require_payer(
        &self,
        conn: &mut Conn,
        payer: Payer,
        customer_id: i64,
    ) -> ServiceResult<PayerScope> {
        match payer {
            Payer::Contact(contact_id) => {
                let (name, role) = self.payer_role(conn, contact_id, customer_id).await?;
                if !role.can_pay() {
                    return Err(ServiceError::Forbidden(format!(
                        "Your role on {name} lets you view invoices but not pay them. An admin of the account can give you the payer role."
                    )));
                }
                Ok(PayerScope {
                    customer_name: name,
                    only_invoice: None,
                })
            }
            Payer::InvoiceLink(link_id) => {
                use crate::domain::invoice_link::LinkState;
                // Checked again here, not only by the session guard: a
                // link revoked between two requests pays nothing more.
                let now = self.clock.now();
                let link = invoice_links::by_id(conn, link_id)
                    .await?
                    .filter(|l| LinkState::of(l.revoked_at, l.expires_at, now) == LinkState::Active)
                    .filter(|l| l.customer_id == customer_id)
                    .ok_or(ServiceError::NotFound)?;
                let (name, _) = accounts::customer_name_terms(conn, customer_id)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                Ok(PayerScope {
                    customer_name: name,
                    only_invoice: Some(link.invoice_id),
                })
            }
        }
    }

    /// The name of the account a link holder pays on (404 when the link
    /// no longer opens anything), for pages that refuse before the form.
    pub async fn link_payer_customer_name(
        &self,
        link_id: i64,
        customer_id: i64,
    ) -> ServiceResult<String> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(self
            .require_payer(&mut conn, Payer::InvoiceLink(link_id), customer_id)
            .await?
            .customer_name)
    }

    /// The invoices picked for payment, with credits and methods on offer.
    pub async fn payment_choice(
        &self,
        payer: Payer,
        customer_id: i64,
        invoice_ids: &[i64],
    ) -> ServiceResult<PaymentChoice> {
        let mut conn = self.db.pool.acquire().await?;
        let scope = self.require_payer(&mut conn, payer, customer_id).await?;
        scope.check(invoice_ids)?;
        let customer_name = scope.customer_name.clone();
        if invoice_ids.is_empty() {
            return invalid("Tick the invoices you want to pay, then press “Pay selected”.");
        }
        if invoice_ids.len() > 100 {
            return invalid("Pay at most 100 invoices at a time.");
        }
        let mut invoices = ledger::payable_invoices(
            &mut conn,
            self.db.backend(),
            customer_id,
            invoice_ids,
            false,
        )
        .await?;
        self.attach_discounts(&mut conn, customer_id, &mut invoices, None)
            .await?;
        if invoices.len() != invoice_ids.len() {
            return Err(ServiceError::NotFound);
        }
        // Say up front what cannot be paid, rather than after the form.
        if let Some(i) = invoices.iter().find(|i| i.payable_minor() == 0) {
            return invalid(if i.voided {
                format!("Invoice {} is void; there is nothing to pay.", i.number)
            } else if i.pending_minor > 0 {
                format!(
                    "Invoice {} already has a payment in progress for its whole balance. Wait for it to finish, or cancel it from the payment history.",
                    i.number
                )
            } else if i.disputed_minor > 0 {
                format!(
                    "Invoice {} is disputed for its whole open balance; nothing can be paid until the dispute is resolved or withdrawn.",
                    i.number
                )
            } else {
                format!(
                    "Invoice {} is paid; there is nothing left to pay.",
                    i.number
                )
            });
        }
        let currencies: std::collections::BTreeSet<&str> =
            invoices.iter().map(|i| i.currency.code()).collect();
        if currencies.len() > 1 {
            return invalid(format!(
                "A payment is in one currency, and these invoices are in {}. Select the invoices of one currency.",
                currencies.into_iter().collect::<Vec<_>>().join(" and ")
            ));
        }
        let currency = invoices[0].currency;
        let credits = if scope.sees_credits() {
            ledger::open_credits(&mut conn, customer_id)
                .await?
                .into_iter()
                .filter(|c| c.currency == currency)
                .collect()
        } else {
            Vec::new()
        };
        // A link holder types the address the receipt goes to: the portal
        // knows nobody behind a link.
        let contact_email = match payer.contact_id() {
            Some(contact_id) => accounts::active_contact(&mut conn, contact_id)
                .await?
                .map(|c| c.email)
                .unwrap_or_default(),
            None => String::new(),
        };
        Ok(PaymentChoice {
            customer_name,
            currency,
            methods: [PayMethod::Card, PayMethod::Ach]
                .into_iter()
                .filter(|m| m.available_for(currency))
                .collect(),
            invoices,
            credits,
            contact_email,
        })
    }

    /// Checks a draft for the review page (nothing is written).
    pub async fn review_payment(
        &self,
        payer: Payer,
        customer_id: i64,
        draft: &PaymentDraft,
    ) -> ServiceResult<PaymentPlan> {
        let mut conn = self.db.pool.acquire().await?;
        let scope = self.require_payer(&mut conn, payer, customer_id).await?;
        let ids: Vec<i64> = draft.amounts.iter().map(|(id, _)| *id).collect();
        scope.check(&ids)?;
        let mut invoices =
            ledger::payable_invoices(&mut conn, self.db.backend(), customer_id, &ids, false)
                .await?;
        self.attach_discounts(&mut conn, customer_id, &mut invoices, None)
            .await?;
        let credits = if scope.sees_credits() {
            ledger::open_credits(&mut conn, customer_id).await?
        } else {
            Vec::new()
        };
        plan_payment(&scope.customer_name, &invoices, &credits, draft)
    }

    /// "Pay": holds the amounts back from the invoices (so a second tab or
    /// a double click cannot pay them again), applies chosen credits, and
    /// opens a checkout at the gateway. The same `attempt_key` (one per
    /// rendered review page) always leads to what its first press did,
    /// also when credits covered everything.
    pub async fn start_payment(
        &self,
        payer: Payer,
        customer_id: i64,
        draft: &PaymentDraft,
        attempt_key: &str,
        ip: Option<&str>,
    ) -> ServiceResult<Result<StartedPayment, PayProblem>> {
        if !valid_attempt_key(attempt_key) {
            return Ok(Err(PayProblem::Stale));
        }
        let now = self.clock.now();
        // Read before the write transaction (it should not wait for another
        // connection): the zone the discount's last day ends in.
        let seller_zone = self.seller_zone().await?;
        let mut tx = self.db.begin_write().await?;
        let scope = self.require_payer(&mut tx, payer, customer_id).await?;
        let ids: Vec<i64> = draft.amounts.iter().map(|(id, _)| *id).collect();
        if scope.check(&ids).is_err() {
            tx.rollback().await?;
            return Err(ServiceError::NotFound);
        }
        let customer_name = scope.customer_name.clone();
        // Everything below (holds, open credits, earlier presses) is read
        // and written under the account's lock: two "Pay" posts of one
        // account, whatever invoices they name, run one after the other.
        ledger::lock_customer(&mut tx, self.db.backend(), customer_id).await?;
        if let Some(earlier) = ledger::pay_attempt(&mut tx, attempt_key).await? {
            tx.rollback().await?;
            return self.repeat_of(payer, customer_id, earlier).await.map(Ok);
        }
        let mut invoices =
            ledger::payable_invoices(&mut tx, self.db.backend(), customer_id, &ids, true).await?;
        // The discount is locked now, as offered at this moment: a payment
        // started on the last day and settled after it still gets it.
        self.attach_discounts(&mut tx, customer_id, &mut invoices, Some(seller_zone))
            .await?;
        let credits = if scope.sees_credits() {
            ledger::open_credits(&mut tx, customer_id).await?
        } else {
            Vec::new()
        };
        let plan = match plan_payment(&customer_name, &invoices, &credits, draft) {
            Ok(plan) => plan,
            Err(_) => {
                tx.rollback().await?;
                return Ok(Err(PayProblem::Changed));
            }
        };
        // A link holder is nobody the portal knows: "anonymous", as when
        // the link was opened, with the link in the payment's detail.
        let (actor_kind, actor_id) = match payer {
            Payer::Contact(contact_id) => ("contact", Some(contact_id)),
            Payer::InvoiceLink(_) => ("anonymous", None),
        };
        let audit_event = |action: Action, subject: String, detail: serde_json::Value| AuditEvent {
            actor_kind,
            actor_id,
            customer_id: Some(customer_id),
            action,
            detail,
            ip,
            subject: Some(subject),
        };
        // Credits first, oldest invoice first, as planned.
        let mut credit_left: Vec<(i64, i64)> = plan
            .credits
            .iter()
            .map(|(c, used)| (c.credit_note_id, *used))
            .collect();
        for line in plan.lines.iter().filter(|l| l.credit_minor > 0) {
            let mut need = line.credit_minor;
            for (credit_note_id, left) in credit_left.iter_mut().filter(|(_, left)| *left > 0) {
                let take = need.min(*left);
                if take == 0 {
                    break;
                }
                match ledger::apply_credit(&mut tx, *credit_note_id, line.invoice_id, take, now)
                    .await
                {
                    Ok(()) => {}
                    // The database's own guard: never more than the note.
                    Err(e) if ledger::is_check_violation(&e) => {
                        tracing::warn!(
                            credit_note_id,
                            "a credit was refused by the database guard"
                        );
                        tx.rollback().await?;
                        return Ok(Err(PayProblem::CreditTaken));
                    }
                    Err(e) => return Err(e.into()),
                }
                *left -= take;
                need -= take;
            }
            audit::record(
                &mut tx,
                now,
                audit_event(
                    Action::CreditApplied,
                    format!("invoice:{}", line.invoice_id),
                    serde_json::json!({"amount_minor": line.credit_minor}),
                ),
            )
            .await?;
        }
        let charge = plan.charge_minor();
        let return_key = crate::domain::token::mint_token().plain;
        let payment_id = if charge > 0 {
            let payment_id = ledger::insert_pending(
                &mut tx,
                NewPayment {
                    customer_id,
                    currency: plan.currency,
                    amount_minor: charge,
                    method: plan.method.key(),
                    gateway: self.gateway.name(),
                    attempt_key,
                    contact_id: payer.contact_id(),
                    invoice_link_id: payer.invoice_link_id(),
                    receipt_email: plan.receipt_email.as_str(),
                    credit_applied_minor: plan.credit_minor(),
                    return_key: &return_key,
                },
                now,
            )
            .await?;
            for line in plan.lines.iter().filter(|l| l.charge_minor > 0) {
                ledger::insert_allocation(&mut tx, payment_id, line.invoice_id, line.charge_minor)
                    .await?;
                // The discount is granted when this payment succeeds;
                // meanwhile it is held like the allocation.
                if let Some(offer) = discount_of(&invoices, line) {
                    discounts_repo::insert_locked(
                        &mut tx,
                        payment_id,
                        line.invoice_id,
                        line.discount_minor,
                        offer.rate_bp,
                        offer.last_day,
                    )
                    .await?;
                }
            }
            let detail = serde_json::json!({"payment_id": payment_id, "amount_minor": charge, "method": plan.method.key(), "invoice_link_id": payer.invoice_link_id()});
            audit::record(
                &mut tx,
                now,
                audit_event(
                    Action::PaymentPending,
                    format!("payment:{payment_id}"),
                    detail.clone(),
                ),
            )
            .await?;
            for line in plan.lines.iter().filter(|l| l.charge_minor > 0) {
                audit::record(
                    &mut tx,
                    now,
                    audit_event(
                        Action::PaymentPending,
                        format!("invoice:{}", line.invoice_id),
                        detail.clone(),
                    ),
                )
                .await?;
            }
            Some(payment_id)
        } else {
            None
        };
        // Credits covered the discounted amount: no money moves for this
        // invoice, so the discount is granted now.
        for line in plan.lines.iter().filter(|l| l.charge_minor == 0) {
            if let Some(offer) = discount_of(&invoices, line) {
                super::discounts::grant(
                    &mut tx,
                    customer_id,
                    &line.number,
                    line.invoice_id,
                    plan.currency,
                    line.discount_minor,
                    offer.rate_bp,
                    offer.last_day,
                    now,
                )
                .await?;
                audit::record(
                    &mut tx,
                    now,
                    audit_event(
                        Action::CreditApplied,
                        format!("invoice:{}", line.invoice_id),
                        serde_json::json!({"amount_minor": line.discount_minor, "early_payment_discount": true}),
                    ),
                )
                .await?;
            }
        }
        for line in &plan.lines {
            invoices::refresh_settlement(&mut tx, line.invoice_id).await?;
        }
        let attempt = ledger::PayAttempt {
            customer_id,
            payment_id,
            invoice_id: plan.lines[0].invoice_id,
        };
        if let Err(e) = ledger::insert_pay_attempt(&mut tx, attempt_key, &attempt, now).await {
            tx.rollback().await?;
            if !ledger::is_unique_violation(&e) {
                return Err(e.into());
            }
            // The same form pressed twice at once: the other press won.
            let mut conn = self.db.pool.acquire().await?;
            let earlier = ledger::pay_attempt(&mut conn, attempt_key)
                .await?
                .ok_or(ServiceError::NotFound)?;
            return self.repeat_of(payer, customer_id, earlier).await.map(Ok);
        }
        tx.commit().await?;

        let Some(payment_id) = payment_id else {
            // Credits covered everything: no money moves.
            return Ok(Ok(StartedPayment {
                redirect: format!("/accounts/{customer_id}/invoices/{}", attempt.invoice_id),
            }));
        };
        match self
            .open_checkout(customer_id, payment_id, &plan, attempt_key, &return_key)
            .await
        {
            Ok(url) => Ok(Ok(StartedPayment { redirect: url })),
            Err(e) => {
                e.log("opening a checkout");
                let reason = match &e {
                    ServiceError::Unavailable(message) => message.as_str(),
                    _ => "The payment could not be started.",
                };
                // Nothing was charged: release the held amounts now.
                self.cancel_without_checkout(payment_id, reason).await?;
                Ok(Err(PayProblem::GatewayUnreachable))
            }
        }
    }

    /// Where a repeated press of one "Pay" form leads: what the first did.
    async fn repeat_of(
        &self,
        payer: Payer,
        customer_id: i64,
        earlier: ledger::PayAttempt,
    ) -> ServiceResult<StartedPayment> {
        if earlier.customer_id != customer_id {
            return Err(ServiceError::NotFound);
        }
        match earlier.payment_id {
            Some(payment_id) => self.continue_payment(payer, customer_id, payment_id).await,
            None => Ok(StartedPayment {
                redirect: format!("/accounts/{customer_id}/invoices/{}", earlier.invoice_id),
            }),
        }
    }

    /// Creates the gateway's customer (once) and the Checkout Session.
    async fn open_checkout(
        &self,
        customer_id: i64,
        payment_id: i64,
        plan: &PaymentPlan,
        attempt_key: &str,
        return_key: &str,
    ) -> ServiceResult<String> {
        let unreachable = |e: crate::payments::GatewayError| {
            tracing::warn!(payment_id, error = %e, "checkout not started");
            ServiceError::Unavailable("The payment provider could not be reached.".to_owned())
        };
        let db_error = |e: sqlx::Error| ServiceError::internal("starting a checkout", e);
        let mut conn = self.db.pool.acquire().await.map_err(db_error)?;
        let gateway_customer = match ledger::gateway_customer_id(&mut conn, customer_id)
            .await
            .map_err(db_error)?
        {
            Some(id) => id,
            None => {
                let id = self
                    .gateway
                    .create_customer(&CustomerRequest {
                        customer_id,
                        name: plan.customer_name.clone(),
                        email: plan.receipt_email.as_str().to_owned(),
                    })
                    .await
                    .map_err(unreachable)?;
                ledger::set_gateway_customer_id(&mut conn, customer_id, &id)
                    .await
                    .map_err(db_error)?;
                ledger::gateway_customer_id(&mut conn, customer_id)
                    .await
                    .map_err(db_error)?
                    .unwrap_or(id)
            }
        };
        let expires_at = self.clock.now() + chrono::Duration::minutes(self.config.checkout_minutes);
        let base = format!("/accounts/{customer_id}/payments/{payment_id}");
        let request = CheckoutRequest {
            payment_id,
            idempotency_key: format!("portal-checkout-{attempt_key}"),
            gateway_customer_id: gateway_customer,
            currency: plan.currency,
            method: plan.method,
            lines: plan
                .lines
                .iter()
                .filter(|l| l.charge_minor > 0)
                .map(|l| CheckoutLine {
                    name: if l.discount_minor > 0 {
                        format!(
                            "Invoice {} (less {} early-payment discount)",
                            l.number,
                            Money::new(l.discount_minor, plan.currency).display()
                        )
                    } else {
                        format!("Invoice {}", l.number)
                    },
                    amount_minor: l.charge_minor,
                })
                .collect(),
            receipt_email: plan.receipt_email.as_str().to_owned(),
            success_url: self.config.link(&format!(
                "{base}/return?key={return_key}&session_id={{CHECKOUT_SESSION_ID}}"
            )),
            cancel_url: self.config.link(&format!("{base}/cancel?key={return_key}")),
            expires_at,
        };
        let created = self
            .gateway
            .create_checkout(&request)
            .await
            .map_err(unreachable)?;
        let mut tx = self.db.begin_write().await.map_err(db_error)?;
        ledger::set_checkout(
            &mut tx,
            payment_id,
            &created.session_id,
            &created.url,
            expires_at,
            self.clock.now(),
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(created.url)
    }

    /// A second press of the same "Pay" button: back to the same checkout
    /// while it is open, else to the payment's page.
    async fn continue_payment(
        &self,
        payer: Payer,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<StartedPayment> {
        let payment = self.own_payment(payer, customer_id, payment_id).await?;
        let redirect = match (payment.status, &payment.checkout_url) {
            (PaymentStatus::Pending, Some(url)) => url.clone(),
            _ => format!("/accounts/{customer_id}/payments/{payment_id}"),
        };
        Ok(StartedPayment { redirect })
    }

    /// A payment of an account on which the contact may pay: only payers
    /// and admins continue, check or cancel a checkout (viewers see the
    /// payment through the history pages, never these actions). A link
    /// holder reaches only the payments made through that link.
    pub async fn own_payment(
        &self,
        payer: Payer,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<PaymentRow> {
        let mut conn = self.db.pool.acquire().await?;
        self.require_payer(&mut conn, payer, customer_id).await?;
        payments_repo::payment(&mut conn, payment_id)
            .await?
            .map(|(p, _)| p)
            .filter(|p| p.customer_id == customer_id)
            .filter(|p| match payer {
                Payer::Contact(_) => true,
                Payer::InvoiceLink(link_id) => p.invoice_link_id == Some(link_id),
            })
            .ok_or(ServiceError::NotFound)
    }

    /// The payment behind Checkout's return or cancel URL, if `key` is the
    /// random value that URL carries (payment ids are sequential; the key
    /// is not guessable). Reading only: these URLs are GETs.
    pub async fn payment_for_return(
        &self,
        payer: Payer,
        customer_id: i64,
        payment_id: i64,
        key: &str,
    ) -> ServiceResult<PaymentRow> {
        let payment = self.own_payment(payer, customer_id, payment_id).await?;
        if !return_key_matches(payment.return_key.as_deref(), key) {
            return Err(ServiceError::NotFound);
        }
        Ok(payment)
    }

    /// Waits (reading, never writing) up to `patience` for a just-returned
    /// checkout's webhook to move the payment out of `pending`, so the
    /// customer usually lands on the outcome rather than on "pending".
    pub async fn wait_for_outcome(
        &self,
        payment_id: i64,
        patience: std::time::Duration,
    ) -> ServiceResult<()> {
        let step = std::time::Duration::from_millis(200);
        let mut waited = std::time::Duration::ZERO;
        loop {
            let mut conn = self.db.pool.acquire().await?;
            let status = payments_repo::payment(&mut conn, payment_id)
                .await?
                .map(|(p, _)| p.status);
            drop(conn);
            if status != Some(PaymentStatus::Pending) || waited >= patience {
                return Ok(());
            }
            tokio::time::sleep(step).await;
            waited += step;
        }
    }

    /// "Check the status now" (a POST from the payment page): asks the
    /// gateway how the checkout went, in case its webhook is late.
    pub async fn check_payment_status(
        &self,
        payer: Payer,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<PaymentRow> {
        let payment = self.own_payment(payer, customer_id, payment_id).await?;
        if payment.status == PaymentStatus::Pending {
            self.refresh_from_gateway(payment_id).await?;
        }
        self.own_payment(payer, customer_id, payment_id).await
    }

    /// "Cancel this payment" (a POST from the payment page): end the
    /// checkout so it cannot be paid later, and release the held amounts.
    pub async fn cancel_checkout(
        &self,
        payer: Payer,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<PaymentRow> {
        let payment = self.own_payment(payer, customer_id, payment_id).await?;
        if payment.status == PaymentStatus::Pending {
            match &payment.gateway_session_id {
                Some(session) => match self.gateway.expire_checkout(session).await {
                    Ok(()) => {}
                    // Already complete (paid in another tab) or unreachable:
                    // the session's real state decides below.
                    Err(e) => tracing::info!(payment_id, error = %e, "checkout not expired"),
                },
                None => {
                    self.cancel_without_checkout(payment_id, "The checkout was left.")
                        .await?
                }
            }
            self.refresh_from_gateway(payment_id).await?;
        }
        self.own_payment(payer, customer_id, payment_id).await
    }
}

/// Payments made before return keys existed have none; their URLs carry
/// none either, and the GETs they reach only read.
fn return_key_matches(stored: Option<&str>, given: &str) -> bool {
    use sha2::Digest;
    match stored {
        None => true,
        // Compare digests so the time taken says nothing about the key.
        Some(stored) => sha2::Sha256::digest(stored) == sha2::Sha256::digest(given),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(id: i64, balance: i64, pending: i64, currency: &str) -> PayableInvoice {
        PayableInvoice {
            invoice_id: id,
            number: format!("INV-{id}"),
            currency: Currency::parse(currency).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 1, id as u32).unwrap(),
            balance_minor: balance,
            pending_minor: pending,
            disputed_minor: 0,
            voided: false,
            discount: None,
        }
    }

    fn draft(amounts: &[(i64, &str)], credits: &[i64]) -> PaymentDraft {
        PaymentDraft {
            amounts: amounts.iter().map(|(i, a)| (*i, a.to_string())).collect(),
            credit_note_ids: credits.to_vec(),
            method: "card".into(),
            receipt_email: "ap@example.com".into(),
        }
    }

    #[test]
    fn amounts_stay_within_what_is_payable() {
        let invoices = [
            invoice(1, 10_000, 0, "USD"),
            invoice(2, 5_000, 4_000, "USD"),
        ];
        let plan =
            plan_payment("A", &invoices, &[], &draft(&[(1, "40.00"), (2, "10")], &[])).unwrap();
        assert_eq!(plan.charge_minor(), 5_000);
        let over = plan_payment("A", &invoices, &[], &draft(&[(1, "100.01")], &[]))
            .unwrap_err()
            .to_string();
        assert!(over.contains("open balance is $100.00"), "{over}");
        let held = plan_payment("A", &invoices, &[], &draft(&[(2, "10.01")], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            held.contains("at most $10.00") && held.contains("in progress"),
            "{held}"
        );
        assert!(plan_payment("A", &invoices, &[], &draft(&[(1, "0")], &[])).is_err());
        assert!(plan_payment("A", &invoices, &[], &draft(&[(1, "-1")], &[])).is_err());
        assert!(plan_payment("A", &invoices, &[], &draft(&[(3, "1")], &[])).is_err());
        assert!(plan_payment("A", &invoices, &[], &draft(&[(1, "1"), (1, "1")], &[])).is_err());
    }

    #[test]
    fn one_currency_and_ach_in_dollars_only() {
        let invoices = [invoice(1, 100, 0, "USD"), invoice(2, 100, 0, "EUR")];
        assert!(
            plan_payment("A", &invoices, &[], &draft(&[(1, "1"), (2, "1")], &[]))
                .unwrap_err()
                .to_string()
                .contains("one currency")
        );
        let mut ach = draft(&[(2, "1")], &[]);
        ach.method = "ach".into();
        assert!(plan_payment("A", &invoices, &[], &ach)
            .unwrap_err()
            .to_string()
            .contains("USD"));
    }

    #[test]
    fn credits_settle_the_oldest_invoice_first() {
        let invoices = [invoice(1, 10_000, 0, "USD"), invoice(2, 10_000, 0, "USD")];
        let credits = [OpenCredit {
            credit_note_id: 9,
            number: "CN-9".into(),
            currency: Currency::USD,
            unapplied_minor: 12_000,
        }];
        let plan = plan_payment(
            "A",
            &invoices,
            &credits,
            &draft(&[(2, "100"), (1, "100")], &[9]),
        )
        .unwrap();
        assert_eq!(plan.credit_minor(), 12_000);
        assert_eq!(plan.charge_minor(), 8_000);
        let first = plan.lines.iter().find(|l| l.invoice_id == 1).unwrap();
        assert_eq!((first.credit_minor, first.charge_minor), (10_000, 0));
        assert_eq!(plan.credits[0].1, 12_000);
    }
}
