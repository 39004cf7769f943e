//! Invoice PDFs, one at a time or many in a streamed zip, and the pieces
//! every streamed download shares (`ChunkWriter`, the chunk sizes).

use crate::services::access::ContactAccess;
use std::io::Write;

use tokio::sync::mpsc;

use super::access::customer_name_terms;
use super::{safe_file_name, Download, InvoiceSummary, StreamedDownload, Viewer};
use crate::error::{ServiceError, ServiceResult};
use crate::pdf::{self, layouts, DocumentSpec};
use crate::repo::invoices::{self as repo, InvoiceLedgerRow};
use crate::services::Services;

/// Most invoices one zip download may hold.
pub const MAX_ZIP_INVOICES: usize = 100;

impl Services {
    /// The ERP's original PDF when there is one, else one rendered here.
    pub async fn invoice_pdf(
        &self,
        viewer: &Viewer,
        customer_id: i64,
        invoice_id: i64,
        language: &str,
    ) -> ServiceResult<Download> {
        let (conn, _, row) = self.viewed_invoice(viewer, customer_id, invoice_id).await?;
        drop(conn);
        let (file_name, source) = self.pdf_source(row, language).await?;
        let bytes = match source {
            PdfSource::Original(bytes) => bytes,
            PdfSource::Generated(spec) => render_pdf(*spec).await?,
        };
        Ok(Download::pdf(file_name, bytes))
    }

    /// An invoice's file name and what its PDF is made from (the database
    /// reads; rendering is left to the caller's thread).
    async fn pdf_source(
        &self,
        row: InvoiceLedgerRow,
        language: &str,
    ) -> ServiceResult<(String, PdfSource)> {
        let mut conn = self.db.pool.acquire().await?;
        let file_name = format!("{}.pdf", safe_file_name(&row.number));
        if let Some(doc) = repo::original_document(&mut conn, row.invoice_id).await? {
            return Ok((file_name, PdfSource::Original(doc.bytes)));
        }
        let (customer_name, terms) = customer_name_terms(&mut conn, row.customer_id).await?;
        let language = self
            .customer_document_language(&mut conn, row.customer_id, language)
            .await?;
        let lines = repo::lines(&mut conn, row.invoice_id).await?;
        let applications = repo::applications(&mut conn, row.invoice_id).await?;
        drop(conn);
        let spec = layouts::invoice_document(
            &self.config,
            &customer_name,
            terms,
            &InvoiceSummary::of(row, self.today()),
            &lines,
            &applications,
            &language,
        );
        Ok((file_name, PdfSource::Generated(Box::new(spec))))
    }

    /// Several invoices' PDFs in one zip. Ids that are not the customer's
    /// are refused as a whole, so a tampered form cannot probe other accounts.
    pub async fn invoices_zip(
        &self,
        access: &ContactAccess,
        customer_id: i64,
        ids: &[i64],
        language: &str,
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
        let (mut conn, customer) = self.as_member(access, customer_id).await?;
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
        let language = language.to_owned();
        tokio::spawn(async move {
            for row in rows {
                let source = services.pdf_source(row, &language).await;
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
                    let bytes = source.into_bytes().map_err(|e| e.to_string())?;
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
}

/// Streamed downloads leave in chunks of about this size...
pub const CHUNK_BYTES: usize = 64 * 1024;
/// ...with at most this many made ahead of the client.
pub(super) const CHUNKS_IN_FLIGHT: usize = 4;

/// What an invoice's PDF is made from.
enum PdfSource {
    /// The ERP's own file.
    Original(Vec<u8>),
    /// Ours, still to be laid out.
    Generated(Box<DocumentSpec>),
}

impl PdfSource {
    /// The PDF's bytes; laying one out takes a while, so call this on a
    /// blocking thread.
    fn into_bytes(self) -> Result<Vec<u8>, pdf::RenderError> {
        match self {
            PdfSource::Original(bytes) => Ok(bytes),
            PdfSource::Generated(spec) => pdf::render(&spec),
        }
    }
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

/// Lays out a PDF off the async threads (a long statement takes a while).
/// A renderer failure (fonts missing, a standard krilla refuses to break)
/// is a 500 with the reason in the log.
pub(super) async fn render_pdf(spec: DocumentSpec) -> ServiceResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || pdf::render(&spec))
        .await
        .map_err(|e| ServiceError::internal("rendering a PDF", e))?
        .map_err(|e| ServiceError::internal("rendering a PDF", e))
}
