//! Textual forms of law constants shared by the CLI and the library: `sdc-c4` or a
//! `key=value,...` list (a, b, e or E, A, B; alpha, beta; R_D_star, R_N_star).

use super::huber::{LN_RD, LN_RN, THETA_NAMES};
use super::law::LawParams;
use anyhow::{Result, bail};

/// Maps a constant's name to its theta index and the value in theta units (logs for E, A, B
/// and for the decay constants), so `--fix` and `--params` accept the papers' names.
///
/// ```
/// use dclab::scaling::constants::theta_entry;
/// assert_eq!(theta_entry("E", 1.0).unwrap(), (2, 0.0));
/// ```
pub fn theta_entry(name: &str, value: f64) -> Result<(usize, f64)> {
    if !value.is_finite() {
        bail!("value of `{name}` must be a finite number, got {value}");
    }
    let positive = |v: f64| -> Result<f64> {
        if v > 0.0 { Ok(v.ln()) } else { bail!("`{name}` must be > 0, got {v}") }
    };
    Ok(match name {
        "a" => (0, value),
        "b" => (1, value),
        "e" => (2, value),
        "A" => (0, positive(value)?),
        "B" => (1, positive(value)?),
        "E" => (2, positive(value)?),
        "alpha" => (3, value),
        "beta" => (4, value),
        "R_D_star" | "R_D*" | "rd_star" => (LN_RD, positive(value)?),
        "R_N_star" | "R_N*" | "rn_star" => (LN_RN, positive(value)?),
        _ => bail!(
            "unknown constant `{name}` (expected one of a, b, e, E, A, B, alpha, beta, R_D_star, R_N_star)"
        ),
    })
}

/// Parses `NAME=VALUE`.
pub fn parse_assignment(s: &str) -> Result<(String, f64)> {
    let Some((k, v)) = s.split_once('=') else { bail!("expected NAME=VALUE, got `{s}`") };
    let v: f64 =
        v.trim().parse().map_err(|_| anyhow::anyhow!("`{}` is not a number in `{s}`", v.trim()))?;
    Ok((k.trim().to_string(), v))
}

/// Parses `sdc-c4` or `a=..,b=..,e=..,alpha=..,beta=..[,R_D_star=..,R_N_star=..]`.
///
/// The Chinchilla constants are required; a missing decay constant means no decay (infinity).
///
/// ```
/// use dclab::scaling::constants::parse_params;
/// let p = parse_params("E=1.8691,A=520.82,B=1487.72,alpha=0.35,beta=0.35,R_D_star=15").unwrap();
/// assert!((p.r_d_star - 15.0).abs() < 1e-12 && p.r_n_star.is_infinite());
/// ```
pub fn parse_params(spec: &str) -> Result<LawParams> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("sdc-c4") || spec.eq_ignore_ascii_case("sdc") {
        return Ok(LawParams::SDC_C4);
    }
    let mut t = [f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::INFINITY, f64::INFINITY];
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = parse_assignment(part)?;
        let (i, tv) = theta_entry(&k, v)?;
        t[i] = tv;
    }
    if let Some(i) = (0..5).find(|&i| t[i].is_nan()) {
        bail!(
            "law constants `{spec}`: `{}` is missing (give a,b,e or A,B,E, alpha, beta; or `sdc-c4`)",
            THETA_NAMES[i]
        );
    }
    Ok(super::huber::params_from_theta(&t))
}
