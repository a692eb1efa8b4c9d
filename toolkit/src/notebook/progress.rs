//! Progress as whole lines, which is what evcxr streams while a cell runs.

use crate::sweep::SweepEvent;
use crate::train::Event;

/// Prints one line per evaluation of a training run.
pub fn eval_lines() -> impl FnMut(Event) {
    |e: Event| {
        if let Event::Eval { row, total } = e {
            println!(
                "step {}/{total}  epoch {:.2}  tokens {}  train {:.4}  val {:.4} ± {:.4}",
                row.step, row.epoch, row.tokens_seen, row.train_loss, row.val_loss, row.val_loss_stderr
            );
        }
    }
}

/// Prints one line per run of a sweep as it starts and finishes (runs done / total, ETA).
pub fn sweep_lines() -> impl FnMut(SweepEvent) {
    |e: SweepEvent| {
        if let Some(line) = e.line() {
            println!("{line}");
        }
    }
}
