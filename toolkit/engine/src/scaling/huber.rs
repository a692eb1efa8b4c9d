//! The fitting objective: SDC's log-space LSE form of the law, summed Huber loss on log loss,
//! analytic gradients, and the argmin problem (kept apart from the solver).
//!
//! The full parameter vector is `theta = [a, b, e, alpha, beta, ln R_D*, ln R_N*]`: the decay
//! constants are optimised on a log scale so they stay positive. A [`ParamMap`] picks which
//! entries are free (the rest are fixed) and optionally ties beta to alpha.

use super::law::LawParams;
use super::runs::Runs;
use argmin::core::{CostFunction, Error, Gradient};
pub use dclab_types::fit::{Form, Reduction};
use std::cell::RefCell;
use std::rc::Rc;

/// Number of entries in the full parameter vector.
pub const N_THETA: usize = 7;
/// Names of the entries of theta, as fit.json spells the fitted constants.
pub const THETA_NAMES: [&str; N_THETA] = ["a", "b", "e", "alpha", "beta", "R_D_star", "R_N_star"];
/// Index of alpha in theta.
pub const ALPHA: usize = 3;
/// Index of beta in theta.
pub const BETA: usize = 4;
/// Index of ln R_D* in theta.
pub const LN_RD: usize = 5;
/// Index of ln R_N* in theta.
pub const LN_RN: usize = 6;

/// The full parameter vector.
pub type Theta = [f64; N_THETA];

/// Converts law constants into theta (decay constants on a log scale).
pub fn theta_from_params(p: &LawParams) -> Theta {
    [p.a, p.b, p.e, p.alpha, p.beta, p.r_d_star.ln(), p.r_n_star.ln()]
}

/// Converts theta back into law constants.
pub fn params_from_theta(t: &Theta) -> LawParams {
    LawParams {
        a: t[0],
        b: t[1],
        e: t[2],
        alpha: t[3],
        beta: t[4],
        r_d_star: t[LN_RD].exp(),
        r_n_star: t[LN_RN].exp(),
    }
}

/// One run, pre-processed for fast evaluation (all logs taken once).
#[derive(Clone, Copy, Debug)]
pub struct LogRun {
    /// Total parameters N.
    pub n: f64,
    /// ln N.
    pub ln_n: f64,
    /// ln D.
    pub ln_d: f64,
    /// ln U_D with U_D = min(U, D).
    pub ln_u: f64,
    /// U_D.
    pub u: f64,
    /// R_D = D/U_D - 1.
    pub r_d: f64,
    /// ln of the observed loss.
    pub ln_loss: f64,
}

/// Pre-processes every run of a table for the objective.
pub fn log_runs(runs: &Runs) -> Vec<LogRun> {
    (0..runs.len())
        .map(|i| {
            let (n, d, u, l) =
                (runs.params[i], runs.tokens[i], runs.unique_tokens[i], runs.val_loss[i]);
            let u_d = u.min(d);
            LogRun {
                n,
                ln_n: n.ln(),
                ln_d: d.ln(),
                ln_u: u_d.ln(),
                u: u_d,
                r_d: (d / u_d - 1.0).max(0.0),
                ln_loss: l.ln(),
            }
        })
        .collect()
}

/// Huber loss with threshold delta.
#[inline]
pub fn huber(r: f64, delta: f64) -> f64 {
    if r.abs() <= delta { 0.5 * r * r } else { delta * (r.abs() - 0.5 * delta) }
}

/// Derivative of [`huber`] with respect to the residual.
#[inline]
pub fn huber_grad(r: f64, delta: f64) -> f64 {
    if r.abs() <= delta { r } else { delta * r.signum() }
}

