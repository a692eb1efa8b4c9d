//! The fitter: analytic gradients, synthetic recovery, SDC's stage-2 refit on the 182 runs,
//! Epoch AI's Chinchilla refit, the mean-of-Huber pitfall, options and bad input.

mod common;
use common::{fixture, rel};

use dclab::scaling::fit::{FitMode, FitOptions, GridKind, Stage1, fit_chinchilla, fit_law};
use dclab::scaling::huber::{
    Form, N_THETA, Reduction, Theta, log_runs, objective_full, theta_from_params,
};
use dclab::scaling::law::LawParams;
use dclab::scaling::runs::Runs;

/// Law with distinct exponents so that all seven constants are identifiable.
fn truth() -> LawParams {
    LawParams { a: 6.1, b: 7.4, e: 0.62, alpha: 0.30, beta: 0.34, r_d_star: 15.4, r_n_star: 5.3 }
}

/// Noise-free synthetic runs: single-epoch runs from the plain Chinchilla form (only models no
/// larger than U_N, where the full law agrees with it), repeated-data runs from the full law.
fn synthetic(p: &LawParams) -> Runs {
    let (mut n, mut d, mut u, mut l) = (vec![], vec![], vec![], vec![]);
    for &ni in &[1e7f64, 3e7, 1e8, 3e8, 1e9, 3e9, 1e10] {
        for &di in &[3e8, 1e9, 3e9, 1e10, 3e10, 1e11, 3e11] {
            if p.ln_u_n_unclamped(di) < ni.ln() {
                continue;
            }
            n.push(ni);
            d.push(di);
            u.push(di);
            l.push(p.chinchilla_loss(ni, di));
        }
    }
    for &ni in &[3e7, 1e8, 4e8, 1.5e9, 5e9] {
        for &ui in &[1e8, 1e9, 1e10] {
            for &ep in &[2.0, 4.0, 10.0, 30.0, 100.0, 400.0] {
                n.push(ni);
                d.push(ui * ep);
                u.push(ui);
                l.push(p.loss(ni, ui * ep, ui));
            }
        }
    }
    Runs::new(n, d, u, l).unwrap()
}

fn finite_diff_check(t: &Theta, form: Form, data: &[dclab::scaling::huber::LogRun]) {
    let (_, g) = objective_full(t, data, form, 1e-3, Reduction::Sum);
    for k in 0..N_THETA {
        if form == Form::Chinchilla && k >= 5 {
            assert_eq!(g[k], 0.0);
            continue;
        }
        let h = 1e-6 * (1.0 + t[k].abs());
        let (mut tp, mut tm) = (*t, *t);
        tp[k] += h;
        tm[k] -= h;
        let fd = (objective_full(&tp, data, form, 1e-3, Reduction::Sum).0
            - objective_full(&tm, data, form, 1e-3, Reduction::Sum).0)
            / (2.0 * h);
        assert!(
            (fd - g[k]).abs() <= 1e-5 * (1.0 + g[k].abs()),
            "form {form:?} k {k}: analytic {} vs finite diff {fd}",
            g[k]
        );
    }
}

#[test]
fn analytic_gradient_matches_finite_differences() {
    let p = truth();
    let runs = synthetic(&p);
    let data = log_runs(&runs);
    // Away from the optimum (residuals in both Huber branches) and with both U_N regimes.
    let thetas: Vec<Theta> = vec![
        theta_from_params(&LawParams {
            a: 5.8,
            b: 7.9,
            e: 0.5,
            alpha: 0.31,
            beta: 0.33,
            r_d_star: 9.0,
            r_n_star: 2.0,
        }),
        theta_from_params(&LawParams {
            a: 6.3,
            b: 7.2,
            e: 0.7,
            alpha: 0.36,
            beta: 0.27,
            r_d_star: 40.0,
            r_n_star: 30.0,
        }),
        theta_from_params(&LawParams { e: 0.62 + 5e-4, ..p }),
    ];
    for t in &thetas {
        finite_diff_check(t, Form::DataConstrained, &data);
        finite_diff_check(t, Form::Chinchilla, &data);
    }
}

