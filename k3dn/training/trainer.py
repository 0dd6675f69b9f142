"""Training loop for K3DN (and the U-Net baseline), Sec. 3.4 and 4.1 of the paper.

Paper recipe: AdamW, lr 3e-4, batch 4, loss Eq. 18. Here: cosine schedule with linear warm-up,
gradient-norm clipping, periodic validation on the fixed eval set, checkpoints with optimizer and
scheduler state so a run resumes exactly (batch s is always dataset items [s*B, (s+1)*B), and every
item is a pure function of (seed, index)).

Data parallel (`torchrun --nproc_per_node W -m k3dn train ...`, see `init_distributed`): every process
trains a replica on its own B = cfg.batch items, DistributedDataParallel averages the gradients, so the
global batch is B*W. Global step s covers items [s*B*W, (s+1)*B*W) and rank r takes the contiguous
[s*B*W + r*B, s*B*W + (r+1)*B) (`StepItems`), which keeps resume exact (with the same W; a checkpoint
records W). Rank 0 alone writes the run directory, validates and shows progress; at every checkpoint
the ranks compare a bit-exact checksum of their parameters (a `replicas` record in metrics.jsonl).
With W = 1 nothing is wrapped and training is exactly the single-process loop.

Run directory layout:
    config.json        the TrainConfig, model config, git commit, torch version, device
    metrics.jsonl      one JSON line per logged step and per validation
    diagnostics.jsonl  every diag_every steps: per-module gradient norms and movement from init, kernel
                       query usage, inverse gains (k3dn/training/diagnostics.py; shown by `k3dn train --report RUN`)
    init.pt            the initial weights, the reference of "movement from init"
    last.pt            model + optimizer + scheduler + step (torch.load(weights_only=True) safe)
    last.safetensors   latest weights (what `k3dn eval --weights` and export take)
    best.safetensors   weights with the best validation PSNR so far
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import files
from ..evaluation.metrics import psnr
from ..network.ablate import ablated
from ..network.baseline import UNetBaseline
from ..network.config import K3DNConfig
from ..network.model import K3DN, PairRestorer
from ..network.weights_io import save_weights
from .disparity_loss import READOUT_LR_MULT, BlurReadout, signed_blur_loss
from .distributed import DistInfo, StepItems, resolve_device
from .losses import k3dn_loss, selection_loss


@dataclass
class TrainConfig:
    out: str = "runs/tiny"
    variant: str = "tiny"
    arch: str = "k3dn"  # "k3dn" or "unet" (baseline)
    overrides: dict = field(default_factory=dict)  # K3DNConfig overrides
    steps: int = 20000
    batch: int = 4
    patch: int = 128
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup: int = 200
    min_lr_ratio: float = 0.02
    reblur_weight: float = 0.5  # lambda_1 of Eq. 18; 0 = the no-reblur ablation
    freq_weight: float = 0.05
    blur_space: str = "mix"  # "mix" (linear light with prob. data.generate.LINEAR_PROB), "linear" or "srgb"
    clip_grad: float = 1.0
    seed: int = 0
    workers: int = 2
    device: str = "auto"
    val_every: int = 250
    val_n: int = 8
    val_size: int = 128
    ckpt_every: int = 50
    log_every: int = 10
    diag_every: int = 250  # 0 = no diagnostics
    precision: str = "fp32"  # "fp32", or "bf16": autocast of the network (loss and kernel FFTs stay fp32)
    channels_last: bool = False  # NHWC memory format for the model and batches
    reblur_every: int = 1  # run the reblur branch (L_reb, Eq. 17) every this many steps; others skip it
    mild_prob: float = 0.0  # fraction of training pairs with blur radius <= data.MILD_RADIUS (in focus / phone-like)
    soft_mild: bool = False  # soften the scene of each mild pair too: soft in-focus content the model must keep
    calibrated_prob: float = 0.0  # fraction of pairs rendered with a kernel family fitted to real views (opt-in)
    calibrated_families: list = field(default_factory=lambda: ["calibrated_dslr", "calibrated_phone"])
    degrade_prob: float = 0.0  # fraction of pairs whose views go through 8-bit / GIF palette / JPEG (opt-in)
    green_prob: float = 0.0  # fraction of pairs in the green-only form of phone DP readouts (data/readout.py)
    max_radius: float = 12.0  # px, largest |c| a simulated pair's scene reaches (data.generate.DEFAULT_MAX_RADIUS)
    ablate: list = field(default_factory=list)  # parts trained switched off (k3dn.network.ablate keys): studies only
    select_loss_weight: float = 0.0  # weight of the blur-size selection's auxiliary loss (losses.selection_loss)
    select_lr_mult: float = 1.0  # learning-rate factor of the parameters the selection block adds (NEW_WITH_SELECTION)
    disp_loss_weight: float = 0.0  # weight of the signed-blur loss on the disparity features R (disparity_loss.py)


def build_model(cfg: TrainConfig) -> PairRestorer:
    model_cfg = K3DNConfig.from_name(cfg.variant, **_tuples(cfg.overrides))
    if cfg.arch == "k3dn":
        return K3DN(model_cfg)
    if cfg.arch == "unet":
        return UNetBaseline(model_cfg)
    raise ValueError(f"unknown arch {cfg.arch!r}; choose 'k3dn' or 'unet'")


BLUR_SPACES = {"mix": None, "linear": True, "srgb": False}  # TrainConfig.blur_space -> TrainDataset(linear=)


def items_needed(cfg: TrainConfig, world_size: int = 1) -> int:
    """Dataset items a run of cfg.steps global batches of cfg.batch x world_size reads (see StepItems)."""
    return cfg.steps * cfg.batch * world_size


def build_dataset(cfg: TrainConfig, user_dir: str | Path | None = None, world_size: int = 1):
    """The training set of `cfg`: simulated DP patches of cfg.patch px, seeded by cfg.seed, blurred as
    cfg.blur_space says ("linear" is the data of the equal-budget runs, "mix" that of the shipped model),
    long enough for cfg.steps steps on `world_size` processes."""
    from ..data import TrainDataset

    if cfg.blur_space not in BLUR_SPACES:
        raise ValueError(f"unknown blur space {cfg.blur_space!r}; choose from {sorted(BLUR_SPACES)}")
    return TrainDataset(patch=cfg.patch, seed=cfg.seed, user_dir=user_dir, linear=BLUR_SPACES[cfg.blur_space],
                        mild_prob=cfg.mild_prob, soft_mild=cfg.soft_mild, calibrated_prob=cfg.calibrated_prob,
                        calibrated_families=tuple(cfg.calibrated_families), degrade_prob=cfg.degrade_prob,
                        green_prob=cfg.green_prob, max_radius=cfg.max_radius,
                        length=max(10**6, items_needed(cfg, world_size)))


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio at cfg.steps."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


PRECISIONS = ("fp32", "bf16")


def _worker_init(_: int) -> None:
    """DataLoader workers simulate on one thread each: with torch's and OpenCV's default pools every worker
    would start as many threads as there are cores, on top of the training threads (oversubscription)."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


