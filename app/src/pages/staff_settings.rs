//! AR admins' settings: business calendar, SLA policies, reason codes (issue 11).
//!
//! Plain POST forms to `staff_admin_routes`, which answer 303 back here:
//! `?saved=…` after a change, or `?form=…` with the typed values after a
//! refusal (the server function checks them again to say what is wrong,
//! beside the field, with the values kept). Agents see the same page read
//! only.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use crate::api::staff_admin::staff_settings;
use crate::components::{LoadedPage, ScrollTable};
use crate::models::staff_admin::{FormNote, ReasonView, StaffSettingsView};
use crate::pages::staff_plan::PlanPolicySection;

/// `/staff/settings`
#[component]
pub fn StaffSettingsPage() -> impl IntoView {
    let location = use_location();
    let settings = Resource::new(
        move || location.search.get().trim_start_matches('?').to_owned(),
        staff_settings,
    );
    view! {
        <LoadedPage resource=settings render={|s: StaffSettingsView| view! { <SettingsBody s/> }}/>
    }
}

/// The outcome of a form, at its top: saved, or what to fix.
#[component]
pub(crate) fn Note(note: FormNote) -> impl IntoView {
    view! {
        {note.saved.map(|text| view! { <p class="notice notice-info" role="status">{text}</p> })}
        {note.problem.map(|(_, message)| view! {
            <div class="alert error" role="alert"><p>"Nothing was changed. "{message}</p></div>
        })}
    }
}

/// A labelled text input; a refused one is marked invalid and described by
/// its message.
#[component]
pub(crate) fn TextField(
    id: String,
    name: String,
    label: String,
    value: String,
    #[prop(optional)] hint: Option<String>,
    #[prop(optional_no_strip)] problem: Option<String>,
    #[prop(optional)] list: Option<&'static str>,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = [
        hint.as_ref().map(|_| hint_id.clone()),
        problem.as_ref().map(|_| error_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let invalid = problem.is_some().then_some("true");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <span id=hint_id class="muted small">{h}</span> })}
            {problem.map(|p| view! { <span id=error_id class="field-problem">{p}</span> })}
            <input id=id name=name type=kind.unwrap_or("text") value=value list=list
                autocomplete="off" aria-invalid=invalid
                aria-describedby=(!described.is_empty()).then_some(described)/>
        </div>
    }
}

