#!/usr/bin/python3
"""Golden values for metrics' logistic regression from scikit-learn.

Run from this folder with Debian's Python (sklearn 1.2.1, numpy 1.24):

    /usr/bin/python3 gen_logreg_golden.py

It writes logreg_golden.json: for several small data sets, the training
data, query points, and what LogisticRegression returned with lbfgs at
its default tolerance (tol=1e-4, what SSD's MIA runs), and the same
objective's minimiser from scikit-learn's newton-cg solver at tol=1e-14
("tight"; lbfgs itself stops on its function tolerance long before):
coefficients, intercept, decision values, predicted probabilities and
labels. The Go
tests in logreg_test.go fit the same data and compare.
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression


def softmax32(z):
    z = z.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def entropies(rng, n, classes, sharpness):
    """Entropy of float32 softmax outputs of a model with a given sharpness."""
    labels = rng.integers(0, classes, n)
    logits = rng.normal(0.0, 1.0, (n, classes))
    logits[np.arange(n), labels] += rng.gamma(2.0, sharpness, n)
    p = softmax32(logits).astype(np.float64)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)


def cases():
    rng = np.random.default_rng(99)

    # 1-D, the MIA's feature (entropy); members (label 1) outnumber the
    # test set three to one, so balanced weights matter.
    members = entropies(rng, 1500, 10, 6.0)
    outsiders = entropies(rng, 500, 10, 3.0)
    x = np.concatenate([members, outsiders])[:, None]
    y = np.concatenate([np.ones(1500, int), np.zeros(500, int)])
    q = np.linspace(0.0, 2.5, 51)[:, None]
    yield "entropy1d_balanced", "entropy1d", x, y, q, dict(C=1.0, class_weight="balanced", multi_class="auto")
    yield "entropy1d_balanced_multinomial", "entropy1d", x, y, q, dict(C=1.0, class_weight="balanced", multi_class="multinomial")
    yield "entropy1d_unweighted", "entropy1d", x, y, q, dict(C=1.0, class_weight=None, multi_class="auto")

    # 2-D, moons, strong regularisation and labels other than 0/1.
    x, y = make_moons(n_samples=200, noise=0.25, random_state=3)
    y = np.where(y == 1, 5, -2)
    q = rng.uniform(-1.5, 2.5, (40, 2))
    yield "moons2d_C0.1", "moons2d", x, y, q, dict(C=0.1, class_weight="balanced", multi_class="auto")


def fit(x, y, p, solver, tol, max_iter):
    clf = LogisticRegression(C=p["C"], class_weight=p["class_weight"], multi_class=p["multi_class"],
                             solver=solver, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, y)
    return clf


def main():
    out = {"generator": "gen_logreg_golden.py", "sklearn": sklearn.__version__, "numpy": np.__version__,
           "data": {}, "cases": []}
    for name, data, x, y, q, p in cases():
        default = fit(x, y, p, "lbfgs", 1e-4, 100)
        tight = fit(x, y, p, "newton-cg", 1e-14, 10000)
        out["data"][data] = {"x": x.tolist(), "y": [int(v) for v in y], "query": q.tolist()}
        case = {
            "name": name,
            "data": data,
            "C": p["C"],
            "balanced": p["class_weight"] == "balanced",
            "multinomial": p["multi_class"] == "multinomial",
            "classes": [int(v) for v in default.classes_],
        }
        for tag, clf in (("default", default), ("tight", tight)):
            case[tag] = {
                "coef": clf.coef_[0].tolist(),
                "intercept": float(clf.intercept_[0]),
                "decision": clf.decision_function(q).tolist(),
                "proba": clf.predict_proba(q)[:, 1].tolist(),
                "predict": [int(v) for v in clf.predict(q)],
                "n_iter": int(clf.n_iter_[0]),
            }
        out["cases"].append(case)
        print("%s: default coef %s, tight coef %s" % (name, case["default"]["coef"], case["tight"]["coef"]), file=sys.stderr)
    with open("logreg_golden.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
