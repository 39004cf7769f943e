//! The customer's payment plan pages and forms over HTTP (issue 12), as a
//! browser without JavaScript uses them: the propose form's GET "Preview",
//! the POST that proposes, the plan page it leads to, refusals that keep
//! what was typed and store nothing, another account's plan answering 404,
//! and a counter-proposal accepted with terms that changed meanwhile.

use crate::helpers::{location, northwind, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use crate::requests::{ADMIN, OTHER_ACCOUNT_ADMIN, VIEWER};
use portal_core::domain::{Currency, Money};

on_both_databases!(
    the_plan_pages_render_for_members_and_404_for_other_accounts,
    proposing_through_the_form_leads_to_the_plan_page_with_its_schedule,
    preview_without_javascript_shows_the_schedule,
    a_bad_count_or_date_is_refused_in_words_and_creates_nothing,
    a_viewer_sees_plans_but_cannot_propose,
    accepting_a_counter_with_terms_that_changed_is_refused,
);

/// Two open USD invoices of Northwind with nothing disputed or in flight,
/// smallest balances first: (id, number, balance).
async fn open_invoices(app: &TestApp) -> Vec<(i64, String, i64)> {
    let customer_id = northwind(app).await;
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT invoice_id, number, balance_minor FROM invoices
         WHERE customer_id = $1 AND balance_minor > 0 AND voided_at IS NULL
           AND currency = 'USD' AND pending_minor = 0 AND disputed_minor = 0
           AND balance_minor <= 200000
         ORDER BY balance_minor, invoice_id LIMIT 2",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = app.get_with(client, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The propose form's fields, as the browser sends them.
fn plan_form<'a>(
    invoices: &'a [String],
    down: &'a str,
    count: &'a str,
    frequency: &'a str,
    first: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = invoices.iter().map(|i| ("invoice", i.as_str())).collect();
    form.extend([
        ("down_payment", down),
        ("count", count),
        ("frequency", frequency),
        ("first_date", first),
    ]);
    form
}

fn ids(invoices: &[(i64, String, i64)]) -> Vec<String> {
    invoices.iter().map(|(id, _, _)| id.to_string()).collect()
}

/// Proposes through the form and returns the new plan's id (from the 303).
async fn propose(
    app: &TestApp,
    client: &reqwest::Client,
    customer_id: i64,
    form: &[(&str, &str)],
) -> i64 {
    let response = app
        .post_form_with(client, &format!("/accounts/{customer_id}/plans"), form)
        .await;
    assert_eq!(response.status(), 303, "proposing answers with a redirect");
    let to = location(&response);
    let prefix = format!("/accounts/{customer_id}/plans/");
    let rest = to
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("to the plan page, not {to}"));
    rest.split(['?', '#']).next().unwrap().parse().unwrap()
}

/// Northwind with one of its contacts signed in, and two of its small open
/// USD invoices to put in plans.
struct Northwind {
    app: TestApp,
    customer_id: i64,
    client: reqwest::Client,
    invoices: Vec<(i64, String, i64)>,
}

impl Northwind {
    async fn signed_in(backend: Backend, email: &str) -> Self {
        let app = spawn_app(backend).await;
        let customer_id = northwind(&app).await;
        let client = app.signed_in_client(email).await;
        let invoices = open_invoices(&app).await;
        Northwind {
            app,
            customer_id,
            client,
            invoices,
        }
    }

    fn chosen(&self) -> Vec<String> {
        ids(&self.invoices)
    }

    /// Proposes both invoices through the form, no down payment: the
    /// new plan's id.
    async fn propose(&self, count: &str, frequency: &str, first: &str) -> i64 {
        let chosen = self.chosen();
        let form = plan_form(&chosen, "", count, frequency, first);
        propose(&self.app, &self.client, self.customer_id, &form).await
    }
}

fn in_days(app: &TestApp, days: i64) -> String {
    (app.services.today() + chrono::Duration::days(days)).to_string()
}

async fn plan_status(app: &TestApp, plan_id: i64) -> String {
    let mut conn = app.services.db.pool.acquire().await.unwrap();
    sqlx::query_scalar::<_, String>("SELECT status FROM payment_plans WHERE plan_id = $1")
        .bind(plan_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn plans_of(app: &TestApp, customer_id: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM payment_plans WHERE customer_id = {customer_id}"
    ))
    .await
}

