//! Customers through the seller API (issue 14): upsert by the ERP's
//! `external_id`, read one, list in change order. Writes are idempotent per
//! (API key, Idempotency-Key): see [`Services::idempotent_api_write`].

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::api_keys::ApiKey;
use super::Services;
use crate::error::{ServiceError, ServiceResult};
use crate::repo::api::{self, ApiCustomerRow, Claim, CustomerFields};
use crate::repo::Conn;

/// How long an Idempotency-Key is remembered (Stripe: 24 hours). An older
/// record is replaced by the next request that uses its key.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// A write's Idempotency-Key and the fingerprint of its request (hex
/// SHA-256 of method, path and body, made by the HTTP layer).
#[derive(Clone, Debug)]
pub struct IdempotentRequest {
    pub key: String,
    pub fingerprint: String,
}

/// The fingerprint of a write: hex SHA-256 of its method, path and body
/// bytes, each length-prefixed so no two requests can run together into
/// the same input. A retry sends the same bytes; any other body (even the
/// same JSON with its keys reordered) is another request, as with Stripe.
pub fn request_fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// An answer as stored for replays: HTTP status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotentOutcome {
    /// The write ran now; this answer was stored with it.
    Done(StoredAnswer),
    /// The same request ran before: its stored answer, nothing written.
    Replayed(StoredAnswer),
    /// The key was used before for another request (method, path or body):
    /// nothing written.
    KeyReused,
}

/// A customer as the API writes it; the HTTP layer checked each field
/// against the bounds it documents (see server/src/api/customers.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerInput {
    pub name: String,
    pub currency: String,
    pub payment_terms_days: i64,
    pub segment: Option<String>,
    pub language: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertedCustomer {
    pub customer: ApiCustomerRow,
    pub created: bool,
}

/// Where a page starts: after (change_seq, customer_id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChangeCursor {
    pub change_seq: i64,
    pub customer_id: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerPage {
    pub data: Vec<ApiCustomerRow>,
    pub has_more: bool,
    /// The position of the last row (the next page starts after it); also
    /// given on the last page, so a client can poll for later changes.
    pub next: Option<ChangeCursor>,
}

impl Services {
    /// Runs `write` and stores its answer (`render`) under the key's
    /// Idempotency-Key, in one write transaction, claiming the key first:
    /// a concurrent request with the same key waits for this one's commit
    /// (PostgreSQL: the primary key; SQLite: the single writer) and then
    /// replays its answer, so the write happens once. A failed write rolls
    /// back, claim included: nothing is remembered and a retry runs again.
    pub async fn idempotent_api_write<T, W, R>(
        &self,
        key: &ApiKey,
        request: &IdempotentRequest,
        write: W,
        render: R,
    ) -> ServiceResult<IdempotentOutcome>
    where
        T: Send,
        W: for<'c> FnOnce(&'c mut Conn, DateTime<Utc>) -> BoxFuture<'c, ServiceResult<T>> + Send,
        R: FnOnce(&T) -> StoredAnswer + Send,
    {
        if !key.scopes.can_write() {
            return Err(ServiceError::Forbidden(
                "This API key may only read. Use a key with the write scope.".into(),
            ));
        }
        let now = self.clock.now();
        let mut tx = self.db.begin_write().await?;
        match api::claim_idempotency_key(
            &mut tx,
            key.api_key_id,
            &request.key,
            &request.fingerprint,
            now,
            now - IDEMPOTENCY_WINDOW,
        )
        .await?
        {
            Claim::New => {}
            Claim::Done {
                fingerprint,
                status,
                body,
            } => {
                tx.rollback().await?;
                return Ok(if fingerprint == request.fingerprint {
                    IdempotentOutcome::Replayed(StoredAnswer { status, body })
                } else {
                    IdempotentOutcome::KeyReused
                });
            }
        }
        let value = write(&mut tx, now).await?;
        let answer = render(&value);
        api::finish_idempotency_key(
            &mut tx,
            key.api_key_id,
            &request.key,
            answer.status,
            &answer.body,
        )
        .await?;
        tx.commit().await?;
        Ok(IdempotentOutcome::Done(answer))
    }

    /// Creates the customer with `external_id`, or sets its fields; a
    /// customer whose fields are already these is left as it is (same
    /// change position, same `updated_at`).
    pub async fn api_upsert_customer(
        &self,
        key: &ApiKey,
        request: &IdempotentRequest,
        external_id: &str,
        input: CustomerInput,
        render: impl FnOnce(&UpsertedCustomer) -> StoredAnswer + Send,
    ) -> ServiceResult<IdempotentOutcome> {
        let external_id = external_id.to_owned();
        let fields = CustomerFields {
            name: input.name,
            currency: input.currency,
            payment_terms_days: input.payment_terms_days,
            segment: input.segment,
            language: input.language,
        };
        self.idempotent_api_write(
            key,
            request,
            move |conn, now| {
                Box::pin(async move { upsert_customer(conn, &external_id, &fields, now).await })
            },
            render,
        )
        .await
    }

    /// One customer by the ERP's id.
    pub async fn api_customer(&self, external_id: &str) -> ServiceResult<ApiCustomerRow> {
        let mut conn = self.db.pool.acquire().await?;
        api::customer_by_external_id(&mut conn, external_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// A page of customers in change order (see docs/ARCHITECTURE.md,
    /// "Seller API (issue 14)"): `limit` rows after `after`, optionally only
    /// those changed at or after `updated_since`.
    pub async fn api_customers_page(
        &self,
        after: Option<ChangeCursor>,
        updated_since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> ServiceResult<CustomerPage> {
        let after = after.unwrap_or_default();
        let mut conn = self.db.pool.acquire().await?;
        let mut data = api::customers_page(
            &mut conn,
            (after.change_seq, after.customer_id),
            updated_since,
            i64::from(limit) + 1,
        )
        .await?;
        let has_more = data.len() > limit as usize;
        data.truncate(limit as usize);
        let next = data.last().map(|c| ChangeCursor {
            change_seq: c.change_seq,
            customer_id: c.customer_id,
        });
        Ok(CustomerPage {
            data,
            has_more,
            next: next
                .or(Some(after))
                .filter(|c| *c != ChangeCursor::default()),
        })
    }
}

async fn upsert_customer(
    conn: &mut Conn,
    external_id: &str,
    fields: &CustomerFields,
    now: DateTime<Utc>,
) -> ServiceResult<UpsertedCustomer> {
    if let Some(customer) = api::insert_customer_if_absent(conn, external_id, fields, now).await? {
        return Ok(UpsertedCustomer {
            customer,
            created: true,
        });
    }
    let (customer, _changed) = api::update_customer(conn, external_id, fields, now)
        .await?
        .ok_or_else(|| {
            ServiceError::internal(
                "upserting a customer",
                "the customer neither inserted nor found",
            )
        })?;
    Ok(UpsertedCustomer {
        customer,
        created: false,
    })
}