/// Predicted log loss of one run and its gradient with respect to theta.
pub fn log_loss_and_grad(t: &Theta, r: &LogRun, form: Form) -> (f64, Theta) {
    let (alpha, beta) = (t[ALPHA], t[BETA]);
    let mut dn = [0.0; N_THETA]; // d ln N' / d theta
    let mut dd = [0.0; N_THETA]; // d ln D' / d theta
    let (ln_np, ln_dp) = match form {
        Form::Chinchilla => (r.ln_n, r.ln_d),
        Form::DataConstrained => {
            let lu = (alpha.ln() + t[0] - beta.ln() - t[1] + beta * r.ln_u) / alpha;
            let ln_np = if lu >= r.ln_n || t[LN_RN] == f64::INFINITY {
                r.ln_n
            } else {
                // In log space relative to U_N, so a U_N that underflows (a degenerate stage 1)
                // still gives a finite ln N' = ln U_N + ln(N'/U_N).
                let rn_star = t[LN_RN].exp();
                let rn = (r.ln_n - lu).exp() - 1.0; // N/U_N - 1, possibly +inf
                let one_minus = -(-rn / rn_star).exp_m1();
                let en = 1.0 - one_minus;
                let k = 1.0 + rn_star * one_minus; // N'/U_N
                let (en_n_over_un, en_rn) =
                    if en == 0.0 { (0.0, 0.0) } else { (en * (rn + 1.0), en * rn) };
                let dlnp_dlu = (k - en_n_over_un) / k;
                dn[LN_RN] = (one_minus - en_rn / rn_star) * rn_star / k;
                dn[0] = dlnp_dlu / alpha;
                dn[1] = -dlnp_dlu / alpha;
                dn[ALPHA] = dlnp_dlu * (1.0 / alpha - lu) / alpha;
                dn[BETA] = dlnp_dlu * (r.ln_u - 1.0 / beta) / alpha;
                lu + k.ln()
            };
            let ln_dp = if r.r_d <= 0.0 {
                r.ln_u
            } else if t[LN_RD] == f64::INFINITY {
                r.ln_d
            } else {
                let rd_star = t[LN_RD].exp();
                let one_minus = -(-r.r_d / rd_star).exp_m1();
                let ed = 1.0 - one_minus;
                let dp_rel = 1.0 + rd_star * one_minus; // D'/U_D
                dd[LN_RD] = (one_minus - ed * r.r_d / rd_star) * rd_star / dp_rel;
                r.ln_u + dp_rel.ln()
            };
            (ln_np, ln_dp)
        }
    };
    let t1 = t[0] - alpha * ln_np;
    let t2 = t[1] - beta * ln_dp;
    let t3 = t[2];
    let m = t1.max(t2).max(t3);
    let (x1, x2, x3) = ((t1 - m).exp(), (t2 - m).exp(), (t3 - m).exp());
    let s = x1 + x2 + x3;
    let lse = m + s.ln();
    let (w1, w2, w3) = (x1 / s, x2 / s, x3 / s);
    let mut g = [0.0; N_THETA];
    for k in 0..N_THETA {
        g[k] = -w1 * alpha * dn[k] - w2 * beta * dd[k];
    }
    g[0] += w1;
    g[1] += w2;
    g[2] += w3;
    g[ALPHA] -= w1 * ln_np;
    g[BETA] -= w2 * ln_dp;
    (lse, g)
}

/// Summed (or mean) Huber objective over runs and its gradient with respect to full theta.
pub fn objective_full(
    t: &Theta, data: &[LogRun], form: Form, delta: f64, reduction: Reduction,
) -> (f64, Theta) {
    let mut f = 0.0;
    let mut g = [0.0; N_THETA];
    for r in data {
        let (lse, dl) = log_loss_and_grad(t, r, form);
        let res = lse - r.ln_loss;
        f += huber(res, delta);
        let h = huber_grad(res, delta);
        for k in 0..N_THETA {
            g[k] += h * dl[k];
        }
    }
    if reduction == Reduction::Mean && !data.is_empty() {
        let n = data.len() as f64;
        f /= n;
        g.iter_mut().for_each(|x| *x /= n);
    }
    (f, g)
}

/// Which entries of theta the optimiser moves; the others keep their `base` value.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamMap {
    /// Values of fixed entries (free entries are overwritten).
    pub base: Theta,
    /// Indices into theta of the free entries, in optimiser order.
    pub free: Vec<usize>,
    /// When true, beta is not free and always equals alpha.
    pub tie_beta: bool,
    /// When true the optimiser moves R_D*, R_N* themselves (SDC) instead of their logs.
    pub natural_r: bool,
}

fn is_r(k: usize) -> bool {
    k == LN_RD || k == LN_RN
}

impl ParamMap {
    /// Expands an optimiser vector into full theta.
    pub fn expand(&self, x: &[f64]) -> Theta {
        let mut t = self.base;
        for (j, &k) in self.free.iter().enumerate() {
            t[k] = if self.natural_r && is_r(k) { x[j].ln() } else { x[j] };
        }
        if self.tie_beta {
            t[BETA] = t[ALPHA];
        }
        t
    }

    /// Restricts full theta to the optimiser vector.
    pub fn reduce(&self, t: &Theta) -> Vec<f64> {
        self.free
            .iter()
            .map(|&k| if self.natural_r && is_r(k) { t[k].exp() } else { t[k] })
            .collect()
    }

    /// Chain rule from a full-theta gradient to the optimiser's gradient.
    pub fn reduce_grad(&self, g: &Theta, t: &Theta) -> Vec<f64> {
        self.free
            .iter()
            .map(|&k| {
                if self.tie_beta && k == ALPHA {
                    g[ALPHA] + g[BETA]
                } else if self.natural_r && is_r(k) {
                    g[k] / t[k].exp()
                } else {
                    g[k]
                }
            })
            .collect()
    }
}

