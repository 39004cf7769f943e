//! A customer account as AR sees it (issue 11 item 4): its contacts, open
//! balance with what is overdue and what disputes hold, the aging of the
//! statement of account, its requests, recent payments and a timeline of
//! what happened on it. Staff only; an unknown id is `NotFound`.
//!
//! The balance figures are the ones the customer sees: the totals of the
//! invoice list (`repo::invoices::open_totals`) and the statement's aging
//! (`domain::statement::build_statement` over the statement reads), as at
//! today, so AR and the customer never quote different numbers.

use chrono::{DateTime, Utc};

use super::Services;
use crate::domain::audit::Action;
use crate::domain::invoice_query::InvoiceQuery;
use crate::domain::statement::{build_statement, CurrencySummary};
use crate::domain::StaffRole;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::invoices::{self as invoices_repo, OpenTotals};
use crate::repo::payments::{self as payments_repo, AllocationRow, PaymentRow};
use crate::repo::requests::{self as requests_repo, RequestRow};
use crate::repo::staff_customers::{self as repo, AccountContact, AccountEvent};
use crate::repo::{accounts, statement as statement_repo};

/// How many payments and timeline entries the page shows.
pub const RECENT_PAYMENTS: i64 = 10;
pub const TIMELINE_EVENTS: i64 = 50;

/// One line of the account's timeline, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// Who: a contact's or staff user's name with their side, or "The
    /// portal" for the system.
    pub who: String,
    /// What they did, as a sentence fragment ("raised a dispute").
    pub what: String,
    pub request_id: Option<i64>,
    /// The invoice it was about, (id, number).
    pub invoice: Option<(i64, String)>,
}

#[derive(Clone, Debug)]
pub struct StaffCustomer {
    pub customer_id: i64,
    pub name: String,
    pub terms_days: i64,
    pub contacts: Vec<AccountContact>,
    /// Open, overdue and disputed (held) per currency.
    pub totals: Vec<OpenTotals>,
    /// The statement's aging per currency, as at today.
    pub aging: Vec<CurrencySummary>,
    /// Open requests first (oldest first), then closed ones, newest first.
    pub requests: Vec<RequestRow>,
    pub payments: Vec<(PaymentRow, Vec<AllocationRow>)>,
    pub timeline: Vec<TimelineEntry>,
}

impl Services {
    pub async fn staff_customer(
        &self,
        staff_id: i64,
        customer_id: i64,
    ) -> ServiceResult<StaffCustomer> {
        let today = self.today();
        let mut tx = self.db.pool.begin().await?;
        self.require_active_staff(&mut tx, staff_id).await?;
        let (name, terms_days) = accounts::customer_name_terms(&mut tx, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let contacts = repo::contacts(&mut tx, customer_id).await?;
        let totals =
            invoices_repo::open_totals(&mut tx, customer_id, &InvoiceQuery::default(), today)
                .await?;
        // The statement of today alone: its aging is the one the customer's
        // statement shows for any period ending today.
        let opening = statement_repo::opening_balances(&mut tx, customer_id, today).await?;
        let entries = statement_repo::entries_between(&mut tx, customer_id, today, today).await?;
        let open = payments_repo::open_at(&mut tx, customer_id, today).await?;
        // Aging as the customer's own statement shows it: disputed amounts
        // are held apart from the buckets (the balance card names them).
        let disputed = statement_repo::disputed_at(&mut tx, customer_id, today).await?;
        let mut statement = build_statement(today, today, &opening, &entries, &open);
        super::invoices::statements::hold_disputed_apart(&mut statement, &disputed);
        let aging = statement.currencies;
        let mut requests = requests_repo::customer_requests(&mut tx, customer_id).await?;
        let payments =
            payments_repo::payments_of_customer(&mut tx, customer_id, RECENT_PAYMENTS, 0).await?;
        let events = repo::account_events(&mut tx, customer_id, TIMELINE_EVENTS).await?;
        let invoice_ids: Vec<i64> = events
            .iter()
            .filter_map(|e| subject_id(e, "invoice:"))
            .collect();
        let numbers = repo::invoice_numbers(&mut tx, customer_id, &invoice_ids).await?;
        tx.commit().await?;

        // Newest first as read; the stable sort puts open ones ahead, and
        // the open ones oldest first (they wait longest).
        requests.sort_by_key(|r| !r.status.is_open());
        let open_count = requests.iter().filter(|r| r.status.is_open()).count();
        requests[..open_count].reverse();

        let timeline = events.iter().map(|e| timeline_entry(e, &numbers)).collect();
        Ok(StaffCustomer {
            customer_id,
            name,
            terms_days,
            contacts,
            totals,
            aging,
            requests,
            payments,
            timeline,
        })
    }
}

/// The document language part of AR's customer page (issue 15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerLanguageView {
    /// The customer's BCP 47 tag; `None`: documents follow the reader's
    /// browser language.
    pub language: Option<String>,
    /// Admins change it; agents see it.
    pub can_edit: bool,
}

