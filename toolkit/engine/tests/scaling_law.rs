//! REFERENCE.md section 7: the law's known values, allocation, parameter formula, FLOPs, and the
//! published fit's R^2 and objective on SDC's 182 runs.

mod common;
use common::{fixture, rel};

use dclab::flops::{dba_params, swiglu_hidden, training_flops};
use dclab::scaling::constants::parse_params;
use dclab::scaling::law::{LawParams, effective, half_value_repetition, value_left};
use dclab::scaling::report::evaluate;
use dclab::scaling::runs::Runs;
use ndarray::Array2;

#[test]
fn d_prime_known_values() {
    assert!((effective(1.0, 4.0, 3.0) - 3.2092).abs() < 1e-4);
    assert!((effective(1.0, 100.0, 3.0) - 4.000).abs() < 1e-3);
    // lim_{R_D -> inf} D' = U*(1 + R_D*)
    assert!(rel(effective(7.0, 1e9, 3.0), 7.0 * 4.0) < 1e-12);
    // no repetition: D' = U; no decay: D' = D
    assert_eq!(effective(5.0, 0.0, 3.0), 5.0);
    assert!(rel(effective(5.0, 3.0, f64::INFINITY), 20.0) < 1e-15);
    let p = LawParams::SDC_C4;
    assert!(rel(p.d_prime(4e9, 1e9), effective(1e9, 3.0, p.r_d_star)) < 1e-15);
}

#[test]
fn sdc_law_values() {
    let p = LawParams::SDC_C4;
    assert!((p.loss(6.34e9, 242e9, 25e9) - 2.2256440889984477).abs() < 1e-10);
    assert!((p.loss(8.67e9, 178e9, 25e9) - 2.2269634075087867).abs() < 1e-10);
    assert!(rel(p.big_e(), 1.8691) < 1e-4);
    assert!(rel(p.big_a(), 520.82) < 1e-4);
    assert!(rel(p.big_b(), 1487.72) < 1e-4);
    // R* -> infinity gives Chinchilla
    let c = p.without_decay();
    assert!(rel(c.loss(1e9, 1e11, 1e9), c.chinchilla_loss(1e9, 1e11)) < 1e-12);
}

#[test]
fn allocation_helpers() {
    let p = LawParams::SDC_C4;
    assert!(rel(p.g(), 0.2258019) < 1e-6);
    assert!(rel(p.u_n(100e6, 1e12), 5.098652e6) < 1e-6);
    assert!(rel(p.u_n(100e6, 1e12) / 100e6, 0.050987) < 1e-4);
    assert_eq!(p.u_n(100e6, 1e6), 1e6); // clamped at N
    assert!(rel(p.n_opt(5.76e23), 6.99622e10) < 1e-5);
    assert!(rel(p.d_opt(5.76e23), 1.37217e12) < 1e-5);
    assert!(rel(6.0 * p.n_opt(5.76e23) * p.d_opt(5.76e23), 5.76e23) < 1e-12);
}

#[test]
fn value_left_in_repeated_data() {
    for (ep, rs, want) in [
        (4.0, 15.39, 0.931),
        (16.0, 15.39, 0.661),
        (100.0, 15.39, 0.164),
        (100.0, 512.85, 0.910),
        (800.0, 512.85, 0.507),
    ] {
        let v = value_left(ep, rs);
        assert!((v - want).abs() < 6e-4, "E={ep} R_D*={rs}: {v} vs {want}");
    }
    assert_eq!(value_left(1.0, 15.0), 1.0);
    let r = half_value_repetition(15.387756);
    assert!(((-r / 15.387756f64).exp() - 0.5).abs() < 1e-12);
}

#[test]
fn parameter_formula_and_flops() {
    assert_eq!(dba_params(768, 15, 50257).total, 144_834_816);
    assert_eq!([swiglu_hidden(128), swiglu_hidden(768), swiglu_hidden(1280)], [320, 2048, 3392]);
    // DBA's grid and the embedding share of the 7M config.
    for (d, l, want) in
        [(128, 3, 7.0e6), (224, 4, 13.6e6), (288, 5, 19.5e6), (448, 6, 36.6e6), (512, 8, 50.7e6)]
    {
        let n = dba_params(d, l, 50257).total as f64;
        assert!((n - want).abs() < 0.051e6, "d={d} L={l}: {n}");
    }
    let small = dba_params(128, 3, 50257);
    assert!(((small.total - small.non_embedding) as f64 - 6.4e6).abs() < 0.05e6);
    let c = training_flops(dba_params(768, 15, 50257).total as f64, 99_952_399.0 * 50.0);
    assert!(rel(c, 4.34e18) < 2e-3, "{c}");
}

