//! Saved payment methods (issue 12 item 4): a card or US bank account
//! saved through Checkout in setup mode (the sandbox's own setup page
//! without keys), listed, made default, removed. Saving charges nothing;
//! it is separate from agreeing to autopay (services::autopay).

use serde_json::json;

use super::Services;
use crate::domain::audit::Action;
use crate::error::{ServiceError, ServiceResult};
use crate::payments::{CustomerRequest, GatewayError, PayMethod, SetupRequest};
use crate::repo::audit::{self, AuditEvent};
use crate::repo::payment_methods::{self as repo, SavedMethod};
use crate::repo::{accounts, autopay as autopay_repo, ledger};

/// The saved methods page's facts.
#[derive(Clone, Debug)]
pub struct SavedMethods {
    pub customer_name: String,
    pub can_manage: bool,
    pub methods: Vec<SavedMethod>,
    /// The method autopay charges, if autopay is on.
    pub autopay_method_id: Option<i64>,
}

/// How a return from the gateway's setup page went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupOutcome {
    Saved(i64),
    /// The session is not complete (left, or still open).
    NotSaved,
}

fn unreachable(e: GatewayError) -> ServiceError {
    tracing::warn!(error = %e, "payment method gateway call failed");
    ServiceError::Unavailable(
        "The payment provider could not be reached. Nothing was changed; please try again in a minute."
            .into(),
    )
}

