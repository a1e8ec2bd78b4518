#!/usr/bin/env python3
"""Run the whole PyTorch CPU reference benchmark and write BASELINE.md + baseline.json.

  python3 run_bench.py                 # ~4 min on 2 cores
  python3 run_bench.py --quick         # fewer iterations (smoke run, numbers less stable)
  python3 run_bench.py --rows transformer    # only the rows whose key or vqvae-bench name starts so

Every row records how busy the rest of the machine was while it ran ("other CPU"):
(system busy time - this process's CPU time) / (wall * ncpu), from /proc/stat. The
machine may be shared with other sessions; a row measured under contention is flagged,
and retried once after waiting for the machine to go idle.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_pixelcnn  # noqa: E402
import ref_transformer  # noqa: E402
import ref_vqvae  # noqa: E402
from compare import TIMED  # noqa: E402  (which vqvae-bench row each of ours stands beside)

NCPU = os.cpu_count() or 1
HZ = os.sysconf("SC_CLK_TCK")
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "2000000000",
                "MALLOC_TOP_PAD_": "268435456"}


def _stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq) / HZ, steal / HZ


def _self_cpu(include_children=False):
    t = os.times()
    s = t.user + t.system
    if include_children:
        s += t.children_user + t.children_system
    return s


class Monitor:
    def __init__(self, children=False):
        self.children = children

    def __enter__(self):
        self.w0 = time.perf_counter()
        self.b0, self.s0 = _stat()
        self.c0 = _self_cpu(self.children)
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.w0
        b1, s1 = _stat()
        c1 = _self_cpu(self.children)
        self.wall = wall
        self.self_cpu = c1 - self.c0
        self.other = max(0.0, (b1 - self.b0) - self.self_cpu) / (wall * NCPU)
        self.steal = (s1 - self.s0) / (wall * NCPU)
        self.util = self.self_cpu / wall  # cores used by this process on average
        return False


def wait_idle(max_wait=90.0, thresh=0.10):
    """Wait until the machine is quiet for 2 consecutive 1 s windows (bounded)."""
    t_end = time.time() + max_wait
    quiet = 0
    while time.time() < t_end:
        b0, _ = _stat()
        time.sleep(1.0)
        b1, _ = _stat()
        if (b1 - b0) / NCPU < thresh:
            quiet += 1
            if quiet >= 2:
                return True
        else:
            quiet = 0
    return False


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split(":", 1)[1].split()
                    return [x for x in ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if x in fl]
    except OSError:
        pass
    return []


def backend_lines():
    cfg = torch.__config__.show().splitlines()
    keep = [l.strip(" -") for l in cfg if any(k in l for k in ("Math Kernel", "MKL-DNN", "oneDNN", "OpenMP", "OpenBLAS", "BLAS_INFO", "CPU capability"))]
    out = []
    for l in keep:
        if l.startswith("Build settings"):
            for kv in l.split(","):
                if "BLAS_INFO" in kv or "LAPACK_INFO" in kv:
                    out.append(kv.strip())
        else:
            out.append(l)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for an idle machine")
    ap.add_argument("--tuned-malloc", action="store_true",
                    help="re-run under glibc malloc settings that keep freed memory in the heap "
                         "(no mmap/munmap churn); writes BASELINE_tuned_malloc.md")
    ap.add_argument("--out", default=None)
    ap.add_argument("--rows", default=None, metavar="PREFIXES",
                    help="only the rows whose key (pixelcnn_train_8x8_b32) or vqvae-bench name "
                         "(pixelcnn.train_step.b32) starts with one of these comma-separated prefixes "
                         "(default: all); the peak RSS rows go with the VQ-VAE train steps")
    a = ap.parse_args()
    prefixes = [p.strip() for p in a.rows.split(",")] if a.rows else None
    swift_names = {key: name for name, key, _ in TIMED}

    def wanted(key):
        names = (key, swift_names.get(key, key))
        return prefixes is None or any(n.startswith(p) for n in names for p in prefixes)

    if a.tuned_malloc and os.environ.get("MALLOC_TOP_PAD_") != TUNED_MALLOC["MALLOC_TOP_PAD_"]:
        env = dict(os.environ, **TUNED_MALLOC)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)  # glibc reads these at startup
    suffix = "_tuned_malloc" if a.tuned_malloc else ""
    if a.out is None:
        a.out = os.path.join(HERE, f"BASELINE{suffix}.md")
        json_out = os.path.join(HERE, f"baseline{suffix}.json")
    else:
        json_out = os.path.splitext(a.out)[0] + ".json"
    torch.set_num_threads(a.threads)
    q = a.quick
    it_small = 5 if q else 20  # VQ-VAE b=32 (~0.1 s/step)
    it_mid = 5 if q else 15    # PixelCNN b=32 (~0.25 s/step)
    it_big = 5 if q else 10    # VQ-VAE b=128, PixelCNN b=128, transformer b=32 (~0.4-1 s/step)
    s_it = 1 if q else 3       # sampling 100 grids (~15 s each)
    e_it = 1 if q else 3       # encoding 10k images (~6 s each)
    t_start = time.time()

    rows = []  # (key, label, result dict, monitor, extra)

    def contended(r):
        return r["n_contended"] > r["n"] // 3

    def run(key, label, fn, retry=True):
        if not a.no_wait:
            wait_idle()
        with Monitor() as mon:
            r = fn()
        if retry and contended(r) and not a.no_wait and time.time() - t_start < 180:
            print(f"  [{label}: {r['n_contended']}/{r['n']} iterations contended -> "
                  f"waiting for idle and retrying once]", flush=True)
            wait_idle(max_wait=60)
            with Monitor() as mon:
                r = fn()
        rows.append({"key": key, "label": label, **r, "cores_used": mon.util, "steal": mon.steal})
        med = r["median_s"]
        shown = f"{med*1e3:9.1f} ms" if med < 2 else f"{med:9.3f} s "
        flag = "  (CONTENDED)" if contended(r) else ""
        print(f"{label:58s} {shown}  n={r['n']:2d}  contended iters {r['n_contended']}  "
              f"other CPU {r['other_cpu_mean']:4.0%}  cores used {mon.util:.2f}{flag}", flush=True)
        return r

    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, CPU: {cpu_name()} x{NCPU}", flush=True)

    # (a) VQ-VAE train steps
    for c, b in ((3, 32), (1, 32), (1, 128)):
        if wanted(f"vqvae_train_{c}x32x32_b{b}"):
            run(f"vqvae_train_{c}x32x32_b{b}", f"(a) VQ-VAE train step {c}x32x32, batch {b}",
                lambda c=c, b=b: ref_vqvae.bench_train(c, b, iters=it_small if b == 32 else it_big))
    # (b) PixelCNN train steps
    for b in (32, 128):
        if wanted(f"pixelcnn_train_8x8_b{b}"):
            run(f"pixelcnn_train_8x8_b{b}", f"(b) PixelCNN train step 8x8 latents, batch {b}",
                lambda b=b: ref_pixelcnn.bench_train(b, iters=it_mid if b == 32 else it_big))
    # (c) sampling 100 grids + decoding
    res_c = {}

    def c_fn():
        r_s, r_d1, r_d3 = ref_pixelcnn.bench_sample(n=100, iters=s_it)
        res_c["d1"], res_c["d3"] = r_d1, r_d3
        return r_s

    decodes = ("vqvae_decode_100_1x32x32", "vqvae_decode_100_3x32x32")
    if any(wanted(k) for k in ("pixelcnn_sample_100x8x8",) + decodes):
        run("pixelcnn_sample_100x8x8", "(c) PixelCNN sample 100 grids 8x8 (64 fwd passes, b=100)", c_fn)
    for k, lab, r in ((decodes[0], "(c) VQ-VAE decode 100 grids -> 1x32x32", res_c.get("d1")),
                      (decodes[1], "(c) VQ-VAE decode 100 grids -> 3x32x32", res_c.get("d3"))):
        if r is None:
            continue
        rows.append({"key": k, "label": lab, **r, "cores_used": None, "steal": None})
        print(f"{lab:58s} {r['median_s']*1e3:9.1f} ms  n={r['n']:2d}  contended iters {r['n_contended']}  "
              f"other CPU {r['other_cpu_mean']:4.0%}")
    # (d) encode 10k
    if wanted("vqvae_encode_10k_1x32x32_b256"):
        run("vqvae_encode_10k_1x32x32_b256", "(d) VQ-VAE encode 10,000 x 1x32x32 -> indices (b=256)",
            lambda: ref_vqvae.bench_encode(10000, 256, 1, iters=e_it))
    # (f) transformer prior (ref_transformer.py's model): AdamW step with dropout, sampling with a key/value cache
    if wanted("transformer_train_8x8_b32"):
        run("transformer_train_8x8_b32", "(f) Transformer train step 8x8 latents, batch 32 (AdamW)",
            lambda: ref_transformer.bench_train(32, iters=it_big))
    if wanted("transformer_sample_100x8x8"):
        run("transformer_sample_100x8x8", "(f) Transformer sample 100 grids 8x8 (key/value cache)",
            lambda: ref_transformer.bench_sample(100, iters=s_it, warmup=1))

    # (e) peak RSS, one fresh process per config
    rss = []
    for c, b in ((3, 32), (1, 32), (1, 128)):
        if not wanted(f"vqvae_train_{c}x32x32_b{b}"):
            continue
        cmd = [sys.executable, os.path.join(HERE, "ref_vqvae.py"), "--rss-steps", "20",
               "--channels", str(c), "--batch", str(b), "--threads", str(a.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rss.append(r)
        print(f"(e) peak RSS, 20 VQ-VAE train steps {c}x32x32 b={b}: {r['peak_rss_mib']:.0f} MiB "
              f"(after `import torch`: {r['rss_after_import_mib']:.0f} MiB)", flush=True)

    # FLOPs (of the rows that ran)
    fr = ref_vqvae.flops_report(batch=32, in_ch=3)
    pm = ref_pixelcnn.GatedPixelCNN(n_classes=10)
    p_fwd = ref_pixelcnn.forward_macs(pm)  # MACs per 8x8 grid
    tm = ref_transformer.build_model()
    t_fwd = ref_transformer.forward_macs(tm)  # MACs per 8x8 grid
    p_rows = {r["key"]: r for r in rows}
    flops = {
        "vqvae_fwd_macs_b32_3ch": fr["fwd_macs"],
        "vqvae_train_flops_3x_fwd": fr["train_flops_est_3x"],
        "vqvae_train_flops_counted": fr["train_flops_counted"],
        "pixelcnn_fwd_macs_per_grid": p_fwd,
        "transformer_fwd_macs_per_grid": t_fwd,
    }
    r3 = p_rows.get("vqvae_train_3x32x32_b32")
    if r3:
        t3, t3min = r3["median_s"], r3["min_s"]
        flops["vqvae_gflops_achieved_3x"] = fr["train_flops_est_3x"] / t3 / 1e9
        flops["vqvae_gflops_achieved_counted"] = fr["train_flops_counted"] / t3 / 1e9
        flops["vqvae_gflops_achieved_3x_at_min"] = fr["train_flops_est_3x"] / t3min / 1e9
    # FLOPs of one timed repetition: 3 x forward for a train step; sampling is 64 full passes of the 100 grids for
    # the PixelCNN, one pass for the cached transformer
    work = {("pixelcnn_train_8x8_b32", "pixelcnn_train_b32_gflops"): 3 * 2 * p_fwd * 32,
            ("pixelcnn_train_8x8_b128", "pixelcnn_train_b128_gflops"): 3 * 2 * p_fwd * 128,
            ("pixelcnn_sample_100x8x8", "pixelcnn_sample_gflops"): 2 * p_fwd * 100 * 64,
            ("transformer_train_8x8_b32", "transformer_train_b32_gflops"): 3 * 2 * t_fwd * 32,
            ("transformer_sample_100x8x8", "transformer_sample_gflops"): 2 * t_fwd * 100}
    for (key, name), f in work.items():
        if key in p_rows:
            flops[name] = f / p_rows[key]["median_s"] / 1e9

    def achieved(name):
        return f"{flops[name]:.1f} GFLOP/s" if name in flops else "(not run)"

    total_s = time.time() - t_start

    # ------------------------------------------------------------------ report
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = []
    lines.append("# PyTorch CPU reference baseline: VQ-VAE + gated PixelCNN + transformer prior")
    lines.append("")
    lines.append(f"- Measured: {now}, total benchmark wall time {total_s:.0f} s"
                 + (f"; only the rows matching --rows {a.rows}" if prefixes else ""))
    lines.append(f"- torch {torch.__version__} (PyPI wheel), Python {platform.python_version()}")
    lines.append(f"- Threads: torch.set_num_threads({torch.get_num_threads()}); interop threads {torch.get_num_interop_threads()}")
    lines.append(f"- CPU: {cpu_name()}, {NCPU} vCPUs (KVM guest), flags: {' '.join(cpu_flags())}; "
                 f"torch CPU capability: {torch.backends.cpu.get_cpu_capability()}")
    lines.append("- Backend: " + "; ".join(backend_lines()))
    mall = " ".join(f"{k}={os.environ[k]}" for k in TUNED_MALLOC if k in os.environ)
    lines.append(f"- Allocator: glibc malloc, {'tuned: ' + mall if mall else 'default settings (plain `python3`)'}")
    lines.append("- Data: synthetic (torch.rand / randint); fp32; models freshly initialised (timing does not depend on data)")
    lines.append("- Every timed row ran after warm-up; 'median' is over n timed repetitions; "
                 "'other CPU' = share of the machine's CPU used by other processes during the row")
    lines.append("")
    lines.append("| benchmark | median | median of uncontended iters | min | max | n | contended iters | other CPU (mean) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")

    def fmt(s):
        return f"{s*1e3:.1f} ms" if s < 2 else f"{s:.2f} s"

    for r in rows:
        mc = fmt(r["median_clean_s"]) if r["median_clean_s"] is not None else "-"
        lines.append(f"| {r['label']} | **{fmt(r['median_s'])}** | {mc} | {fmt(r['min_s'])} | {fmt(r['max_s'])} | "
                     f"{r['n']} | {r['n_contended']} | {r['other_cpu_mean']:.0%} |")
    for r in rss:
        lines.append(f"| (e) peak RSS, process running 20 VQ-VAE train steps {r['in_ch']}x32x32 b={r['batch']} | "
                     f"**{r['peak_rss_mib']:.0f} MiB** | | | | 1 | | |")
    if rss:
        lines.append("")
        lines.append(f"(e) Peak RSS = VmHWM of a fresh `python3 ref_vqvae.py --rss-steps 20 ...` process. "
                     f"Of that, {rss[0]['rss_after_import_mib']:.0f} MiB is already resident right after `import torch` "
                     f"(this PyPI wheel is the CUDA build; its CUDA libraries are loaded even on a CPU-only machine).")
    lines.append("")
    lines.append(f"Contention: an iteration counts as contended when other processes used more than "
                 f"{ref_vqvae.CONTENDED:.0%} of the machine's CPU during it (/proc/stat, 10 ms resolution). "
                 f"This machine is shared with other sessions' jobs; with 2 OpenMP threads on 2 vCPUs, "
                 f"one busy foreign process can slow a step several-fold. Prefer the uncontended median / min "
                 f"when a row shows contended iterations.")
    lines.append("")
    lines.append("Variance: identical full runs on this 2-vCPU KVM guest differed by up to 1.35x per row (decode rows up to 1.6x) with no "
                 "contention visible inside the guest (steal ~0%); treat differences under ~35% between a "
                 "single run here and another implementation as noise unless repeated (see RUNS.md).")
    lines.append("")
    lines.append("Allocator effect (measured separately): with glibc's default malloc, large activation buffers "
                 "go through mmap/munmap and are page-faulted in again until glibc's dynamic mmap threshold has "
                 "risen, so a fresh process pays extra kernel time. Encoding 10k images in a fresh process "
                 "(ref_vqvae.py --bench) took 7.7-8.8 s with ~9 s of sys time, vs 5.3 s and 0.3 s sys with "
                 "MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2000000000 MALLOC_TOP_PAD_=268435456. "
                 "Inside run_bench.py the encode row runs late, after the threshold has risen, so it is not "
                 "affected much; full runs with and without the tuning (--tuned-malloc) differed by less than "
                 "the run-to-run noise.")
    lines.append("")
    lines.append("## FLOPs")
    lines.append("")
    lines.append(f"- VQ-VAE forward, batch 32, 3x32x32 (convs, conv-transposes, VQ distance matmul): "
                 f"{fr['fwd_macs']/1e9:.3f} GMAC = {2*fr['fwd_macs']/1e9:.2f} GFLOP "
                 f"({fr['fwd_macs']/32/1e6:.1f} MMAC per image)")
    lines.append(f"- Train step estimate 3 x forward: {fr['train_flops_est_3x']/1e9:.2f} GFLOP; "
                 f"torch.utils.flop_counter.FlopCounterMode on fwd+bwd: {fr['train_flops_counted']/1e9:.2f} GFLOP "
                 f"(it skips the argmin'd VQ matmul backward and the first conv's input gradient)")
    if r3:
        lines.append(f"- Achieved on the 3x32x32 b=32 train step (median {t3*1e3:.1f} ms): "
                     f"**{flops['vqvae_gflops_achieved_3x']:.1f} GFLOP/s** by the 3x estimate, "
                     f"{flops['vqvae_gflops_achieved_counted']:.1f} GFLOP/s by the counted FLOPs "
                     f"(optimizer and elementwise work not counted); at the fastest step ({t3min*1e3:.1f} ms): "
                     f"{flops['vqvae_gflops_achieved_3x_at_min']:.1f} GFLOP/s")
    lines.append(f"- Gated PixelCNN forward: {p_fwd/1e6:.1f} MMAC per 8x8 grid "
                 f"(15 layers, dim 64, K=512 head). Achieved (3x fwd estimate): train b=32 "
                 f"{achieved('pixelcnn_train_b32_gflops')}, b=128 {achieved('pixelcnn_train_b128_gflops')}; "
                 f"sampling (100 grids x 64 passes = {2*p_fwd*6400/1e12:.2f} TFLOP) {achieved('pixelcnn_sample_gflops')}")
    lines.append(f"- Transformer forward: {t_fwd/1e6:.1f} MMAC per 8x8 grid (the matmuls: qkv, proj, MLP, causal "
                 f"attention, head). Achieved (3x fwd estimate): train b=32 {achieved('transformer_train_b32_gflops')}; "
                 f"sampling (100 grids, each position once = {2*t_fwd*100/1e9:.1f} GFLOP) "
                 f"{achieved('transformer_sample_gflops')}")
    peak = NCPU * 2 * 2 * 8  # cores x 2 FMA pipes x 2 flop x 8 fp32 lanes, per GHz
    lines.append(f"- For scale: AVX2 FMA peak is {peak} FLOP/cycle for {NCPU} cores "
                 f"(~{peak*2.45:.0f} GFLOP/s at the 2.45 GHz that /proc/cpuinfo reports; "
                 f"the real clock under boost is not visible from the guest).")
    lines.append("")
    lines.append("## Models")
    lines.append("")
    lines.append(f"- VQ-VAE (h=128, res_h=32, 2 res layers, K=512, D=64, beta=0.25; Adam lr 3e-4 amsgrad): "
                 f"{ref_vqvae.n_params(ref_vqvae.VQVAE(in_ch=3))} params (3 ch), "
                 f"{ref_vqvae.n_params(ref_vqvae.VQVAE(in_ch=1))} params (1 ch)")
    lines.append(f"- Gated PixelCNN (15 layers, dim 64, kernels 7A then 3B, 10-class conditioning, "
                 f"Conv1x1 head to 512 logits; Adam lr 3e-4): {ref_pixelcnn.n_params(pm)} params")
    lines.append(f"- Transformer prior (ref_transformer.py: K=512, dim 256, 8 layers, 8 heads, pre-LN GPT, 10-class "
                 f"start token, 64 learned positions, dropout 0.1 while training; AdamW lr 3e-4, weight decay 0.01): "
                 f"{ref_pixelcnn.n_params(tm)} params")
    lines.append("- Sampling: raster order, one full forward pass of the 100x8x8 batch per position (PixelCNN) or "
                 "one position at a time through the blocks with a key/value cache (transformer), "
                 "softmax + torch.multinomial; decode = codebook lookup + VQ-VAE decoder on the 100 grids.")
    lines.append("")
    lines.append("## Re-run")
    lines.append("")
    lines.append("```")
    lines.append("cd scripts/pytorch   (from the project root; add --out FILE to write elsewhere)")
    lines.append("python3 run_bench.py                 # everything, writes BASELINE.md + baseline.json (~2.5 min)")
    lines.append("python3 run_bench.py --tuned-malloc  # same under tuned glibc malloc -> BASELINE_tuned_malloc.md")
    lines.append("python3 run_bench.py --quick         # smoke run, fewer iterations")
    lines.append("python3 run_bench.py --rows transformer   # only some rows (key or vqvae-bench name prefixes)")
    lines.append("python3 ref_vqvae.py --selftest --flops --bench")
    lines.append("python3 ref_pixelcnn.py --selftest --flops --bench")
    lines.append("python3 ref_transformer.py")
    lines.append("python3 ref_vqvae.py --rss-steps 20 --channels 3 --batch 32")
    lines.append("```")
    md = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(md)
    with open(json_out, "w") as f:
        json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": cpu_name(),
                   "malloc_env": {k: os.environ[k] for k in TUNED_MALLOC if k in os.environ},
                   "rows": rows, "rss": rss, "flops": flops, "total_s": total_s}, f, indent=1)
    print()
    print(md)


if __name__ == "__main__":
    main()
