#!/usr/bin/python3
"""Golden values for the CPU backend's tests, from PyTorch 1.13 (CPU, float32).

Run from this directory with the system Python that has torch:
    /usr/bin/python3 gen_golden.py
It rewrites the *.json fixtures beside it. The seed is fixed, so a rerun on
the same PyTorch version gives the same files. Tensors are stored flat (row
major) with their shapes; floats with 9 significant digits, enough to
round-trip float32.
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(20240601)
torch.set_num_threads(1)


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def write(name, cases):
    with open(name, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


def conv_cases():
    cases = []
    for (n, c, h, w, k, r, stride, pad) in [
        (2, 3, 7, 6, 4, 3, 1, 0),
        (2, 3, 7, 6, 4, 3, 1, 1),
        (2, 3, 7, 6, 4, 3, 2, 0),
        (2, 3, 7, 6, 4, 3, 2, 1),
        (1, 2, 9, 9, 3, 1, 2, 0),
    ]:
        x = rand(n, c, h, w).requires_grad_()
        wt = rand(k, c, r, r).requires_grad_()
        y = F.conv2d(x, wt, stride=stride, padding=pad)
        dy = rand(*y.shape)
        y.backward(dy)
        cases.append({"n": n, "c": c, "h": h, "w": w, "k": k, "r": r, "stride": stride, "pad": pad,
                      "x": flat(x), "weight": flat(wt), "y": flat(y), "dy": flat(dy),
                      "dx": flat(x.grad), "dw": flat(wt.grad)})
    return cases


def bn_cases():
    cases = []
    for (n, c, h, w) in [(4, 3, 5, 5), (8, 2, 1, 1)]:
        bn = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
        with torch.no_grad():
            bn.weight.copy_(rand(c))
            bn.bias.copy_(rand(c))
            bn.running_mean.copy_(rand(c))
            bn.running_var.copy_(rand(c).abs() + 0.5)
        rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
        x = (rand(n, c, h, w) * 2 + 0.5).requires_grad_()
        bn.train()
        y = bn(x)
        dy = rand(*y.shape)
        y.backward(dy)
        case = {"n": n, "c": c, "hw": h * w, "x": flat(x), "gamma": flat(bn.weight), "beta": flat(bn.bias),
                "run_mean0": flat(rm0), "run_var0": flat(rv0), "dy": flat(dy),
                "y": flat(y), "dx": flat(x.grad), "dgamma": flat(bn.weight.grad), "dbeta": flat(bn.bias.grad),
                "run_mean": flat(bn.running_mean), "run_var": flat(bn.running_var)}
        # Eval mode with the updated running statistics.
        bn.eval()
        bn.zero_grad()
        xe = x.detach().clone().requires_grad_()
        ye = bn(xe)
        ye.backward(dy)
        case.update({"eval_y": flat(ye), "eval_dx": flat(xe.grad),
                     "eval_dgamma": flat(bn.weight.grad), "eval_dbeta": flat(bn.bias.grad)})
        cases.append(case)
    return cases


def pool_cases():
    cases = []
    for (kind, n, c, h, w, k, stride, pad) in [
        ("max", 2, 3, 9, 7, 3, 2, 1),
        ("max", 2, 3, 8, 7, 2, 2, 0),
        ("avg", 2, 3, 8, 8, 2, 2, 0),
        ("avg", 1, 2, 7, 9, 3, 2, 1),
        ("avg", 2, 4, 4, 4, 4, 4, 0),
    ]:
        x = rand(n, c, h, w).requires_grad_()
        if kind == "max":
            y, idx = F.max_pool2d(x, k, stride, pad, return_indices=True)
        else:
            y = F.avg_pool2d(x, k, stride, pad, count_include_pad=True)
        dy = rand(*y.shape)
        y.backward(dy)
        case = {"kind": kind, "n": n, "c": c, "h": h, "w": w, "k": k, "stride": stride, "pad": pad,
                "x": flat(x), "y": flat(y), "dy": flat(dy), "dx": flat(x.grad)}
        if kind == "max":
            case["argmax"] = [int(v) for v in idx.reshape(-1).tolist()]
        cases.append(case)
    return cases


def linear_cases():
    cases = []
    for (n, fin, fout) in [(5, 7, 3), (1, 16, 10)]:
        lin = torch.nn.Linear(fin, fout)
        x = rand(n, fin).requires_grad_()
        y = lin(x)
        dy = rand(n, fout)
        y.backward(dy)
        cases.append({"n": n, "in": fin, "out": fout, "x": flat(x), "weight": flat(lin.weight),
                      "bias": flat(lin.bias), "y": flat(y), "dy": flat(dy), "dx": flat(x.grad),
                      "dweight": flat(lin.weight.grad), "dbias": flat(lin.bias.grad)})
    return cases


def ce_cases():
    cases = []
    for (n, k) in [(6, 10), (3, 4)]:
        z = (rand(n, k) * 3).requires_grad_()
        labels = torch.randint(0, k, (n,))
        loss = F.cross_entropy(z, labels)  # mean reduction
        loss.backward()
        cases.append({"n": n, "classes": k, "logits": flat(z), "labels": labels.tolist(),
                      "probs": flat(torch.softmax(z.detach(), 1)), "loss": float(loss),
                      "losses": flat(F.cross_entropy(z.detach(), labels, reduction="none")),
                      "dlogits": flat(z.grad)})
    return cases


def optim_cases():
    cases = []
    n = 11
    p0 = rand(n)
    grads = [rand(n) for _ in range(3)]
    settings = [
        ("sgd", dict(lr=0.1, momentum=0.9, nesterov=False, weight_decay=5e-4, dampening=0)),
        ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, dampening=0)),
        ("adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=5e-4)),
        ("adamw", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)),
    ]
    for kind, kw in settings:
        p = torch.nn.Parameter(p0.clone())
        opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([p], **kw)
        steps = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            steps.append(flat(p))
        case = {"kind": kind, "p0": flat(p0), "grads": [flat(g) for g in grads], "params": steps}
        case.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()})
        cases.append(case)
    return cases


write("conv.json", conv_cases())
write("batchnorm.json", bn_cases())
write("pool.json", pool_cases())
write("linear.json", linear_cases())
write("cross_entropy.json", ce_cases())
write("optim.json", optim_cases())