impl Services {
    pub async fn saved_methods(
        &self,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<SavedMethods> {
        let mut conn = self.db.pool.acquire().await?;
        let membership = accounts::memberships(&mut conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        Ok(SavedMethods {
            customer_name: membership.customer_name,
            can_manage: membership.role.can_pay(),
            methods: repo::live_methods(&mut conn, customer_id).await?,
            autopay_method_id: autopay_repo::active_enrolment(&mut conn, customer_id)
                .await?
                .map(|e| e.method_id),
        })
    }

    /// The account's customer at the gateway, created on first use.
    async fn gateway_customer(
        &self,
        customer_id: i64,
        name: &str,
        email: &str,
    ) -> ServiceResult<String> {
        let mut conn = self.db.pool.acquire().await?;
        if let Some(id) = ledger::gateway_customer_id(&mut conn, customer_id).await? {
            return Ok(id);
        }
        let id = self
            .gateway
            .create_customer(&CustomerRequest {
                customer_id,
                name: name.to_owned(),
                email: email.to_owned(),
            })
            .await
            .map_err(unreachable)?;
        ledger::set_gateway_customer_id(&mut conn, customer_id, &id).await?;
        // Another request may have set one first: that one counts.
        Ok(ledger::gateway_customer_id(&mut conn, customer_id)
            .await?
            .unwrap_or(id))
    }

    /// "Save a card" / "Save a bank account": opens the gateway's setup
    /// page. Returns where the browser goes.
    pub async fn start_saving_method(
        &self,
        contact_id: i64,
        customer_id: i64,
        kind: &str,
    ) -> ServiceResult<String> {
        let method = PayMethod::parse(kind).ok_or_else(|| {
            ServiceError::invalid_field("kind", "Choose a card or a bank account.")
        })?;
        let now = self.clock.now();
        let (name, email) = {
            let mut conn = self.db.pool.acquire().await?;
            let name = self
                .require_autopay_manager(&mut conn, contact_id, customer_id)
                .await?;
            let email = accounts::active_contact(&mut conn, contact_id)
                .await?
                .map(|c| c.email)
                .unwrap_or_default();
            (name, email)
        };
        let gateway_customer_id = self.gateway_customer(customer_id, &name, &email).await?;
        let key = crate::domain::token::mint_token();
        let setup_id = {
            let mut conn = self.db.pool.acquire().await?;
            repo::insert_setup(&mut conn, customer_id, contact_id, &key.hash, now).await?
        };
        let base = format!("/accounts/{customer_id}/payment-methods");
        let created = self
            .gateway
            .create_setup_checkout(&SetupRequest {
                idempotency_key: format!("portal-setup-{setup_id}"),
                gateway_customer_id,
                methods: vec![method],
                success_url: self.config.link(&format!(
                    "{base}/return?key={}&session_id={{CHECKOUT_SESSION_ID}}",
                    key.plain
                )),
                cancel_url: self.config.link(&format!("{base}?outcome=left")),
            })
            .await
            .map_err(unreachable)?;
        let mut conn = self.db.pool.acquire().await?;
        repo::set_setup_session(&mut conn, setup_id, &created.session_id).await?;
        Ok(created.url)
    }

    /// The return from the setup page: asks the gateway what was saved and
    /// stores it once (a reload finds it saved). Only the press's own
    /// random key, on its own account, leads here.
    pub async fn finish_saving_method(
        &self,
        contact_id: i64,
        customer_id: i64,
        key: &str,
    ) -> ServiceResult<SetupOutcome> {
        let hash = crate::domain::token::parse_and_hash(key).ok_or(ServiceError::NotFound)?;
        let setup = {
            let mut conn = self.db.pool.acquire().await?;
            self.require_autopay_manager(&mut conn, contact_id, customer_id)
                .await?;
            repo::setup_by_key(&mut conn, &hash)
                .await?
                .filter(|s| s.customer_id == customer_id)
                .ok_or(ServiceError::NotFound)?
        };
        if let Some(method_id) = setup.method_id {
            return Ok(SetupOutcome::Saved(method_id));
        }
        let Some(session_id) = &setup.gateway_session_id else {
            return Ok(SetupOutcome::NotSaved);
        };
        let session = self
            .gateway
            .retrieve_setup(session_id)
            .await
            .map_err(unreachable)?;
        let Some(saved) = session.saved else {
            return Ok(SetupOutcome::NotSaved);
        };
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        let ours = ledger::gateway_customer_id(&mut tx, customer_id).await?;
        if session.customer.is_none() || session.customer != ours {
            tracing::warn!(customer_id, "a setup session of another gateway customer");
            return Err(ServiceError::NotFound);
        }
        let method_id = repo::insert_method(
            &mut tx,
            &repo::NewMethod {
                customer_id,
                gateway: self.gateway.name(),
                gateway_method_id: &saved.payment_method_id,
                kind: saved.method.key(),
                brand: &saved.brand,
                last4: &saved.last4,
                exp_month: saved.exp_month,
                exp_year: saved.exp_year,
                contact_id,
            },
            now,
        )
        .await?;
        if !repo::finish_setup(&mut tx, setup.setup_id, method_id).await? {
            tx.rollback().await?; // a second return got there first
            return Ok(SetupOutcome::Saved(method_id));
        }
        self.method_audit(
            &mut tx,
            contact_id,
            customer_id,
            Action::PaymentMethodSaved,
            method_id,
        )
        .await?;
        tx.commit().await?;
        Ok(SetupOutcome::Saved(method_id))
    }

    /// "Make default".
    pub async fn make_method_default(
        &self,
        contact_id: i64,
        customer_id: i64,
        method_id: i64,
    ) -> ServiceResult<()> {
        let mut tx = self.db.begin_write().await?;
        self.require_autopay_manager(&mut tx, contact_id, customer_id)
            .await?;
        let method = repo::method(&mut tx, customer_id, method_id)
            .await?
            .filter(|m| !m.removed)
            .ok_or(ServiceError::NotFound)?;
        if !method.is_default {
            repo::set_default(&mut tx, customer_id, method_id).await?;
            self.method_audit(
                &mut tx,
                contact_id,
                customer_id,
                Action::PaymentMethodDefault,
                method_id,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Remove": detached at the gateway, then gone from the list. The
    /// method autopay charges cannot be removed while autopay is on.
    /// Removing twice is harmless.
    pub async fn remove_method(
        &self,
        contact_id: i64,
        customer_id: i64,
        method_id: i64,
    ) -> ServiceResult<()> {
        let method = {
            let mut conn = self.db.pool.acquire().await?;
            self.require_autopay_manager(&mut conn, contact_id, customer_id)
                .await?;
            let method = repo::method(&mut conn, customer_id, method_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            if method.removed {
                return Ok(());
            }
            if autopay_repo::active_enrolment(&mut conn, customer_id)
                .await?
                .is_some_and(|e| e.method_id == method_id)
            {
                return Err(ServiceError::invalid(
                    "Autopay charges this method. Turn autopay off, or turn it on again with another method, before removing it.",
                ));
            }
            method
        };
        match self
            .gateway
            .detach_payment_method(&method.gateway_method_id)
            .await
        {
            Ok(()) => {}
            // Already detached (or unknown) at the gateway: it cannot be
            // charged either way.
            Err(GatewayError::Refused(reason)) => {
                tracing::info!(method_id, %reason, "payment method already detached")
            }
            Err(e) => return Err(unreachable(e)),
        }
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        if repo::remove(&mut tx, customer_id, method_id, now).await? {
            if method.is_default {
                if let Some(next) = repo::live_methods(&mut tx, customer_id).await?.first() {
                    repo::set_default(&mut tx, customer_id, next.method_id).await?;
                }
            }
            self.method_audit(
                &mut tx,
                contact_id,
                customer_id,
                Action::PaymentMethodRemoved,
                method_id,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn method_audit(
        &self,
        conn: &mut crate::repo::Conn,
        contact_id: i64,
        customer_id: i64,
        action: Action,
        method_id: i64,
    ) -> ServiceResult<()> {
        audit::record(
            conn,
            self.clock.now(),
            AuditEvent {
                actor_kind: "contact",
                actor_id: Some(contact_id),
                customer_id: Some(customer_id),
                action,
                detail: json!({"method_id": method_id}),
                ip: None,
                subject: Some(format!("customer:{customer_id}")),
            },
        )
        .await?;
        Ok(())
    }
}