async fn the_plan_pages_render_for_members_and_404_for_other_accounts(backend: Backend) {
    let n = Northwind::signed_in(backend, ADMIN).await;
    let (app, customer_id, client, invoices) = (&n.app, n.customer_id, &n.client, &n.invoices);
    let first = in_days(app, 7);
    let plan_id = n.propose("3", "monthly", &first).await;

    let (status, list) = page(app, client, &format!("/accounts/{customer_id}/plans")).await;
    assert_eq!(status, 200);
    assert!(list.contains("Payment plans"), "{list}");
    assert!(list.contains(&format!("/accounts/{customer_id}/plans/{plan_id}")));
    assert!(list.contains("Propose a payment plan"));
    let (status, form) = page(app, client, &format!("/accounts/{customer_id}/plans/new")).await;
    assert_eq!(status, 200);
    assert!(form.contains("Propose this plan") && form.contains("Ask AR for a plan"));
    let plan_path = format!("/accounts/{customer_id}/plans/{plan_id}");
    let (status, plan) = page(app, client, &plan_path).await;
    assert_eq!(status, 200);
    assert!(plan.contains(&invoices[0].1), "the plan names its invoices");

    // Another account's contact: the same plan id is not found, and so
    // are its forms; the plan is unchanged.
    let other = app.signed_in_client(OTHER_ACCOUNT_ADMIN).await;
    let (status, body) = page(app, &other, &plan_path).await;
    assert_eq!(status, 404);
    assert!(!body.contains(&invoices[0].1));
    let contoso = app.customer_id("Contoso Manufacturing").await;
    let (status, _) = page(app, &other, &format!("/accounts/{contoso}/plans/{plan_id}")).await;
    assert_eq!(status, 404, "a plan of another account under one's own");
    let (status, _) = page(app, &other, &format!("/accounts/{customer_id}/plans")).await;
    assert_eq!(status, 404);
    let response = app
        .post_form_with(&other, &format!("{plan_path}/decline"), &[])
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .post_form_with(
            &other,
            &format!("/accounts/{contoso}/plans/{plan_id}/decline"),
            &[],
        )
        .await;
    assert!(
        response.status() == 404 || location(&response).contains("problem="),
        "another account's plan is not touched"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payment_plans WHERE plan_id = {plan_id} AND status IN ('declined', 'canceled')"
        ))
        .await,
        0
    );
}

