//! The portal's UI: routes, pages, components and thin server functions.
//! Compiled twice: with `ssr` into the server, with `hydrate` into WASM.

// The request page's view is one deeply nested type; computing its layout
// for the WASM build needs more than the default 128 levels.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod models;
pub mod pages;

/// The stylesheet's URL: `/pkg/portal.<hash>.css` when cargo-leptos hashed
/// the file names (set once at start-up), else `/pkg/portal.css`.
#[cfg(feature = "ssr")]
pub fn stylesheet_href() -> &'static str {
    STYLESHEET
        .get()
        .map(String::as_str)
        .unwrap_or("/pkg/portal.css")
}

#[cfg(feature = "ssr")]
static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[cfg(feature = "ssr")]
pub fn set_stylesheet_href(href: String) {
    let _ = STYLESHEET.set(href);
}

use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::pages::{
    account::AccountPage,
    autopay::{AutopayPage, AutopaySkipPage, PaymentMethodsPage},
    dev_mailbox::DevMailboxPage,
    home::HomePage,
    invoice_link::InvoiceLinkPage,
    invoices::{InvoiceDetailPage, InvoiceListPage},
    not_found::NotFound,
    pay::{PayPage, PayReviewPage},
    payments::{PaymentsPage, ReceiptPage},
    plans::{PlanListPage, PlanPage, PlanProposePage},
    requests::{DisputeFormPage, RequestListPage, RequestPage},
    sessions::SessionsPage,
    sign_in::{CheckEmailPage, ConfirmPage, LinkProblemPage, SignInPage},
    staff::StaffHomePage,
    staff_customer::StaffCustomerPage,
    staff_links::StaffInvoiceLinksPage,
    staff_payments::StaffPaymentsPage,
    staff_queue::StaffQueuePage,
    staff_request::StaffRequestPage,
    staff_settings::StaffSettingsPage,
    statement::StatementPage,
};

/// The Content-Security-Policy of an HTML page whose scripts carry `nonce`.
/// Its forms post to the portal only, but "Pay" is answered with a 303 to
/// the gateway's hosted checkout, and Chromium applies `form-action` to
/// that redirect too: `checkout_origin` (Stripe Checkout's, from the
/// configuration) is the one other place a form may lead.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str, checkout_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         form-action 'self' {checkout_origin}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// Put into each request's extensions by the server; the shell fills it
/// with the page's script nonce.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct PageNonce(pub std::sync::Arc<std::sync::OnceLock<String>>);

/// The HTML document around the app, rendered on the server only. It hands
/// this response's nonce (leptos_axum generated it; `HydrationScripts` puts
/// it on its script tag) to the server for the Content-Security-Policy.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;

    // The security-headers middleware sets the policy on the finished
    // response from this nonce (see docs/ARCHITECTURE.md, "Known problem",
    // for why not through leptos_axum's ResponseOptions).
    if let (Some(nonce), Some(slot)) = (
        leptos::nonce::use_nonce(),
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PageNonce>().cloned()),
    ) {
        let _ = slot.0.set(nonce.to_string());
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet_href()/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Who is signed in and the seller's name, read by the layout of every page.
    let site = Resource::new(|| (), |_| api::site::load_site_info());
    provide_context(site);

    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id") view=AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/invoices") view=InvoiceListPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/invoices/:invoice_id") view=InvoiceDetailPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/invoices/:invoice_id/dispute") view=DisputeFormPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/requests") view=RequestListPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/requests/:request_id") view=RequestPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/statement") view=StatementPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/plans") view=PlanListPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/plans/new") view=PlanProposePage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/plans/:plan_id") view=PlanPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/payment-methods") view=PaymentMethodsPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/autopay") view=AutopayPage ssr=SsrMode::Async/>
                <Route path=path!("/autopay/skip/:token") view=AutopaySkipPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/payments") view=PaymentsPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/pay") view=PayPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/pay/review") view=PayReviewPage ssr=SsrMode::Async/>
                <Route path=path!("/accounts/:customer_id/payments/:payment_id") view=ReceiptPage ssr=SsrMode::Async/>
                <Route path=path!("/invoice-link") view=InvoiceLinkPage ssr=SsrMode::Async/>
                <Route path=path!("/staff/invoice-links") view=StaffInvoiceLinksPage ssr=SsrMode::Async/>
                <Route path=path!("/staff/requests") view=StaffQueuePage ssr=SsrMode::Async/>
                <Route path=path!("/staff/requests/:request_id") view=StaffRequestPage ssr=SsrMode::Async/>
                <Route path=path!("/staff/customers/:customer_id") view=StaffCustomerPage ssr=SsrMode::Async/>
                <Route path=path!("/staff/settings") view=StaffSettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/staff/payments") view=StaffPaymentsPage ssr=SsrMode::Async/>
                <Route path=path!("/sessions") view=SessionsPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-in") view=|| view! { <SignInPage staff=false/> } ssr=SsrMode::Async/>
                <Route path=path!("/sign-in/check-email") view=|| view! { <CheckEmailPage staff=false/> } ssr=SsrMode::Async/>
                <Route path=path!("/sign-in/link-problem") view=|| view! { <LinkProblemPage staff=false/> } ssr=SsrMode::Async/>
                <Route path=path!("/auth/confirm") view=|| view! { <ConfirmPage staff=false/> } ssr=SsrMode::Async/>
                <Route path=path!("/staff") view=StaffHomePage ssr=SsrMode::Async/>
                <Route path=path!("/staff/sign-in") view=|| view! { <SignInPage staff=true/> } ssr=SsrMode::Async/>
                <Route path=path!("/staff/sign-in/check-email") view=|| view! { <CheckEmailPage staff=true/> } ssr=SsrMode::Async/>
                <Route path=path!("/staff/sign-in/link-problem") view=|| view! { <LinkProblemPage staff=true/> } ssr=SsrMode::Async/>
                <Route path=path!("/staff/auth/confirm") view=|| view! { <ConfirmPage staff=true/> } ssr=SsrMode::Async/>
                <Route path=path!("/dev/mailbox") view=DevMailboxPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
