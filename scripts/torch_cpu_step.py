# Times one Adam training step of an MLP 784-H-H-10 (ReLU, cross-entropy, float32) on the CPU,
# as BenchmarkTrainStepLevels (backend/train) does for gotrain: the same batch every step, data
# already in memory, PyTorch's intra-op threads 2 (THREADS=N to change). The README's comparison
# ran it with Debian 12's python3-torch 1.13 and libopenblas0-openmp as
#   OPENBLAS_CORETYPE=SkylakeX python3 scripts/torch_cpu_step.py 256 128
# (OpenBLAS 0.3.21 does not recognise Zen 5 and picks its Haswell kernels without the variable);
# on an AVX2-only machine (the Zen 1 EPYC of the README's AVX2 table) with OPENBLAS_CORETYPE=Haswell.
# usage: python3 torch_cpu_step.py HIDDEN BATCH [SECONDS]
import sys, time, statistics
import torch
torch.set_num_threads(int(__import__("os").environ.get("THREADS", "2")))
h, batch = int(sys.argv[1]), int(sys.argv[2])
secs = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(784, h), torch.nn.ReLU(), torch.nn.Linear(h, h), torch.nn.ReLU(), torch.nn.Linear(h, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
lossf = torch.nn.CrossEntropyLoss()
x = torch.randn(batch, 784)
y = torch.randint(0, 10, (batch,))
def step():
    opt.zero_grad(set_to_none=True)
    loss = lossf(model(x), y)
    loss.backward()
    opt.step()
for _ in range(20):
    step()
# Repeated rounds of ~0.2 s; the median round's time per step.
rounds = []
end = time.perf_counter() + secs
while time.perf_counter() < end or len(rounds) < 5:
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.2:
        step(); n += 1
    rounds.append((time.perf_counter() - t0) / n)
ms = statistics.median(rounds) * 1e3
print(f"torch {torch.__version__} threads {torch.get_num_threads()} 784-{h}-{h}-10 batch {batch}: {ms:.3f} ms/step median of {len(rounds)} rounds, {batch/ms*1e3:.0f} samples/s")