KERNEL_SET_EPS = 1e-12  # AdamW eps of the kernel set's parameters, see param_groups


def param_groups(model: torch.nn.Module, weight_decay: float, new_lr: float | None = None) -> list[dict]:
    """AdamW groups: the kernel set (model.kernels: log-magnitude and phase of F(K), Eq. 2) apart.

    Its gradients are small per entry (~2e-9 early in training: each of the N x P x P spectrum entries
    moves the output a little), below AdamW's default eps of 1e-8, where Adam's step shrinks to
    lr * g / eps and the set cannot move. With eps 1e-12 a consistent gradient gets the full
    lr step. No weight decay there: decaying a log-spectrum towards 0 pulls it to an arbitrary kernel.
    The selection block's kernel set (select.kernels) is a kernel set too. With `new_lr`, the parameters a
    selection block adds (NEW_WITH_SELECTION) train at that learning rate: they start at 0 in a trained network.
    """
    def is_kernel(name: str) -> bool:
        return name.startswith(("kernels.", "select.kernels."))

    def is_new(name: str) -> bool:
        return new_lr is not None and name.startswith(NEW_WITH_SELECTION)

    named = list(model.named_parameters())
    groups = []
    for kernel in (False, True):
        for new in (False, True):
            params = [p for n, p in named if is_kernel(n) == kernel and is_new(n) == new]
            if not params:
                continue
            group = {"params": params, "weight_decay": 0.0 if kernel else weight_decay}
            if kernel:
                group["eps"] = KERNEL_SET_EPS
            if new:
                group["lr"] = new_lr
            groups.append(group)
    return groups


