//! AR's figures, customer page and settings (issue 11), over HTTP: the
//! figures' median and share of first responses within the SLA, the staff
//! customer page, admins (not agents) changing the calendar, policies and
//! reason codes with bad input refused and nothing stored, and customers
//! reaching none of it. The clock is set to business hours in New York
//! (the seeded calendar), in a week without holidays.

use crate::helpers::{
    location, new_client, northwind, ny, open_usd_invoices, page_html, raise_whole_invoice,
    set_clock, signed_in_as, spawn_app, staff_id, Backend, TestApp,
};
use crate::on_both_databases;
use portal_core::domain::sla::Priority;
use portal_core::domain::{Currency, Money};
use portal_core::services::staff_requests::{default_business_calendar, Resolution};

on_both_databases!(
    figures_give_the_median_and_share_of_first_responses_within_the_sla,
    the_customer_page_shows_contacts_requests_and_the_disputed_hold,
    agents_read_the_settings_and_only_admins_change_them,
    bad_windows_zones_and_targets_are_refused_with_a_message_and_nothing_stored,
    a_retired_reason_leaves_the_dispute_form_but_stays_on_old_requests,
    customers_reach_none_of_these_pages_forms_or_functions,
);

const CUSTOMER_ADMIN: &str = "ap@northwind.example";
const AR_ADMIN: &str = "ar@seller.example";
const AR_AGENT: &str = "agent@seller.example";

async fn reply(app: &TestApp, agent: i64, request_id: i64) {
    app.services
        .staff_reply(agent, request_id, "We are checking the contract.", false)
        .await
        .unwrap();
}

