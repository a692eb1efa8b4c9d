//! How a finished study shows itself in a notebook: loss against epochs and the findings.

use crate::viz::views::{View, view as blobs};
use crate::viz::{escape, figures};
use dclab_types::StudyReport;

/// A finished study: loss against epochs, the findings, and where the report is.
pub fn view(s: &StudyReport) -> View {
    let mut html = String::from("<ul>");
    let mut text = String::new();
    for (q, a) in super::report::findings(&s.analysis) {
        html.push_str(&format!("<li><b>{}</b> {}</li>", escape(&q), escape(&a)));
        text.push_str(&format!("{q} {a}\n"));
    }
    html.push_str(&format!("</ul><p>Full report: <code>{}</code></p>", escape(&s.report)));
    text.push_str(&format!("report: {}", s.report));
    blobs(Some(&figures::loss_vs_epochs(&s.rows)), html, text)
}