async fn proposing_through_the_form_leads_to_the_plan_page_with_its_schedule(backend: Backend) {
    let n = Northwind::signed_in(backend, ADMIN).await;
    let (app, customer_id, client, invoices) = (&n.app, n.customer_id, &n.client, &n.invoices);
    let total: i64 = invoices.iter().map(|(_, _, b)| b).sum();
    let chosen = n.chosen();
    let first = in_days(app, 10);
    let plan_id = n.propose("3", "monthly", &first).await;

    // Stored: the plan over the invoices' payable amounts, 3 instalments
    // summing to the total, and the customer's acceptance of those terms.
    assert_eq!(
        app.count(&format!(
            "SELECT total_minor FROM payment_plans WHERE plan_id = {plan_id}"
        ))
        .await,
        total
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM plan_invoices WHERE plan_id = {plan_id}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM plan_instalments WHERE plan_id = {plan_id}"
        ))
        .await,
        total
    );

    let (status, body) = page(
        app,
        client,
        &format!("/accounts/{customer_id}/plans/{plan_id}"),
    )
    .await;
    assert_eq!(status, 200);
    for label in [
        "Instalment 1 of 3",
        "Instalment 2 of 3",
        "Instalment 3 of 3",
    ] {
        assert!(body.contains(label), "{label} on the plan page");
    }
    assert!(
        body.contains("Upcoming"),
        "each instalment's standing in words"
    );
    assert!(body.contains("Terms accepted"), "who accepted the terms");
    assert!(body.contains("Pay next instalment"));
    assert!(body.contains(&format!("/accounts/{customer_id}/pay?plan={plan_id}")));

    // The pay page offers the next instalment by default.
    let (status, pay) = page(
        app,
        client,
        &format!("/accounts/{customer_id}/pay?plan={plan_id}"),
    )
    .await;
    assert_eq!(status, 200);
    let first_instalment = Money::new(total / 3, Currency::USD);
    assert!(
        pay.contains(&format!(
            "the next instalment of payment plan {plan_id}, {}",
            first_instalment.display()
        )),
        "the pay page says what the amounts pay"
    );
    // Spread over the plan's invoices: the amount fields add up to it.
    let typed: i64 = pay
        .split(r#"name="amount_"#)
        .skip(1)
        .filter_map(|field| field.split(r#"value=""#).nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(|v| Money::parse_amount(v, Currency::USD).unwrap().minor)
        .sum();
    assert_eq!(typed, total / 3);

    // The invoices say they are in a plan.
    let (_, list) = page(app, client, &format!("/accounts/{customer_id}/invoices")).await;
    assert!(list.contains("In plan"), "the invoice list shows it");
    let (_, invoice) = page(
        app,
        client,
        &format!("/accounts/{customer_id}/invoices/{}", invoices[0].0),
    )
    .await;
    assert!(invoice.contains("In plan"), "the invoice page shows it");

    // Pressing "Propose" twice: the second press leads to the same plan.
    let again = n.propose("3", "monthly", &first).await;
    assert_eq!(again, plan_id);
    assert_eq!(plans_of(app, customer_id).await, 1);

    // An invoice of the plan cannot go into another one: the form says
    // why and leaves its box disabled.
    let response = app
        .post_form_with(
            client,
            &format!("/accounts/{customer_id}/plans"),
            &plan_form(&chosen[..1], "", "3", "monthly", &first),
        )
        .await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(back.contains("problem=invalid"), "{back}");
    let (_, form) = page(app, client, &back).await;
    let why = format!(
        "Invoice {} is already in payment plan {plan_id}.",
        invoices[0].1
    );
    assert!(form.contains(&why), "{form}");
    assert_eq!(plans_of(app, customer_id).await, 1);
}

async fn preview_without_javascript_shows_the_schedule(backend: Backend) {
    let n = Northwind::signed_in(backend, ADMIN).await;
    let (app, customer_id, client, invoices) = (&n.app, n.customer_id, &n.client, &n.invoices);
    let first = in_days(app, 3);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (id, _, _) in invoices {
        query.append_pair("invoice", &id.to_string());
    }
    query
        .append_pair("down_payment", "")
        .append_pair("count", "4")
        .append_pair("frequency", "biweekly")
        .append_pair("first_date", &first)
        .append_pair("preview", "1");
    let (status, body) = page(
        app,
        client,
        &format!("/accounts/{customer_id}/plans/new?{}", query.finish()),
    )
    .await;
    assert_eq!(status, 200);
    for n in 1..=4 {
        assert!(body.contains(&format!("Instalment {n} of 4")), "{body}");
    }
    // What was typed stays in the form, and the boxes stay ticked.
    assert!(body.contains(r#"value="4""#));
    assert!(body.contains(&format!(r#"value="{first}""#)));
    assert!(body.contains("checked"));
    assert_eq!(
        plans_of(app, customer_id).await,
        0,
        "a preview stores nothing"
    );

    // The server function the live island calls gives the same schedule.
    let response = app
        .server_fn(
            client,
            "plan_preview",
            &[
                ("customer_id", &customer_id.to_string()),
                (
                    "query",
                    &format!(
                        "invoice={}&count=2&frequency=weekly&first_date={first}",
                        invoices[0].0
                    ),
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let json = response.text().await.unwrap();
    assert!(json.contains("Instalment 2 of 2"), "{json}");
}

async fn a_bad_count_or_date_is_refused_in_words_and_creates_nothing(backend: Backend) {
    let n = Northwind::signed_in(backend, ADMIN).await;
    let (app, customer_id, client) = (&n.app, n.customer_id, &n.client);
    let chosen = n.chosen();
    let good_date = in_days(app, 5);
    let past = in_days(app, -1);
    let far = in_days(app, 61);
    let cases: [(&str, &str, &str); 5] = [
        ("0", good_date.as_str(), "Choose from 1 to 36 instalments."),
        ("37", good_date.as_str(), "Choose from 1 to 36 instalments."),
        ("three", good_date.as_str(), "instalments"),
        ("3", past.as_str(), "The first date cannot be in the past."),
        ("3", far.as_str(), "at most 60 days from today"),
    ];
    for (count, first, words) in cases {
        let response = app
            .post_form_with(
                client,
                &format!("/accounts/{customer_id}/plans"),
                &plan_form(&chosen, "", count, "monthly", first),
            )
            .await;
        assert_eq!(response.status(), 303);
        let back = location(&response);
        assert!(
            back.starts_with(&format!("/accounts/{customer_id}/plans/new?"))
                && back.contains("problem="),
            "back to the form: {back}"
        );
        let (status, body) = page(app, client, &back).await;
        assert_eq!(status, 200);
        assert!(
            body.contains(words),
            "{words} for count {count}, date {first}"
        );
        assert!(
            body.contains(&format!(r#"value="{first}""#)),
            "the date as typed"
        );
        assert_eq!(plans_of(app, customer_id).await, 0, "nothing created");
    }
    // Words from the URL are never shown: only the code is read.
    let (status, body) = page(
        app,
        client,
        &format!(
            "/accounts/{customer_id}/plans/new?problem=%3Cb%3EYour+account+is+closed%3C%2Fb%3E"
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!body.contains("Your account is closed"));
    // No invoice chosen.
    let response = app
        .post_form_with(
            client,
            &format!("/accounts/{customer_id}/plans"),
            &plan_form(&[], "", "3", "monthly", &good_date),
        )
        .await;
    assert!(location(&response).contains("problem="));
    assert_eq!(plans_of(app, customer_id).await, 0);
    // Asking AR with an empty message.
    let response = app
        .post_form_with(
            client,
            &format!("/accounts/{customer_id}/plans/ask"),
            &[("message", "  ")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(back.contains("problem="), "{back}");
    assert_eq!(plans_of(app, customer_id).await, 0);
}

async fn a_viewer_sees_plans_but_cannot_propose(backend: Backend) {
    let n = Northwind::signed_in(backend, VIEWER).await;
    let (app, customer_id, client) = (&n.app, n.customer_id, &n.client);
    let (status, list) = page(app, client, &format!("/accounts/{customer_id}/plans")).await;
    assert_eq!(status, 200);
    assert!(!list.contains("Propose a payment plan"));
    let (status, form) = page(app, client, &format!("/accounts/{customer_id}/plans/new")).await;
    assert_eq!(status, 403);
    assert!(!form.contains("Propose this plan"), "no form for a viewer");
    let chosen = n.chosen();
    let first = in_days(app, 5);
    let response = app
        .post_form_with(
            client,
            &format!("/accounts/{customer_id}/plans"),
            &plan_form(&chosen, "", "3", "monthly", &first),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("problem=forbidden"));
    assert_eq!(plans_of(app, customer_id).await, 0);
}

async fn accepting_a_counter_with_terms_that_changed_is_refused(backend: Backend) {
    use portal_core::services::staff_plans::CounterForm;

    let n = Northwind::signed_in(backend, ADMIN).await;
    let (app, customer_id, client) = (&n.app, n.customer_id, &n.client);
    let first = in_days(app, 5);
    // Ten instalments: more than the six approved at once, so AR decides.
    let plan_id = n.propose("10", "weekly", &first).await;
    assert_eq!(plan_status(app, plan_id).await, "proposed");
    let accepted = format!("SELECT COUNT(*) FROM plan_acceptances WHERE plan_id = {plan_id}");
    assert_eq!(
        app.count(&accepted).await,
        1,
        "proposing accepted those terms"
    );
    let proposed_hash = {
        let mut conn = app.services.db.pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, String>(
            "SELECT terms_hash FROM plan_acceptances WHERE plan_id = $1",
        )
        .bind(plan_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    };

    // AR counters with four monthly instalments.
    let request_id = app
        .count(&format!(
            "SELECT request_id FROM payment_plans WHERE plan_id = {plan_id}"
        ))
        .await;
    let ar = crate::helpers::staff_id(app, "ar@seller.example").await;
    app.services
        .counter_plan(
            ar,
            request_id,
            &CounterForm {
                count: "4".into(),
                frequency: "monthly".into(),
                first_date: first.clone(),
                message: "Four monthly payments suit us better.".into(),
                ..CounterForm::default()
            },
        )
        .await
        .unwrap();
    let plan_path = format!("/accounts/{customer_id}/plans/{plan_id}");
    let (status_code, body) = page(app, client, &plan_path).await;
    assert_eq!(status_code, 200);
    assert!(body.contains("Accept these terms") && body.contains("Instalment 4 of 4"));
    let shown_hash = body
        .split(r#"name="terms_hash" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the hash of the terms it shows")
        .to_owned();
    assert_ne!(shown_hash, proposed_hash);

    // A page that still showed the proposed terms: nothing is accepted.
    let response = app
        .post_form_with(
            client,
            &format!("{plan_path}/accept"),
            &[("terms_hash", proposed_hash.as_str())],
        )
        .await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(
        back.starts_with(&plan_path) && back.contains("problem=conflict"),
        "{back}"
    );
    let (_, body) = page(app, client, &back).await;
    assert!(body.contains("AR changed the terms"), "said in words");
    assert_eq!(plan_status(app, plan_id).await, "countered");
    assert_eq!(app.count(&accepted).await, 1, "nothing accepted");

    // The terms the page shows are accepted, once, however often pressed.
    for _ in 0..2 {
        let response = app
            .post_form_with(
                client,
                &format!("{plan_path}/accept"),
                &[("terms_hash", shown_hash.as_str())],
            )
            .await;
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), format!("{plan_path}?notice=accepted"));
    }
    assert_eq!(plan_status(app, plan_id).await, "active");
    assert_eq!(app.count(&accepted).await, 2);
    let (_, body) = page(app, client, &format!("{plan_path}?notice=accepted")).await;
    assert!(
        body.contains("You accepted AR&#x27;s terms") || body.contains("You accepted AR's terms")
    );
    assert!(body.contains("Version 2 accepted by you"));
}
