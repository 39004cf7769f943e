//! The invoice experience: list, detail, downloads (PDF, CSV, zip),
//! statement of account and payment history. Every method starts by
//! checking who is asking; what they may not see is `NotFound`.

use std::io::Write;

use chrono::NaiveDate;
use tokio::sync::mpsc;

use super::Services;
use crate::domain::invoice_query::{Cursor, InvoiceQuery, PAGE_SIZE};
use crate::domain::statement::{build_statement, Bucket, Statement};
use crate::domain::{invoice_standing, Currency, InvoiceStatus, Money, Principal};
use crate::error::{ServiceError, ServiceResult};
use crate::pdf::{self, Column, DocumentSpec, Section};
use crate::repo::invoices::{self as repo, Application, InvoiceLedgerRow, LineRow, OpenTotals};
use crate::repo::payments::{self as payments_repo, method_label, AllocationRow, PaymentRow};
use crate::repo::statement as statement_repo;
use crate::repo::{accounts, invoice_links, Conn};

/// Who is looking, as far as invoices go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    Contact(i64),
    /// Someone holding a link to one invoice.
    InvoiceLink(i64),
}

impl Viewer {
    pub fn of(principal: Principal) -> Option<Viewer> {
        match principal {
            Principal::Contact { contact_id } => Some(Viewer::Contact(contact_id)),
            Principal::InvoiceLink { link_id } => Some(Viewer::InvoiceLink(link_id)),
            Principal::Staff { .. } => None,
        }
    }
}

/// A file to download.
#[derive(Clone, Debug)]
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// An invoice as the pages show it: ledger facts plus derived standing.
#[derive(Clone, Debug)]
pub struct InvoiceSummary {
    pub row: InvoiceLedgerRow,
    pub balance: Money,
    pub status: InvoiceStatus,
}

impl InvoiceSummary {
    fn of(row: InvoiceLedgerRow, today: NaiveDate) -> InvoiceSummary {
        let standing = invoice_standing(&row.facts(), today);
        InvoiceSummary {
            balance: Money::new(standing.balance_minor, row.currency),
            status: standing.status,
            row,
        }
    }

    pub fn total(&self) -> Money {
        Money::new(self.row.total_minor, self.row.currency)
    }

    /// What can be paid now (the balance less what payments in flight hold).
    pub fn payable_minor(&self) -> i64 {
        crate::domain::payable_minor(self.balance.minor, self.row.pending_minor)
    }
}

#[derive(Clone, Debug)]
pub struct InvoiceList {
    pub customer_id: i64,
    pub customer_name: String,
    /// The viewer is a payer or admin (is offered "Pay").
    pub can_pay: bool,
    pub query: InvoiceQuery,
    pub invoices: Vec<InvoiceSummary>,
    /// How many invoices match the filters, over all pages.
    pub matching: i64,
    pub totals: Vec<OpenTotals>,
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
    /// Currencies the account has invoices in, for the filter.
    pub currencies: Vec<Currency>,
}

/// One payment as its page shows it.
#[derive(Clone, Debug)]
pub struct PaymentReceipt {
    pub customer_name: String,
    /// The viewer is a payer or admin: offered to continue or cancel a
    /// checkout in progress.
    pub can_pay: bool,
    pub payment: PaymentRow,
    pub allocations: Vec<AllocationRow>,
}

#[derive(Clone, Debug)]
pub struct Activity {
    pub at: chrono::DateTime<chrono::Utc>,
    pub what: String,
}

#[derive(Clone, Debug)]
pub struct InvoiceDetail {
    pub customer_id: i64,
    pub customer_name: String,
    /// The viewer is a payer or admin (is offered "Pay").
    pub can_pay: bool,
    pub invoice: InvoiceSummary,
    pub payment_terms_days: i64,
    pub lines: Vec<LineRow>,
    pub applications: Vec<Application>,
    pub activity: Vec<Activity>,
    pub has_original_pdf: bool,
    /// The viewer came through an invoice link (sees this invoice only).
    pub via_link: bool,
}

#[derive(Clone, Debug)]
pub struct StatementOfAccount {
    pub customer_id: i64,
    pub customer_name: String,
    pub statement: Statement,
}

