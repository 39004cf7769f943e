//! The audit log's vocabulary: every action written to `audit_events.action`
//! and read back from it (the invoice activity, the fresh-link rate limit) is
//! named here once, so a writer and a reader cannot drift apart.

use crate::domain::PaymentStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    SignInRateLimited,
    SignInLinkSent,
    SignInUnknownEmail,
    SignInSucceeded,
    SignInFailed,
    SignOut,
    SignOutEverywhere,
    /// A person was disabled and their sessions ended.
    AccessDisabled,
    InvoiceLinkCreated,
    InvoiceLinkOpened,
    InvoiceLinkRevoked,
    InvoiceLinkRefreshed,
    CreditApplied,
    PaymentPending,
    PaymentProcessing,
    PaymentSucceeded,
    PaymentFailed,
    PaymentCanceled,
    PaymentRefunded,
    PaymentPartlyRefunded,
    PaymentDisputed,
    /// A customer raised a dispute on an invoice (issue 11).
    DisputeRaised,
    /// A customer withdrew their dispute.
    DisputeWithdrawn,
    /// A customer added a message (and files) to one of their requests.
    RequestCustomerMessaged,
    /// AR assigned a request to a staff user, or released it.
    RequestAssigned,
    /// AR replied to the customer on a request.
    RequestStaffReplied,
    /// AR wrote an internal note (never shown to the customer).
    RequestInternalNote,
    /// AR asked the customer something; the SLA clock pauses.
    RequestWaitingOnCustomer,
    /// AR resolved a request with an outcome.
    RequestResolved,
    /// An AR admin changed the business calendar or the SLA policies.
    SlaSettingsChanged,
    /// A customer reopened their resolved dispute (within 14 days).
    DisputeReopened,
    /// AR changed a request's priority (the SLA keeps the minutes used).
    RequestPriorityChanged,
    /// An AR admin added a dispute reason code.
    RequestReasonAdded,
    /// An AR admin renamed or reordered a reason code.
    RequestReasonChanged,
    /// An AR admin retired a reason code (kept on old requests).
    RequestReasonRetired,
    /// An AR admin offered a retired reason code again.
    RequestReasonReactivated,
    /// An AR admin changed a currency's payment plan policy or the plan
    /// job's grace and default days (issue 12).
    PlanPolicyChanged,
    /// A payment plan was approved (by AR, or by the policy).
    PlanApproved,
    /// AR proposed other terms for a customer's payment plan.
    PlanCountered,
    /// A payment plan was declined (by AR with a reason, or by the policy).
    PlanDeclined,
    /// A customer proposed a payment plan (the policy's verdict in the detail).
    PlanProposed,
    /// A customer asked AR to propose a payment plan.
    PlanRequested,
    /// A customer accepted AR's plan terms.
    PlanTermsAccepted,
    /// A customer declined AR's plan terms.
    PlanTermsDeclined,
    /// The plan job moved a plan (at risk, back on track, defaulted, completed).
    PlanStatusChanged,
    /// A customer saved a card or bank account for later (issue 12).
    PaymentMethodSaved,
    /// A customer removed a saved method (detached at the gateway).
    PaymentMethodRemoved,
    /// A customer chose which saved method is the default.
    PaymentMethodDefault,
    /// A customer agreed to autopay (the consent text is stored with the enrolment).
    AutopayEnrolled,
    /// A customer canceled autopay.
    AutopayCanceled,
    /// A customer skipped one announced autopay debit.
    AutopayDebitSkipped,
    /// An AR admin (or an operator with the CLI) created a seller API key
    /// (issue 14); the detail names it and its scopes, never its secret.
    ApiKeyCreated,
    /// An AR admin revoked a seller API key.
    ApiKeyRevoked,
}

impl Action {
    pub const ALL: [Action; 53] = [
        Action::SignInRateLimited,
        Action::SignInLinkSent,
        Action::SignInUnknownEmail,
        Action::SignInSucceeded,
        Action::SignInFailed,
        Action::SignOut,
        Action::SignOutEverywhere,
        Action::AccessDisabled,
        Action::InvoiceLinkCreated,
        Action::InvoiceLinkOpened,
        Action::InvoiceLinkRevoked,
        Action::InvoiceLinkRefreshed,
        Action::CreditApplied,
        Action::PaymentPending,
        Action::PaymentProcessing,
        Action::PaymentSucceeded,
        Action::PaymentFailed,
        Action::PaymentCanceled,
        Action::PaymentRefunded,
        Action::PaymentPartlyRefunded,
        Action::PaymentDisputed,
        Action::DisputeRaised,
        Action::DisputeWithdrawn,
        Action::RequestCustomerMessaged,
        Action::RequestAssigned,
        Action::RequestStaffReplied,
        Action::RequestInternalNote,
        Action::RequestWaitingOnCustomer,
        Action::RequestResolved,
        Action::SlaSettingsChanged,
        Action::DisputeReopened,
        Action::RequestPriorityChanged,
        Action::RequestReasonAdded,
        Action::RequestReasonChanged,
        Action::RequestReasonRetired,
        Action::RequestReasonReactivated,
        Action::PlanPolicyChanged,
        Action::PlanApproved,
        Action::PlanCountered,
        Action::PlanDeclined,
        Action::PlanProposed,
        Action::PlanRequested,
        Action::PlanTermsAccepted,
        Action::PlanTermsDeclined,
        Action::PlanStatusChanged,
        Action::PaymentMethodSaved,
        Action::PaymentMethodRemoved,
        Action::PaymentMethodDefault,
        Action::AutopayEnrolled,
        Action::AutopayCanceled,
        Action::AutopayDebitSkipped,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
    ];

