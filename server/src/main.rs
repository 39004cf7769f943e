//! `portal`: the receivables portal's single binary.
//!
//!   portal [serve]                       run the web server (the default)
//!   portal migrate                       apply database migrations
//!   portal seed-demo                     load demo customers and invoices
//!   portal create-staff --email E --name N [--role agent|admin]
//!   portal invoice-link --invoice NUMBER [--valid-until YYYY-MM-DD]
//!   portal seed-scale --customers N --invoices M
//!   portal seed-scale-requests --requests N
//!   portal reminders run [--at RFC3339]      run the reminder job once
//!   portal api-key create --name N [--scopes read|read,write]   print a new API key's secret once
//!   portal api-key list | revoke --id ID
//!   portal openapi                       print the seller API's OpenAPI document

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use portal_core::clock::SystemClock;
use portal_core::domain::StaffRole;
use portal_core::Config;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: measured in docs/BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "portal",
    version,
    about = "Customer self-service portal for accounts receivable"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (migrations run first). The default command.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load demo data (customers, contacts, 300 invoices); does nothing if present.
    SeedDemo,
    /// Create an AR staff user, or update the one with this email.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "agent", value_parser = ["agent", "admin"])]
        role: String,
    },
    /// Disable a customer contact: they can no longer sign in, and every
    /// session of theirs ends at once.
    DisableContact {
        #[arg(long)]
        email: String,
    },
    /// Disable an AR staff user: they can no longer sign in, and every
    /// session of theirs ends at once.
    DisableStaff {
        #[arg(long)]
        email: String,
    },
    /// Print a link to one invoice, as reminder emails carry: it shows that
    /// invoice and its PDF without signing in. Valid by default until
    /// PORTAL_INVOICE_LINK_DAYS_AFTER_DUE days after the due date.
    InvoiceLink {
        /// The invoice number, e.g. INV-2026-0042.
        #[arg(long)]
        invoice: String,
        /// Last day the link works (UTC), instead of the default.
        #[arg(long, value_parser = cli_date)]
        valid_until: Option<chrono::NaiveDate>,
    },
    /// List the gateway's events since DATE (Stripe keeps 30 days), store
    /// any that never arrived as webhooks, and apply everything pending.
    StripeReconcile {
        /// First day to list (UTC), e.g. 2026-11-01.
        #[arg(long, value_parser = cli_date)]
        since: chrono::NaiveDate,
    },
    /// Fill the database with many invoices for benchmarks (spread evenly
    /// over new customers, one contact each).
    SeedScale {
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 1_000_000)]
        invoices: usize,
    },
    /// Add open requests (disputes in mixed states, with their SLA events)
    /// on the scale customers' unpaid invoices, for the AR queue benchmark.
    SeedScaleRequests {
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
    },
    /// Payment reminders (issue 13).
    Reminders {
        #[command(subcommand)]
        action: RemindersCommand,
    },
    /// Seller API keys (issue 14).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyCommand,
    },
    /// Print the seller API's OpenAPI 3.1 document (docs/openapi.json).
    Openapi,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print its secret, once (only its hash is kept).
    Create {
        /// What uses it, e.g. "ERP sync".
        #[arg(long)]
        name: String,
        /// `read` or `read,write`.
        #[arg(long, default_value = "read")]
        scopes: String,
    },
    /// List the keys (never their secrets).
    List,
    /// Revoke a key at once: its next request gets 401.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand)]
