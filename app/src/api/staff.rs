use leptos::prelude::*;

use crate::error::AppError;
use crate::models::StaffHomeView;

#[server(endpoint = "staff_home")]
pub async fn staff_home() -> Result<StaffHomeView, AppError> {
    use super::ssr::{mapped, require_staff, services};

    let staff_id = require_staff()?;
    let services = services()?;
    let profile = mapped(services.staff_profile(staff_id).await)?;
    let counts = mapped(services.portfolio_counts().await)?;
    Ok(StaffHomeView {
        name: profile.name,
        role: profile.role.as_str().to_owned(),
        customers: counts.customers,
        contacts: counts.contacts,
        invoices: counts.invoices,
    })
}
