//! Critical compute: DBA's published line, root finding on synthetic laws with a known
//! crossover, the power-law fit and the unit warning.

use dclab::scaling::crit::{
    CritOptions, CrossoverStatus, best_at_compute, c_crit, critical_compute, dba_c_crit,
    delta_loss_grid, fit_power_law, unit_warning,
};
use dclab::scaling::law::LawParams;
use ndarray::array;

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

#[test]
fn dba_published_line() {
    assert!(rel(dba_c_crit(25e6), 2.32e18) < 0.01, "{:e}", dba_c_crit(25e6));
    assert!(rel(dba_c_crit(100e6), 4.72e19) < 0.01, "{:e}", dba_c_crit(100e6));
    assert!(rel(dba_c_crit(50e6), 1.05e19) < 0.01);
    assert!(rel(dba_c_crit(500e6), 1.56e21) < 0.01);
    assert!(rel(dba_c_crit(1e6), 2.12e15) < 0.02);
    assert!(rel(dba_c_crit(5e6), 7.0e16) < 0.02);
    // The inverse form log10 U = 0.460 log10 C - 1.050.
    let c = dba_c_crit(100e6);
    assert!((0.460 * c.log10() - 1.050 - 8.0).abs() < 0.01);
}

/// Two Chinchilla laws with the same exponents, the diffusion one with lower E and lambda-times
/// larger A and B: L*(C) = E + K (C/6)^-gamma in closed form, so the crossover is known.
#[test]
fn synthetic_crossover_is_found() {
    let (a, b, al, be) = (6.255414, 7.3049974, 0.3526596, 0.3526596);
    let lambda: f64 = 2.0;
    let (ea, ed): (f64, f64) = (1.87, 1.60);
    let ar = LawParams::chinchilla(a, b, ea.ln(), al, be);
    let diff = LawParams::chinchilla(a + lambda.ln(), b + lambda.ln(), ed.ln(), al, be);
    let g = ar.g();
    let k = ar.big_a() * g.powf(-al) + ar.big_b() * g.powf(be);
    let gamma = al * be / (al + be);
    let x = ((lambda - 1.0) * k / (ea - ed)).powf(1.0 / gamma);
    let want = 6.0 * x;
    let (got, status) = c_crit(&ar, &diff, 1e30, &CritOptions::default());
    assert_eq!(status, CrossoverStatus::Crossover);
    assert!(rel(got.unwrap(), want) < 1e-6, "{:e} vs {want:e}", got.unwrap());
    // Each family sits at its Chinchilla optimum.
    let pt = best_at_compute(&ar, want, 1e30);
    assert!(rel(pt.n, ar.n_opt(want)) < 1e-5 && rel(pt.d, ar.d_opt(want)) < 1e-5);
    // The same laws in the other order never cross in favour of "diffusion".
    let (none, st) = c_crit(&diff, &ar, 1e30, &CritOptions::default());
    assert!(none.is_none() && st == CrossoverStatus::DiffusionAlwaysBetter);
    let (none, st) = c_crit(&ar, &LawParams { e: ar.e + 0.1, ..ar }, 1e30, &CritOptions::default());
    assert!(none.is_none() && st == CrossoverStatus::ArAlwaysBetter);
}

#[test]
fn data_constrained_crossover_grows_with_u() {
    // AR repeats poorly (SDC's R_D*), diffusion keeps the value of repeated data (R_D* ~ 500)
    // but needs more compute to reach the same loss.
    let ar = LawParams::SDC_C4;
    let diffusion = LawParams {
        a: ar.a + 0.4,
        b: ar.b + 0.4,
        e: ar.e - 0.02,
        r_d_star: 493.89,
        r_n_star: 1265.65,
        ..ar
    };
    let us = [25e6, 100e6, 400e6];
    let rep = critical_compute(&ar, &diffusion, &us, &CritOptions::default());
    let cs: Vec<f64> = rep.rows.iter().map(|r| r.c_crit.expect("crossover")).collect();
    assert!(cs[0] < cs[1] && cs[1] < cs[2], "{cs:?}");
    let pl = rep.power_law.unwrap();
    assert!(pl.exponent > 1.0, "{pl:?}");
    assert!(rep.warnings.is_empty());
    let grid = delta_loss_grid(&ar, &diffusion, &array![1e16, 1e24], &array![25e6, 100e6]);
    assert_eq!(grid.dim(), (2, 2));
    assert!(grid[(0, 0)] > 0.0 && grid[(0, 1)] < 0.0);
}

#[test]
fn power_law_fit_recovers_exact_law() {
    let us = [1e7, 1e8, 1e9];
    let cs: Vec<f64> = us.iter().map(|&u| dba_c_crit(u)).collect();
    let p = fit_power_law(&us, &cs).unwrap();
    assert!((p.exponent - 2.174).abs() < 1e-9 && rel(p.coef, 2.12 * 10f64.powf(1.956)) < 1e-9);
    assert!((p.log10_u_slope - 0.460).abs() < 1e-3 && (p.log10_u_intercept + 1.050).abs() < 2e-3);
    assert!(fit_power_law(&[1e8], &[1e18]).is_none());
}

#[test]
fn u_in_millions_gets_a_warning() {
    assert!(unit_warning(100.0).unwrap().contains("millions"));
    assert!(unit_warning(100e6).is_none());
    let ar = LawParams::SDC_C4;
    let rep = critical_compute(&ar, &ar, &[100.0], &CritOptions::default());
    assert_eq!(rep.warnings.len(), 1);
}
