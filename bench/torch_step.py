#!/usr/bin/env python3
"""PyTorch CPU twin of `gra bench`: the median time of one optimizer step (forward + backward + AdamW on one
pre-generated batch) for the same models, shapes and loop form as the TypeScript implementation.

    python3 bench/torch_step.py --task teacher-student --model gated-rnn --threads 1 --steps 200 --json

Models (CONVENTIONS.md): gated-rnn (eq. 2: z = [x; 1], u = (in_x z) * (in_m z), h_t = lambda * h_{t-1} + u_t,
y = readout((out_x h) * (out_m h)), lambda = exp(-exp(nu))), lstm (eqs. 10-15), gru (eqs. 16-19), lru (App. A.1,
the Out variant: complex diagonal recurrence, Re(C h) + D x, GLU). The recurrence is a Python loop over time steps
(as in the TypeScript scan); products over all B*T rows are batched. Loss 1/2 * mean squared error over the scored
steps; AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-4 except on the recurrent parameters.
Data: a random batch of the task's shapes generated once, outside the timed region (its values do not change the
work). Prints one line of text, or one JSON object with --json. Not part of CI.

Timing is stable only with glibc's malloc kept from returning memory to the OS between steps:
    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456 python3 bench/torch_step.py ...
and, on Debian, with `libopenblas0-openmp` installed (else `python3-torch` runs on the reference BLAS).
"""
import argparse
import json
import resource
import statistics
import time

import torch

TASKS = {
    # d_in (with the gated RNN's constant appended separately), d_out, sequence length, scored steps
    "teacher-student": dict(d_in=4, d_out=4, T=32, scored="all"),
    "icl-regression": dict(d_in=6, d_out=3, T=13, scored="last"),
}
DEFAULT_HIDDEN = {("gated-rnn", "teacher-student"): 100, ("gated-rnn", "icl-regression"): 80}


def normal(*shape, std):
    return torch.nn.Parameter(torch.randn(*shape) * std)


class GatedRnn(torch.nn.Module):
    def __init__(self, d_in, n, m, d_out):
        super().__init__()
        d = d_in + 1
        self.in_x = normal(n, d, std=d ** -0.5)
        self.in_m = normal(n, d, std=d ** -0.5)
        lam = torch.sqrt(torch.rand(n)).clamp(1e-6, 1 - 1e-6)
        self.nu = torch.nn.Parameter(torch.log(-torch.log(lam)))
        self.out_x = normal(m, n, std=n ** -0.5)
        self.out_m = normal(m, n, std=n ** -0.5)
        self.readout = normal(d_out, m, std=m ** -0.5)

    def forward(self, x):
        B, T, _ = x.shape
        z = torch.cat([x, torch.ones(B, T, 1)], dim=-1)
        u = (z @ self.in_x.T) * (z @ self.in_m.T)
        lam = torch.exp(-torch.exp(self.nu))
        h = torch.zeros(B, u.shape[-1])
        hs = []
        for t in range(T):
            h = lam * h + u[:, t]
            hs.append(h)
        H = torch.stack(hs, dim=1)
        g = (H @ self.out_x.T) * (H @ self.out_m.T)
        return g @ self.readout.T


class Lstm(torch.nn.Module):
    """Eqs. 10-15, gates f, c~, g, o stacked along the rows of U [4N, d], V [4N, N], b [4N]."""

    def __init__(self, d_in, n, d_out):
        super().__init__()
        self.n = n
        self.U = normal(4 * n, d_in, std=d_in ** -0.5)
        self.V = normal(4 * n, n, std=n ** -0.5)
        self.b = torch.nn.Parameter(torch.zeros(4 * n))
        self.readout = normal(d_out, n, std=n ** -0.5)

    def forward(self, x):
        B, T, _ = x.shape
        P = x @ self.U.T + self.b
        h = torch.zeros(B, self.n)
        c = torch.zeros(B, self.n)
        hs = []
        for t in range(T):
            a = P[:, t] + h @ self.V.T
            f, cc, g, o = a.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(g) * torch.tanh(cc)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1) @ self.readout.T


class Gru(torch.nn.Module):
    """Eqs. 16-19 (reset before V_h; z weights the candidate): r, z stacked in U_rz [2N, d], V_rz [2N, N]."""

    def __init__(self, d_in, n, d_out):
        super().__init__()
        self.n = n
        self.U = normal(3 * n, d_in, std=d_in ** -0.5)
        self.V_rz = normal(2 * n, n, std=n ** -0.5)
        self.V_h = normal(n, n, std=n ** -0.5)
        self.b = torch.nn.Parameter(torch.zeros(3 * n))
        self.readout = normal(d_out, n, std=n ** -0.5)

    def forward(self, x):
        B, T, _ = x.shape
        n = self.n
        P = x @ self.U.T + self.b
        h = torch.zeros(B, n)
        hs = []
        for t in range(T):
            p = P[:, t]
            rz = torch.sigmoid(p[:, : 2 * n] + h @ self.V_rz.T)
            r, z = rz[:, :n], rz[:, n:]
            cand = torch.tanh(p[:, 2 * n:] + (r * h) @ self.V_h.T)
            h = (1 - z) * h + z * cand
            hs.append(h)
        return torch.stack(hs, dim=1) @ self.readout.T