/// The argmin problem: the objective restricted to the free parameters of a [`ParamMap`].
///
/// Cost and gradient are computed together and cached, and the best point ever evaluated is
/// remembered so a line-search failure near the optimum still yields a result.
pub struct HuberProblem<'a> {
    /// The runs, their logs taken once.
    pub data: &'a [LogRun],
    /// Which law.
    pub form: Form,
    /// Huber threshold (SDC: 1e-3).
    pub delta: f64,
    /// Sum or mean over runs.
    pub reduction: Reduction,
    /// Free/fixed layout.
    pub map: ParamMap,
    cache: RefCell<Option<Evaluated>>,
    best: BestSeen,
    evals: std::cell::Cell<u64>,
    computed: Rc<std::cell::Cell<u64>>,
    /// Evaluations allowed before the problem reports an error (argmin's inner line search
    /// has no iteration cap of its own).
    pub max_evals: u64,
    fast: Option<&'a dyn FastObjective>,
}

/// A faster evaluator of [`objective_full`] on a problem's own data and map (a solver detail
/// the problem is handed, never builds): the stage-2 kernel implements it.
pub trait FastObjective {
    /// The objective and its gradient over every theta entry, as [`objective_full`] gives them.
    fn objective(&self, t: &Theta, delta: f64, reduction: Reduction) -> (f64, Theta);
}

/// An optimiser vector with the objective and the reduced gradient computed there.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// Shared record of the best finite point a problem has evaluated (survives the solver).
pub type BestSeen = Rc<RefCell<Option<Point>>>;

/// An optimiser vector and its objective value.
pub type Point = (Vec<f64>, f64);

impl<'a> HuberProblem<'a> {
    /// Builds the problem.
    pub fn new(
        data: &'a [LogRun], form: Form, delta: f64, reduction: Reduction, map: ParamMap,
    ) -> Self {
        HuberProblem {
            data,
            form,
            delta,
            reduction,
            map,
            cache: RefCell::new(None),
            best: BestSeen::default(),
            evals: std::cell::Cell::new(0),
            computed: Rc::default(),
            max_evals: 20_000,
            fast: None,
        }
    }

    /// Evaluates through `fast`, built for this problem's data and map (the same numbers,
    /// faster; the stage-2 kernel is one).
    pub fn with_fast(mut self, fast: Option<&'a dyn FastObjective>) -> Self {
        self.fast = fast;
        self
    }

    /// Objective and reduced gradient at an optimiser vector.
    pub fn eval(&self, x: &[f64]) -> (f64, Vec<f64>) {
        if let Some((cx, f, g)) = self.cache.borrow().as_ref()
            && cx.as_slice() == x
        {
            return (*f, g.clone());
        }
        self.computed.set(self.computed.get() + 1);
        let t = self.map.expand(x);
        let (f, g) = match self.fast {
            Some(k) => k.objective(&t, self.delta, self.reduction),
            None => objective_full(&t, self.data, self.form, self.delta, self.reduction),
        };
        let g = self.map.reduce_grad(&g, &t);
        *self.cache.borrow_mut() = Some((x.to_vec(), f, g.clone()));
        if f.is_finite() && g.iter().all(|v| v.is_finite()) {
            let mut best = self.best.borrow_mut();
            if best.as_ref().is_none_or(|(_, bf)| f < *bf) {
                *best = Some((x.to_vec(), f));
            }
        }
        (f, g)
    }

    /// A handle on the number of objective evaluations computed (cache hits not counted),
    /// readable after the solver ends.
    pub fn evaluations(&self) -> Rc<std::cell::Cell<u64>> {
        self.computed.clone()
    }

    /// A handle on the best finite point evaluated so far (readable after the solver ends).
    pub fn best_seen(&self) -> BestSeen {
        self.best.clone()
    }
}

impl HuberProblem<'_> {
    /// Evaluation for the solver: an error once the budget is spent or where the objective is
    /// not finite, which ends the line search and L-BFGS at the best point seen.
    fn checked(&self, x: &[f64]) -> Result<(f64, Vec<f64>), Error> {
        let n = self.evals.get() + 1;
        self.evals.set(n);
        if n > self.max_evals {
            return Err(argmin::core::ArgminError::ConditionViolated {
                text: "evaluation budget spent".into(),
            }
            .into());
        }
        let (f, g) = self.eval(x);
        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return Err(argmin::core::ArgminError::InvalidParameter {
                text: "objective not finite".into(),
            }
            .into());
        }
        Ok((f, g))
    }
}

impl CostFunction for HuberProblem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Self::Param) -> Result<f64, Error> {
        Ok(self.checked(x)?.0)
    }
}

impl Gradient for HuberProblem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Self::Param) -> Result<Vec<f64>, Error> {
        Ok(self.checked(x)?.1)
    }
}
