#!/usr/bin/python3
"""Golden values for metrics' membership-inference attacks.

Run from this folder with Debian's Python (sklearn 1.2.1, numpy 1.24):

    /usr/bin/python3 gen_mia_golden.py

It makes float32 softmax outputs of a pretend 5-class model on a training
split (members: sharp) and a test split (non-members: less sharp), with
class 2 as the forget class, and runs the reference attacks on them:

- svm-confidence as SalUn's evaluation/SVC_MIA.py (SVC_fit_predict on the
  true-class confidence): SVC(C=3, gamma="auto", kernel="rbf") trained on
  D_r (label 1) then T_r (label 0), as METHODS.md defines shadow-out;
  |D_r| = |T_r| < 5,000, so no sampling is involved; the value is the mean
  prediction over D_f.
- logreg-entropy as SSD's metrics.py: the entropy computed in float32 as
  torch does, LogisticRegression(class_weight="balanced", solver="lbfgs",
  multi_class="multinomial") on D_r (1) against the whole test split (0);
  the value is the mean prediction over D_f.

Both with D_f taken from the members' distribution (unlearning failed, the
attack should find them) and from the non-members' (a retrained model).
Probabilities are written with the shortest decimals that round-trip in
float32, to keep mia_golden.json small.
"""
import json
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

CLASSES = 5
FORGET = 2


def softmax32(z):
    z = z.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def outputs(rng, labels, sharpness):
    n = len(labels)
    logits = rng.normal(0.0, 1.0, (n, CLASSES))
    logits[np.arange(n), labels] += rng.gamma(2.0, sharpness, n)
    return softmax32(logits)


def entropy32(p):
    p = p.astype(np.float32)
    logp = np.log(np.where(p > 0, p, np.float32(1)))
    return -(np.where(p > 0, p * logp, np.float32(0))).sum(axis=1, dtype=np.float32)


def f32list(a):
    return [float(str(np.float32(v))) for v in np.asarray(a, dtype=np.float32).ravel()]


def main():
    rng = np.random.default_rng(4242)
    train_labels = rng.integers(0, CLASSES, 500)
    test_labels = rng.integers(0, CLASSES, 500)
    # Make |D_r| = |T_r| so that METHODS.md's "|T_r| samples of D_r" is all of D_r.
    n_tr = int((test_labels != FORGET).sum())
    retain = np.flatnonzero(train_labels != FORGET)
    train_labels = np.concatenate([train_labels[retain[:n_tr]], np.full(100, FORGET)])
    train_labels = train_labels[rng.permutation(len(train_labels))]

    train_member = outputs(rng, train_labels, 5.0)
    train_outsider = outputs(rng, train_labels, 2.0)
    test = outputs(rng, test_labels, 2.0)

    out = {"generator": "gen_mia_golden.py", "sklearn": sklearn.__version__, "numpy": np.__version__,
           "classes": CLASSES, "forget": [FORGET], "test_labels": test_labels.tolist(),
           "test_probs": f32list(test), "train_labels": train_labels.tolist(), "cases": []}

    tf = test_labels == FORGET
    for name, forget_from in (("forget_like_members", train_member), ("forget_like_outsiders", train_outsider)):
        train = train_member.copy()
        df = train_labels == FORGET
        train[df] = forget_from[df]
        # Read back the float32 values exactly as the Go test will see them.
        train = np.asarray(f32list(train), dtype=np.float32).reshape(train.shape)
        test_r = np.asarray(f32list(test), dtype=np.float32).reshape(test.shape)

        conf = lambda p, y: p[np.arange(len(y)), y].astype(np.float64)
        d_r, d_f = ~df, df
        x_shadow = np.concatenate([conf(train[d_r], train_labels[d_r]), conf(test_r[~tf], test_labels[~tf])])
        y_shadow = np.concatenate([np.ones(d_r.sum()), np.zeros((~tf).sum())])
        svc = SVC(C=3, gamma="auto", kernel="rbf").fit(x_shadow.reshape(-1, 1), y_shadow)
        svm_value = float(svc.predict(conf(train[d_f], train_labels[d_f]).reshape(-1, 1)).mean())

        x_r = np.concatenate([entropy32(train[d_r]), entropy32(test_r)]).reshape(-1, 1)
        y_r = np.concatenate([np.ones(d_r.sum()), np.zeros(len(test_r))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr = LogisticRegression(class_weight="balanced", solver="lbfgs", multi_class="multinomial").fit(x_r, y_r)
        lr_value = float(lr.predict(entropy32(train[d_f]).reshape(-1, 1)).mean())

        out["cases"].append({"name": name, "train_probs": f32list(train), "svm_confidence": svm_value,
                             "svm_n_support": [int(v) for v in svc.n_support_],
                             "logreg_entropy": lr_value, "logreg_coef": float(lr.coef_[0][0]),
                             "logreg_intercept": float(lr.intercept_[0])})
        print(name, "svm-confidence", svm_value, "logreg-entropy", lr_value)
    with open("mia_golden.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
