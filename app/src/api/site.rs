use leptos::prelude::*;

use crate::error::AppError;
use crate::models::SiteInfo;

/// Who is looking, and the seller's name: loaded once by the shell.
#[server(endpoint = "site_info")]
pub async fn load_site_info() -> Result<SiteInfo, AppError> {
    use super::ssr::{mapped, services, signed_in};
    use crate::models::{AccountLink, PersonKind, SignedInPerson};
    use portal_core::domain::Principal;

    let services = services()?;
    let signed_in = signed_in();
    let signed_in_person = match signed_in.as_ref().map(|s| (s.principal, &s.access)) {
        // Someone who came through an invoice link is a guest here.
        None | Some((Principal::InvoiceLink { .. }, _)) => None,
        // The contact's access as the session guard read it: no query.
        Some((Principal::Contact { .. }, access)) => {
            access.as_deref().map(|access| SignedInPerson {
                kind: PersonKind::Contact,
                name: access.name.clone(),
                email: access.email.clone(),
                accounts: access
                    .accounts
                    .iter()
                    .map(|m| AccountLink {
                        customer_id: m.customer_id,
                        name: m.customer_name.clone(),
                        role: m.role.as_str().to_owned(),
                    })
                    .collect(),
            })
        }
        Some((Principal::Staff { staff_id }, _)) => {
            let profile = mapped(services.staff_profile(staff_id).await)?;
            Some(SignedInPerson {
                kind: PersonKind::Staff,
                name: profile.name,
                email: profile.email,
                accounts: vec![],
            })
        }
    };
    Ok(SiteInfo {
        seller_name: services.config.seller_name.clone(),
        signed_in: signed_in_person,
        dev_mailbox: services.config.dev_pages(),
    })
}