async fn figures(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    let response = app.server_fn(client, "queue_figures", &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn figures_give_the_median_and_share_of_first_responses_within_the_sla(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let invoices = open_usd_invoices(&app).await;
    assert!(invoices.len() >= 4, "{invoices:?}");

    // Normal priority: 240 business minutes to the first response.
    // Tuesday 9:00, three disputes. A is answered at 10:00 (60 minutes), B
    // gets an internal note at 9:30 (not a response) and an answer at
    // 12:30 (180: lunch does not count), C an answer on Wednesday at 10:00
    // (480: breached on Tuesday at 14:00). D is raised on Wednesday and
    // waits; A is resolved.
    set_clock(&app, ny(12, 9, 0));
    let a = raise_whole_invoice(&app, invoices[0].0).await;
    let b = raise_whole_invoice(&app, invoices[1].0).await;
    let c = raise_whole_invoice(&app, invoices[2].0).await;
    set_clock(&app, ny(12, 9, 30));
    app.services
        .staff_reply(agent, b, "Checking with sales first.", true)
        .await
        .unwrap();
    set_clock(&app, ny(12, 10, 0));
    reply(&app, agent, a).await;
    set_clock(&app, ny(12, 12, 30));
    reply(&app, agent, b).await;
    set_clock(&app, ny(13, 9, 0));
    raise_whole_invoice(&app, invoices[3].0).await;
    set_clock(&app, ny(13, 10, 0));
    reply(&app, agent, c).await;
    set_clock(&app, ny(13, 10, 30));
    app.services
        .resolve_request(
            agent,
            a,
            Resolution::Rejected {
                reason: "The contract price applies.".into(),
            },
        )
        .await
        .unwrap();

    let staff = signed_in_as(&app, AR_ADMIN, true).await;
    let f = figures(&app, &staff).await;
    assert_eq!(f["first_responses"], 3, "{f}");
    // 60, 180, 480: the median is 180 minutes of business time.
    assert_eq!(f["median_first_response"], "3 hours", "{f}");
    assert_eq!(f["within_sla_count"], 2, "{f}");
    assert_eq!(f["within_sla"], "67%", "{f}");
    // C's first response, at Tuesday 14:00.
    assert_eq!(f["breaches_this_week"], 1, "{f}");
    assert_eq!(f["open_total"], 3, "{f}");
    assert_eq!(f["open_by_kind"][0]["label"], "Disputes", "{f}");
    assert_eq!(f["open_by_kind"][0]["count"], 3, "{f}");
    assert!(
        f["week_words"].as_str().unwrap().contains("Jan 11, 2027"),
        "{f}"
    );
    let weeks = f["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 8);
    let this_week = &weeks[7];
    assert_eq!(this_week["label"], "Jan 11", "{f}");
    assert_eq!(this_week["opened"], 4, "{f}");
    assert_eq!(this_week["resolved"], 1, "{f}");
    assert_eq!(weeks[6]["opened"], 0, "{f}");

    // A month later the replies are out of the 30 days; next week's
    // breaches start from none.
    set_clock(&app, ny(13, 10, 30) + chrono::Duration::days(31));
    let staff = signed_in_as(&app, AR_ADMIN, true).await;
    let later = figures(&app, &staff).await;
    assert_eq!(later["first_responses"], 0, "{later}");
    assert!(later["median_first_response"].is_null(), "{later}");
    assert!(later["within_sla"].is_null(), "{later}");
}

async fn the_customer_page_shows_contacts_requests_and_the_disputed_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = staff_id(&app, AR_AGENT).await;
    let invoices = open_usd_invoices(&app).await;
    set_clock(&app, ny(12, 9, 0));
    let open = raise_whole_invoice(&app, invoices[0].0).await;
    let closed = raise_whole_invoice(&app, invoices[1].0).await;
    set_clock(&app, ny(12, 10, 0));
    app.services
        .resolve_request(
            agent,
            closed,
            Resolution::CorrectedInvoice {
                reference: "INV-CORR-1".into(),
            },
        )
        .await
        .unwrap();

    let staff = signed_in_as(&app, AR_ADMIN, true).await;
    let customer_id = northwind(&app).await;
    let html = page_html(&app, &staff, &format!("/staff/customers/{customer_id}")).await;
    assert!(html.contains("Northwind Traders"));
    // Contacts with their roles.
    for email in [CUSTOMER_ADMIN, "payables@northwind.example"] {
        assert!(html.contains(email), "{email} is listed");
    }
    assert!(html.contains(">admin<") && html.contains(">payer<"));
    // Both requests, the open one first, each linking to AR's page.
    let open_at = html
        .find(&format!("href=\"/staff/requests/{open}\""))
        .expect("the open request links to its page");
    let closed_at = html
        .find(&format!("href=\"/staff/requests/{closed}\""))
        .expect("the resolved request is listed");
    assert!(open_at < closed_at, "open requests come first");
    assert!(html.contains("The price is not what we agreed"));
    // What the open dispute holds, apart from the open balance.
    let held = Money::new(invoices[0].1, Currency::USD).display();
    assert!(html.contains(&format!("{held} disputed (held)")), "{held}");
    // Aging and the timeline, in words, without stored details.
    assert!(html.contains("31-60 days") && html.contains("Over 90 days"));
    assert!(html.contains("raised a dispute"));
    assert!(html.contains("resolved a request"));
    assert!(
        !html.contains("INV-CORR-1"),
        "the timeline shows no stored detail"
    );

    // Unknown or malformed ids are 404.
    for path in ["/staff/customers/999999", "/staff/customers/abc"] {
        assert_eq!(app.get_with(&staff, path).await.status(), 404, "{path}");
    }
}

/// The stored settings, as the services read them.
async fn stored(app: &TestApp) -> portal_core::services::staff_requests::SlaSettings {
    app.services.sla_settings().await.unwrap()
}

fn calendar_form<'a>(zone: &'a str, monday: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("time_zone", zone),
        ("monday", monday),
        ("tuesday", "09:00-12:00, 13:00-17:00"),
        ("wednesday", "09:00-12:00, 13:00-17:00"),
        ("thursday", "09:00-12:00, 13:00-17:00"),
        ("friday", "09:00-12:00, 13:00-17:00"),
        ("saturday", ""),
        ("sunday", ""),
    ]
}

/// Every cell of the policy table as the defaults, with `changes`.
fn policy_form(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let targets = [
        ("low", ["8:00", "16:00", "80:00"]),
        ("normal", ["4:00", "8:00", "40:00"]),
        ("high", ["2:00", "4:00", "20:00"]),
        ("urgent", ["1:00", "2:00", "8:00"]),
    ];
    let mut form = Vec::new();
    // Disputes and payment plans (issue 12) need every priority's targets.
    for kind in ["dispute", "payment_plan"] {
        for (priority, cells) in targets {
            for (cell, value) in ["first", "next", "resolution"].iter().zip(cells) {
                form.push((format!("{kind}-{priority}-{cell}"), value.to_owned()));
            }
            form.push((format!("{kind}-{priority}-warning"), "80".to_owned()));
        }
    }
    for (field, value) in changes {
        match form.iter_mut().find(|(k, _)| k == field) {
            Some(cell) => cell.1 = (*value).to_owned(),
            None => form.push(((*field).to_owned(), (*value).to_owned())),
        }
    }
    form
}

