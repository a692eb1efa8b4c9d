//! Uncertainty: bootstrap intervals, profiles, flatness and the fit.json report.

mod common;
use common::fixture;

use dclab::fsio::write_json_atomic;
use dclab::scaling::fit::{FitOptions, GridKind, Stage1, fit_law};
use dclab::scaling::law::LawParams;
use dclab::scaling::report::{ReportOptions, fit_report};
use dclab::scaling::runs::Runs;
use dclab::scaling::uncertainty::{Profiled, bootstrap, flatness, goodness, profile, quantile};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Repeated-data runs from the SDC law with 0.5% multiplicative noise.
fn noisy_runs(p: &LawParams, seed: u64) -> Runs {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut n, mut d, mut u, mut l) = (vec![], vec![], vec![], vec![]);
    for &ni in &[3e7, 1e8, 4e8, 1.5e9] {
        for &ui in &[1e8, 1e9, 1e10] {
            for &ep in &[1.0, 2.0, 4.0, 10.0, 30.0, 100.0] {
                n.push(ni);
                d.push(ui * ep);
                u.push(ui);
                l.push(
                    p.loss(ni, ui * ep, ui)
                        * (1.0 + 0.005 * (rng.random_range(0.0..1.0) - 0.5) * 2.0),
                );
            }
        }
    }
    Runs::new(n, d, u, l).unwrap()
}

#[test]
fn quantile_matches_numpy_linear() {
    let v = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&v, 0.0), 1.0);
    assert_eq!(quantile(&v, 1.0), 4.0);
    assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-15);
    assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
}

#[test]
fn flatness_is_the_contiguous_region_below_tolerance() {
    let prof = [[1.0, 5.0], [2.0, 1.5], [3.0, 1.0], [4.0, 1.05], [5.0, 3.0], [6.0, 1.01]];
    let f = flatness(&prof, 3.0, &[0.1, 10.0]);
    assert_eq!((f[0].lo, f[0].hi), (3.0, 4.0));
    assert_eq!((f[1].lo, f[1].hi), (1.0, 6.0));
    // Around another local minimum (a fit from a narrower grid), the region is its own.
    let f = flatness(&prof, 6.2, &[0.1]);
    assert_eq!((f[0].lo, f[0].hi), (6.0, 6.0));
}

#[test]
fn bootstrap_intervals_cover_the_truth_on_synthetic_runs() {
    let p = LawParams::SDC_C4;
    let runs = noisy_runs(&p, 7);
    let opts = FitOptions { stage1: Stage1::Given(p), ..Default::default() };
    let fit = fit_law(&runs, &opts).unwrap();
    let b = bootstrap(&runs, &opts, &fit, 200, 1, 0.95).unwrap();
    assert_eq!(b.n, 200);
    assert!(b.n_failed < 10);
    // Only the fitted constants get intervals.
    assert!(
        b.ci.contains_key("R_D_star")
            && b.ci.contains_key("R_N_star")
            && !b.ci.contains_key("alpha")
    );
    for (name, truth, best) in [
        ("R_D_star", p.r_d_star, fit.params.r_d_star),
        ("R_N_star", p.r_n_star, fit.params.r_n_star),
    ] {
        let [lo, hi] = b.ci[name];
        assert!(lo < hi, "{name}: [{lo}, {hi}]");
        assert!(lo <= truth && truth <= hi, "{name}: truth {truth} outside [{lo}, {hi}]");
        assert!(
            lo <= best * 1.001 && best <= hi * 1.001,
            "{name}: fit {best} outside [{lo}, {hi}]"
        );
    }
    // Same seed, same intervals.
    let b2 = bootstrap(&runs, &opts, &fit, 200, 1, 0.95).unwrap();
    assert_eq!(b.ci, b2.ci);
}

#[test]
fn fit_json_on_published_runs() {
    let path = fixture("datablations_c4_runs.csv");
    let runs = Runs::read(&path).unwrap();
    let opts = ReportOptions {
        fit: FitOptions {
            stage1: Stage1::Given(LawParams::SDC_C4),
            grid: GridKind::Wide,
            ..Default::default()
        },
        bootstrap: 100,
        ..Default::default()
    };
    let rep = fit_report(&runs, &opts).unwrap();
    // The wide multi-start finds a minimum at least as good as the published constants.
    let published = goodness(&runs, &LawParams::SDC_C4, 1e-3).huber_objective;
    assert!(rep.huber_objective <= published + 1e-12, "{} vs {published}", rep.huber_objective);
    // The profile over R_D* is minimised at (or next to) the fit and never below it.
    let min = rep.profile_r_d_star.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
    assert!(min >= rep.huber_objective - 1e-9, "profile {min} below fit {}", rep.huber_objective);
    assert!(rep.profile_r_d_star.iter().any(|p| (p[0] / rep.params.r_d_star - 1.0).abs() < 1e-9
        && (p[1] - rep.huber_objective).abs() < 1e-9));
    let flat = rep.flatness.r_d_star.iter().find(|f| f.tol == 1e-6).unwrap();
    assert!(flat.lo <= rep.params.r_d_star && rep.params.r_d_star <= flat.hi);
    // REFERENCE: around SDC's minimum, moving R_D* by +-0.15 (R_N* re-minimised) changes the
    // objective by < 3e-7.
    let sdc = FitOptions {
        stage1: Stage1::Given(LawParams::SDC_C4),
        grid: GridKind::Sdc,
        ..Default::default()
    };
    let local = fit_law(&runs, &sdc).unwrap();
    let r = local.params.r_d_star;
    let prof = profile(&runs, &sdc, &local, Profiled::RDStar, &[r - 0.15, r + 0.15]).unwrap();
    for [v, f] in prof {
        assert!(
            f - local.objective < 3e-7 && f >= local.objective - 1e-10,
            "R_D* {v}: {f} vs {}",
            local.objective
        );
    }
    let [lo, hi] = rep.ci["R_D_star"];
    assert!(lo <= hi);
    // The JSON has the documented keys.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit.json");
    write_json_atomic(&out, &rep).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for k in [
        "E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star", "r2", "huber_objective", "n_runs",
        "starts", "starts_failed", "ci", "profile_R_D_star", "profile_R_N_star", "flatness",
        "rmse_log", "residuals",
    ] {
        assert!(v.get(k).is_some(), "fit.json lacks {k}");
    }
    assert_eq!(v["n_runs"], 182);
    assert!(v["ci"]["R_N_star"].as_array().unwrap().len() == 2);
    // The law can be read back from fit.json.
    let back = dclab::scaling::report::load_params(out.to_str().unwrap()).unwrap();
    assert!((back.r_d_star / rep.params.r_d_star - 1.0).abs() < 1e-12);
}
