//! AR admins' forms (issue 11): business calendar, holidays, SLA policies,
//! reason codes.
//!
//! Plain POSTs answering 303 to `/staff/settings`: `?saved=<form>` after a
//! change, `?form=<form>&<typed fields>` after a refusal (the page checks
//! the typed values again, says what is wrong beside the field and keeps
//! them; the URL never carries a message). An agent gets 403 and nothing
//! changes; anyone not signed in as staff gets 404. Each form is safe to
//! press twice: saving what is stored, adding a holiday or reason that is
//! there, retiring a retired reason write nothing.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use portal_core::services::request_settings::{CalendarForm, PoliciesForm};
use portal_core::{ServiceError, Services};

use super::error::HttpError;
use super::forms::{back_to, field, FormPairs, Staff};
use super::plain_page::not_found;
use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/settings/calendar", post(save_calendar))
        // add | remove
        .route("/staff/settings/holidays/{change}", post(change_holiday))
        .route("/staff/settings/policies", post(save_policies))
        .route("/staff/settings/reasons/add", post(add_reason))
        .route("/staff/settings/reasons/{code}/save", post(save_reason))
        // retire | reactivate
        .route(
            "/staff/settings/reasons/{code}/{change}",
            post(retire_reason),
        )
}

/// Where a form's outcome is shown: `#anchor` on the settings page.
struct Back<'a> {
    /// The form's name in `saved=` / `form=`.
    form: &'a str,
    anchor: String,
    /// Extra pairs for both outcomes (the reason a row form is about).
    about: Vec<(&'a str, String)>,
}

impl Back<'_> {
    /// Saved: `?saved=`; refused for its input: `?form=` with the typed
    /// `fields`; refused otherwise (403 for agents, 404, 500): that page.
    fn answer(
        self,
        result: Result<(), ServiceError>,
        typed: &[(String, String)],
        fields: &[&str],
    ) -> Response {
        let mut query: Vec<(&str, &str)> = Vec::new();
        match result {
            Ok(()) => query.push(("saved", self.form)),
            Err(ServiceError::Invalid { .. }) => {
                query.push(("form", self.form));
                query.extend(
                    typed
                        .iter()
                        .filter(|(k, _)| fields.contains(&k.as_str()))
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
            }
            Err(e) => return HttpError::from(e).into_response(),
        }
        query.extend(self.about.iter().map(|(k, v)| (*k, v.as_str())));
        back_to("/staff/settings", &query, Some(&self.anchor))
    }
}

fn section(form: &str) -> Back<'_> {
    Back {
        form,
        anchor: form.to_owned(),
        about: Vec::new(),
    }
}

/// A reason's row; the code goes into the anchor only as letters, digits
/// and underscores (a valid code is nothing else).
fn reason_row<'a>(form: &'a str, code: &str) -> Back<'a> {
    let safe: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Back {
        form,
        anchor: format!("reason-{safe}"),
        about: vec![("reason", code.to_owned())],
    }
}

const DAY_FIELDS: [&str; 8] = [
    "time_zone",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// POST /staff/settings/calendar: time zone and working windows.
async fn save_calendar(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(typed): FormPairs,
) -> Response {
    let result = services
        .save_calendar_form(staff_id, &CalendarForm::from_pairs(&typed))
        .await;
    section("calendar").answer(result, &typed, &DAY_FIELDS)
}

/// POST /staff/settings/holidays/add, /staff/settings/holidays/remove
async fn change_holiday(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(change): Path<String>,
    FormPairs(typed): FormPairs,
) -> Response {
    let Some(add) = one_of(&change, "add", "remove") else {
        return not_found();
    };
    let result = services
        .change_holiday(staff_id, field(&typed, "holiday"), add)
        .await;
    Back {
        form: "holiday",
        anchor: "holidays".into(),
        about: Vec::new(),
    }
    .answer(result, &typed, &["holiday"])
}

/// `Some(true)` for `yes`, `Some(false)` for `no`, else `None` (404).
fn one_of(text: &str, yes: &str, no: &str) -> Option<bool> {
    (text == yes || text == no).then_some(text == yes)
}

/// POST /staff/settings/policies: the whole table of targets.
async fn save_policies(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(typed): FormPairs,
) -> Response {
    let form = PoliciesForm::from_pairs(&typed);
    let result = services.save_policies_form(staff_id, &form).await;
    // Every cell of the table goes back as typed.
    let cells: Vec<&str> = typed.iter().map(|(k, _)| k.as_str()).collect();
    section("policies").answer(result, &typed, &cells)
}

/// POST /staff/settings/reasons/add
async fn add_reason(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    FormPairs(typed): FormPairs,
) -> Response {
    let result = services
        .add_reason(staff_id, field(&typed, "code"), field(&typed, "label"))
        .await;
    Back {
        form: "reason-add",
        anchor: "reasons".into(),
        about: Vec::new(),
    }
    .answer(result, &typed, &["code", "label"])
}

/// POST /staff/settings/reasons/{code}/save: label and order.
async fn save_reason(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path(code): Path<String>,
    FormPairs(typed): FormPairs,
) -> Response {
    let result = services
        .update_reason(
            staff_id,
            &code,
            field(&typed, "label"),
            field(&typed, "position"),
        )
        .await;
    reason_row("reason", &code).answer(result, &typed, &["label", "position"])
}

/// POST /staff/settings/reasons/{code}/retire, …/{code}/reactivate
async fn retire_reason(
    State(services): State<Services>,
    Staff(staff_id): Staff,
    Path((code, change)): Path<(String, String)>,
) -> Response {
    let Some(retired) = one_of(&change, "retire", "reactivate") else {
        return not_found();
    };
    let result = services.set_reason_retired(staff_id, &code, retired).await;
    reason_row(&change, &code).answer(result, &[], &[])
}