#[test]
fn grid_evaluation_matches_scalar() {
    let p = LawParams::SDC_C4;
    let n = Array2::from_shape_fn((3, 4), |(i, j)| 1e8 * (1 + i + j) as f64);
    let d = Array2::from_shape_fn((3, 4), |(i, j)| 1e10 * (1 + 2 * i + j) as f64);
    let u = Array2::from_elem((3, 4), 2e9);
    let l = dclab::scaling::law::loss_array(&p, n.view(), d.view(), u.view());
    for ((i, j), v) in l.indexed_iter() {
        assert_eq!(*v, p.loss(n[(i, j)], d[(i, j)], u[(i, j)]));
    }
}

#[test]
fn spec_forms() {
    assert_eq!(parse_params("sdc-c4").unwrap(), LawParams::SDC_C4);
    let p = parse_params("a=6.255414,b=7.3049974,e=0.6254804,alpha=0.3526596,beta=0.3526596,R_D_star=15.387756,R_N_star=5.309743").unwrap();
    assert!(
        rel(p.r_d_star, 15.387756) < 1e-12
            && rel(p.loss(1e9, 1e11, 1e10), LawParams::SDC_C4.loss(1e9, 1e11, 1e10)) < 1e-12
    );
    assert!(parse_params("a=1,b=2").unwrap_err().to_string().contains("missing"));
    assert!(parse_params("a=1,b=2,e=0,alpha=0.3,beta=0.3,R_D_star=-1").is_err());
    assert!(parse_params("a=1,b=2,e=0,alpha=0.3,beta=0.3,zeta=1").is_err());
}

#[test]
fn published_fit_on_sdc_runs() {
    let path = fixture("datablations_c4_runs.csv");
    let runs = Runs::read(&path).unwrap();
    assert_eq!(runs.len(), 182);
    let g = evaluate(&runs, &LawParams::SDC_C4, 1e-3);
    assert!((g.r2 - 0.77220).abs() < 5e-5, "R^2 {}", g.r2);
    assert!(rel(g.huber_objective, 0.0158259) < 1e-5, "objective {}", g.huber_objective);
    let g0 = evaluate(&runs, &LawParams::SDC_C4.without_decay(), 1e-3);
    assert!((g0.r2 - 0.44517).abs() < 5e-5, "no-decay R^2 {}", g0.r2);
    assert_eq!(g.residuals.len(), 182);
    assert!(g.rmse_log.is_finite() && g.rmse_log > 0.0, "rmse {}", g.rmse_log);
}

/// A stage 1 that ran to A -> 0 makes U_N underflow; the law and the fit objective must stay
/// finite and reach their analytic limit, (beta/alpha) B U_D^-beta (1 + R_N*)^-alpha for the
/// N term (found when a study's stage-2 fit failed at every start).
#[test]
fn degenerate_stage1_keeps_the_law_and_objective_finite() {
    use dclab::scaling::huber::{Form, Reduction, log_runs, objective_full, theta_from_params};
    let p = LawParams { a: -800.0, ..LawParams::SDC_C4 };
    let (n, d, u): (f64, f64, f64) = (3e5, 1e6, 8e3);
    let n_term = p.beta / p.alpha * p.big_b() * u.powf(-p.beta) * (1.0 + p.r_n_star).powf(-p.alpha);
    let want = p.big_e() + n_term + p.big_b() / p.d_prime(d, u).powf(p.beta);
    let got = p.loss(n, d, u);
    assert!(rel(got, want) < 1e-9, "loss {got} vs limit {want}");
    let runs = Runs::new(vec![n, 1e5], vec![d, 2e6], vec![u, 2e4], vec![3.0, 2.5]).unwrap();
    let (f, g) = objective_full(
        &theta_from_params(&p),
        &log_runs(&runs),
        Form::DataConstrained,
        1e-3,
        Reduction::Sum,
    );
    assert!(f.is_finite() && g.iter().all(|x| x.is_finite()), "objective {f}, gradient {g:?}");
}
