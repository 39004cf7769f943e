//! The invoice list as a streamed CSV, and the cell defusing every CSV
//! download shares.

use crate::services::access::ContactAccess;
use tokio::sync::mpsc;

use super::documents::CHUNKS_IN_FLIGHT;
use super::{safe_file_name, InvoiceSummary, StreamedDownload, CHUNK_BYTES};
use crate::domain::invoice_query::InvoiceQuery;
use crate::domain::Money;
use crate::error::ServiceResult;
use crate::repo::invoices::{self as repo, InvoiceLedgerRow};
use crate::services::Services;

impl Services {
    /// The filtered list (all pages, up to `repo::MAX_EXPORT_ROWS`) as
    /// CSV, amounts as plain decimals. Streamed: rows are written as the
    /// database returns them and leave in chunks of about `CHUNK_BYTES`.
    pub async fn invoices_csv(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        query: InvoiceQuery,
    ) -> ServiceResult<StreamedDownload> {
        let (mut conn, customer) = self.as_member(access, customer_id).await?;
        let today = self.today();
        let (chunks_tx, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
        tokio::spawn(async move {
            let (rows_tx, mut rows_rx) = mpsc::channel::<InvoiceLedgerRow>(256);
            let read = async move {
                let result = repo::send_matching(
                    &mut conn,
                    customer_id,
                    &query,
                    today,
                    repo::MAX_EXPORT_ROWS,
                    &rows_tx,
                )
                .await;
                drop(rows_tx);
                result
            };
            let chunks = &chunks_tx;
            let write = async move {
                let mut out = csv_chunk();
                write_record(
                    &mut out,
                    &[
                        "Invoice", "PO", "Issued", "Due", "Status", "Currency", "Total", "Paid",
                        "Credited", "Balance",
                    ]
                    .map(String::from),
                )?;
                while let Some(row) = rows_rx.recv().await {
                    let s = InvoiceSummary::of(row, today);
                    let m = |minor| Money::new(minor, s.row.currency).decimal_string();
                    write_record(
                        &mut out,
                        &[
                            csv_safe(&s.row.number),
                            csv_safe(s.row.po_number.as_deref().unwrap_or("")),
                            s.row.issue_date.to_string(),
                            s.row.due_date.to_string(),
                            s.status.label(),
                            s.row.currency.code().to_owned(),
                            m(s.row.total_minor),
                            m(s.row.paid_minor),
                            m(s.row.credited_minor),
                            s.balance.decimal_string(),
                        ],
                    )?;
                    if out.get_ref().len() >= CHUNK_BYTES {
                        let full = std::mem::replace(&mut out, csv_chunk());
                        if chunks.send(Ok(csv_bytes(full)?)).await.is_err() {
                            // The client went away; dropping `rows_rx` on
                            // return stops the read as well.
                            return Ok(());
                        }
                    }
                }
                let _ = chunks.send(Ok(csv_bytes(out)?)).await;
                Ok::<(), std::io::Error>(())
            };
            let (read, write) = tokio::join!(read, write);
            let failure = match (read, write) {
                (Err(e), _) => Some(std::io::Error::other(e)),
                (_, Err(e)) => Some(e),
                _ => None,
            };
            if let Some(e) = failure {
                tracing::error!(error = %e, "CSV download failed");
                let _ = chunks_tx.send(Err(e)).await;
            }
        });
        Ok(StreamedDownload {
            file_name: format!("{}-invoices-{today}.csv", safe_file_name(&customer.name)),
            content_type: "text/csv; charset=utf-8",
            chunks,
        })
    }
}

/// Spreadsheet programs run cells that start with = + - @ as formulas:
/// prefix such text (invoice and PO numbers come from the ERP) with '.
pub(super) fn csv_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn csv_chunk() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(CHUNK_BYTES + 8 * 1024))
}

fn csv_bytes(out: csv::Writer<Vec<u8>>) -> std::io::Result<Vec<u8>> {
    out.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn write_record(out: &mut csv::Writer<Vec<u8>>, record: &[String]) -> std::io::Result<()> {
    out.write_record(record).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_defused() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("PO-1"), "PO-1");
    }
}
