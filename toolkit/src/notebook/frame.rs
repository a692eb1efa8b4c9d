//! HTML for polars DataFrames in evcxr (polars has no evcxr display of its own).

use crate::viz::table;
use polars::prelude::DataFrame;

/// The first `max_rows` rows of a frame as an HTML table (with a row count under it).
pub fn frame_html(df: &DataFrame, max_rows: usize) -> String {
    let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let h: Vec<&str> = headers.iter().map(|s| s.as_str()).collect();
    let n = df.height().min(max_rows);
    let rows: Vec<Vec<String>> = (0..n)
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| match c.get(i) {
                    Ok(polars::prelude::AnyValue::String(s)) => s.to_string(),
                    Ok(v) => v.to_string(),
                    Err(_) => String::new(),
                })
                .collect()
        })
        .collect();
    format!("{}<p>{} rows x {} columns{}</p>", table("dataframe", &h, &rows), df.height(), df.width(), if n < df.height() { format!(", first {n} shown") } else { String::new() })
}

/// `df` as the last expression of a cell shows an HTML table (import via `dclab::prelude::*`).
pub trait DataFrameDisplay {
    /// evcxr's hook.
    fn evcxr_display(&self);
}

impl DataFrameDisplay for DataFrame {
    fn evcxr_display(&self) {
        super::emit("text/html", &frame_html(self, 50));
    }
}