#[component]
fn SettingsBody(s: StaffSettingsView) -> impl IntoView {
    let read_only = !s.can_edit;
    let calendar_note = s.calendar_note.clone();
    let holiday_note = s.holiday_note.clone();
    let policies_note = s.policies_note.clone();
    let reason_note = s.reason_note.clone();
    view! {
        <Title text="Settings · AR workspace"/>
        <h1>"Request settings"</h1>
        <p>"The business calendar and SLA policies set every request's clock. Clocks are computed from what happened on each request, so a change applies to open requests from now on: minutes already used stay used."</p>
        {read_only.then(|| view! {
            <p class="notice notice-info">"You can read these settings; only AR admins change them. Ask an admin if something needs changing."</p>
        })}

        <section id="calendar" class="card" aria-labelledby="calendar-heading">
            <h2 id="calendar-heading">"Business calendar"</h2>
            <Note note=calendar_note.clone()/>
            <form method="post" action="/staff/settings/calendar">
                <fieldset disabled=read_only>
                    <legend>"Time zone and working hours"</legend>
                    <TextField id="time_zone".into() name="time_zone".into() label="Time zone".into()
                        value=s.time_zone.clone() list="time-zones"
                        hint="An IANA time zone, such as America/New_York or Europe/Berlin.".into()
                        problem=calendar_note.message_for("time_zone")/>
                    <datalist id="time-zones">
                        {s.time_zones.iter().map(|z| view! { <option value=z.clone()></option> }).collect_view()}
                    </datalist>
                    <p class="muted small" id="windows-hint">"Working windows per day as HH:MM-HH:MM, several separated by commas (\"09:00-12:00, 13:00-17:30\"). Leave a day empty when nobody works."</p>
                    <div class="filter-grid">
                        {s.days.iter().map(|d| view! {
                            <TextField id=format!("day-{}", d.field) name=d.field.clone() label=d.label.clone()
                                value=d.windows.clone()
                                problem=calendar_note.message_for(&d.field)/>
                        }).collect_view()}
                    </div>
                    {s.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the calendar"</button></p> })}
                </fieldset>
            </form>
        </section>

        <section id="holidays" class="card" aria-labelledby="holidays-heading">
            <h2 id="holidays-heading">"Holidays"</h2>
            <p class="muted small">"No working time on these dates, in the calendar's time zone."</p>
            <Note note=holiday_note.clone()/>
            {if s.holidays.is_empty() {
                view! { <p>"No holidays."</p> }.into_any()
            } else {
                view! {
                    <ul class="holiday-list">
                        {s.holidays.iter().map(|h| view! {
                            <li>
                                {h.text.clone()}
                                {s.can_edit.then(|| view! {
                                    <form method="post" action="/staff/settings/holidays/remove" class="inline-form">
                                        <input type="hidden" name="holiday" value=h.value.clone()/>
                                        <button type="submit" class="link-button">
                                            "Remove"<span class="visually-hidden">{format!(" {}", h.text)}</span>
                                        </button>
                                    </form>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {s.can_edit.then(|| view! {
                <form method="post" action="/staff/settings/holidays/add">
                    <TextField id="holiday".into() name="holiday".into() label="Add a holiday".into()
                        value=s.holiday_value.clone() kind="date" hint="A date as YYYY-MM-DD.".into()
                        problem=holiday_note.message_for("holiday")/>
                    <p class="actions"><button type="submit">"Add the holiday"</button></p>
                </form>
            })}
        </section>

        <section id="policies" class="card" aria-labelledby="policies-heading">
            <h2 id="policies-heading">"SLA policies"</h2>
            <p class="muted small">"Targets in business time, as hours:minutes (\"4:00\") or minutes (\"90m\"). The warning shows when this share of a target is used; a breach is at 100%. Disputes need every priority; leave other kinds empty until customers can raise them."</p>
            <Note note=policies_note.clone()/>
            <form method="post" action="/staff/settings/policies">
                <fieldset disabled=read_only>
                    <legend class="visually-hidden">"Targets per request kind and priority"</legend>
                    <ScrollTable labelledby="policies-heading">
                        <thead>
                            <tr>
                                <th scope="col">"Kind and priority"</th>
                                <th scope="col">"First response"</th>
                                <th scope="col">"Next response"</th>
                                <th scope="col">"Resolution"</th>
                                <th scope="col">"Warning at (%)"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {s.policies.iter().map(|row| view! {
                                <tr>
                                    <th scope="row">{row.kind.clone()}<span class="muted small">{format!(" · {}", row.priority)}</span></th>
                                    {row.cells.iter().map(|cell| {
                                        let problem = policies_note.message_for(&cell.field);
                                        let invalid = problem.is_some().then_some("true");
                                        let error_id = format!("{}-error", cell.field);
                                        view! {
                                            <td>
                                                <label class="visually-hidden" for=cell.field.clone()>{format!("{}: {}", row.name, cell.label)}</label>
                                                <input id=cell.field.clone() name=cell.field.clone() type="text" value=cell.value.clone()
                                                    class="policy-input" autocomplete="off" aria-invalid=invalid
                                                    aria-describedby=problem.as_ref().map(|_| error_id.clone())/>
                                                {problem.map(|p| view! { <span id=error_id class="field-problem">{p}</span> })}
                                            </td>
                                        }
                                    }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </ScrollTable>
                    {s.can_edit.then(|| view! { <p class="actions"><button type="submit">"Save the policies"</button></p> })}
                </fieldset>
            </form>
        </section>

        <section id="reasons" class="card" aria-labelledby="reasons-heading">
            <h2 id="reasons-heading">"Dispute reasons"</h2>
            <p class="muted small">"What customers choose from when they dispute an invoice, in this order (smaller first). A retired reason leaves the form but stays on the requests that named it."</p>
            <ul class="reason-list">
                {s.reasons.iter().cloned().map(|r| view! { <Reason r can_edit=s.can_edit/> }).collect_view()}
            </ul>
            {s.can_edit.then(|| view! {
                <form method="post" action="/staff/settings/reasons/add">
                    <h3 id="add-reason-heading">"Add a reason"</h3>
                    <Note note=reason_note.clone()/>
                    <div class="filter-grid">
                        <TextField id="new-code".into() name="code".into() label="Code".into() value=s.new_code.clone()
                            hint="Lower-case letters, digits and underscores, such as late_delivery. It cannot change later.".into()
                            problem=reason_note.message_for("code")/>
                        <TextField id="new-label".into() name="label".into() label="Label".into() value=s.new_label.clone()
                            hint="As customers read it on the dispute form.".into()
                            problem=reason_note.message_for("label")/>
                    </div>
                    <p class="actions"><button type="submit">"Add the reason"</button></p>
                </form>
            })}
        </section>

        <PlanPolicySection/>
        <crate::pages::reminders::ReminderSettingsSection/>
        <crate::pages::discounts::PaymentSettingsSection/>
    }
}

#[component]
fn Reason(r: ReasonView, can_edit: bool) -> impl IntoView {
    let used = match r.used_by {
        0 => "not used yet".to_owned(),
        1 => "named by 1 request".to_owned(),
        n => format!("named by {n} requests"),
    };
    let state = if r.retired { "Retired" } else { "On offer" };
    let label_id = format!("label-{}", r.code);
    let position_id = format!("position-{}", r.code);
    let note = r.note.clone();
    view! {
        <li class="reason" id=format!("reason-{}", r.code)>
            <p class="reason-head">
                <code>{r.code.clone()}</code>" "
                <span class=if r.retired { "badge badge-retired" } else { "badge badge-active" }>{state}</span>
                <span class="muted small">{format!(" · {used}")}</span>
            </p>
            <Note note=note.clone()/>
            <form method="post" action=r.save_action.clone() class="reason-form">
                <fieldset disabled=!can_edit>
                    <legend class="visually-hidden">{format!("Reason {}", r.code)}</legend>
                    <TextField id=label_id name="label".into() label="Label".into() value=r.label.clone()
                        problem=note.message_for("label")/>
                    <TextField id=position_id name="position".into() label="Order".into() value=r.position.clone()
                        problem=note.message_for("position")/>
                    {can_edit.then(|| view! { <button type="submit">"Save"<span class="visually-hidden">{format!(" reason {}", r.code)}</span></button> })}
                </fieldset>
            </form>
            {can_edit.then(|| if r.retired {
                view! {
                    <form method="post" action=r.reactivate_action.clone() class="inline-form">
                        <button type="submit">"Offer again"<span class="visually-hidden">{format!(" reason {}", r.code)}</span></button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <form method="post" action=r.retire_action.clone() class="inline-form">
                        <button type="submit">"Retire"<span class="visually-hidden">{format!(" reason {}", r.code)}</span></button>
                    </form>
                }.into_any()
            })}
        </li>
    }
}