/// The stage-2 kernel must give the general objective's value and R* gradient: at both sides of
/// the Huber threshold, capped and uncapped U_N, a degenerate stage 1 (U_N underflows), huge and
/// tiny R*, the mean reduction, and a partial last block of runs.
#[test]
fn stage2_kernel_equals_the_general_objective() {
    let p = truth();
    let mut tables = vec![synthetic(&p)];
    tables.push(Runs::read(&fixture("datablations_c4_runs.csv")).unwrap());
    let mut checked = 0;
    for runs in &tables {
        checked += kernel_vs_general(&log_runs(runs), &p);
    }
    assert_eq!(checked, tables.len() * 3 * 6 * 4);
}

fn kernel_vs_general(data: &[dclab::scaling::huber::LogRun], p: &LawParams) -> usize {
    use dclab::scaling::huber::{LN_RD, LN_RN};
    use dclab::scaling::stage2::Stage2Kernel;
    assert!(!data.len().is_multiple_of(64), "want a partial block, got {} runs", data.len());
    let bases = [
        theta_from_params(p),
        theta_from_params(&LawParams::SDC_C4),
        theta_from_params(&LawParams {
            a: -184.0,
            b: 2.27,
            e: -26.6,
            alpha: 0.1153,
            beta: 0.1153,
            ..*p
        }),
    ];
    let mut checked = 0;
    for base in &bases {
        let kernel = Stage2Kernel::new(data, base);
        for &(ld, ln) in
            &[(2.7, 1.7), (4.56, 0.53), (-3.0, 9.0), (12.0, -2.0), (30.0, 30.0), (0.0, 0.0)]
        {
            for red in [Reduction::Sum, Reduction::Mean] {
                for delta in [1e-3, 1e-1] {
                    let mut t = *base;
                    (t[LN_RD], t[LN_RN]) = (ld, ln);
                    let (f0, g0) = objective_full(&t, data, Form::DataConstrained, delta, red);
                    let (f1, g1) = kernel.objective(&t, delta, red);
                    assert!(rel(f1, f0) <= 1e-12, "objective {f1} vs {f0} at {t:?}");
                    for k in [LN_RD, LN_RN] {
                        assert!(
                            (g1[k] - g0[k]).abs() <= 1e-11 * (g0[k].abs() + f0.abs()),
                            "gradient[{k}] {} vs {} at {t:?}",
                            g1[k],
                            g0[k]
                        );
                    }
                    assert!(g1[..LN_RD].iter().all(|&v| v == 0.0));
                    checked += 1;
                }
            }
        }
        // Infinite R* goes through the general objective (the Chinchilla limit / no data).
        let mut t = *base;
        (t[LN_RD], t[LN_RN]) = (f64::INFINITY, 2.0);
        let (f0, _) = objective_full(&t, data, Form::DataConstrained, 1e-3, Reduction::Sum);
        assert_eq!(kernel.objective(&t, 1e-3, Reduction::Sum).0.to_bits(), f0.to_bits());
    }
    checked
}

#[test]
fn synthetic_recovery_of_all_seven_constants() {
    let p = truth();
    let runs = synthetic(&p);
    let fit = fit_law(&runs, &FitOptions::default()).unwrap();
    let q = fit.params;
    for (name, got, want) in [
        ("a", q.a, p.a),
        ("b", q.b, p.b),
        ("e", q.e, p.e),
        ("E", q.big_e(), p.big_e()),
        ("A", q.big_a(), p.big_a()),
        ("B", q.big_b(), p.big_b()),
        ("alpha", q.alpha, p.alpha),
        ("beta", q.beta, p.beta),
        ("R_D*", q.r_d_star, p.r_d_star),
        ("R_N*", q.r_n_star, p.r_n_star),
    ] {
        assert!(rel(got, want) < 1e-3, "{name}: fitted {got} vs true {want}");
    }
    assert!(fit.objective < 1e-12, "noise-free objective {}", fit.objective);
    assert!(fit.starts > 1000);
}

