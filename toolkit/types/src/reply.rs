//! What an engine command prints with `--json`: its value and the blobs that show it.

use serde::{Deserialize, Serialize};

/// One display blob: a MIME type (`application/vnd.plotly.v1+json`, `text/html`) and its body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    /// The MIME type Jupyter renders the body as.
    pub mime: String,
    /// The body: plotly's figure JSON, or HTML.
    pub body: String,
}

impl Blob {
    /// The MIME type of a plotly figure (JupyterLab draws it with Python `plotly` installed).
    pub const PLOTLY: &'static str = "application/vnd.plotly.v1+json";
    /// The MIME type of an HTML table or text.
    pub const HTML: &'static str = "text/html";
}

/// The reply of an engine command: the result as data and how it displays itself (made by the
/// same figure and table code as report.html).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reply<T> {
    /// The result.
    pub value: T,
    /// Its figure and table, at most one blob per MIME type (what a notebook cell can show;
    /// JupyterLab draws the figure, HTML-only viewers the table).
    pub views: Vec<Blob>,
    /// The key numbers as plain lines, printed above the figure so they show in any frontend.
    pub text: String,
}
