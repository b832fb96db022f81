#!/usr/bin/python3
"""Golden values for metrics' SVM (RBF C-SVC, SMO) from scikit-learn's SVC.

Run from this folder with Debian's Python (sklearn 1.2.1, numpy 1.24):

    /usr/bin/python3 gen_svm_golden.py

It writes svm_<case>.json, one per data set. Each file holds the training
data, the parameters, query points and what SVC returned for them: decision
values, predictions, the support vector indices, dual coefficients,
intercept and the solver's iteration count. The Go tests in svm_test.go
fit the same data and compare. Rerunning with the same library versions
reproduces the files byte for byte (fixed seeds).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.datasets import make_moons
from sklearn.svm import SVC


def softmax32(z):
    z = z.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def true_class_confidence(rng, n, classes, sharpness):
    """Softmax (float32, as a model would give) probability of the true label."""
    labels = rng.integers(0, classes, n)
    logits = rng.normal(0.0, 1.0, (n, classes))
    logits[np.arange(n), labels] += rng.gamma(2.0, sharpness, n)
    p = softmax32(logits)
    return p[np.arange(n), labels].astype(np.float64)


def cases():
    rng = np.random.default_rng(20240501)

    # 1-D, two overlapping Gaussians.
    n = 100
    x = np.concatenate([rng.normal(0.0, 1.0, n), rng.normal(1.5, 1.0, n)])
    y = np.concatenate([np.zeros(n, int), np.ones(n, int)])
    q = np.linspace(-3, 4.5, 61)
    yield "blobs1d", x[:, None], y, q[:, None], dict(C=3.0, gamma="auto", shrinking=True)

    # 1-D, the MIA's feature: true-class confidence of a sharper model on its
    # training data (members, label 1) than on unseen data (label 0). Many
    # values are exactly 1.0 in float32, so the problem has many ties; l >
    # 1000 so that shrinking starts (libsvm shrinks every min(l, 1000)
    # iterations).
    n = 1200
    members = true_class_confidence(rng, n, 10, 6.0)
    outsiders = true_class_confidence(rng, n, 10, 3.0)
    x = np.concatenate([members, outsiders])
    y = np.concatenate([np.ones(n, int), np.zeros(n, int)])
    q = np.concatenate([np.linspace(0.0, 1.0, 101), x[:: 24]])
    yield "mia1d", x[:, None], y, q[:, None], dict(C=3.0, gamma="auto", shrinking=True)
    yield "mia1d_noshrink", x[:, None], y, q[:, None], dict(C=3.0, gamma="auto", shrinking=False)

    # 2-D, interleaved half moons.
    x, y = make_moons(n_samples=300, noise=0.3, random_state=7)
    q = rng.uniform(-1.5, 2.5, (80, 2))
    yield "moons2d", x, y, q, dict(C=3.0, gamma="auto", shrinking=True)

    # 2-D, imbalanced, labels that are neither 0/1 nor sorted by first
    # appearance; default C and an explicit gamma.
    a = rng.normal([0.0, 0.0], 1.0, (250, 2))
    b = rng.normal([1.5, 1.0], 0.7, (50, 2))
    x = np.concatenate([a, b])
    y = np.concatenate([np.full(250, 7), np.full(50, -1)])
    perm = rng.permutation(len(x))
    x, y = x[perm], y[perm]
    q = rng.uniform(-3, 4, (60, 2))
    yield "imbalanced2d", x, y, q, dict(C=1.0, gamma=0.5, shrinking=True)

    # 1-D, separable with a margin: few support vectors, free ones only.
    x = np.concatenate([rng.uniform(0.0, 1.0, 20), rng.uniform(2.0, 3.0, 20)])
    y = np.concatenate([np.zeros(20, int), np.ones(20, int)])
    q = np.linspace(-0.5, 3.5, 41)
    yield "separable1d", x[:, None], y, q[:, None], dict(C=3.0, gamma="auto", shrinking=True)

    # 1-D, every feature identical (a model that is certain of every
    # sample): zero curvature in every SMO step, all points support
    # vectors, decision values of zero that LIBSVM sends to the second class.
    x = np.ones(20)
    y = np.concatenate([np.ones(10, int), np.zeros(10, int)])
    q = np.array([1.0, 0.5, 0.0])
    yield "identical1d", x[:, None], y, q[:, None], dict(C=3.0, gamma="auto", shrinking=True)


def main():
    for name, x, y, q, p in cases():
        x = np.ascontiguousarray(x, dtype=np.float64)
        q = np.ascontiguousarray(q, dtype=np.float64)
        clf = SVC(C=p["C"], kernel="rbf", gamma=p["gamma"], shrinking=p["shrinking"], tol=1e-3)
        clf.fit(x, y)
        out = {
            "generator": "gen_svm_golden.py",
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "params": {
                "C": p["C"],
                "gamma": 0.0 if p["gamma"] == "auto" else p["gamma"],
                "gamma_auto": p["gamma"] == "auto",
                "shrinking": p["shrinking"],
                "tol": 1e-3,
            },
            "x": x.tolist(),
            "y": [int(v) for v in y],
            "query": q.tolist(),
            "classes": [int(v) for v in clf.classes_],
            "decision": clf.decision_function(q).tolist(),
            "predict": [int(v) for v in clf.predict(q)],
            "train_predict": [int(v) for v in clf.predict(x)],
            "support": [int(v) for v in clf.support_],
            "n_support": [int(v) for v in clf.n_support_],
            "dual_coef": clf.dual_coef_[0].tolist(),
            "intercept": float(clf.intercept_[0]),
            "n_iter": int(clf.n_iter_[0]),
        }
        path = "svm_%s.json" % name
        with open(path, "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        print("%s: l=%d nSV=%s n_iter=%d" % (path, len(x), out["n_support"], out["n_iter"]), file=sys.stderr)


if __name__ == "__main__":
    main()
