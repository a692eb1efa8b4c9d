"""PyTorch CPU reference for dclab's training throughput: the identical backbone (RMSNorm
pre-norm, half-split RoPE, SwiGLU with hidden floor((8d/3)/64)*64, no biases, tied embeddings
with one MASK row, output over the vocabulary only), the same AdamW settings, batch, sequence
length and thread count, in PyTorch's eager default (float32, TF32 off). On `--device cuda` a
fresh random batch is copied to the GPU every step, as dclab's loop does, and the clock stops
after a synchronize; `--precision tf32` turns TF32 matmuls on, `--precision bf16` runs the
forward and loss under bf16 autocast (f32 master weights and AdamW state, TF32 on), and
`--compile` wraps the model in torch.compile (its compilation happens in the warmup steps).
Prints one JSON line with tokens/s (input tokens = batch * seq_len)."""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        h = max(64, (8 * d // 3) // 64 * 64)
        self.heads = heads
        self.attn_norm, self.mlp_norm = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.w_gate, self.w_up = nn.Linear(d, h, bias=False), nn.Linear(d, h, bias=False)
        self.w_down = nn.Linear(h, d, bias=False)

    def forward(self, x, cos, sin, causal):
        b, s, d = x.shape
        dh = d // self.heads
        h = self.attn_norm(x)
        def heads(t):
            return t.view(b, s, self.heads, dh).transpose(1, 2)
        def rope(t):
            t1, t2 = t[..., : dh // 2], t[..., dh // 2 :]
            return torch.cat([t1 * cos - t2 * sin, t1 * sin + t2 * cos], dim=-1)
        q, k, v = rope(heads(self.wq(h))), rope(heads(self.wk(h))), heads(self.wv(h))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=causal).transpose(1, 2).reshape(b, s, d)
        x = x + self.wo(a)
        h = self.mlp_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Lm(nn.Module):
    def __init__(self, vocab, d, heads, layers, seq_len, causal):
        super().__init__()
        self.vocab, self.causal = vocab, causal
        self.embedding = nn.Embedding(vocab + 1, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.final_norm = nn.RMSNorm(d, eps=1e-5)
        dh = d // heads
        inv = 10000.0 ** (-torch.arange(0, dh // 2, dtype=torch.float64) * 2 / dh)
        ang = torch.arange(seq_len, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float())
        self.register_buffer("sin", ang.sin().float())

    def forward(self, tokens):
        s = tokens.shape[1]
        cos, sin = self.cos[:s], self.sin[:s]
        x = self.embedding(tokens)
        for blk in self.blocks:
            x = blk(x, cos, sin, self.causal)
        return self.final_norm(x) @ self.embedding.weight[: self.vocab].t()


def main():
    p = argparse.ArgumentParser()
    for k in ("vocab", "d", "heads", "layers", "seq_len", "batch", "steps"):
        p.add_argument("--" + k.replace("_", "-"), type=int, required=True)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = PyTorch's default)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--objective", choices=["ar", "diffusion"], required=True)
    p.add_argument("--tag", default="{}", help="a JSON object merged into the output line")
    p.add_argument("--precision", choices=["f32", "tf32", "bf16"], default="f32")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = a.precision in ("tf32", "bf16")
    torch.backends.cudnn.allow_tf32 = a.precision in ("tf32", "bf16")
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    causal = a.objective == "ar"
    model = Lm(a.vocab, a.d, a.heads, a.layers, a.seq_len, causal).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    forward = torch.compile(model) if a.compile else model
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16")

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step():
        data = torch.randint(0, a.vocab, (a.batch, a.seq_len + 1)).to(dev, non_blocking=False)
        with autocast:
            if causal:
                logits = forward(data[:, :-1]).float()
                loss = F.cross_entropy(logits.reshape(-1, a.vocab), data[:, 1:].reshape(-1))
            else:
                x = data[:, :-1]
                t = torch.rand(a.batch, 1, device=dev)
                pm = (1 - 1e-3) * t + 1e-3
                m = torch.rand(x.shape, device=dev) < pm
                logits = forward(torch.where(m, torch.full_like(x, a.vocab), x)).float()
                nll = F.cross_entropy(logits.reshape(-1, a.vocab), x.reshape(-1), reduction="none").view(x.shape)
                loss = (nll * m / pm).sum() / x.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(a.warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    dt = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({**json.loads(a.tag), "tokens_per_second": a.batch * a.seq_len * a.steps / dt, "params": params, "torch": torch.__version__,
                      "precision": a.precision, "compile": a.compile,
                      "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"}))


if __name__ == "__main__":
    main()
