//! The Stripe adapter, through async-stripe 0.41: its client (auth, Stripe-Version
//! 2023-10-16, Idempotency-Key, retries of idempotent requests) and its
//! typed Checkout parameters. Answers are read as JSON rather than as the
//! crate's structs so that a field added by a newer API version, or by the
//! account's settings, can never make a successful charge look like an error.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use stripe::{
    CheckoutSessionMode, Client, CreateCheckoutSession, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionLineItemsPriceDataProductData,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionPaymentMethodTypes,
    CreateCustomer, RequestStrategy, StripeError,
};

use super::{
    is_soft_decline, setup_result_of, CheckoutCreated, CheckoutRequest, CustomerRequest,
    GatewayError, OffSessionCharge, OffSessionOutcome, OffSessionRequest, PayMethod,
    PaymentGateway, SetupRequest, SetupSession,
};

/// `GET /v1/events?created[gte]=…&limit=100&starting_after=…`
#[derive(serde::Serialize)]
struct ListEvents {
    created: CreatedRange,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<String>,
}

#[derive(serde::Serialize)]
struct CreatedRange {
    gte: i64,
}

/// `POST /v1/payment_intents` for autopay: confirmed at once, off-session,
/// with the saved method (async-stripe's typed params would do too; this
/// keeps the few fields sent in one place, like `ListEvents`).
#[derive(serde::Serialize)]
struct CreateOffSessionIntent<'a> {
    amount: i64,
    currency: String,
    customer: &'a str,
    payment_method: &'a str,
    payment_method_types: [&'a str; 1],
    confirm: bool,
    off_session: bool,
    description: &'a str,
    receipt_email: &'a str,
    metadata: HashMap<String, String>,
}

/// `?expand[]=…`
#[derive(serde::Serialize)]
struct Expand<'a> {
    expand: &'a [&'a str],
}

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeGateway") // never print the key
    }
}

impl StripeGateway {
    /// `api_base` is https://api.stripe.com/ in production; tests point it
    /// at a local fake (STRIPE_API_BASE).
    pub fn new(secret_key: &str, api_base: &str) -> Self {
        let client = Client::from_url(api_base, secret_key).with_app_info(
            "receivables-portal".into(),
            Some(env!("CARGO_PKG_VERSION").into()),
            None,
        );
        StripeGateway { client }
    }

    fn idempotent(&self, key: &str) -> Client {
        self.client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(key.to_owned()))
    }
}