class Lru(torch.nn.Module):
    """App. A.1, Out variant (H = d_in): h_t = lambda h_{t-1} + gamma (B x_t) in split real/imaginary form,
    y~ = Re(C h) + D x, y = sigmoid(W_a y~) * (W_b y~)."""

    def __init__(self, d_in, n, d_out):
        super().__init__()
        H = d_in
        r = torch.sqrt(torch.rand(n)).clamp(1e-6, 1 - 1e-6)
        self.nu_log = torch.nn.Parameter(torch.log(-torch.log(r)))
        self.theta_log = torch.nn.Parameter(torch.log(torch.rand(n) * 2 * torch.pi))
        self.gamma_log = torch.nn.Parameter(0.5 * torch.log(1 - r ** 2))
        self.B_re = normal(n, H, std=(2 * H) ** -0.5)
        self.B_im = normal(n, H, std=(2 * H) ** -0.5)
        self.C_re = normal(H, n, std=n ** -0.5)
        self.C_im = normal(H, n, std=n ** -0.5)
        self.D = normal(H, std=1.0)
        self.W_a = normal(d_out, H, std=H ** -0.5)
        self.W_b = normal(d_out, H, std=H ** -0.5)

    def forward(self, x):
        B, T, _ = x.shape
        mag = torch.exp(-torch.exp(self.nu_log))
        theta = torch.exp(self.theta_log)
        l_re, l_im = mag * torch.cos(theta), mag * torch.sin(theta)
        gamma = torch.exp(self.gamma_log)
        u_re = (x @ self.B_re.T) * gamma
        u_im = (x @ self.B_im.T) * gamma
        h_re = torch.zeros(B, u_re.shape[-1])
        h_im = torch.zeros(B, u_re.shape[-1])
        res, ims = [], []
        for t in range(T):
            h_re, h_im = l_re * h_re - l_im * h_im + u_re[:, t], l_re * h_im + l_im * h_re + u_im[:, t]
            res.append(h_re)
            ims.append(h_im)
        Hr, Hi = torch.stack(res, dim=1), torch.stack(ims, dim=1)
        yt = Hr @ self.C_re.T - Hi @ self.C_im.T + self.D * x
        return torch.sigmoid(yt @ self.W_a.T) * (yt @ self.W_b.T)


RECURRENT = {"nu", "nu_log", "theta_log", "gamma_log"}


def build(model, task, hidden, output_gating):
    t = TASKS[task]
    n = hidden or DEFAULT_HIDDEN.get((model, task), 100)
    if model == "gated-rnn":
        return GatedRnn(t["d_in"], n, output_gating or n, t["d_out"])
    if model == "lstm":
        return Lstm(t["d_in"], n, t["d_out"])
    if model == "gru":
        return Gru(t["d_in"], n, t["d_out"])
    if model == "lru":
        return Lru(t["d_in"], n, t["d_out"])
    raise SystemExit(f"torch_step.py: unknown model {model}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="teacher-student", choices=sorted(TASKS))
    ap.add_argument("--model", default="gated-rnn", choices=["gated-rnn", "lstm", "gru", "lru"])
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--output-gating", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=200, help="timed steps (after --warmup steps)")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--flops", type=float, default=0, help="FLOPs of one step (from `gra bench --json`) for GFLOP/s")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t = TASKS[a.task]
    model = build(a.model, a.task, a.hidden, a.output_gating)
    decay = [p for n, p in model.named_parameters() if n not in RECURRENT]
    no_decay = [p for n, p in model.named_parameters() if n in RECURRENT]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    )
    x = torch.randn(a.batch, t["T"], t["d_in"])
    target = torch.randn(a.batch, t["T"] if t["scored"] == "all" else 1, t["d_out"])

    def step():
        opt.zero_grad(set_to_none=True)
        y = model(x)
        if t["scored"] == "last":
            y = y[:, -1:]
        loss = 0.5 * ((y - target) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    w0 = time.perf_counter()
    i = 0
    while i < a.warmup or time.perf_counter() - w0 < 1.5:  # as `gra bench`: warmup steps, at least 1.5 s
        step()
        i += 1
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "impl": "pytorch", "version": torch.__version__, "task": a.task, "model": a.model, "threads": a.threads,
        "batch": a.batch, "ms_per_step": round(ms, 4), "min_ms": round(min(times), 4),
        "gflops": round(a.flops / ms / 1e6, 2) if a.flops else None, "rss_mb": round(rss_mb, 1),
    }
    if a.json:
        print(json.dumps(out))
    else:
        gf = f", {out['gflops']} GFLOP/s" if a.flops else ""
        print(f"pytorch {torch.__version__} {a.task} {a.model} threads={a.threads}: {ms:.3f} ms/step (min {min(times):.3f}){gf}, peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