#[derive(Clone, Debug)]
pub struct PaymentHistory {
    pub customer_id: i64,
    pub customer_name: String,
    pub payments: Vec<(PaymentRow, Vec<AllocationRow>)>,
    pub page: i64,
    pub pages: i64,
}

pub const PAYMENTS_PER_PAGE: i64 = 25;

/// Most invoices one zip download may hold.
pub const MAX_ZIP_INVOICES: usize = 100;

/// Longest statement period, in months (a statement of a busy account over
/// two years is thousands of lines; longer is a job for an export).
pub const MAX_STATEMENT_MONTHS: u32 = 24;

/// Why a statement period is refused, if it is: longer than
/// `MAX_STATEMENT_MONTHS` (from `to` back to the day after the same date
/// two years earlier).
pub fn statement_period_problem(from: NaiveDate, to: NaiveDate) -> Option<String> {
    let earliest = to
        .checked_sub_months(chrono::Months::new(MAX_STATEMENT_MONTHS))
        .and_then(|d| d.succ_opt())
        .unwrap_or(NaiveDate::MIN);
    (from < earliest).then(|| {
        format!(
            "A statement covers at most {} years: for a statement to {to}, choose a start date on or after {earliest}",
            MAX_STATEMENT_MONTHS / 12
        )
    })
}

struct Customer {
    name: String,
    terms: i64,
    /// The viewer is a payer or admin of the account.
    can_pay: bool,
}