fn gateway_error(e: StripeError) -> GatewayError {
    match e {
        StripeError::Stripe(request) => GatewayError::Refused(
            request
                .message
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", request.http_status)),
        ),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

/// An off-session confirmation's error: a card or bank decline (HTTP 402,
/// or any error naming a code) is an answer; a 5xx, a 409 (the same key
/// is still being processed) or no answer at all leaves the outcome
/// unknown, and the caller asks again with the same key.
fn off_session_error(e: StripeError) -> Result<OffSessionCharge, GatewayError> {
    let declined = |code: String, message: Option<String>| {
        let hard = !is_soft_decline(&code);
        Ok(OffSessionCharge {
            intent_id: None,
            outcome: OffSessionOutcome::Declined {
                message: message.unwrap_or_else(|| "The payment was declined.".into()),
                code,
                hard,
            },
        })
    };
    match e {
        StripeError::Stripe(r)
            if r.http_status >= 500 || r.http_status == 409 || r.http_status == 429 =>
        {
            Err(GatewayError::Unavailable(format!("HTTP {}", r.http_status)))
        }
        StripeError::Stripe(r)
            if r.http_status == 402 || r.code.is_some() || r.decline_code.is_some() =>
        {
            let code = r
                .decline_code
                .clone()
                .or_else(|| r.code.map(|c| c.to_string()))
                .unwrap_or_else(|| "card_declined".into());
            declined(code, r.message)
        }
        StripeError::Stripe(r) => Err(GatewayError::Refused(
            r.message
                .unwrap_or_else(|| format!("HTTP {}", r.http_status)),
        )),
        // The client reads `error.code` into a closed enum: a code it does
        // not know (`authentication_required`…) fails to parse. The code
        // is in the parse error; it is a refusal all the same.
        StripeError::JSONSerialize(parse) if parse.path().to_string() == "error.code" => {
            let text = parse.inner().to_string();
            match text.split('`').nth(1) {
                Some(code) => declined(code.to_owned(), None),
                None => Err(GatewayError::Unavailable(text)),
            }
        }
        other => Err(GatewayError::Unavailable(other.to_string())),
    }
}

/// An intent as Stripe answered its confirmation.
fn off_session_answer(intent: &Value) -> Result<OffSessionCharge, GatewayError> {
    let intent_id = Some(text_field(intent, "id")?);
    let outcome = match intent.get("status").and_then(Value::as_str) {
        Some("succeeded") => OffSessionOutcome::Succeeded,
        Some("processing") => OffSessionOutcome::Processing,
        // Needs the customer (3-D Secure) or another method: declined.
        Some(_) => {
            let error = intent.get("last_payment_error");
            let code = error
                .and_then(|e| e.get("decline_code").or_else(|| e.get("code")))
                .and_then(Value::as_str)
                .unwrap_or("authentication_required")
                .to_owned();
            OffSessionOutcome::Declined {
                hard: !is_soft_decline(&code),
                message: error
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("The bank asked for the cardholder to confirm the payment.")
                    .to_owned(),
                code,
            }
        }
        None => {
            return Err(GatewayError::Unavailable(
                "the answer has no `status`".into(),
            ))
        }
    };
    Ok(OffSessionCharge { intent_id, outcome })
}

fn text_field(v: &Value, key: &str) -> Result<String, GatewayError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| GatewayError::Unavailable(format!("the answer has no `{key}`")))
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_customer(&self, customer: &CustomerRequest) -> Result<String, GatewayError> {
        let mut params = CreateCustomer::new();
        params.name = Some(&customer.name);
        params.email = Some(&customer.email);
        params.metadata = Some(HashMap::from([(
            "portal_customer_id".to_owned(),
            customer.customer_id.to_string(),
        )]));
        let answer: Value = self
            .idempotent(&format!("portal-customer-{}", customer.customer_id))
            .post_form("/customers", &params)
            .await
            .map_err(gateway_error)?;
        text_field(&answer, "id")
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutCreated, GatewayError> {
        let currency: stripe::Currency = request
            .currency
            .code()
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| GatewayError::Refused(format!("currency {}", request.currency.code())))?;
        let metadata = HashMap::from([(
            crate::payments::event::PAYMENT_ID_METADATA.to_owned(),
            request.payment_id.to_string(),
        )]);
        let customer = request
            .gateway_customer_id
            .parse()
            .map_err(|_| GatewayError::Refused("bad customer id".into()))?;
        let mut params = CreateCheckoutSession::new();
        params.mode = Some(CheckoutSessionMode::Payment);
        params.customer = Some(customer);
        params.success_url = Some(&request.success_url);
        params.cancel_url = Some(&request.cancel_url);
        params.client_reference_id = Some(&request.idempotency_key);
        params.expires_at = Some(request.expires_at.timestamp());
        params.metadata = Some(metadata.clone());
        params.payment_method_types = Some(vec![match request.method {
            PayMethod::Card => CreateCheckoutSessionPaymentMethodTypes::Card,
            PayMethod::Ach => CreateCheckoutSessionPaymentMethodTypes::UsBankAccount,
        }]);
        params.payment_intent_data = Some(CreateCheckoutSessionPaymentIntentData {
            metadata: Some(metadata),
            receipt_email: Some(request.receipt_email.clone()),
            description: Some(format!("Portal payment {}", request.payment_id)),
            ..Default::default()
        });
        params.line_items = Some(
            request
                .lines
                .iter()
                .map(|line| CreateCheckoutSessionLineItems {
                    quantity: Some(1),
                    price_data: Some(CreateCheckoutSessionLineItemsPriceData {
                        currency,
                        unit_amount: Some(line.amount_minor),
                        product_data: Some(CreateCheckoutSessionLineItemsPriceDataProductData {
                            name: line.name.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
        );
        let answer: Value = self
            .idempotent(&request.idempotency_key)
            .post_form("/checkout/sessions", &params)
            .await
            .map_err(gateway_error)?;
        Ok(CheckoutCreated {
            session_id: text_field(&answer, "id")?,
            url: text_field(&answer, "url")?,
        })
    }

    async fn retrieve_checkout(&self, session_id: &str) -> Result<Value, GatewayError> {
        self.client
            .get(&format!("/checkout/sessions/{session_id}"))
            .await
            .map_err(gateway_error)
    }

    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError> {
        let _: Value = self
            .client
            .post(&format!("/checkout/sessions/{session_id}/expire"))
            .await
            .map_err(gateway_error)?;
        Ok(())
    }

    async fn events_since(&self, since: DateTime<Utc>) -> Result<Vec<String>, GatewayError> {
        // Stripe lists newest first, 100 a page; walk back with
        // starting_after, then return oldest first.
        let mut events = Vec::new();
        let mut starting_after: Option<String> = None;
        loop {
            let query = ListEvents {
                created: CreatedRange {
                    gte: since.timestamp(),
                },
                limit: 100,
                starting_after: starting_after.clone(),
            };
            let page: Value = self
                .client
                .get_query("/events", &query)
                .await
                .map_err(gateway_error)?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            starting_after = data
                .last()
                .and_then(|e| e.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            events.extend(data.iter().map(Value::to_string));
            let more = page.get("has_more").and_then(Value::as_bool) == Some(true);
            if !more || starting_after.is_none() {
                break;
            }
        }
        events.reverse();
        Ok(events)
    }

    async fn charge_off_session(
        &self,
        request: &OffSessionRequest,
    ) -> Result<OffSessionCharge, GatewayError> {
        let params = CreateOffSessionIntent {
            amount: request.amount_minor,
            currency: request.currency.code().to_ascii_lowercase(),
            customer: &request.gateway_customer_id,
            payment_method: &request.payment_method_id,
            payment_method_types: [request.method.stripe_type()],
            confirm: true,
            off_session: true,
            description: &request.description,
            receipt_email: &request.receipt_email,
            metadata: HashMap::from([
                (
                    crate::payments::event::PAYMENT_ID_METADATA.to_owned(),
                    request.payment_id.to_string(),
                ),
                (
                    super::AUTOPAY_METADATA.to_owned(),
                    request.charge_id.to_string(),
                ),
            ]),
        };
        match self
            .idempotent(&request.idempotency_key)
            .post_form::<Value, _>("/payment_intents", &params)
            .await
        {
            Ok(intent) => off_session_answer(&intent),
            Err(e) => off_session_error(e),
        }
    }

    async fn create_setup_checkout(
        &self,
        request: &SetupRequest,
    ) -> Result<CheckoutCreated, GatewayError> {
        let customer = request
            .gateway_customer_id
            .parse()
            .map_err(|_| GatewayError::Refused("bad customer id".into()))?;
        let mut params = CreateCheckoutSession::new();
        params.mode = Some(CheckoutSessionMode::Setup);
        params.customer = Some(customer);
        params.success_url = Some(&request.success_url);
        params.cancel_url = Some(&request.cancel_url);
        params.payment_method_types = Some(
            request
                .methods
                .iter()
                .map(|m| match m {
                    PayMethod::Card => CreateCheckoutSessionPaymentMethodTypes::Card,
                    PayMethod::Ach => CreateCheckoutSessionPaymentMethodTypes::UsBankAccount,
                })
                .collect(),
        );
        let answer: Value = self
            .idempotent(&request.idempotency_key)
            .post_form("/checkout/sessions", &params)
            .await
            .map_err(gateway_error)?;
        Ok(CheckoutCreated {
            session_id: text_field(&answer, "id")?,
            url: text_field(&answer, "url")?,
        })
    }

    async fn retrieve_setup(&self, session_id: &str) -> Result<SetupSession, GatewayError> {
        let session: Value = self
            .client
            .get_query(
                &format!("/checkout/sessions/{session_id}"),
                Expand {
                    expand: &["setup_intent.payment_method"],
                },
            )
            .await
            .map_err(gateway_error)?;
        let complete = session.get("status").and_then(Value::as_str) == Some("complete")
            && session.get("mode").and_then(Value::as_str) == Some("setup");
        Ok(SetupSession {
            customer: session
                .get("customer")
                .and_then(Value::as_str)
                .map(str::to_owned),
            saved: complete
                .then(|| session.pointer("/setup_intent/payment_method"))
                .flatten()
                .and_then(setup_result_of),
        })
    }

    async fn detach_payment_method(&self, payment_method_id: &str) -> Result<(), GatewayError> {
        let _: Value = self
            .client
            .post(&format!("/payment_methods/{payment_method_id}/detach"))
            .await
            .map_err(gateway_error)?;
        Ok(())
    }
}