enum RemindersCommand {
    /// Run the reminder job once, now or as at --at (an RFC 3339 instant,
    /// e.g. 2027-03-15T16:30:00Z), outside its lease: each (invoice, step)
    /// is still sent at most once. The outbox sends the mail when the
    /// portal serves.
    Run {
        #[arg(long, value_parser = cli_instant)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn cli_instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("\"{text}\" is not an RFC 3339 instant such as 2027-03-15T16:30:00Z"))
}

/// Dates on the command line follow the rule of dates typed in the portal
/// (YYYY-MM-DD, years 1900 to 9999).
fn cli_date(text: &str) -> Result<chrono::NaiveDate, String> {
    portal_core::domain::dates::parse_user_date("Date", text)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        // Needs no configuration and no database.
        print!("{}", server::api::openapi_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    let leptos_options =
        server::leptos_options(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let portal = server::build(config, leptos_options, Arc::new(SystemClock), None)
        .await
        .map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            // Development mode (dev mailbox, sandbox payments) stays on
            // this machine unless the operator forces it.
            portal
                .services
                .config
                .check_serving(portal.site_addr)
                .map_err(|e| e.to_string())?;
            if !portal.services.config.production && portal.services.config.allow_dev_on_network {
                tracing::warn!(
                    "PORTAL_ALLOW_DEV_ON_NETWORK=true: development mode may be reachable from the network (the dev mailbox and sandbox checkout still answer loopback clients only)"
                );
            }
            let listener = tokio::net::TcpListener::bind(portal.site_addr)
                .await
                .map_err(|e| {
                    format!(
                        "LEPTOS_SITE_ADDR: cannot listen on {} ({e})",
                        portal.site_addr
                    )
                })?;
            let base = portal.services.config.base_url.clone();
            tracing::info!(
                "portal listening on http://{} (public URL {base})",
                portal.site_addr
            );
            // The SLA alert job runs beside the server (under its lease, so
            // one instance of several runs it each minute).
            tokio::spawn(server::startup::run_sla_alert_job(portal.services.clone()));
            // Autopay's notices and charges, under the job's lease too
            // (issue 12): each run is safe on several instances at once.
            let autopay = portal.services.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = autopay.run_autopay_when_due().await {
                        tracing::error!(error = %e, "autopay job");
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
            });
            // The payment plan job likewise (issue 12): at risk, defaulted,
            // completed. Its lease in `scheduled_jobs` makes it run once per
            // interval whatever the number of instances; polling more often
            // than that only finds the lease taken or the run not yet due.
            tokio::spawn(run_plan_job(portal.services.clone()));
            // Reminders and promises to pay (issue 13), under their lease.
            tokio::spawn(server::startup::run_reminder_job(portal.services.clone()));
            server::serve(portal, listener)
                .await
                .map_err(|e| format!("server stopped: {e}"))
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo => {
            let summary = portal_core::seed::seed_demo(&portal.services)
                .await
                .map_err(|e| format!("seeding failed: {e}"))?;
            if summary.already_present {
                println!("demo data already present; nothing changed");
            } else {
                println!(
                    "demo data loaded: {} customers, {} contacts, {} invoices, {} payments, {} credit notes",
                    summary.customers, summary.contacts, summary.invoices, summary.payments, summary.credit_notes
                );
            }
            // The disputes of the demo's AR queue, timed from now.
            let requests = portal_core::seed::seed_demo_requests(&portal.services)
                .await
                .map_err(|e| format!("seeding the demo disputes failed: {e}"))?;
            if !requests.already_present {
                println!("demo disputes loaded: {}", requests.disputes);
            }
            // A month of reminders, a paused customer, promises kept and broken.
            let reminders = portal_core::seed::seed_demo_reminders(&portal.services)
                .await
                .map_err(|e| format!("seeding the demo reminders failed: {e}"))?;
            if !reminders.already_present {
                println!(
                    "demo reminders loaded: {} sent in {} emails, {} promises to pay",
                    reminders.sends, reminders.emails, reminders.promises
                );
            }
            Ok(())
        }
        Command::InvoiceLink {
            invoice,
            valid_until,
        } => {
            let until =
                valid_until.map(|d| d.and_hms_opt(23, 59, 59).expect("valid time").and_utc());
            let link = portal
                .services
                .create_invoice_link(&invoice, until, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", link.url);
            eprintln!(
                "valid until {} (link id {}; AR staff can revoke it at /staff/invoice-links)",
                link.expires_at.format("%Y-%m-%d %H:%M UTC"),
                link.link_id
            );
            Ok(())
        }
        Command::StripeReconcile { since } => {
            let since = since.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            let (listed, new, processed) = portal
                .services
                .reconcile_events(since)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{listed} events listed by {} since {}; {new} had not arrived; {processed} applied now",
                portal.services.gateway.name(),
                since.format("%Y-%m-%d")
            );
            Ok(())
        }
        Command::SeedScale {
            customers,
            invoices,
        } => {
            if customers == 0 || invoices < customers {
                return Err(
                    "--customers must be at least 1 and --invoices at least --customers".into(),
                );
            }
            let bar = indicatif::ProgressBar::new(invoices as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} invoices  {per_sec}  eta {eta}",
                )
                .expect("valid template"),
            );
            let started = std::time::Instant::now();
            let summary = portal_core::seed_scale::seed_scale(
                &portal.services,
                portal_core::seed_scale::ScaleSpec {
                    customers,
                    invoices,
                },
                |done, _| bar.set_position(done as u64),
            )
            .await
            .map_err(|e| format!("seed-scale failed: {e}"))?;
            bar.finish();
            println!(
                "{} invoices for {} customers ({} payments) in {:.1} s; sign in as {} (customer {})",
                summary.invoices,
                summary.customers,
                summary.payments,
                started.elapsed().as_secs_f64(),
                summary.sample_contact,
                summary.sample_customer_id
            );
            Ok(())
        }
        Command::SeedScaleRequests { requests } => {
            let started = std::time::Instant::now();
            let summary = portal_core::seed_scale::seed_scale_requests(&portal.services, requests)
                .await
                .map_err(|e| format!("seed-scale-requests failed: {e}"))?;
            println!(
                "{} open requests ({} waiting on the customer) over {} customers in {:.1} s",
                summary.requests,
                summary.waiting,
                summary.customers,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::CreateStaff { email, name, role } => {
            let role = StaffRole::parse(&role).ok_or("--role: expected agent or admin")?;
            let email =
                portal_core::services::auth::normalise_email(&email).map_err(|e| e.to_string())?;
            let id = portal
                .services
                .create_staff(email.as_str(), &name, role)
                .await
                .map_err(|e| e.to_string())?;
            println!("staff user {id} ready: {email} ({})", role.as_str());
            Ok(())
        }
        Command::DisableContact { email } => {
            let done = portal
                .services
                .disable_contact(&email)
                .await
                .map_err(|e| e.to_string())?;
            if !done {
                return Err(format!("no enabled contact has the email {email}"));
            }
            println!("contact {email} disabled; their sessions are ended");
            Ok(())
        }
        Command::Reminders {
            action: RemindersCommand::Run { at },
        } => {
            let at = at.unwrap_or_else(chrono::Utc::now);
            let run = portal
                .services
                .run_reminders(at)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "reminders as at {}: {} customers decided for their day, {} invoice steps sent in {} emails, {} promises closed",
                at.to_rfc3339(),
                run.customers_decided,
                run.sends,
                run.emails,
                run.promises_closed
            );
            Ok(())
        }
        Command::Openapi => {
            print!("{}", server::api::openapi_json());
            Ok(())
        }
        Command::ApiKey { action } => api_key_command(&portal.services, action).await,
        Command::DisableStaff { email } => {
            let done = portal
                .services
                .disable_staff(&email)
                .await
                .map_err(|e| e.to_string())?;
            if !done {
                return Err(format!("no enabled staff user has the email {email}"));
            }
            println!("staff user {email} disabled; their sessions are ended");
            Ok(())
        }
    }
}

