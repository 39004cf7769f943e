use leptos::prelude::*;

use crate::error::AppError;
use crate::models::LinkState;

/// Whether a sign-in link can still be used: the confirm page asks before
/// showing its button. Reading never spends the link.
#[server(endpoint = "check_sign_in_link")]
pub async fn check_sign_in_link(staff: bool, token: String) -> Result<LinkState, AppError> {
    use super::ssr::{mapped, services};
    use portal_core::services::auth::{Area, LinkProblem};

    let area = if staff { Area::Staff } else { Area::Contact };
    Ok(
        match mapped(services()?.check_sign_in_link(area, &token).await)? {
            Ok(()) => LinkState::Usable,
            Err(LinkProblem::Used) => LinkState::Used,
            Err(LinkProblem::Expired) => LinkState::Expired,
            Err(LinkProblem::Invalid) => LinkState::Invalid,
        },
    )
}
