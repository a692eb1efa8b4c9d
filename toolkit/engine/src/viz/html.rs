//! Self-contained HTML: escaped tables, figure blocks with stable ids, and a page with
//! plotly.js inlined once, so a report opens with no network.

use plotly::Plot;

/// A number for a table or a sentence: four decimals, or four significant figures in exponent
/// form when it is far from 1 (a degenerate fit's R_N* can be 1e80).
///
/// ```
/// assert_eq!(dclab::viz::num(1.5), "1.5000");
/// assert_eq!(dclab::viz::num(2.5e7), "2.500e7");
/// ```
pub fn num(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e4).contains(&x.abs()) { format!("{x:.3e}") } else { format!("{x:.4}") }
}

/// Escapes text for HTML.
///
/// ```
/// assert_eq!(dclab::viz::escape("a<b & c"), "a&lt;b &amp; c");
/// ```
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An HTML table with the given id (cells are escaped).
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("<table id=\"{}\" class=\"dclab-table\">\n<thead><tr>", escape(id));
    for h in headers {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", escape(c)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// A figure block: a div with id `id` drawing `plot`, and a caption under it.
pub fn figure(plot: &Plot, id: &str, caption: &str) -> String {
    format!(
        "<figure class=\"dclab-figure\">\n<div style=\"height:480px\">{}</div>\n<figcaption>{}</figcaption>\n</figure>\n",
        plot.to_inline_html(Some(id)),
        escape(caption)
    )
}

/// plotly.js itself (bundled with the plotly crate), as one script tag.
pub fn plotly_js() -> String {
    let all = Plot::offline_js_sources();
    match all.find("</script>") {
        Some(end) => all[..end + "</script>".len()].to_string(),
        None => all,
    }
}

/// A whole page: `body` (HTML) after a title, plotly.js inlined in the head.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n{js}\n<style>\n{css}\n</style>\n</head>\n<body>\n<h1>{t}</h1>\n{body}\n</body>\n</html>\n",
        t = escape(title),
        js = plotly_js(),
        css = CSS
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
figure{margin:2em 0}figcaption{color:#555;font-size:0.9em}\
table.dclab-table{border-collapse:collapse;font-size:0.8em;display:block;overflow-x:auto}\
table.dclab-table th,table.dclab-table td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}\
table.dclab-table th{background:#f3f3f3}.finding{background:#f8f8ff;border-left:4px solid #9467bd;padding:0.4em 1em}";