async fn customer_name_terms(conn: &mut Conn, customer_id: i64) -> ServiceResult<(String, i64)> {
    accounts::customer_name_terms(conn, customer_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

impl Services {
    /// The customer, if the contact belongs to it.
    async fn member_customer(
        &self,
        conn: &mut Conn,
        contact_id: i64,
        customer_id: i64,
    ) -> ServiceResult<Customer> {
        let membership = accounts::memberships(conn, contact_id)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        let (name, terms) = customer_name_terms(conn, customer_id).await?;
        Ok(Customer {
            name,
            terms,
            can_pay: membership.role.can_pay(),
        })
    }

    /// The customer, if the viewer may see this invoice of it. A link
    /// grants its own invoice only, and only while valid.
    async fn invoice_customer(
        &self,
        conn: &mut Conn,
        viewer: Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Customer> {
        match viewer {
            Viewer::Contact(contact_id) => {
                self.member_customer(conn, contact_id, customer_id).await
            }
            Viewer::InvoiceLink(link_id) => {
                let link = invoice_links::by_id(conn, link_id)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                let usable = link.revoked_at.is_none() && link.expires_at > self.clock.now();
                if !usable || link.invoice_id != invoice_id || link.customer_id != customer_id {
                    return Err(ServiceError::NotFound);
                }
                let (name, terms) = customer_name_terms(conn, customer_id).await?;
                // Someone holding an invoice link signs in to pay.
                Ok(Customer {
                    name,
                    terms,
                    can_pay: false,
                })
            }
        }
    }

    async fn invoice_of(
        &self,
        conn: &mut Conn,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<InvoiceLedgerRow> {
        repo::invoice(conn, invoice_id)
            .await?
            .filter(|i| i.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)
    }

    pub async fn invoice_list(
        &self,
        contact_id: i64,
        customer_id: i64,
        query: InvoiceQuery,
    ) -> ServiceResult<InvoiceList> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
        let today = self.today();
        let page = repo::list_page(&mut conn, customer_id, &query, today, PAGE_SIZE).await?;
        let matching = repo::count_matching(&mut conn, customer_id, &query, today).await?;
        let totals = repo::open_totals(&mut conn, customer_id, &query, today).await?;
        let currencies = repo::currencies_of_customer(&mut conn, customer_id).await?;
        let cursor_at = |i: usize| Cursor {
            value: page.sort_values[i].clone(),
            invoice_id: page.rows[i].invoice_id,
        };
        let n = page.rows.len();
        let backwards = query.before.is_some();
        // Forward: more rows after this page means a next page; a cursor we
        // came by means a previous one. Backward: the other way round.
        let has_next = if backwards { true } else { page.more };
        let has_previous = if backwards {
            page.more
        } else {
            query.after.is_some()
        };
        let next = (n > 0 && has_next).then(|| cursor_at(n - 1));
        let previous = (n > 0 && has_previous).then(|| cursor_at(0));
        Ok(InvoiceList {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            invoices: page
                .rows
                .into_iter()
                .map(|r| InvoiceSummary::of(r, today))
                .collect(),
            query,
            matching,
            totals,
            next,
            previous,
            currencies,
        })
    }

    pub async fn invoice_detail(
        &self,
        viewer: Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<InvoiceDetail> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .invoice_customer(&mut conn, viewer, customer_id, invoice_id)
            .await?;
        let row = self.invoice_of(&mut conn, customer_id, invoice_id).await?;
        let lines = repo::lines(&mut conn, invoice_id).await?;
        let applications = repo::applications(&mut conn, invoice_id).await?;
        let has_original_pdf = repo::has_original_document(&mut conn, invoice_id).await?;
        let mut activity: Vec<Activity> = repo::activity(&mut conn, invoice_id)
            .await?
            .into_iter()
            .map(|a| Activity {
                at: a.at,
                what: activity_label(&a.action, &a.actor_kind),
            })
            .collect();
        // The ledger's own events complete the story.
        activity.push(Activity {
            at: row
                .issue_date
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc(),
            what: "Invoice issued".into(),
        });
        for a in &applications {
            if let Some(d) = a.date {
                activity.push(Activity {
                    at: d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
                    what: match a.kind {
                        "payment" => format!(
                            "Payment {} ({}) {}: {}",
                            crate::domain::payment_number(a.id),
                            method_label(&a.detail),
                            a.status,
                            Money::new(a.amount_minor, row.currency).display()
                        ),
                        _ => format!(
                            "Credit note {} applied: {}",
                            a.reference.clone().unwrap_or_default(),
                            Money::new(a.amount_minor, row.currency).display()
                        ),
                    },
                });
            }
        }
        activity.sort_by(|a, b| b.at.cmp(&a.at));
        Ok(InvoiceDetail {
            customer_id,
            can_pay: customer.can_pay,
            customer_name: customer.name,
            payment_terms_days: customer.terms,
            invoice: InvoiceSummary::of(row, self.today()),
            lines,
            applications,
            activity,
            has_original_pdf,
            via_link: matches!(viewer, Viewer::InvoiceLink(_)),
        })
    }

    /// The ERP's original PDF when there is one, else one rendered here.
    pub async fn invoice_pdf(
        &self,
        viewer: Viewer,
        customer_id: i64,
        invoice_id: i64,
    ) -> ServiceResult<Download> {
        let mut conn = self.db.pool.acquire().await?;
        self.invoice_customer(&mut conn, viewer, customer_id, invoice_id)
            .await?;
        let row = self.invoice_of(&mut conn, customer_id, invoice_id).await?;
        drop(conn);
        self.pdf_of(row).await
    }

    async fn pdf_of(&self, row: InvoiceLedgerRow) -> ServiceResult<Download> {
        let (file_name, source) = self.pdf_source(row).await?;
        let bytes = match source {
            PdfSource::Original(bytes) => bytes,
            PdfSource::Generated(spec) => render_pdf(*spec).await?,
        };
        Ok(Download {
            file_name,
            content_type: "application/pdf",
            bytes,
        })
    }

    /// An invoice's file name and what its PDF is made from (the database
    /// reads; rendering is left to the caller's thread).
    async fn pdf_source(&self, row: InvoiceLedgerRow) -> ServiceResult<(String, PdfSource)> {
        let mut conn = self.db.pool.acquire().await?;
        let file_name = format!("{}.pdf", safe_file_name(&row.number));
        if let Some(doc) = repo::original_document(&mut conn, row.invoice_id).await? {
            return Ok((file_name, PdfSource::Original(doc.bytes)));
        }
        let (customer_name, terms) = customer_name_terms(&mut conn, row.customer_id).await?;
        let lines = repo::lines(&mut conn, row.invoice_id).await?;
        let applications = repo::applications(&mut conn, row.invoice_id).await?;
        drop(conn);
        let spec = invoice_document(
            &self.config,
            &customer_name,
            terms,
            &InvoiceSummary::of(row, self.today()),
            &lines,
            &applications,
        );
        Ok((file_name, PdfSource::Generated(Box::new(spec))))
    }

    /// Several invoices' PDFs in one zip. Ids that are not the customer's
    /// are refused as a whole, so a tampered form cannot probe other accounts.
    pub async fn invoices_zip(
        &self,
        contact_id: i64,
        customer_id: i64,
        ids: &[i64],
    ) -> ServiceResult<StreamedDownload> {
        let mut ids: Vec<i64> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err(ServiceError::invalid(
                "Select at least one invoice to download",
            ));
        }
        if ids.len() > MAX_ZIP_INVOICES {
            return Err(ServiceError::invalid(format!(
                "Select at most {MAX_ZIP_INVOICES} invoices per download"
            )));
        }
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
        let rows = repo::invoices_of_customer(&mut conn, customer_id, &ids).await?;
        drop(conn);
        if rows.len() != ids.len() {
            return Err(ServiceError::NotFound);
        }
        // Streamed: an async task reads each invoice's PDF source from the
        // database; one blocking thread renders and deflates them into the
        // zip, whose bytes leave in chunks as they are written. At most a
        // couple of PDFs and chunks are in memory at once, and a client that
        // goes away stops the work.
        let (sources_tx, mut sources_rx) = mpsc::channel::<ServiceResult<(String, PdfSource)>>(2);
        let (chunks_tx, chunks) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let services = self.clone();
        tokio::spawn(async move {
            for row in rows {
                let source = services.pdf_source(row).await;
                let failed = source.is_err();
                if sources_tx.send(source).await.is_err() || failed {
                    break;
                }
            }
        });
        tokio::task::spawn_blocking(move || {
            let mut out = ChunkWriter::new(chunks_tx.clone());
            let result = (|| -> Result<(), String> {
                let mut zip = zip::ZipWriter::new_stream(&mut out);
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated);
                while let Some(source) = sources_rx.blocking_recv() {
                    let (file_name, source) = source.map_err(|e| e.to_string())?;
                    let bytes = match source {
                        PdfSource::Original(bytes) => bytes,
                        PdfSource::Generated(spec) => pdf::render(&spec),
                    };
                    zip.start_file(file_name.as_str(), options)
                        .map_err(|e| e.to_string())?;
                    zip.write_all(&bytes).map_err(|e| e.to_string())?;
                }
                zip.finish().map_err(|e| e.to_string())?;
                out.flush().map_err(|e| e.to_string())
            })();
            if let Err(e) = result {
                // Unless the client left, end the body with an error: the
                // browser reports a failed download rather than saving a
                // truncated zip.
                if !chunks_tx.is_closed() {
                    tracing::error!(error = %e, "zip download failed");
                    let _ = chunks_tx.blocking_send(Err(std::io::Error::other(e)));
                }
            }
        });
        Ok(StreamedDownload {
            file_name: format!("{}-invoices.zip", safe_file_name(&customer.name)),
            content_type: "application/zip",
            chunks,
        })
    }

    /// The filtered list (all pages, up to `repo::MAX_EXPORT_ROWS`) as
    /// CSV, amounts as plain decimals. Streamed: rows are written as the
    /// database returns them and leave in chunks of about `CHUNK_BYTES`.
    pub async fn invoices_csv(
        &self,
        contact_id: i64,
        customer_id: i64,
        query: InvoiceQuery,
    ) -> ServiceResult<StreamedDownload> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
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

    pub async fn statement(
        &self,
        contact_id: i64,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<StatementOfAccount> {
        if from > to {
            return Err(ServiceError::invalid(
                "The statement's end date is before its start date",
            ));
        }
        // Callers parse with `dates::parse_user_date`; this keeps any other
        // caller inside the range too.
        use crate::domain::dates::{MAX_DATE, MIN_DATE};
        if from < MIN_DATE || to > MAX_DATE {
            return Err(ServiceError::invalid(format!(
                "A statement's dates are from {MIN_DATE} to {MAX_DATE}"
            )));
        }
        if let Some(problem) = statement_period_problem(from, to) {
            return Err(ServiceError::invalid(problem));
        }
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
        // Only the period's entries; everything earlier is one sum per currency.
        let opening = statement_repo::opening_balances(&mut conn, customer_id, from).await?;
        let entries = statement_repo::entries_between(&mut conn, customer_id, from, to).await?;
        let open = payments_repo::open_at(&mut conn, customer_id, to).await?;
        Ok(StatementOfAccount {
            customer_id,
            customer_name: customer.name,
            statement: build_statement(from, to, &opening, &entries, &open),
        })
    }

    pub async fn statement_pdf(
        &self,
        contact_id: i64,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<Download> {
        let soa = self.statement(contact_id, customer_id, from, to).await?;
        let spec = statement_document(&self.config, &soa);
        let bytes = render_pdf(spec).await?;
        Ok(Download {
            file_name: format!(
                "statement-{}-{from}-{to}.pdf",
                safe_file_name(&soa.customer_name)
            ),
            content_type: "application/pdf",
            bytes,
        })
    }

    pub async fn statement_csv(
        &self,
        contact_id: i64,
        customer_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<Download> {
        let soa = self.statement(contact_id, customer_id, from, to).await?;
        // Two tables in one file (activity, then aging): rows differ in width.
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let fail = |e: csv::Error| ServiceError::internal("writing a statement CSV", e);
        out.write_record([
            "Date",
            "Type",
            "Reference",
            "Currency",
            "Charges",
            "Credits",
            "Balance",
        ])
        .map_err(fail)?;
        for c in &soa.statement.currencies {
            let m = |minor| Money::new(minor, c.currency).decimal_string();
            out.write_record([
                from.to_string(),
                "Opening balance".into(),
                String::new(),
                c.currency.code().into(),
                String::new(),
                String::new(),
                m(c.opening_minor),
            ])
            .map_err(fail)?;
            for line in soa
                .statement
                .lines
                .iter()
                .filter(|l| l.entry.currency == c.currency)
            {
                let e = &line.entry;
                let (charge, credit) = match e.kind {
                    crate::domain::statement::EntryKind::Invoice => {
                        (m(e.amount_minor), String::new())
                    }
                    _ => (String::new(), m(e.amount_minor)),
                };
                out.write_record([
                    e.date.to_string(),
                    e.kind.label().into(),
                    csv_safe(&e.reference),
                    c.currency.code().into(),
                    charge,
                    credit,
                    m(line.running_minor),
                ])
                .map_err(fail)?;
            }
            out.write_record([
                to.to_string(),
                "Closing balance".into(),
                String::new(),
                c.currency.code().into(),
                String::new(),
                String::new(),
                m(c.closing_minor),
            ])
            .map_err(fail)?;
        }
        out.write_record(["", "", "", "", "", "", ""])
            .map_err(fail)?;
        let mut header = vec!["Aging".to_owned(), "Currency".to_owned()];
        header.extend(Bucket::ALL.iter().map(|b| b.label().to_owned()));
        header.push("Unapplied".into());
        out.write_record(&header).map_err(fail)?;
        for c in &soa.statement.currencies {
            let m = |minor| Money::new(minor, c.currency).decimal_string();
            let mut record = vec![format!("As of {to}"), c.currency.code().to_owned()];
            record.extend(c.aging_minor.iter().map(|a| m(*a)));
            record.push(m(c.unapplied_minor));
            out.write_record(&record).map_err(fail)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ServiceError::internal("writing a statement CSV", e.into_error()))?;
        Ok(Download {
            file_name: format!(
                "statement-{}-{from}-{to}.csv",
                safe_file_name(&soa.customer_name)
            ),
            content_type: "text/csv; charset=utf-8",
            bytes,
        })
    }

    pub async fn payment_history(
        &self,
        contact_id: i64,
        customer_id: i64,
        page: i64,
    ) -> ServiceResult<PaymentHistory> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
        let count = payments_repo::count_payments(&mut conn, customer_id).await?;
        let pages = ((count + PAYMENTS_PER_PAGE - 1) / PAYMENTS_PER_PAGE).max(1);
        let page = page.clamp(1, pages);
        let payments = payments_repo::payments_of_customer(
            &mut conn,
            customer_id,
            PAYMENTS_PER_PAGE,
            (page - 1) * PAYMENTS_PER_PAGE,
        )
        .await?;
        Ok(PaymentHistory {
            customer_id,
            customer_name: customer.name,
            payments,
            page,
            pages,
        })
    }

    pub async fn payment_receipt(
        &self,
        contact_id: i64,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<PaymentReceipt> {
        let mut conn = self.db.pool.acquire().await?;
        let customer = self
            .member_customer(&mut conn, contact_id, customer_id)
            .await?;
        let (payment, allocations) = payments_repo::payment(&mut conn, payment_id)
            .await?
            .filter(|(p, _)| p.customer_id == customer_id)
            .ok_or(ServiceError::NotFound)?;
        Ok(PaymentReceipt {
            customer_name: customer.name,
            can_pay: customer.can_pay,
            payment,
            allocations,
        })
    }

    pub async fn receipt_pdf(
        &self,
        contact_id: i64,
        customer_id: i64,
        payment_id: i64,
    ) -> ServiceResult<Download> {
        let receipt = self
            .payment_receipt(contact_id, customer_id, payment_id)
            .await?;
        let spec = receipt_document(
            &self.config,
            &receipt.customer_name,
            &receipt.payment,
            &receipt.allocations,
        );
        let bytes = render_pdf(spec).await?;
        Ok(Download {
            file_name: format!("receipt-{}.pdf", crate::domain::payment_number(payment_id)),
            content_type: "application/pdf",
            bytes,
        })
    }
}

/// A download made while it is sent: the body's chunks arrive on `chunks`
/// as they are written. Dropping the receiver (the client went away) stops
/// the work; an `Err` chunk means it failed midway (the body is cut off).
#[derive(Debug)]
pub struct StreamedDownload {
    pub file_name: String,
    pub content_type: &'static str,
    pub chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

/// Streamed downloads leave in chunks of about this size...
pub const CHUNK_BYTES: usize = 64 * 1024;
/// ...with at most this many made ahead of the client.
const CHUNKS_IN_FLIGHT: usize = 4;

/// What an invoice's PDF is made from.
enum PdfSource {
    /// The ERP's own file.
    Original(Vec<u8>),
    /// Ours, still to be laid out.
    Generated(Box<DocumentSpec>),
}

/// `Write` for a blocking thread: collects `CHUNK_BYTES` and hands each
/// chunk to the async side (waiting while the client is behind); fails
/// once the receiver is gone.
struct ChunkWriter {
    buffer: Vec<u8>,
    chunks: mpsc::Sender<std::io::Result<Vec<u8>>>,
}

impl ChunkWriter {
    fn new(chunks: mpsc::Sender<std::io::Result<Vec<u8>>>) -> Self {
        ChunkWriter {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            chunks,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.chunks.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was abandoned")
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            self.send()
        }
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

/// Lays out a PDF off the async threads (a long statement takes a while).
async fn render_pdf(spec: DocumentSpec) -> ServiceResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || pdf::render(&spec))
        .await
        .map_err(|e| ServiceError::internal("rendering a PDF", e))
}

fn activity_label(action: &str, actor: &str) -> String {
    match action {
        "invoice_link.created" => "Invoice link created for an email".into(),
        "invoice_link.opened" => "Opened through an invoice link".into(),
        "invoice_link.revoked" => "Invoice link revoked by AR".into(),
        "invoice_link.refreshed" => {
            "A fresh invoice link was emailed to the account's contacts".into()
        }
        "payment.pending" => "Payment started (checkout open)".into(),
        "payment.processing" => "Bank payment submitted; it takes a few business days".into(),
        "payment.succeeded" => "Payment received".into(),
        "payment.failed" => "Payment failed; the amount is open again".into(),
        "payment.canceled" => "Payment canceled; nothing was charged".into(),
        "payment.refunded" => "Payment refunded".into(),
        "payment.partly_refunded" => "Payment partly refunded".into(),
        "payment.disputed" => "Payment disputed with the card issuer".into(),
        "credit.applied" => "Credit applied".into(),
        other => format!("{other} ({actor})"),
    }
}

/// A file name without path separators or control characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(['-', '.']);
    if trimmed.is_empty() {
        "document".into()
    } else {
        trimmed.to_owned()
    }
}

/// Spreadsheet programs run cells that start with = + - @ as formulas:
/// prefix such text (invoice and PO numbers come from the ERP) with '.
fn csv_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

pub fn quantity(milli: i64) -> String {
    let s = format!("{}.{:03}", milli / 1000, (milli % 1000).abs());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub fn tax_rate(bp: i64) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

fn human_date(d: NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

fn invoice_document(
    config: &crate::Config,
    customer_name: &str,
    terms: i64,
    invoice: &InvoiceSummary,
    lines: &[LineRow],
    applications: &[Application],
) -> DocumentSpec {
    let row = &invoice.row;
    let money = |minor| Money::new(minor, row.currency).display();
    let mut facts = vec![
        ("Invoice number".to_owned(), row.number.clone()),
        ("Issued".to_owned(), human_date(row.issue_date)),
        ("Due".to_owned(), human_date(row.due_date)),
        ("Terms".to_owned(), format!("Net {terms}")),
    ];
    if let Some(po) = &row.po_number {
        facts.push(("PO number".into(), po.clone()));
    }
    facts.push(("Status".into(), invoice.status.label()));
    let mut sections = vec![Section::Table {
        columns: vec![
            Column::left("Description", 70.0),
            Column::right("Qty", 16.0),
            Column::right("Unit price", 28.0),
            Column::right("Tax", 16.0),
            Column::right("Amount", 44.0),
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    l.description.clone(),
                    quantity(l.quantity_milli),
                    money(l.unit_price_minor),
                    tax_rate(l.tax_rate_bp),
                    money(l.amount_minor),
                ]
            })
            .collect(),
    }];
    let mut summary = vec![
        ("Subtotal".to_owned(), money(row.subtotal_minor)),
        ("Tax".to_owned(), money(row.tax_minor)),
        ("Total".to_owned(), money(row.total_minor)),
    ];
    if row.paid_minor > 0 {
        summary.push(("Paid".into(), money(-row.paid_minor)));
    }
    if row.credited_minor > 0 {
        summary.push(("Credited".into(), money(-row.credited_minor)));
    }
    summary.push(("Balance due".into(), invoice.balance.display()));
    sections.push(Section::Summary(summary));
    if !applications.is_empty() {
        sections.push(Section::Heading("Payments and credits".into()));
        sections.push(Section::Table {
            columns: vec![
                Column::left("Date", 30.0),
                Column::left("Reference", 70.0),
                Column::left("Status", 30.0),
                Column::right("Amount", 44.0),
            ],
            rows: applications
                .iter()
                .map(|a| {
                    vec![
                        a.date.map(human_date).unwrap_or_default(),
                        match a.kind {
                            "payment" => payments_repo::payment_reference(
                                a.id,
                                a.detail.clone(),
                                a.reference.clone(),
                            ),
                            _ => format!("Credit note {}", a.reference.clone().unwrap_or_default()),
                        },
                        a.status.clone(),
                        money(a.amount_minor),
                    ]
                })
                .collect(),
        });
    }
    sections.push(Section::Paragraph(format!(
        "Pay online at {} - questions about this invoice: reply to {}.",
        config.base_url.as_str().trim_end_matches('/'),
        config.mail_from.as_str()
    )));
    DocumentSpec {
        title: format!("Invoice {}", row.number),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts,
        party: vec![customer_name.to_owned()],
        sections,
    }
}

fn statement_document(config: &crate::Config, soa: &StatementOfAccount) -> DocumentSpec {
    let s = &soa.statement;
    let mut sections = Vec::new();
    for c in &s.currencies {
        let money = |minor| Money::new(minor, c.currency).display();
        sections.push(Section::Heading(format!(
            "Account activity in {}",
            c.currency.code()
        )));
        let mut rows = vec![vec![
            human_date(s.from),
            String::new(),
            "Opening balance".into(),
            String::new(),
            String::new(),
            money(c.opening_minor),
        ]];
        rows.extend(
            s.lines
                .iter()
                .filter(|l| l.entry.currency == c.currency)
                .map(|l| {
                    let e = &l.entry;
                    let (charge, credit) = match e.kind {
                        crate::domain::statement::EntryKind::Invoice => {
                            (money(e.amount_minor), String::new())
                        }
                        _ => (String::new(), money(e.amount_minor)),
                    };
                    vec![
                        human_date(e.date),
                        e.kind.label().into(),
                        e.reference.clone(),
                        charge,
                        credit,
                        money(l.running_minor),
                    ]
                }),
        );
        rows.push(vec![
            human_date(s.to),
            String::new(),
            "Closing balance".into(),
            String::new(),
            String::new(),
            money(c.closing_minor),
        ]);
        sections.push(Section::Table {
            columns: vec![
                Column::left("Date", 26.0),
                Column::left("Type", 24.0),
                Column::left("Reference", 46.0),
                Column::right("Charges", 26.0),
                Column::right("Credits", 26.0),
                Column::right("Balance", 26.0),
            ],
            rows,
        });
        sections.push(Section::Heading(format!(
            "Aging in {} as of {}",
            c.currency.code(),
            human_date(s.to)
        )));
        let mut aging: Vec<(String, String)> = Bucket::ALL
            .iter()
            .zip(c.aging_minor)
            .map(|(b, minor)| (b.label().to_owned(), money(minor)))
            .collect();
        if c.unapplied_minor != 0 {
            aging.push((
                "Unapplied payments and credits".into(),
                money(c.unapplied_minor),
            ));
        }
        aging.push(("Balance".into(), money(c.closing_minor)));
        sections.push(Section::Summary(aging));
    }
    if s.currencies.is_empty() {
        sections.push(Section::Paragraph(
            "No activity on this account up to the end of this period.".into(),
        ));
    }
    DocumentSpec {
        title: "Statement of account".into(),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts: vec![
            ("From".into(), human_date(s.from)),
            ("To".into(), human_date(s.to)),
        ],
        party: vec![soa.customer_name.clone()],
        sections,
    }
}

fn receipt_document(
    config: &crate::Config,
    customer_name: &str,
    p: &PaymentRow,
    allocations: &[AllocationRow],
) -> DocumentSpec {
    let money = |minor| Money::new(minor, p.currency).display();
    let mut facts = vec![
        (
            "Payment".to_owned(),
            crate::domain::payment_number(p.payment_id),
        ),
        (
            "Date".to_owned(),
            human_date(p.received_at.unwrap_or(p.created_at).date_naive()),
        ),
        ("Method".to_owned(), method_label(&p.method).to_owned()),
        ("Status".to_owned(), p.status.as_str().to_owned()),
    ];
    if let Some(r) = &p.reference {
        facts.push(("Reference".into(), r.clone()));
    }
    let mut summary = vec![("Amount".to_owned(), money(p.amount_minor))];
    if p.refunded_minor > 0 {
        summary.push(("Refunded".into(), money(-p.refunded_minor)));
    }
    DocumentSpec {
        title: "Payment receipt".into(),
        seller_name: config.seller_name.clone(),
        seller_address: config.seller_address.clone(),
        facts,
        party: vec![customer_name.to_owned()],
        sections: vec![
            Section::Table {
                columns: vec![
                    Column::left("Applied to invoice", 120.0),
                    Column::right("Amount", 54.0),
                ],
                rows: allocations
                    .iter()
                    .map(|a| vec![a.invoice_number.clone(), money(a.amount_minor)])
                    .collect(),
            },
            Section::Summary(summary),
            Section::Paragraph(format!(
                "Thank you for your payment. {}",
                config.seller_name
            )),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_csv_cells_are_defused() {
        assert_eq!(safe_file_name("INV/2026 01"), "INV-2026-01");
        assert_eq!(safe_file_name("../.."), "document");
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("PO-1"), "PO-1");
        assert_eq!(quantity(2500), "2.5");
        assert_eq!(quantity(3000), "3");
        assert_eq!(tax_rate(825), "8.25%");
        assert_eq!(tax_rate(2000), "20%");
    }

    #[test]
    fn statements_cover_at_most_two_years() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            statement_period_problem(d("2024-04-01"), d("2026-03-31")),
            None
        );
        assert_eq!(
            statement_period_problem(d("2026-03-31"), d("2026-03-31")),
            None
        );
        assert_eq!(
            statement_period_problem(d("2024-03-31"), d("2026-03-31")).as_deref(),
            Some("A statement covers at most 2 years: for a statement to 2026-03-31, choose a start date on or after 2024-04-01")
        );
        // From a leap day: two years before 2026-02-28 is 2024-02-28.
        assert_eq!(
            statement_period_problem(d("2024-02-29"), d("2026-02-28")),
            None
        );
        assert!(statement_period_problem(d("2024-02-28"), d("2026-02-28")).is_some());
        assert!(statement_period_problem(d("0001-01-01"), d("2026-02-28")).is_some());
    }
}