/// Runs the payment plan job whenever it is due (services::plans).
async fn run_plan_job(services: portal_core::services::Services) {
    loop {
        match services.run_plan_checks_when_due().await {
            Ok(Some(moved)) if !moved.is_empty() => {
                tracing::info!(plans = moved.len(), "payment plans moved");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "payment plan job"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

async fn api_key_command(
    services: &portal_core::Services,
    action: ApiKeyCommand,
) -> Result<(), String> {
    use portal_core::services::api_keys::{ApiScopes, KeyManager};
    match action {
        ApiKeyCommand::Create { name, scopes } => {
            let scopes =
                ApiScopes::parse(&scopes).ok_or("--scopes: expected read or read,write")?;
            let created = services
                .create_api_key(KeyManager::Operator, &name, scopes)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "API key {} \"{}\" ({}) created. Its secret follows; it is shown only now:",
                created.key.api_key_id,
                created.key.name,
                created.key.scopes.as_str()
            );
            println!("{}", created.secret);
        }
        ApiKeyCommand::List => {
            for key in services
                .list_api_keys(KeyManager::Operator)
                .await
                .map_err(|e| e.to_string())?
            {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("-".to_owned(), |t| t.to_rfc3339())
                };
                println!(
                    "{}\t{}…\t{}\t{}\tcreated {}\tlast used {}\trevoked {}",
                    key.api_key_id,
                    key.prefix,
                    key.scopes.as_str(),
                    key.name,
                    key.created_at.to_rfc3339(),
                    when(key.last_used_at),
                    when(key.revoked_at)
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let key = services
                .revoke_api_key(KeyManager::Operator, id)
                .await
                .map_err(|e| e.to_string())?;
            println!("API key {} \"{}\" revoked", key.api_key_id, key.name);
        }
    }
    Ok(())
}
