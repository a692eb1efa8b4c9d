//! The Chinchilla law and the data-constrained law of Muennighoff et al. (2023), in f64.
//!
//! Notation follows the paper: `U_D` unique tokens, `R_D` repetitions of the data, `U_N` the
//! compute-optimal model size for `U_D`, `R_N` "repetitions" of parameters, `D'`, `N'` the
//! effective data and model size, `R_D*`, `R_N*` the decay constants.

use serde::{Deserialize, Serialize};

/// Constants of the data-constrained law in SDC's log-space form (`A = exp(a)` etc.).
///
/// `r_d_star`/`r_n_star` equal to `f64::INFINITY` give the plain Chinchilla form (no decay);
/// in JSON an infinite decay constant is written as `null`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LawParams {
    /// log A (model-size term).
    pub a: f64,
    /// log B (data term).
    pub b: f64,
    /// log E (irreducible loss).
    pub e: f64,
    /// Exponent of the model-size term.
    pub alpha: f64,
    /// Exponent of the data term.
    pub beta: f64,
    /// R_D*: repetitions of data after which its value has decayed by 1/e.
    #[serde(rename = "R_D_star", with = "inf_as_null")]
    pub r_d_star: f64,
    /// R_N*: the same decay constant for excess parameters.
    #[serde(rename = "R_N_star", with = "inf_as_null")]
    pub r_n_star: f64,
}

/// Serialises an infinite decay constant (the Chinchilla limit) as JSON `null`.
mod inf_as_null {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() { s.serialize_f64(*v) } else { s.serialize_none() }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
}

impl LawParams {
    /// SDC's published C4 constants (GPT-2 BPE), REFERENCE section 5.
    pub const SDC_C4: LawParams = LawParams {
        a: 6.255414,
        b: 7.3049974,
        e: 0.6254804,
        alpha: 0.3526596,
        beta: 0.3526596,
        r_d_star: 15.387756,
        r_n_star: 5.309743,
    };

    /// The plain Chinchilla form (no decay of repeated data or excess parameters).
    pub fn chinchilla(a: f64, b: f64, e: f64, alpha: f64, beta: f64) -> Self {
        LawParams { a, b, e, alpha, beta, r_d_star: f64::INFINITY, r_n_star: f64::INFINITY }
    }

    /// The same constants with the decay switched off, the no-decay baseline.
    pub fn without_decay(self) -> Self {
        LawParams { r_d_star: f64::INFINITY, r_n_star: f64::INFINITY, ..self }
    }

    /// E = exp(e), the irreducible loss.
    pub fn big_e(&self) -> f64 {
        self.e.exp()
    }
    /// A = exp(a).
    pub fn big_a(&self) -> f64 {
        self.a.exp()
    }
    /// B = exp(b).
    pub fn big_b(&self) -> f64 {
        self.b.exp()
    }

    /// G = (alpha*A/(beta*B))^(1/(alpha+beta)), the Chinchilla allocation constant.
    pub fn g(&self) -> f64 {
        ((self.alpha.ln() + self.a - self.beta.ln() - self.b) / (self.alpha + self.beta)).exp()
    }

    /// Compute-optimal model size N_opt(C) = G*(C/6)^(beta/(alpha+beta)).
    pub fn n_opt(&self, c: f64) -> f64 {
        self.g() * (c / 6.0).powf(self.beta / (self.alpha + self.beta))
    }

    /// Compute-optimal token count D_opt(C) = (C/6)^(alpha/(alpha+beta))/G.
    pub fn d_opt(&self, c: f64) -> f64 {
        (c / 6.0).powf(self.alpha / (self.alpha + self.beta)) / self.g()
    }

    /// ln of G*(U_D*G)^(beta/alpha), the compute-optimal size for U_D before the min with N.
    pub fn ln_u_n_unclamped(&self, u_d: f64) -> f64 {
        (self.alpha.ln() + self.a - self.beta.ln() - self.b + self.beta * u_d.ln()) / self.alpha
    }

    /// U_N = min(G*(U_D*G)^(beta/alpha), N): the model size U_D unique tokens can feed.
    pub fn u_n(&self, u_d: f64, n: f64) -> f64 {
        self.ln_u_n_unclamped(u_d).exp().min(n)
    }

    /// N' = U_N + U_N*R_N*(1 - exp(-R_N/R_N*)), the effective model size.
    pub fn n_prime(&self, n: f64, u_d: f64) -> f64 {
        self.ln_n_prime(n, u_d).exp()
    }

    /// ln N', computed relative to U_N so it stays finite when U_N underflows.
    pub fn ln_n_prime(&self, n: f64, u_d: f64) -> f64 {
        let ln_un = self.ln_u_n_unclamped(u_d).min(n.ln());
        if self.r_n_star.is_infinite() {
            return n.ln();
        }
        let r_n = (n.ln() - ln_un).exp() - 1.0;
        ln_un + (1.0 + self.r_n_star * -(-r_n / self.r_n_star).exp_m1()).ln()
    }

    /// D' for a run of `d` total tokens over `u` unique tokens.
    pub fn d_prime(&self, d: f64, u: f64) -> f64 {
        let u_d = u.min(d);
        effective(u_d, repetitions(d, u_d), self.r_d_star)
    }

    /// The data-constrained loss L(N, D, U) = E + A/N'^alpha + B/D'^beta.
    pub fn loss(&self, n: f64, d: f64, u: f64) -> f64 {
        let u_d = u.min(d);
        self.big_e()
            + (self.a - self.alpha * self.ln_n_prime(n, u_d)).exp()
            + self.big_b() / self.d_prime(d, u).powf(self.beta)
    }

    /// The Chinchilla loss E + A/N^alpha + B/D^beta (every token unique).
    pub fn chinchilla_loss(&self, n: f64, d: f64) -> f64 {
        self.big_e() + self.big_a() / n.powf(self.alpha) + self.big_b() / d.powf(self.beta)
    }
}

/// R_D = max(D/U_D - 1, 0): how many times the unique data was repeated (epochs - 1).
pub fn repetitions(d: f64, u_d: f64) -> f64 {
    (d / u_d - 1.0).max(0.0)
}

/// Effective count U + U*R*(1 - exp(-R/R*)) shared by D' and N'; R* = inf gives U*(1+R).
///
/// ```
/// use dclab_types::law::effective;
/// assert!((effective(1.0, 4.0, 3.0) - 3.2092).abs() < 1e-4);
/// ```
pub fn effective(u: f64, r: f64, r_star: f64) -> f64 {
    if r <= 0.0 {
        u
    } else if r_star.is_infinite() {
        u * (1.0 + r)
    } else {
        u + u * r_star * (-(-r / r_star).exp_m1())
    }
}

/// D'/D after `epochs` passes over the data: the fraction of the tokens' value that remains.
pub fn value_left(epochs: f64, r_d_star: f64) -> f64 {
    effective(1.0, (epochs - 1.0).max(0.0), r_d_star) / epochs
}

/// The repetition at which a repeated token's marginal value exp(-R/R_D*) halves: R_D* ln 2.
pub fn half_value_repetition(r_d_star: f64) -> f64 {
    r_d_star * std::f64::consts::LN_2
}
