//! How a finished study shows itself in evcxr.

use super::run::Study;

impl Study {
    /// Loss against epochs and the summary (findings, laws).
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let mut html = String::from("<ul>");
        for (q, a) in super::report::findings(&self.analysis) {
            html.push_str(&format!("<li><b>{}</b> {}</li>", crate::viz::escape(&q), crate::viz::escape(&a)));
        }
        html.push_str(&format!("</ul><p>Full report: <code>{}</code></p>", crate::viz::escape(&self.report.display().to_string())));
        crate::notebook::figure_and_table(Some(&crate::viz::figures::loss_vs_epochs(&self.rows)), &html)
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        crate::notebook::show(self.rich())
    }
}

