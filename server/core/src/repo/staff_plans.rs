//! SQL of AR's side of payment plans (issue 12). The plans, schedules,
//! acceptances, events, policy and limits are read and moved through
//! `repo::plans`, shared with the customer's side and the plan job; this
//! holds only what AR's pages read besides.

use sqlx::Row;

use super::Conn;

/// The name and email of the contact who proposed (or asked for) a plan,
/// whatever their access now: AR's page names who agreed to what.
pub async fn proposer(
    conn: &mut Conn,
    plan_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT c.name, c.email FROM payment_plans p
         JOIN contacts c ON c.contact_id = p.proposed_by_contact_id
         WHERE p.plan_id = $1",
    )
    .bind(plan_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("email")?)))
        .transpose()
}