    /// The text stored in `audit_events.action` (rows already written use
    /// it, so it never changes).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::SignInRateLimited => "sign_in.rate_limited",
            Action::SignInLinkSent => "sign_in.link_sent",
            Action::SignInUnknownEmail => "sign_in.unknown_email",
            Action::SignInSucceeded => "sign_in.succeeded",
            Action::SignInFailed => "sign_in.failed",
            Action::SignOut => "sign_out",
            Action::SignOutEverywhere => "sign_out.everywhere",
            Action::AccessDisabled => "access.disabled",
            Action::InvoiceLinkCreated => "invoice_link.created",
            Action::InvoiceLinkOpened => "invoice_link.opened",
            Action::InvoiceLinkRevoked => "invoice_link.revoked",
            Action::InvoiceLinkRefreshed => "invoice_link.refreshed",
            Action::CreditApplied => "credit.applied",
            Action::PaymentPending => "payment.pending",
            Action::PaymentProcessing => "payment.processing",
            Action::PaymentSucceeded => "payment.succeeded",
            Action::PaymentFailed => "payment.failed",
            Action::PaymentCanceled => "payment.canceled",
            Action::PaymentRefunded => "payment.refunded",
            Action::PaymentPartlyRefunded => "payment.partly_refunded",
            Action::PaymentDisputed => "payment.disputed",
            Action::DisputeRaised => "dispute.raised",
            Action::DisputeWithdrawn => "dispute.withdrawn",
            Action::RequestCustomerMessaged => "request.customer_messaged",
            Action::RequestAssigned => "request.assigned",
            Action::RequestStaffReplied => "request.staff_replied",
            Action::RequestInternalNote => "request.internal_note",
            Action::RequestWaitingOnCustomer => "request.waiting_on_customer",
            Action::RequestResolved => "request.resolved",
            Action::SlaSettingsChanged => "sla.settings_changed",
            Action::DisputeReopened => "dispute.reopened",
            Action::RequestPriorityChanged => "request.priority_changed",
            Action::RequestReasonAdded => "request_reason.added",
            Action::RequestReasonChanged => "request_reason.changed",
            Action::RequestReasonRetired => "request_reason.retired",
            Action::RequestReasonReactivated => "request_reason.reactivated",
            Action::PlanProposed => "plan.proposed",
            Action::PlanRequested => "plan.requested",
            Action::PlanTermsAccepted => "plan.terms_accepted",
            Action::PlanTermsDeclined => "plan.terms_declined",
            Action::PlanStatusChanged => "plan.status_changed",
            Action::PlanPolicyChanged => "plan.policy_changed",
            Action::PlanApproved => "plan.approved",
            Action::PlanCountered => "plan.countered",
            Action::PlanDeclined => "plan.declined",
            Action::PaymentMethodSaved => "payment_method.saved",
            Action::PaymentMethodRemoved => "payment_method.removed",
            Action::PaymentMethodDefault => "payment_method.default",
            Action::AutopayEnrolled => "autopay.enrolled",
            Action::AutopayCanceled => "autopay.canceled",
            Action::AutopayDebitSkipped => "autopay.debit_skipped",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
        }
    }

    /// The action a stored text names; `None` for one this version does not
    /// know (the log outlives the code that wrote it).
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// What a payment moving to `status` is logged as; a refund that leaves
    /// the payment succeeded is a partial one.
    pub fn of_payment(status: PaymentStatus, partly_refunded: bool) -> Action {
        match (status, partly_refunded) {
            (PaymentStatus::Succeeded, true) => Action::PaymentPartlyRefunded,
            (PaymentStatus::Pending, _) => Action::PaymentPending,
            (PaymentStatus::Processing, _) => Action::PaymentProcessing,
            (PaymentStatus::Succeeded, false) => Action::PaymentSucceeded,
            (PaymentStatus::Failed, _) => Action::PaymentFailed,
            (PaymentStatus::Canceled, _) => Action::PaymentCanceled,
            (PaymentStatus::Refunded, _) => Action::PaymentRefunded,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_as_itself() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("payment.teleported"), None);
        let texts: std::collections::HashSet<&str> =
            Action::ALL.into_iter().map(Action::as_str).collect();
        assert_eq!(texts.len(), Action::ALL.len(), "two actions share a text");
    }

    #[test]
    fn payment_actions_follow_the_status() {
        assert_eq!(
            Action::of_payment(PaymentStatus::Succeeded, true).as_str(),
            "payment.partly_refunded"
        );
        assert_eq!(
            Action::of_payment(PaymentStatus::Refunded, true).as_str(),
            "payment.refunded"
        );
        assert_eq!(
            Action::of_payment(PaymentStatus::Succeeded, false).as_str(),
            "payment.succeeded"
        );
    }
}
