//! Showing a result in evcxr: its key numbers as text lines, then its blobs (a plotly figure,
//! an HTML table) through evcxr's content protocol.

use dclab_types::Blob;
use std::ops::Deref;

/// Prints blobs the way evcxr takes rich output: `EVCXR_BEGIN_CONTENT <mime>` ... on stdout
/// (evcxr keeps one blob per MIME type per cell and sends them when the cell ends).
pub fn show(blobs: &[Blob]) {
    for b in blobs {
        println!("EVCXR_BEGIN_CONTENT {}\n{}\nEVCXR_END_CONTENT", b.mime, b.body);
    }
}

/// A result from the engine with the figure and table it drew for it; derefs to the value.
#[derive(Clone, Debug)]
pub struct Shown<T> {
    /// The result as data.
    pub value: T,
    /// The key numbers as plain lines.
    pub text: String,
    /// Its figure and table.
    pub views: Vec<Blob>,
}

impl<T> Deref for Shown<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Shown<T> {
    /// evcxr's hook: a `Shown` as the last expression of a cell displays itself.
    pub fn evcxr_display(&self) {
        if !self.text.is_empty() {
            println!("{}", self.text.trim_end());
        }
        show(&self.views);
    }
}
