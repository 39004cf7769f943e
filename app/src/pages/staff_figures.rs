//! The queue's figures for AR (issue 11 item 7): open by kind, median first
//! response, share within SLA, breaches this week, a small SVG chart.

use leptos::prelude::*;

use crate::api::staff_admin::queue_figures;
use crate::components::{Loaded, LocalTime};
use crate::models::staff_admin::{FiguresView, WeekView};

/// Shown at the top of `/staff/requests`.
#[component]
pub fn QueueFigures() -> impl IntoView {
    let figures = Resource::new(|| (), |_| queue_figures());
    view! {
        <section class="queue-figures" aria-labelledby="figures-heading">
            <h2 id="figures-heading">"Figures"</h2>
            <Loaded resource=figures render={|f: FiguresView| view! { <Figures f/> }}/>
        </section>
    }
}

#[component]
fn Figures(f: FiguresView) -> impl IntoView {
    let by_kind = f
        .open_by_kind
        .iter()
        .map(|k| format!("{} {}", k.count, k.label.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let answered = match f.first_responses {
        0 => "No first responses in the last 30 days".to_owned(),
        1 => "1 first response in the last 30 days".to_owned(),
        n => format!("{n} first responses in the last 30 days"),
    };
    let svg = chart_svg(&f.weeks);
    view! {
        <ul class="stats">
            <li class="card">
                <span class="stat">{f.open_total}</span>" open requests"
                <span class="muted small figure-note">{by_kind}</span>
            </li>
            <li class="card">
                <span class="stat">{f.median_first_response.clone().unwrap_or_else(|| "None yet".to_owned())}</span>
                "median first response, in business hours"
                <span class="muted small figure-note">{answered}</span>
            </li>
            <li class="card">
                <span class="stat">{f.within_sla.clone().unwrap_or_else(|| "None yet".to_owned())}</span>
                "of first responses within the SLA"
                <span class="muted small figure-note">{format!("{} of {} in the last 30 days", f.within_sla_count, f.first_responses)}</span>
            </li>
            <li class="card">
                <span class="stat">{f.breaches_this_week}</span>
                {if f.breaches_this_week == 1 { " SLA target breached this week" } else { " SLA targets breached this week" }}
                <span class="muted small figure-note">{f.week_words.clone()}</span>
            </li>
        </ul>
        <p class="muted small">"As of "<LocalTime stamp=f.as_of.clone()/>"; recomputed every minute."</p>
        <figure class="figures-chart">
            <div inner_html=svg></div>
            <figcaption>
                <span class="legend-opened" aria-hidden="true"></span>" Opened "
                <span class="legend-resolved" aria-hidden="true"></span>" Resolved, per week (weeks start on Monday)"
            </figcaption>
            <details>
                <summary>"The chart's numbers"</summary>
                <WeeksTable weeks=f.weeks.clone()/>
            </details>
        </figure>
    }
}

#[component]
fn WeeksTable(weeks: Vec<WeekView>) -> impl IntoView {
    view! {
        <table class="invoices">
            <caption class="visually-hidden">"Requests opened and resolved per week"</caption>
            <thead>
                <tr>
                    <th scope="col">"Week of"</th>
                    <th scope="col" class="num">"Opened"</th>
                    <th scope="col" class="num">"Resolved"</th>
                </tr>
            </thead>
            <tbody>
                {weeks.into_iter().map(|w| view! {
                    <tr>
                        <th scope="row">{w.label}</th>
                        <td class="num">{w.opened}</td>
                        <td class="num">{w.resolved}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bars of requests opened (filled) and resolved (outlined) per week, as
/// an SVG image whose title and description say the same in words, so a
/// screen reader gets the numbers without the picture.
pub fn chart_svg(weeks: &[WeekView]) -> String {
    const WIDTH: f64 = 560.0;
    const HEIGHT: f64 = 180.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 28.0;
    const LEFT: f64 = 8.0;
    let max = weeks
        .iter()
        .map(|w| w.opened.max(w.resolved))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (WIDTH - LEFT) / weeks.len().max(1) as f64;
    let bar = (slot - 16.0) / 2.0;
    let plot = HEIGHT - TOP - BOTTOM;
    let desc = weeks
        .iter()
        .map(|w| {
            format!(
                "week of {}: {} opened, {} resolved",
                w.label, w.opened, w.resolved
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Requests opened and resolved per week, last {} weeks</title><desc id="chart-desc">{}.</desc>"#,
        weeks.len(),
        escape(&desc)
    );
    out.push_str(&format!(
        r#"<line x1="{LEFT}" y1="{y}" x2="{WIDTH}" y2="{y}" class="chart-axis"/>"#,
        y = HEIGHT - BOTTOM
    ));
    for (i, w) in weeks.iter().enumerate() {
        let x = LEFT + i as f64 * slot + 4.0;
        for (j, (count, class)) in [(w.opened, "chart-opened"), (w.resolved, "chart-resolved")]
            .into_iter()
            .enumerate()
        {
            let h = (count as f64 / max * plot).max(if count > 0 { 1.0 } else { 0.0 });
            let bx = x + j as f64 * (bar + 4.0);
            let y = HEIGHT - BOTTOM - h;
            out.push_str(&format!(
                r#"<rect class="{class}" x="{bx:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}"/>"#
            ));
            out.push_str(&format!(
                r#"<text class="chart-value" x="{:.1}" y="{:.1}" text-anchor="middle">{count}</text>"#,
                bx + bar / 2.0,
                y - 3.0
            ));
        }
        out.push_str(&format!(
            r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + bar + 2.0,
            HEIGHT - 8.0,
            escape(&w.label)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_says_its_numbers_in_words_and_escapes_them() {
        let weeks = vec![
            WeekView {
                label: "Nov 30".into(),
                opened: 4,
                resolved: 0,
            },
            WeekView {
                label: "<Dec 7>".into(),
                opened: 2,
                resolved: 3,
            },
        ];
        let svg = chart_svg(&weeks);
        assert!(
            svg.contains("week of Nov 30: 4 opened, 0 resolved"),
            "{svg}"
        );
        assert!(svg.contains("&lt;Dec 7&gt;"), "{svg}");
        assert!(!svg.contains("<Dec"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
