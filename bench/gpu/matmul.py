"""The card's measured matrix-product rate, the denominator of model FLOP utilisation: an
8192^3 product in float32 (TF32 off, PyTorch's default and what both trainers run), TF32 and
bf16, each the median of 20 timed products (CUDA events) after 5 warm-ups. One JSON line."""
import json
import torch


def rate(dtype, tf32, n=8192):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(5):
        a @ b
    times = []
    for _ in range(20):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    return 2 * n**3 / times[len(times) // 2]


out = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
       "f32_flops": rate(torch.float32, False), "tf32_flops": rate(torch.float32, True),
       "bf16_flops": rate(torch.bfloat16, False)}
torch.backends.cuda.matmul.allow_tf32 = False
print(json.dumps(out))