#[test]
fn joint_mode_and_alpha_eq_beta_and_fixed() {
    let p = LawParams { alpha: 0.34, ..truth() };
    let runs = synthetic(&p);
    let opts = FitOptions {
        alpha_eq_beta: true,
        mode: FitMode::Joint,
        grid: GridKind::Sdc,
        ..Default::default()
    };
    let fit = fit_law(&runs, &opts).unwrap();
    assert_eq!(fit.params.alpha, fit.params.beta);
    assert!(
        rel(fit.params.alpha, 0.34) < 1e-3 && rel(fit.params.r_d_star, p.r_d_star) < 1e-3,
        "{:?}",
        fit.params
    );
    assert_eq!(fit.stages.last().unwrap().name, "joint");
    // A fixed constant stays exactly where it was put.
    let opts = FitOptions {
        fixed: vec![("R_N_star".into(), 7.0), ("E".into(), 1.9)],
        ..Default::default()
    };
    let fit = fit_law(&runs, &opts).unwrap();
    assert!(rel(fit.params.r_n_star, 7.0) < 1e-14 && rel(fit.params.big_e(), 1.9) < 1e-14);
    assert!(!fit.stages[1].free.contains(&"R_N_star".to_string()));
}

#[test]
fn sdc_grid_stage2_refit_on_published_runs() {
    let path = fixture("datablations_c4_runs.csv");
    let runs = Runs::read(&path).unwrap();
    let sdc = FitOptions {
        stage1: Stage1::Given(LawParams::SDC_C4),
        grid: GridKind::Sdc,
        ..Default::default()
    };
    let fit = fit_law(&runs, &sdc).unwrap();
    let p = fit.params;
    assert!((15.0..=15.8).contains(&p.r_d_star), "R_D* {}", p.r_d_star);
    assert!((5.2..=5.45).contains(&p.r_n_star), "R_N* {}", p.r_n_star);
    let published =
        dclab::scaling::uncertainty::goodness(&runs, &LawParams::SDC_C4, 1e-3).huber_objective;
    assert!(
        fit.objective <= published + 1e-12,
        "objective {} vs published {published}",
        fit.objective
    );
    // SDC's grid {0, 6.67, 13.33, 20}^2: the 7 starts with a zero give NaN and are counted.
    assert_eq!((fit.starts, fit.starts_failed), (16, 7));
    // The wide grid never does worse than SDC's.
    let wide = fit_law(&runs, &FitOptions { grid: GridKind::Wide, ..sdc }).unwrap();
    assert!(
        wide.objective <= fit.objective + 1e-12,
        "wide {} vs sdc {}",
        wide.objective,
        fit.objective
    );
    assert!(wide.starts > 300);
}

/// Epoch AI's digitised Chinchilla runs minus the 5 highest losses (REFERENCE section 7).
fn chinchilla_240() -> Runs {
    let path = fixture("chinchilla_epoch_runs.csv");
    let all = Runs::read(&path).unwrap();
    let mut idx: Vec<usize> = (0..all.len()).collect();
    idx.sort_by(|&i, &j| all.val_loss[i].total_cmp(&all.val_loss[j]));
    idx.truncate(all.len() - 5);
    all.select(&idx)
}

#[test]
fn epoch_ai_chinchilla_refit() {
    let runs = chinchilla_240();
    assert_eq!(runs.len(), 240);
    let (p, rep) = fit_chinchilla(&runs, &FitOptions::default()).unwrap();
    assert!(rel(p.big_e(), 1.8172) < 2e-3, "E {}", p.big_e());
    assert!(rel(p.alpha, 0.34731) < 5e-3, "alpha {}", p.alpha);
    assert!(rel(p.beta, 0.36718) < 5e-3, "beta {}", p.beta);
    assert!(rel(p.big_a(), 477.8) < 0.03, "A {}", p.big_a());
    assert!(rel(p.big_b(), 2143.9) < 0.03, "B {}", p.big_b());
    assert_eq!(rep.starts, 4500);
}

