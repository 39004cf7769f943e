//! Views of saved methods and autopay (issue 12).

use serde::{Deserialize, Serialize};

use super::Stamp;

/// A message at the top of a page: an outcome or a problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

/// One saved card or bank account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedMethodView {
    pub method_id: i64,
    /// "Visa card ending 4242".
    pub label: String,
    /// "Expires 12/2034", or "" for a bank account.
    pub detail: String,
    pub is_default: bool,
    /// Autopay charges this method.
    pub autopay: bool,
}

/// `/accounts/:customer_id/payment-methods`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentMethodsView {
    pub customer_id: i64,
    pub customer_name: String,
    pub can_manage: bool,
    pub methods: Vec<SavedMethodView>,
    pub notice: Option<Notice>,
}

/// The active enrolment, as agreed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolmentView {
    pub scope: String,
    pub method: String,
    pub when: String,
    pub consented_at: Stamp,
    pub consent_version: i64,
    pub consent_text: String,
}

/// One autopay charge attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutopayChargeView {
    pub date: Stamp,
    pub what: String,
    pub amount: String,
    pub attempt: i64,
    pub status: String,
    pub status_key: String,
    pub message: Option<String>,
    pub payment_href: String,
}

/// The enrolment form as last typed (a problem sends it back filled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutopayFormView {
    pub scope: String,
    pub max_amount: String,
    pub max_currency: String,
    pub days_before: String,
    pub method_id: String,
}

/// `/accounts/:customer_id/autopay`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutopayView {
    pub customer_id: i64,
    pub customer_name: String,
    pub can_manage: bool,
    pub enrolment: Option<EnrolmentView>,
    pub methods: Vec<SavedMethodView>,
    pub charges: Vec<AutopayChargeView>,
    pub form: AutopayFormView,
    /// Currencies the cap may be set in.
    pub currencies: Vec<String>,
    pub consent_version: i64,
    pub consent_text: String,
    pub notice: Option<Notice>,
}

/// `/autopay/skip/:token`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutopaySkipView {
    pub customer_name: String,
    pub what: String,
    pub amount: String,
    pub charge_on: String,
    pub skipped: bool,
    pub started: bool,
    pub notice: Option<Notice>,
}
