//! evcxr bindings: every result type shows itself in a notebook as a plotly figure and/or an
//! HTML table (the `evcxr_display` convention), and progress printers that emit whole lines
//! (evcxr streams stdout line by line). Results stay plain data: nothing depends on statics
//! surviving between cells.

mod display;
mod frame;
mod progress;

pub use display::{emit, figure_and_table, show};
pub use frame::{frame_html, DataFrameDisplay};
pub use progress::{eval_lines, sweep_lines};
