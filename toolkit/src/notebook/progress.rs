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

/// Prints one line per finished run of a sweep (runs done / total and the ETA).
pub fn sweep_lines() -> impl FnMut(SweepEvent) {
    |e: SweepEvent| {
        if let SweepEvent::RunDone { row, done, total, eta_seconds } = e {
            println!(
                "[{done}/{total}] {}: best val {:.4} (final {:.4}) in {:.0} s; about {:.0} s left",
                row.point.run_id, row.summary.best_val_loss, row.summary.final_val_loss, row.summary.wall_seconds, eta_seconds
            );
        }
    }
}