async fn post_pairs(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form_with(client, path, &borrowed).await
}

async fn agents_read_the_settings_and_only_admins_change_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = stored(&app).await;
    let agent = signed_in_as(&app, AR_AGENT, true).await;
    let html = page_html(&app, &agent, "/staff/settings").await;
    assert!(html.contains("only AR admins change them"));
    assert!(html.contains("America/New_York"));
    assert!(!html.contains("Save the calendar"), "agents get no buttons");

    let berlin = calendar_form("Europe/Berlin", "08:00-12:00, 13:00-17:30");
    for (path, form) in [
        ("/staff/settings/calendar", berlin.clone()),
        (
            "/staff/settings/holidays/add",
            vec![("holiday", "2027-03-01")],
        ),
        (
            "/staff/settings/reasons/add",
            vec![("code", "late"), ("label", "Late")],
        ),
        ("/staff/settings/reasons/pricing/retire", vec![]),
    ] {
        let response = app.post_form_with(&agent, path, &form).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let response = post_pairs(
        &app,
        &agent,
        "/staff/settings/policies",
        &policy_form(&[("dispute-normal-first", "2:00")]),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(stored(&app).await, before, "an agent changed nothing");
    assert_eq!(app.services.dispute_reasons().await.unwrap().len(), 7);

    // The admin can, and pressing twice writes once.
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let audits = "SELECT COUNT(*) FROM audit_events WHERE action = 'sla.settings_changed'";
    for _ in 0..2 {
        let response = app
            .post_form_with(&admin, "/staff/settings/calendar", &berlin)
            .await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            location(&response),
            "/staff/settings?saved=calendar#calendar"
        );
    }
    assert_eq!(app.count(audits).await, 1);
    let calendar = stored(&app).await.calendar;
    assert_eq!(calendar.time_zone().name(), "Europe/Berlin");
    assert_eq!(calendar.week().monday.len(), 2);
    assert_eq!(calendar.week().monday[1].to_string(), "13:00-17:30");
    assert_eq!(calendar.holidays(), default_business_calendar().holidays());
    let html = page_html(&app, &admin, "/staff/settings?saved=calendar").await;
    assert!(
        html.contains("Open requests&#x27; clocks follow it from now on")
            || html.contains("Open requests' clocks follow it from now on")
    );

    // Holidays: added once however often, then removed.
    for _ in 0..2 {
        let response = app
            .post_form_with(
                &admin,
                "/staff/settings/holidays/add",
                &[("holiday", "2027-03-01")],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    assert!(stored(&app).await.calendar.holidays().contains(&day));
    app.post_form_with(
        &admin,
        "/staff/settings/holidays/remove",
        &[("holiday", "2027-03-01")],
    )
    .await;
    assert!(!stored(&app).await.calendar.holidays().contains(&day));

    // Policies: normal disputes get two hours to the first response.
    let response = post_pairs(
        &app,
        &admin,
        "/staff/settings/policies",
        &policy_form(&[
            ("dispute-normal-first", "2:00"),
            ("dispute-normal-warning", ""),
        ]),
    )
    .await;
    assert_eq!(
        location(&response),
        "/staff/settings?saved=policies#policies"
    );
    let policies = stored(&app).await.policies;
    let normal = policies
        .find(
            &portal_core::domain::request::RequestKind::Dispute.sla_kind(),
            Priority::Normal,
        )
        .unwrap();
    assert_eq!(normal.targets.first_response_minutes, 120);
    assert_eq!(normal.targets.resolution_minutes, 2400);
    assert_eq!(normal.warning_percent, 80, "blank is the default share");
}

async fn bad_windows_zones_and_targets_are_refused_with_a_message_and_nothing_stored(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let before = stored(&app).await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let cases = [
        (
            calendar_form("America/New_York", "17:00-09:00"),
            "day-monday",
            "17:00-09:00",
            "Monday: a working window is written HH:MM-HH:MM",
        ),
        (
            calendar_form("America/New_York", "09:00-12:00, 11:00-13:00"),
            "day-monday",
            "11:00-13:00",
            "Monday: working windows on Mon overlap",
        ),
        (
            calendar_form("Mars/Olympus", "09:00-17:00"),
            "time_zone",
            "Mars/Olympus",
            "Time zone: &quot;Mars/Olympus&quot; is not an IANA time zone",
        ),
    ];
    for (form, field, typed, message) in cases {
        let response = app
            .post_form_with(&admin, "/staff/settings/calendar", &form)
            .await;
        assert_eq!(response.status(), 303);
        let back = location(&response);
        assert!(back.starts_with("/staff/settings?form=calendar&"), "{back}");
        assert!(back.ends_with("#calendar"), "{back}");
        let html = page_html(&app, &admin, back.split('#').next().unwrap()).await;
        assert!(html.contains("Nothing was changed."), "{html}");
        let message_seen = html.contains(message)
            || html.contains(&message.replace("&quot;", "&#x22;"))
            || html.contains(&message.replace("&quot;", "\""));
        assert!(message_seen, "{message}");
        // The typed value is kept in its field, which is marked invalid.
        let input = html
            .split("<input")
            .find(|i| i.contains(&format!("id=\"{field}\"")))
            .unwrap_or_else(|| panic!("{field} is on the page"));
        assert!(input.contains(typed), "{input}");
        assert!(input.contains("aria-invalid=\"true\""), "{input}");
    }
    let response = app
        .post_form_with(
            &admin,
            "/staff/settings/holidays/add",
            &[("holiday", "next friday")],
        )
        .await;
    assert!(location(&response).starts_with("/staff/settings?form=holiday&"));
    for bad in [
        ("dispute-high-resolution", "0"),
        ("dispute-low-first", "soon"),
        ("dispute-urgent-warning", "120"),
    ] {
        let response = post_pairs(
            &app,
            &admin,
            "/staff/settings/policies",
            &policy_form(&[bad]),
        )
        .await;
        let back = location(&response);
        assert!(back.starts_with("/staff/settings?form=policies&"), "{back}");
        let html = page_html(&app, &admin, back.split('#').next().unwrap()).await;
        assert!(html.contains("Nothing was changed."));
        let input = html
            .split("<input")
            .find(|i| i.contains(&format!("id=\"{}\"", bad.0)))
            .unwrap();
        assert!(input.contains("aria-invalid=\"true\""), "{input}");
    }
    assert_eq!(stored(&app).await, before, "nothing was stored");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'sla.settings_changed'")
            .await,
        0
    );
}

async fn a_retired_reason_leaves_the_dispute_form_but_stays_on_old_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let invoices = open_usd_invoices(&app).await;
    set_clock(&app, ny(12, 9, 0));
    let request = raise_whole_invoice(&app, invoices[0].0).await;
    let admin = signed_in_as(&app, AR_ADMIN, true).await;
    let codes = |reasons: Vec<portal_core::repo::requests::ReasonRow>| -> Vec<String> {
        reasons.into_iter().map(|r| r.code).collect()
    };

    for _ in 0..2 {
        let response = app
            .post_form_with(&admin, "/staff/settings/reasons/pricing/retire", &[])
            .await;
        assert_eq!(response.status(), 303);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'request_reason.retired'")
            .await,
        1
    );
    let offered = codes(app.services.dispute_reasons().await.unwrap());
    assert!(!offered.contains(&"pricing".to_owned()), "{offered:?}");
    // The request keeps its reason, as AR's pages show it.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM requests r JOIN request_reasons rr ON rr.reason_id = r.reason_id
             WHERE r.request_id = {request} AND rr.code = 'pricing'"
        ))
        .await,
        1
    );
    let customer_id = northwind(&app).await;
    let html = page_html(&app, &admin, &format!("/staff/customers/{customer_id}")).await;
    assert!(html.contains("The price is not what we agreed"));
    let html = page_html(&app, &admin, "/staff/settings").await;
    assert!(html.contains("Retired") && html.contains("named by 1 request"));

    // A new reason comes last on the form; the same twice adds it once;
    // its code cannot be taken again with another label.
    for _ in 0..2 {
        let response = app
            .post_form_with(
                &admin,
                "/staff/settings/reasons/add",
                &[("code", "late_delivery"), ("label", "It arrived too late")],
            )
            .await;
        assert_eq!(
            location(&response),
            "/staff/settings?saved=reason-add#reasons"
        );
    }
    let offered = codes(app.services.dispute_reasons().await.unwrap());
    assert_eq!(offered.last().map(String::as_str), Some("late_delivery"));
    let response = app
        .post_form_with(
            &admin,
            "/staff/settings/reasons/add",
            &[("code", "late_delivery"), ("label", "Something else")],
        )
        .await;
    let back = location(&response);
    assert!(
        back.starts_with("/staff/settings?form=reason-add&"),
        "{back}"
    );
    let html = page_html(&app, &admin, back.split('#').next().unwrap()).await;
    assert!(html.contains("there is already a reason with the code late_delivery"));
    for (code, label) in [("Late Delivery", "x"), ("ok_code", "")] {
        let response = app
            .post_form_with(
                &admin,
                "/staff/settings/reasons/add",
                &[("code", code), ("label", label)],
            )
            .await;
        assert!(location(&response).starts_with("/staff/settings?form=reason-add&"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM request_reasons").await,
        8,
        "only late_delivery was added"
    );

    // Renamed and moved first; offered again.
    let response = app
        .post_form_with(
            &admin,
            "/staff/settings/reasons/late_delivery/save",
            &[("label", "Delivered late"), ("position", "1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let reasons = app.services.dispute_reasons().await.unwrap();
    assert_eq!(reasons[0].code, "late_delivery");
    assert_eq!(reasons[0].label, "Delivered late");
    let response = app
        .post_form_with(
            &admin,
            "/staff/settings/reasons/late_delivery/save",
            &[("label", "x"), ("position", "first")],
        )
        .await;
    assert!(location(&response).contains("form=reason&"));
    app.post_form_with(&admin, "/staff/settings/reasons/pricing/reactivate", &[])
        .await;
    let offered = codes(app.services.dispute_reasons().await.unwrap());
    assert!(offered.contains(&"pricing".to_owned()));
    let unknown = app
        .post_form_with(&admin, "/staff/settings/reasons/nope/retire", &[])
        .await;
    assert_eq!(unknown.status(), 404);
}

async fn customers_reach_none_of_these_pages_forms_or_functions(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer = app.signed_in_client(CUSTOMER_ADMIN).await;
    let before = stored(&app).await;
    let customer_id = northwind(&app).await;
    let anonymous = new_client();
    for client in [&customer, &anonymous] {
        for path in [
            "/staff/settings".to_owned(),
            format!("/staff/customers/{customer_id}"),
        ] {
            let response = app.get_with(client, &path).await;
            assert!(
                matches!(response.status().as_u16(), 303 | 401 | 404),
                "{path}: {}",
                response.status()
            );
            if response.status() == 303 {
                assert!(location(&response).starts_with("/staff/sign-in"), "{path}");
            }
        }
        for (path, form) in [
            (
                "/staff/settings/calendar",
                calendar_form("Europe/Berlin", "08:00-17:00"),
            ),
            (
                "/staff/settings/holidays/add",
                vec![("holiday", "2027-03-01")],
            ),
            (
                "/staff/settings/reasons/add",
                vec![("code", "late"), ("label", "Late")],
            ),
            ("/staff/settings/reasons/pricing/retire", vec![]),
        ] {
            let response = app.post_form_with(client, path, &form).await;
            assert!(
                matches!(response.status().as_u16(), 303 | 401 | 404),
                "{path}: {}",
                response.status()
            );
            if response.status() == 303 {
                assert!(location(&response).starts_with("/staff/sign-in"), "{path}");
            }
        }
        for (name, args) in [
            ("queue_figures", vec![]),
            ("staff_settings", vec![("query", String::new())]),
            (
                "staff_customer",
                vec![("customer_id", customer_id.to_string())],
            ),
        ] {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app.server_fn(client, name, &args).await;
            assert_eq!(response.status(), 401, "{name}");
        }
    }
    assert_eq!(stored(&app).await, before);
    assert_eq!(app.services.dispute_reasons().await.unwrap().len(), 7);
}
