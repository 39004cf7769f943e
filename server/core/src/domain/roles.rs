//! Who is signed in, and what a contact may do on a customer account.

use serde::{Deserialize, Serialize};

/// A contact's role on one customer account (the same person may hold
/// different roles on different accounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Viewer,
    Payer,
    Admin,
}

impl ContactRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(ContactRole::Viewer),
            "payer" => Some(ContactRole::Payer),
            "admin" => Some(ContactRole::Admin),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ContactRole::Viewer => "viewer",
            ContactRole::Payer => "payer",
            ContactRole::Admin => "admin",
        }
    }

    pub fn can_pay(&self) -> bool {
        matches!(self, ContactRole::Payer | ContactRole::Admin)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Agent,
    Admin,
}

impl StaffRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(StaffRole::Agent),
            "admin" => Some(StaffRole::Admin),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            StaffRole::Agent => "agent",
            StaffRole::Admin => "admin",
        }
    }
}

/// The signed-in party of a session. Contacts and staff live in separate
/// areas of the portal; neither can act as the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    Contact {
        contact_id: i64,
    },
    Staff {
        staff_id: i64,
    },
    /// Someone who opened a link to one invoice from an email: sees that
    /// invoice and nothing else, while the link stays valid.
    InvoiceLink {
        link_id: i64,
    },
}

impl Principal {
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Contact { .. } => "contact",
            Principal::Staff { .. } => "staff",
            Principal::InvoiceLink { .. } => "invoice_link",
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Principal::Contact { contact_id } => *contact_id,
            Principal::Staff { staff_id } => *staff_id,
            Principal::InvoiceLink { link_id } => *link_id,
        }
    }
}