NEW_WITH_SELECTION = ("select.", "select_head.", "encoder.extra_in.")  # parameters a selection block adds


def _adds_selection(source: torch.nn.Module, model: torch.nn.Module) -> bool:
    """--init from a file without the blur-size selection block into a model with one: the block starts as
    the identity (selection.py), so the file's function is kept and only the block's parameters are new."""
    return isinstance(source, K3DN) and isinstance(model, K3DN) and not source.config.select_radii \
        and bool(model.config.select_radii)


class _TrainPass(torch.nn.Module):
    """`model.deblur_and_reblur` as a forward(): DistributedDataParallel synchronises the gradients of
    what runs through its wrapped module's forward only."""

    def __init__(self, model: PairRestorer) -> None:
        super().__init__()
        self.model = model

    def forward(self, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor | None,
                radius: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        return train_outputs(self.model, left, right, sharp, radius)


def train_outputs(model: PairRestorer, left: torch.Tensor, right: torch.Tensor, sharp: torch.Tensor | None,
                  radius: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
    """K3DN.train_outputs, or the same dict from a model that has only deblur_and_reblur (the U-Net)."""
    if isinstance(model, K3DN):
        return model.train_outputs(left, right, sharp, radius)
    restored, reblurred = model.deblur_and_reblur(left, right, sharp)
    return {"restored": restored, "reblurred": reblurred, "select": None, "r": None}


def trim_log(path: Path, step: int) -> None:
    """Drop the records after `step` from a JSON-lines log: a run killed after logging but before its next
    checkpoint resumes from that checkpoint, and would otherwise list those steps twice."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by the kill
            continue
        if not isinstance(record, dict) or int(record.get("step", 0)) <= step:
            kept.append(line)
    files.write_text(path, "".join(f"{line}\n" for line in kept))


class Trainer:
    """Trains `build_model(cfg)` on `dataset`, validating on `eval_set` (numpy items) if given.

    `dist` places this process in a data-parallel run (`init_distributed`; default: the single process);
    `run_info` is added to config.json (e.g. which data the run trained and validated on).
    """

    def __init__(self, cfg: TrainConfig, dataset, eval_set: list[dict] | None = None,
                 dist: DistInfo | None = None, run_info: dict | None = None) -> None:
        if cfg.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {cfg.precision!r}; choose from {PRECISIONS}")
        if cfg.reblur_every < 1:
            raise ValueError(f"reblur_every must be >= 1, got {cfg.reblur_every}")
        self.cfg = cfg
        self.dist = dist or DistInfo()
        self.device = resolve_device(cfg.device)
        if self.dist.world_size > 1:
            if not torch.distributed.is_initialized():
                raise ValueError("a data-parallel Trainer needs the process group: call init_distributed first")
            if self.device.type == "cuda":
                self.device = torch.device("cuda", self.dist.local_rank)
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg).to(self.device)
        # Training ablation: the parts stay off for the Trainer's life (hooks / attribute shadows of
        # k3dn.network.ablate), so the optimizer never sees their gradients and validation scores the ablated
        # function.
        self._ablation = ExitStack()
        if cfg.ablate:
            self._ablation.enter_context(ablated(self.model, cfg.ablate))
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        if cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)
        new_lr = cfg.lr * cfg.select_lr_mult if cfg.select_lr_mult != 1.0 else None
        groups = param_groups(self.model, cfg.weight_decay, new_lr)
        # The signed-blur readout of R (disparity_loss.py): trained beside the model, never saved in its weights.
        self.readout: BlurReadout | None = None
        if cfg.disp_loss_weight > 0:
            if not isinstance(self.model, K3DN):
                raise ValueError("disp_loss_weight > 0 supervises K3DN's disparity features; the U-Net has none")
            if self.dist.world_size > 1:
                raise ValueError("disp_loss_weight > 0 trains a readout outside the replicated model: one process only")
            self.readout = BlurReadout(self.model.config.disp_channels).to(self.device)
            groups.append({"params": list(self.readout.parameters()), "weight_decay": cfg.weight_decay,
                           "lr": cfg.lr * READOUT_LR_MULT})
        self.opt = torch.optim.AdamW(groups, lr=cfg.lr)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: lr_factor(s, cfg))
        self.dataset = dataset
        self.eval_set = eval_set or []
        self.step = 0
        self.best_psnr = -math.inf
        self.out = Path(cfg.out)
        self.init_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.last_diagnostics: dict | None = None
        self.run_info = run_info or {}
        self._ddp: torch.nn.Module | None = None

    # --- state ------------------------------------------------------------------------------------
    def state(self) -> dict:
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "scheduler": self.sched.state_dict(), "step": self.step, "best_psnr": self.best_psnr,
                 "train_config": json.dumps(asdict(self.cfg))}
        if self.readout is not None:
            state["readout"] = self.readout.state_dict()
        if self.dist.world_size > 1:  # the data order depends on it (StepItems)
            state["world_size"] = self.dist.world_size
        return state

    def save_checkpoint(self) -> None:
        """last.pt and last.safetensors (the unwrapped model's weights); call on rank 0 only."""
        self.out.mkdir(parents=True, exist_ok=True)
        with files.staged(self.out / "last.pt") as tmp:
            torch.save(self.state(), tmp)
        save_weights(self.model, self.out / "last.safetensors", {"step": self.step, **self.weights_meta()})

    def weights_meta(self) -> dict:
        """Metadata every saved weights file of this run carries: the ablation it was trained with."""
        return {"ablate": ",".join(self.cfg.ablate)} if self.cfg.ablate else {}

    def init_from(self, weights: str | Path) -> None:
        """Start from a weights file (e.g. the shipped model) with a fresh optimizer and schedule."""
        from ..network.weights_io import WeightsError, load_model

        source = load_model(weights)
        if isinstance(source, K3DN) and isinstance(self.model, K3DN) \
                and source.config.psf_gain != self.model.config.psf_gain:
            if self.model.config.psf_gain != "multiply":
                raise WeightsError(f"--init {weights}: cannot convert psf_gain {source.config.psf_gain!r} to "
                                   f"{self.model.config.psf_gain!r}; "
                                   f"train with --set psf_gain={source.config.psf_gain}")
            from ..network.convert import to_multiply_gain
            batch = fixed_batch(self.cfg.seed)  # simulated training pairs, never the validation set
            source = to_multiply_gain(source, batch["left"], batch["right"])
        state = source.state_dict()
        try:
            self.model.load_state_dict(state, strict=not _adds_selection(source, self.model))
        except RuntimeError as exc:
            raise WeightsError(f"weights file {weights} does not match the model being trained: "
                               f"{str(exc).splitlines()[0]}") from exc
        if _adds_selection(source, self.model):
            missing = set(self.model.state_dict()) - set(source.state_dict())
            extra = set(source.state_dict()) - set(self.model.state_dict())
            outside = sorted(k for k in missing if not k.startswith(NEW_WITH_SELECTION))
            if outside or extra:
                raise WeightsError(f"weights file {weights} does not match the model being trained beyond the "
                                   f"added selection block: missing {outside[:3]}, unexpected {sorted(extra)[:3]}")
        self.model.train()
        self.init_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def resume(self, path: str | Path) -> None:
        """Continue the run of checkpoint `path` (on every rank). Raises ValueError if it was trained
        with another number of processes: its steps' items and global batch would change."""
        try:
            ckpt = torch.load(path, map_location=self.device, weights_only=True)
            if not isinstance(ckpt, dict):
                raise TypeError(f"a {type(ckpt).__name__}, not a checkpoint")
            saved = int(ckpt.get("world_size", 1))
        except Exception as exc:  # noqa: BLE001 - torch.load raises RuntimeError, UnpicklingError, EOFError, ...
            raise ValueError(f"--resume: {path} is truncated or corrupt ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
        if saved != self.dist.world_size:
            raise ValueError(f"{path} was trained on {saved} process(es) (global batch {saved * self.cfg.batch}); "
                             f"resume it with {saved}, not {self.dist.world_size} (or start anew with --init)")
        try:
            self.model.load_state_dict(ckpt["model"])
            if self.readout is not None:
                self.readout.load_state_dict(ckpt["readout"])
            self.opt.load_state_dict(ckpt["optimizer"])
            self.sched.load_state_dict(ckpt["scheduler"])
            self.step = int(ckpt["step"])
            self.best_psnr = float(ckpt["best_psnr"])
            init = Path(path).with_name("init.pt")
            if init.is_file():
                self.init_state = torch.load(init, map_location=self.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a missing key, a wrong shape or a damaged init.pt
            raise ValueError(f"--resume: {path} does not hold this run's state ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
        if self.dist.is_main:
            for log in ("metrics.jsonl", "diagnostics.jsonl"):
                trim_log(Path(path).with_name(log), self.step)

    # --- one step ---------------------------------------------------------------------------------
    def train_step(self, batch: dict, diagnose: bool = False) -> dict[str, float]:
        """One optimizer step; with `diagnose`, `self.last_diagnostics` gets the gradients (before
        clipping) and the other numbers of k3dn/training/diagnostics.py."""
        self.model.train()
        cfg = self.cfg
        left, right, sharp, blurry = (batch[k].to(self.device).contiguous(memory_format=self.memory_format)
                                      for k in ("left", "right", "sharp", "blurry"))
        radius = batch["radius"].to(self.device) if "radius" in batch else None
        reblur = cfg.reblur_weight > 0 and self.step % cfg.reblur_every == 0
        with self.autocast():
            out = self.train_pass()(left, right, sharp if reblur else None, radius)
        restored = out["restored"].float()
        reblurred = None if out["reblurred"] is None else out["reblurred"].float()
        losses = k3dn_loss(restored, sharp, reblurred, blurry, cfg.reblur_weight, cfg.freq_weight)
        if cfg.select_loss_weight > 0 and out["select"] is not None:
            if radius is None:
                raise ValueError("select_loss_weight > 0 needs the simulator's blur radius (simulated data only)")
            select = selection_loss(out["select"].float(), radius, self.model.config.select_radii)
            losses["loss"] = losses["loss"] + cfg.select_loss_weight * select
            losses["select"] = select.detach()
        if self.readout is not None:
            if radius is None:
                raise ValueError("disp_loss_weight > 0 needs the simulator's blur radius (simulated data only)")
            disp = signed_blur_loss(self.readout(out["r"]), radius)
            losses["loss"] = losses["loss"] + cfg.disp_loss_weight * disp
            losses["disp"] = disp.detach()
        self.opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if diagnose:
            from .diagnostics import snapshot

            probe = {"left": left, "right": right} | ({"radius": radius} if radius is not None else {})
            self.last_diagnostics = snapshot(self.model, self.init_state, probe)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.opt.step()
        self.sched.step()
        self.step += 1
        with torch.no_grad():
            mse = ((restored.clamp(0, 1) - sharp) ** 2).mean()
        loss, deblur, reblur_loss = losses["loss"].detach(), losses["deblur"], losses["reblur"]
        if self.dist.world_size > 1:  # log the global batch's numbers (each rank's are means over B items)
            loss, deblur, reblur_loss, mse = self._mean_over_ranks(loss, deblur, reblur_loss, mse)
        return {"loss": float(loss), "deblur": float(deblur), "reblur": float(reblur_loss),
                "psnr": float(-10 * torch.log10(mse)), "grad_norm": float(grad_norm),
                "lr": self.sched.get_last_lr()[0]} | ({"disp": float(losses["disp"])} if "disp" in losses else {})

    def train_pass(self):
        """The training forward (left, right, sharp | None) -> (I^, B^ | None): the model's own in a single
        process, else a DistributedDataParallel wrapper made on first use (after --init / --resume; DDP
        broadcasts rank 0's weights then). find_unused_parameters stays off, the cheap setting: the reblur
        branch only reuses the deblur branch's modules, so every step reaches every parameter (checked in
        tests/training/test_train_ddp.py). static_graph stays off: reblur_every > 1 changes the graph from step to
        step."""
        if self.dist.world_size == 1:
            return lambda *args: train_outputs(self.model, *args)
        if self._ddp is None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            # an ablated part's parameters get no gradient: DDP must be told to expect unused ones then
            self._ddp = DistributedDataParallel(_TrainPass(self.model), device_ids=ids,
                                                find_unused_parameters=bool(self.cfg.ablate))
        return self._ddp

    def _mean_over_ranks(self, *values: torch.Tensor) -> list[torch.Tensor]:
        stacked = torch.stack([v.detach().float() for v in values])
        torch.distributed.all_reduce(stacked)  # SUM: gloo has no AVG
        return list(stacked / self.dist.world_size)

    def check_replicas(self) -> dict:
        """Data parallel: every rank's bit-exact checksums of the weights it would save (int64 sums of
        the float32 bit patterns, one per state-dict tensor) compared across ranks. Returns the metrics
        record; raises RuntimeError on every rank if a replica diverged. A collective: call on all ranks."""
        local = torch.stack([t.detach().float().view(torch.int32).to(torch.int64).sum()
                             for t in self.model.state_dict().values()])
        gathered = [torch.empty_like(local) for _ in range(self.dist.world_size)]
        torch.distributed.all_gather(gathered, local)
        differ = [r for r, g in enumerate(gathered) if not torch.equal(g, gathered[0])]
        if differ:
            raise RuntimeError(f"step {self.step}: the weights of rank(s) {differ} differ from rank 0's")
        return {"step": self.step, "replicas": self.dist.world_size, "replicas_agree": True,
                "tensors_checked": len(local)}

    def autocast(self):
        """bf16 autocast of the network when cfg.precision says so (convs and matmuls in bf16; FFTs, the
        kernel bank and the loss in fp32), else a no-op."""
        if self.cfg.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        outs, ins = [], []
        oracle = isinstance(self.model, K3DN) and self.model.config.select_radii \
            and self.model.config.select_mode == "oracle"
        for item in self.eval_set:
            left, right = (torch.from_numpy(item[k]).permute(2, 0, 1)[None].to(self.device) for k in ("left", "right"))
            if oracle:  # the design study's oracle needs the true radius: patches of a multiple of the stride
                radius = torch.from_numpy(np.asarray(item["radius"], np.float32))[None, None].to(self.device)
                pred = self.model._deblur_parts(left, right, radius)["sharp"].clamp(0, 1)
            else:
                pred = self.model(left, right)
            pred = pred[0].permute(1, 2, 0).cpu().numpy()
            outs.append(psnr(pred, item["sharp"]))
            ins.append(psnr((item["left"] + item["right"]) / 2, item["sharp"]))
        return {"val_psnr": float(np.mean(outs)), "val_input_psnr": float(np.mean(ins))}

    # --- loop -------------------------------------------------------------------------------------
    def loader(self, until: int) -> DataLoader:
        """This rank's batches of steps [self.step, until) (StepItems: B = cfg.batch items per rank)."""
        cfg = self.cfg
        indices = StepItems(self.step, until, cfg.batch, self.dist.rank, self.dist.world_size)
        # Workers are spawned, not forked: the parent has already used OpenCV's and torch's thread
        # pools (eval set, model init), and a forked child can inherit their locks held (deadlock).
        context = "spawn" if cfg.workers > 0 else None
        extra = {"worker_init_fn": _worker_init} if cfg.workers else {}
        return DataLoader(self.dataset, batch_size=cfg.batch, sampler=indices, num_workers=cfg.workers,
                          multiprocessing_context=context, drop_last=True, **extra)

    def write_run_info(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        info = {"train": asdict(self.cfg), "model": asdict(self.model.config), "git_commit": git_commit(),
                "torch": torch.__version__, "device": str(self.device),
                "threads": torch.get_num_threads()} | self.run_info
        if self.dist.world_size > 1:
            info |= {"world_size": self.dist.world_size, "global_batch": self.cfg.batch * self.dist.world_size}
        files.write_text(self.out / "config.json", json.dumps(info, indent=2))
        if not (self.out / "init.pt").exists():
            with files.staged(self.out / "init.pt") as tmp:
                torch.save(self.init_state, tmp)

    def log(self, record: dict) -> None:
        with open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def fit(self, progress: bool = True, until: int | None = None) -> None:
        """Train to step `until` (default: cfg.steps; the LR schedule always spans cfg.steps). In a
        data-parallel run every rank calls it; rank 0 alone writes, validates and shows progress."""
        cfg = self.cfg
        until = cfg.steps if until is None else min(until, cfg.steps)
        main = self.dist.is_main
        if main:
            self.write_run_info()
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not (progress and main), dynamic_ncols=True,
                   desc="train")
        t_last = time.perf_counter()
        start = time.time()
        for batch in self.loader(until):
            # Diagnostics read rank 0's (already averaged) gradients and run no backward: ranks stay in step.
            diagnose = main and bool(cfg.diag_every) and (self.step + 1) % cfg.diag_every == 0
            stats = self.train_step(batch, diagnose=diagnose)
            if diagnose:
                with open(self.out / "diagnostics.jsonl", "a") as f:
                    f.write(json.dumps({"step": self.step, **self.last_diagnostics}) + "\n")
            now = time.perf_counter()
            stats["step_s"] = now - t_last
            t_last = now
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.4f}", psnr=f"{stats['psnr']:.2f}", s=f"{stats['step_s']:.2f}")
            if main and self.step % cfg.log_every == 0:
                self.log({"step": self.step, "time": time.time() - start, **stats})
            if main and self.eval_set and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                val = self.validate()
                self.log({"step": self.step, **val})
                bar.write(f"step {self.step}: val PSNR {val['val_psnr']:.2f} dB (input {val['val_input_psnr']:.2f})")
                if val["val_psnr"] > self.best_psnr:
                    self.best_psnr = val["val_psnr"]
                    save_weights(self.model, self.out / "best.safetensors",
                                 {"step": self.step, "val_psnr": f"{val['val_psnr']:.3f}", **self.weights_meta()})
            if self.step % cfg.ckpt_every == 0 or self.step == until:
                if self.dist.world_size > 1:
                    record = self.check_replicas()
                    if main:
                        self.log(record)
                if main:
                    self.save_checkpoint()
        bar.close()
        if self.dist.world_size > 1:
            torch.distributed.barrier()  # every rank returns once rank 0 has written the last checkpoint


def fixed_batch(seed: int = 0, batch: int = 4, patch: int = 128) -> dict[str, torch.Tensor]:
    """Items 0..batch-1 of the default training set (simulated, a pure function of seed): the batch
    `k3dn train --report WEIGHTS` measures gradients on."""
    data = build_dataset(TrainConfig(seed=seed, patch=patch))
    items = [data[i] for i in range(batch)]
    return {k: torch.stack([it[k] for it in items]) for k in ("left", "right", "sharp", "blurry", "radius")}
