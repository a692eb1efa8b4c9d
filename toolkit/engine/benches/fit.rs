//! Benchmark: the stage-2 fit on SDC's 182 runs with the same starts as a scipy L-BFGS-B
//! reference (bench/scipy_stage2.py), then a two-stage wide-grid fit plus 1000 bootstrap refits.
//!
//! Run: `bench/install.sh && cargo bench -p dclab --bench fit` (CARGO_TARGET_DIR as usual).

use dclab::scaling::fit::{FitOptions, GridKind, Stage1, Starts, fit_law, fit_law_from};
use dclab::scaling::law::LawParams;
use dclab::scaling::runs::Runs;
use dclab::scaling::uncertainty::bootstrap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.unwrap())
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixture = root.join("datasets/published/datablations_c4_runs.csv");
    let runs = Runs::read(&fixture).expect("fixture");
    let threads = rayon::current_num_threads();
    println!(
        "stage-2 fit on {} runs, SDC stage 1 fixed, ln R* parameterisation, {} threads available",
        runs.len(),
        threads
    );

    for grid in [GridKind::Sdc, GridKind::Wide] {
        let opts = FitOptions {
            stage1: Stage1::Given(LawParams::SDC_C4),
            grid,
            natural_r: Some(false),
            ..Default::default()
        };
        let starts = Starts::grid(grid);
        let pairs: Vec<[f64; 2]> = starts.stage2.iter().map(|&(a, b)| [a, b]).collect();
        let starts_path = std::env::temp_dir().join(format!("dclab_bench_starts_{grid:?}.json"));
        std::fs::write(&starts_path, serde_json::to_string(&pairs).unwrap()).unwrap();

        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (t1, fit) = one.install(|| time(5, || fit_law_from(&runs, &opts, &starts).unwrap()));
        let (tn, _) = time(5, || fit_law_from(&runs, &opts, &starts).unwrap());

        let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&py)
            .arg(root.join("bench/scipy_stage2.py"))
            .arg(&fixture)
            .arg(&starts_path)
            .output();
        println!("\n[{grid:?} grid: {} starts]", pairs.len());
        println!(
            "  rust  1 thread : {:9.4} s   R_D* {:.4}  R_N* {:.4}  objective {:.10}  (failed starts {}, evaluations {})",
            t1,
            fit.params.r_d_star,
            fit.params.r_n_star,
            fit.objective,
            fit.starts_failed,
            fit.stages.iter().map(|s| s.evaluations).sum::<u64>()
        );
        println!("  rust  {threads} threads: {tn:9.4} s");
        match out {
            Ok(o) if o.status.success() => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("scipy output");
                let ts = v["seconds"].as_f64().unwrap();
                println!(
                    "  scipy L-BFGS-B : {:9.4} s   R_D* {:.4}  R_N* {:.4}  objective {:.10}  (failed starts {}, evaluations {})",
                    ts,
                    v["R_D_star"].as_f64().unwrap(),
                    v["R_N_star"].as_f64().unwrap(),
                    v["objective"].as_f64().unwrap(),
                    v["starts_failed"],
                    v["nfev"]
                );
                println!(
                    "  ratio scipy / rust: {:.1}x (1 thread), {:.1}x ({threads} threads)",
                    ts / t1,
                    ts / tn
                );
            }
            Ok(o) => println!(
                "  scipy reference failed (run bench/install.sh): {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => println!("  could not run {py}: {e} (run bench/install.sh)"),
        }
    }

    println!("\n[two-stage fit, wide grid, + 1000 bootstrap refits, {threads} threads]");
    let opts = FitOptions::default();
    let t = Instant::now();
    let fit = fit_law(&runs, &opts).unwrap();
    let t_fit = t.elapsed().as_secs_f64();
    let boot = bootstrap(&runs, &opts, &fit, 1000, 0, 0.95).unwrap();
    let t_all = t.elapsed().as_secs_f64();
    println!(
        "  fit: {t_fit:.3} s ({} starts), fit + 1000 bootstrap: {t_all:.3} s (goal < 10 s); failed replicates {}",
        fit.starts, boot.n_failed
    );
    println!(
        "  R_D* {:.3} CI {:?}  R_N* {:.3} CI {:?}",
        fit.params.r_d_star,
        boot.ci.get("R_D_star"),
        fit.params.r_n_star,
        boot.ci.get("R_N_star")
    );
}