#[test]
fn mean_of_huber_pitfall_is_handled() {
    let runs = chinchilla_240();
    let sum = FitOptions::default();
    let (ps, _) = fit_chinchilla(&runs, &sum).unwrap();
    // Asking for the mean tightens the stopping tolerances by 1/n ...
    let mean = FitOptions { reduction: Reduction::Mean, ..Default::default() };
    let (tg, tc) = mean.effective_tolerances(runs.len());
    assert!(rel(tg, sum.tol_grad / 240.0) < 1e-12 && rel(tc, sum.tol_cost / 240.0) < 1e-12);
    // ... so the mean fit lands on the same minimum as the sum fit.
    let (pm, _) = fit_chinchilla(&runs, &mean).unwrap();
    assert!(
        rel(pm.big_e(), ps.big_e()) < 1e-4
            && rel(pm.alpha, ps.alpha) < 1e-4
            && rel(pm.beta, ps.beta) < 1e-4,
        "{pm:?} vs {ps:?}"
    );
    // Without tightening, scipy-like loose tolerances on the mean stop early: a worse fit.
    let loose = FitOptions {
        reduction: Reduction::Mean,
        tighten_for_mean: false,
        tol_grad: 1e-5,
        tol_cost: 1e-9,
        ..Default::default()
    };
    let (pl, _) = fit_chinchilla(&runs, &loose).unwrap();
    let d = log_runs(&runs);
    let obj = |p: &LawParams| {
        objective_full(&theta_from_params(p), &d, Form::Chinchilla, 1e-3, Reduction::Sum).0
    };
    assert!(obj(&pl) > obj(&ps) * (1.0 + 1e-4), "loose mean {} vs sum {}", obj(&pl), obj(&ps));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "name,params,tokens,unique_tokens\nx,1e8,1e9,1e9\n").unwrap();
    let e = format!("{:#}", Runs::read(&missing).unwrap_err());
    assert!(e.contains("missing column `val_loss`"), "{e}");

    let nonpos = dir.path().join("nonpos.csv");
    std::fs::write(
        &nonpos,
        "params,tokens,unique_tokens,val_loss\n1e8,1e9,1e9,3.1\n1e8,0,1e9,3.0\n",
    )
    .unwrap();
    let e = format!("{:#}", Runs::read(&nonpos).unwrap_err());
    assert!(e.contains("tokens") && e.contains("not a finite positive"), "{e}");

    let e = format!("{:#}", Runs::read(&dir.path().join("nope.csv")).unwrap_err());
    assert!(e.contains("does not exist"), "{e}");

    let few = Runs::new(
        vec![1e8, 2e8, 3e8],
        vec![1e9, 2e9, 3e9],
        vec![1e9, 2e9, 3e9],
        vec![3.5, 3.3, 3.2],
    )
    .unwrap();
    let e = format!("{:#}", fit_law(&few, &FitOptions::default()).unwrap_err());
    assert!(e.contains("need at least as many runs as free constants"), "{e}");

    let e = format!(
        "{:#}",
        fit_law(&few, &FitOptions { fixed: vec![("zeta".into(), 1.0)], ..Default::default() })
            .unwrap_err()
    );
    assert!(e.contains("unknown constant"), "{e}");
}

#[test]
fn parquet_round_trip_ignores_extra_columns() {
    let runs = synthetic(&truth());
    let dir = tempfile::tempdir().unwrap();
    for name in ["runs.parquet", "runs.csv"] {
        let path = dir.path().join(name);
        runs.write(&path).unwrap();
        assert_eq!(Runs::read(&path).unwrap(), runs);
    }
    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, "val_loss,note,unique_tokens,tokens,params\n3.2,hi,1e9,4e9,1e8\n")
        .unwrap();
    let r = Runs::read(&extra).unwrap();
    assert_eq!((r.params[0], r.tokens[0], r.unique_tokens[0], r.val_loss[0]), (1e8, 4e9, 1e9, 3.2));
}
