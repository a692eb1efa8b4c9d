#!/usr/bin/env python3
"""Reference stage-2 fit of the data-constrained law with scipy's L-BFGS-B.

Same problem as dclab's stage 2: stage-1 constants fixed (SDC's C4 values by default), free
parameters ln R_D*, ln R_N*, objective = SUM over runs of Huber(delta=1e-3) of
LSE(a - alpha ln N', b - beta ln D', e) - ln L, analytic gradient, one L-BFGS-B run per start,
keep the best. Starts whose objective or gradient is not finite (R* = 0) are skipped and counted.

Usage: scipy_stage2.py RUNS.csv STARTS.json  -> prints one JSON object on stdout.
STARTS.json is a list of [R_D*, R_N*] pairs in natural units.
"""
import csv
import json
import math
import sys
import time

import numpy as np
from scipy.optimize import minimize

A, B, E, ALPHA, BETA = 6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596
DELTA = 1e-3


def load(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    n = np.array([float(r["params"]) for r in rows])
    d = np.array([float(r["tokens"]) for r in rows])
    u = np.minimum(np.array([float(r["unique_tokens"]) for r in rows]), d)
    loss = np.array([float(r["val_loss"]) for r in rows])
    return n, d, u, loss


def make_objective(n, d, u, loss):
    r_d = np.maximum(d / u - 1.0, 0.0)
    lu = (math.log(ALPHA) + A - math.log(BETA) - B + BETA * np.log(u)) / ALPHA
    u_n = np.minimum(np.exp(lu), n)
    r_n = np.maximum(n / u_n - 1.0, 0.0)
    ln_loss = np.log(loss)

    def f(x):
        rd_s, rn_s = np.exp(x[0]), np.exp(x[1])
        with np.errstate(all="ignore"):
            om_d = -np.expm1(-r_d / rd_s)
            om_n = -np.expm1(-r_n / rn_s)
            dp = u * (1.0 + rd_s * om_d)
            np_ = u_n * (1.0 + rn_s * om_n)
            # d ln D'/d ln R_D*, d ln N'/d ln R_N*
            dd = u * (om_d - (1.0 - om_d) * r_d / rd_s) * rd_s / dp
            dn = u_n * (om_n - (1.0 - om_n) * r_n / rn_s) * rn_s / np_
            t1 = A - ALPHA * np.log(np_)
            t2 = B - BETA * np.log(dp)
            t3 = np.full_like(t1, E)
            m = np.maximum(np.maximum(t1, t2), t3)
            x1, x2, x3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(t3 - m)
            s = x1 + x2 + x3
            res = m + np.log(s) - ln_loss
            absr = np.abs(res)
            quad = absr <= DELTA
            hub = np.where(quad, 0.5 * res * res, DELTA * (absr - 0.5 * DELTA))
            hg = np.where(quad, res, DELTA * np.sign(res))
            g0 = np.sum(hg * (x2 / s) * (-BETA) * dd)
            g1 = np.sum(hg * (x1 / s) * (-ALPHA) * dn)
        return float(np.sum(hub)), np.array([g0, g1])

    return f


def main():
    runs, starts_path = sys.argv[1], sys.argv[2]
    with open(starts_path) as fh:
        starts = json.load(fh)
    f = make_objective(*load(runs))
    t0 = time.perf_counter()
    best, failed, iters, nfev = None, 0, 0, 0
    for rd, rn in starts:
        with np.errstate(all="ignore"):
            x0 = np.array([math.log(rd) if rd > 0 else -math.inf, math.log(rn) if rn > 0 else -math.inf])
        v, g = f(x0)
        if not (np.isfinite(v) and np.all(np.isfinite(g))):
            failed += 1
            continue
        r = minimize(f, x0, jac=True, method="L-BFGS-B",
                     options={"maxiter": 1000, "gtol": 1.5e-8, "ftol": 1e-15, "maxcor": 10})
        iters += int(r.nit)
        nfev += int(r.nfev)
        if best is None or r.fun < best.fun:
            best = r
    secs = time.perf_counter() - t0
    out = {
        "seconds": secs,
        "starts": len(starts),
        "starts_failed": failed,
        "iterations": iters,
        "nfev": nfev,
        "objective": float(best.fun),
        "R_D_star": float(math.exp(best.x[0])),
        "R_N_star": float(math.exp(best.x[1])),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
