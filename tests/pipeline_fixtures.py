"""Shared helpers of the pipeline tests (issue 6): a tiny real model folder, boards."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
DEMO_BOARDS = sorted((DEMO / "boards").glob("*.jpg"))
T_LO, T_HI = 0.35, 0.65


def demo_recipe(board: Path) -> Path:
    """The recipe of a demo board."""
    return DEMO / "recipes" / f"{board.stem}.json"


def copy_demo_boards(folder: Path, n: int = 2) -> list[Path]:
    """Copy the first `n` demo boards with their recipes into `folder`.

    Layout ``folder/boards/*.jpg`` + ``folder/recipes/*.json`` (what `find_recipe`
    looks for).
    """
    (folder / "boards").mkdir(parents=True, exist_ok=True)
    (folder / "recipes").mkdir(parents=True, exist_ok=True)
    out = []
    for b in DEMO_BOARDS[:n]:
        shutil.copy(b, folder / "boards" / b.name)
        shutil.copy(demo_recipe(b), folder / "recipes" / f"{b.stem}.json")
        out.append(folder / "boards" / b.name)
    return out


def make_model_folder(
    folder: Path, *, version: str = "test-1", seed: int = 0, head_scale: float = 1.5
) -> Path:
    """A real (random) MobileNetV3-Small model folder with 64 px input.

    The head is scaled so the probabilities spread over all three regions.
    """
    import torch

    from inference.architectures import build_model
    from inference.model_card import ModelCard, save_model

    torch.manual_seed(seed)
    model = build_model("mobilenet_v3_small")
    model.eval()
    # A random network gives (almost) constant logits; rescale its one-logit head so
    # that the demo crops spread over all three regions.
    head = model.backbone.classifier[-1]
    feats: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, inp, _o: feats.append(inp[0]))
    with torch.no_grad():
        model(_calibration_batch())
        hook.remove()
        logits = feats[0].double() @ head.weight.double().T
        mu, sd = logits.mean(), logits.std().clamp_min(1e-30)
        head.weight.copy_((head.weight.double() * head_scale / sd).float())
        head.bias.fill_(float(-mu * head_scale / sd))
    save_model(
        model,
        folder,
        ModelCard(
            architecture="mobilenet_v3_small",
            input_size=64,
            t_lo=T_LO,
            t_hi=T_HI,
            version=version,
        ),
    )
    return folder


def _calibration_batch() -> Any:
    import torch

    from inference.crops import crop_joints
    from inference.detector import RecipeDetector
    from inference.image_io import load_image
    from inference.preprocessing import EvalPreset

    board = DEMO_BOARDS[0]
    rgb = load_image(board).rgb
    det = RecipeDetector.from_file(demo_recipe(board)).detect(rgb)
    crops = crop_joints(rgb, det.joints[:48]).crops
    return torch.stack([EvalPreset(size=64)(c) for c in crops])