impl Services {
    /// The customer's document language as AR's customer page shows it
    /// (any active staff).
    pub async fn staff_customer_language(
        &self,
        staff_id: i64,
        customer_id: i64,
    ) -> ServiceResult<CustomerLanguageView> {
        let mut conn = self.db.pool.acquire().await?;
        let role = accounts::active_staff(&mut conn, staff_id)
            .await?
            .map(|s| s.role)
            .ok_or_else(|| ServiceError::Forbidden("This is for active AR staff only".into()))?;
        let language = repo::customer_language(&mut conn, customer_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(CustomerLanguageView {
            language,
            can_edit: role == StaffRole::Admin,
        })
    }

    /// An AR admin sets the language of a customer's documents (issue 15):
    /// a BCP 47 tag ("pl", "ja", "he"), stored in its canonical case, or
    /// empty to clear it (documents then follow the reader's browser). A
    /// malformed tag is refused (`Invalid`, field `language`) and changes
    /// nothing; an agent gets `Forbidden`. Returns what is stored.
    pub async fn set_customer_language(
        &self,
        staff_id: i64,
        customer_id: i64,
        text: &str,
    ) -> ServiceResult<Option<String>> {
        let language = crate::pdf::parse_customer_language(text)
            .map_err(|e| ServiceError::invalid_field("language", e))?;
        let mut tx = self.db.begin_write().await?;
        match accounts::active_staff(&mut tx, staff_id)
            .await?
            .map(|s| s.role)
        {
            Some(StaffRole::Admin) => {}
            Some(StaffRole::Agent) => {
                return Err(ServiceError::Forbidden(
                    "Only AR admins can change a customer's document language.".into(),
                ))
            }
            None => {
                return Err(ServiceError::Forbidden(
                    "This is for active AR staff only".into(),
                ))
            }
        }
        if !repo::set_customer_language(&mut tx, customer_id, language.as_deref()).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        Ok(language)
    }

    /// The language of a document generated for the customer: theirs when
    /// AR set one, else `viewer_language` (the reader's Accept-Language).
    pub(crate) async fn customer_document_language(
        &self,
        conn: &mut crate::repo::Conn,
        customer_id: i64,
        viewer_language: &str,
    ) -> ServiceResult<String> {
        let customer = repo::customer_language(conn, customer_id).await?.flatten();
        Ok(crate::pdf::document_language(
            customer.as_deref(),
            viewer_language,
        ))
    }
}

fn subject_id(event: &AccountEvent, prefix: &str) -> Option<i64> {
    event.subject.as_deref()?.strip_prefix(prefix)?.parse().ok()
}

fn timeline_entry(event: &AccountEvent, numbers: &[(i64, String)]) -> TimelineEntry {
    let name = event.actor_name.clone();
    let who = match (event.actor_kind.as_str(), name) {
        ("contact", Some(n)) => format!("{n} (customer)"),
        ("contact", None) => "A contact of the customer".to_owned(),
        ("staff", Some(n)) => format!("{n} (AR)"),
        ("staff", None) => "AR".to_owned(),
        // An invoice link opened or paid through (issue 13), an autopay
        // skip link used: nobody signed in.
        ("anonymous", _) => "Someone with a link from an email".to_owned(),
        _ => "The portal".to_owned(),
    };
    let invoice = subject_id(event, "invoice:")
        .and_then(|id| numbers.iter().find(|(i, _)| *i == id).cloned());
    TimelineEntry {
        at: event.occurred_at,
        who,
        what: action_words(&event.action),
        request_id: subject_id(event, "request:"),
        invoice,
    }
}

/// What an audit action says on the timeline. Only the action's name is
/// read (never its stored detail), so nothing secret can show.
pub fn action_words(action: &str) -> String {
    let Some(action) = Action::parse(action) else {
        return "did something this version does not describe".to_owned();
    };
    match action {
        Action::SignInRateLimited => "was slowed down after too many sign-in attempts",
        Action::SignInLinkSent => "asked for a sign-in link",
        Action::SignInUnknownEmail => "tried to sign in with an unknown email",
        Action::SignInSucceeded => "signed in",
        Action::SignInFailed => "failed to sign in",
        Action::SignOut => "signed out",
        Action::SignOutEverywhere => "signed out everywhere",
        Action::AccessDisabled => "disabled a person's access",
        Action::InvoiceLinkCreated => "sent an invoice link",
        Action::InvoiceLinkOpened => "opened an invoice link",
        Action::InvoiceLinkRevoked => "revoked an invoice link",
        Action::InvoiceLinkRefreshed => "asked for a fresh invoice link",
        Action::CreditApplied => "applied a credit",
        Action::PaymentPending => "started a payment",
        Action::PaymentProcessing => "submitted a bank payment",
        Action::PaymentSucceeded => "recorded a successful payment",
        Action::PaymentFailed => "recorded a failed payment",
        Action::PaymentCanceled => "canceled a payment",
        Action::PaymentRefunded => "refunded a payment",
        Action::PaymentPartlyRefunded => "refunded part of a payment",
        Action::PaymentDisputed => "recorded a card dispute on a payment",
        Action::DisputeRaised => "raised a dispute",
        Action::DisputeWithdrawn => "withdrew a dispute",
        Action::DisputeReopened => "reopened a dispute",
        Action::RequestCustomerMessaged => "wrote on a request",
        Action::RequestAssigned => "changed who works a request",
        Action::RequestStaffReplied => "replied on a request",
        Action::RequestInternalNote => "wrote an internal note on a request",
        Action::RequestWaitingOnCustomer => "asked the customer and waits for the answer",
        Action::RequestResolved => "resolved a request",
        Action::RequestPriorityChanged => "changed a request's priority",
        Action::SlaSettingsChanged => "changed the SLA settings",
        // Actions added later read as their stored name in words.
        other => return other.as_str().replace(['.', '_'], " "),
    }
    .to_owned()
}
