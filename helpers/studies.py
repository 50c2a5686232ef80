"""Long studies, run from a terminal: ``python -m helpers.studies --help`` (lessons 2, 3, 5 and 7).

Each study is a list of runs: an arm and a seed, a share of the data, a feeding method. Each run's row is written
to ``--out``, with its provenance and the study's settings, as soon as the run ends. Started again with the same
``--out`` and the same settings, a study skips the runs already in the file, so stopping it loses at most the run in
progress. A progress bar counts the study's epochs and estimates the time left. Lists are written with spaces:

    python -m helpers.studies cifar --arms plain crop_flip --seeds 0 1 2 --out cifar.json
    python -m helpers.studies fractions --fractions 0.05 0.1 0.4 --out fractions.json
    python -m helpers.studies bn-check --out bn.json
    python -m helpers.studies flowers --out flowers.json
    python -m helpers.studies policies --arms crop_flip+trivial crop_flip+cutmix --seeds 0 1 2 --out policies.json
    python -m helpers.studies unet --arms paper_weighted paper_bce --seeds 0 --out unet.json
    python -m helpers.studies unet-costs --widths 16 24 32 --dtypes float32 mixed_bfloat16 --out unet_costs.json

A mistake on the command line (an unknown arm, a file made with other settings) is one line and exit code 2. This
module reads the command line before it imports TensorFlow, so ``--help`` answers at once; the runs themselves are
``helpers.study_runs``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from helpers import config
from helpers.cli import UserError, user_errors
from helpers.config import ConfigError
from helpers.datasets import DatasetError

CIFAR_ARMS = ("plain", "post_fused", "post_layers", "crop_flip")  # recipes.CIFAR_ARMS, checked by tests/test_studies.py
FLOWER_METHODS = ("python_generator", "pydataset", "tf_data")
UNET_ARMS = ("paper_weighted", "paper_bce", "paper_dice", "dense_weighted", "paper_weighted_bn",
             "paper_dice_w32_bf16", "paper_dice_long_bf16")  # recipes.UNET_ARMS, checked by tests

ABOUT = {
    "cifar": "Lesson 2: the post's CNN on the first n_train CIFAR-10 images (10% held out), per arm and seed.",
    "fractions": "Lesson 2: test accuracy against the share of CIFAR-10 used, optimizer steps held fixed.",
    "bn-check": "Lesson 2: the same weights scored with BatchNorm's moving statistics and with recomputed ones.",
    "flowers": "Lesson 3: the flower post's CNN (batch 6), fed three ways, from the same initial weights.",
    "policies": ("Lesson 7: lesson 2's CNN and data (the first n_train CIFAR-10 images, 10% held out; adam, batch "
                 "128) trained with each augmentation policy, scored on the test set plain and with test-time "
                 "augmentation. 'seconds_per_epoch' is the median training time of an epoch on this machine."),
    "unet": ("Lesson 5: a U-Net trained on the training pairs with each arm of recipes.UNET_ARMS (an augmentation, "
             "a loss, batch norm or not, a width, a dtype policy and steps per epoch) by train_unet; the epoch with "
             "the best validation membrane IoU scored on the validation and the test pairs (names in each row), "
             "predicted whole or in overlapping tiles, each with or without the 8 flips and rotations (tiles_d4). "
             "train_seconds: the epochs' training time."),
    "unet-costs": ("Lesson 5: seconds per training step of lesson 5's U-Net at several widths (base_filters) and "
                   "dtype policies (float32; mixed_bfloat16: bfloat16 compute, float32 weights), side by side in one "
                   "run: train_on_batch on one fixed batch of 256x256 crops, no input pipeline, the median of the "
                   "repeats after two warm-up steps; ratio_to_first compares with the first row."),
    "policy-costs": ("Lesson 7: milliseconds per 128-image CIFAR-10 batch of each arm's augmentation alone "
                     "(tf.function, median of the repeats), side by side in one run; ratio_to_first compares with "
                     "the first arm."),
}
KEYS = {"cifar": ("arm", "seed"), "fractions": ("fraction", "arm"), "bn-check": ("seed",), "flowers": ("method",),
        "policies": ("arm", "seed"), "policy-costs": (), "unet": ("arm", "seed"),
        "unet-costs": ()}  # the fields that name one run of each study


def parser() -> argparse.ArgumentParser:
    """The command line (no TensorFlow needed to build it)."""
    top = argparse.ArgumentParser(prog="python -m helpers.studies", description=(
        "The long studies of lessons 2, 3 and 7. Each run's row is saved as it ends; the same command started "
        "again resumes."),
                                  epilog="Each study's options: python -m helpers.studies STUDY --help")
    sub = top.add_subparsers(dest="study", required=True, metavar="STUDY")
    new = lambda name, text: sub.add_parser(  # noqa: E731
        name, help=text, description=text)
    cifar = new("cifar", "lesson 2: arms x seeds on the first --n-train CIFAR-10 images")
    cifar.add_argument("--arms", nargs="+", default=["plain", "post_fused", "crop_flip"], choices=CIFAR_ARMS,
                       metavar="ARM", help=f"arms among {', '.join(CIFAR_ARMS)} (default: %(default)s)")
    cifar.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED", help="seeds (default: %(default)s)")
    cifar.add_argument("--n-train", type=int, default=config.pick(quick=512, full=10_000),
                       help="the first N CIFAR-10 training images (10%% of them held out) (default: %(default)s)")
    fractions = new("fractions", "lesson 2: accuracy against training-set size, steps held fixed")
    fractions.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.1, 0.2, 0.4], metavar="F",
                           help="shares of the 50,000 training images (default: %(default)s)")
    fractions.add_argument("--arms", nargs="+", default=["plain", "crop_flip"], choices=CIFAR_ARMS, metavar="ARM",
                           help=f"arms among {', '.join(CIFAR_ARMS)} (default: %(default)s)")
    fractions.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    for p in (cifar, fractions):
        p.add_argument("--epochs-plain", type=int, default=config.pick(quick=1, full=20),
                       help="epochs of the plain arm (fractions, full mode: at the 20%% share, rescaled to keep the "
                            "steps) (default: %(default)s)")
        p.add_argument("--epochs-aug", type=int, default=config.pick(quick=1, full=80),
                       help="epochs of an augmented arm (fractions, full mode: at the 20%% share, rescaled) "
                            "(default: %(default)s)")
    bn = new("bn-check", "lesson 2: BatchNorm's moving statistics after few steps")
    bn.add_argument("--n-train", type=int, default=2_500, help="the first N CIFAR-10 training images (default: %(default)s)")
    bn.add_argument("--epochs", type=int, default=20, help="epochs (default: %(default)s)")
    bn.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    flowers = new("flowers", "lesson 3: the flower CNN fed by a generator, a PyDataset and tf.data")
    flowers.add_argument("--methods", nargs="+", default=list(FLOWER_METHODS), choices=FLOWER_METHODS,
                         metavar="METHOD", help=f"feeding methods among {', '.join(FLOWER_METHODS)} (default: %(default)s)")
    flowers.add_argument("--epochs", type=int, default=config.pick(quick=1, full=6), help="epochs (default: %(default)s)")
    flowers.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    pol = new("policies", "lesson 7: augmentation policies on lesson 2's setting, with test-time augmentation")
    pol.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                     help="arms, each crop_flip and parts joined by '+' (default: every arm of recipes.POLICY_ARMS)")
    pol.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED", help="seeds (default: %(default)s)")
    pol.add_argument("--epochs", type=int, default=config.pick(quick=1, full=80), help="epochs (default: %(default)s)")
    pol.add_argument("--n-train", type=int, default=config.pick(quick=512, full=10_000),
                     help="the first N CIFAR-10 training images (10%% of them held out) (default: %(default)s)")
    costs = new("policy-costs", "lesson 7: milliseconds per batch of each arm's augmentation alone")
    costs.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                       help="arms (default: every arm of recipes.POLICY_ARMS)")
    costs.add_argument("--repeats", type=int, default=config.pick(quick=3, full=30), help="timed calls per arm (default: %(default)s)")
    unet = new("unet", "lesson 5: U-Net recipes (augmentation x loss), scored once on the test pairs")
    unet.add_argument("--arms", nargs="+", default=list(UNET_ARMS), choices=UNET_ARMS, metavar="ARM",
                      help=f"arms among {', '.join(UNET_ARMS)} (default: %(default)s)")
    unet.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED", help="seeds (default: %(default)s)")
    unet.add_argument("--epochs", type=int, default=config.pick(quick=1, full=30), help="epochs (default: %(default)s)")
    unet.add_argument("--steps-per-epoch", type=int, default=config.pick(quick=3, full=None),
                      help="training steps per epoch (default: %(default)s, None: the arm's own)")
    unet.add_argument("--base-filters", type=int, default=config.pick(quick=4, full=None),
                      help="filters of the U-Net's first level (default: %(default)s, None: the arm's own)")
    unet.add_argument("--crop", type=int, default=config.pick(quick=128, full=256),
                      help="training crop and prediction tile, a multiple of 16 (default: %(default)s)")
    ucosts = new("unet-costs", "lesson 5: seconds per training step of the U-Net per width and dtype policy")
    ucosts.add_argument("--widths", nargs="+", type=int, default=[16, 24, 32], metavar="N",
                        help="base_filters to time (default: %(default)s)")
    ucosts.add_argument("--dtypes", nargs="+", default=["float32", "mixed_bfloat16"], metavar="POLICY",
                        choices=["float32", "mixed_bfloat16"], help="dtype policies to time (default: %(default)s)")
    ucosts.add_argument("--repeats", type=int, default=config.pick(quick=2, full=5),
                        help="timed steps per width and dtype (default: %(default)s)")
    for p in (cifar, fractions, bn, flowers, pol):
        p.add_argument("--n-test", type=int, default=None, help="score on the first N test images (default: all)")
    for p in (cifar, fractions, bn, flowers, pol, costs, unet, ucosts):
        p.add_argument("--out", default=None,
                       help="JSON file, written after each run (default: <output dir>/results/<study>_<mode>.json)")
    return top


def settings(args: argparse.Namespace) -> dict:
    """What must match for a saved run to count as one of this study's: every option but the lists of runs
    (policy-costs is one run, which its arms belong to)."""
    listed = {"study", "out", "seeds", "fractions", "methods"} | ({"arms"} if args.study != "policy-costs" else set())
    return {"study": args.study, "mode": config.load_settings().mode,
            **{k: v for k, v in sorted(vars(args).items()) if k not in listed}}


def _check(args: argparse.Namespace) -> None:
    for name in ("n_train", "epochs", "epochs_plain", "epochs_aug", "repeats", "n_test", "steps_per_epoch",
                 "base_filters"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if getattr(args, "crop", None) is not None and (args.crop < 16 or args.crop % 16):
        raise UserError(f"--crop must be a multiple of 16 (the U-Net halves it 4 times), got {args.crop}")
    for f in getattr(args, "fractions", None) or ():
        if not 0 < f <= 1:
            raise UserError(f"a fraction must be in (0, 1], got {f}")
    for width in getattr(args, "widths", None) or ():
        if width < 1:
            raise UserError(f"a width must be at least 1, got {width}")
    for name in ("arms", "seeds", "fractions", "methods", "widths"):
        values = getattr(args, name, None) or []
        if len(set(values)) < len(values):
            raise UserError(f"--{name} names the same value twice: {values}")


def saved(path: Path, wanted: dict, commit: str) -> tuple[list[dict], dict | None]:
    """(rows, provenance) already in ``path`` from the same study with the same ``settings`` at the same git
    ``commit``; ([], None) if there is no file. A file of another study, other settings or another commit is
    refused (UserError): it is never overwritten, and one file never mixes two versions of the code."""
    if not path.exists():
        return [], None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} exists but is not a study file ({exc}); choose another --out") from None
    if data.get("settings") != wanted:
        raise UserError(f"{path} holds runs made with other settings ({data.get('settings')}); choose another "
                        "--out, or the same options as that run to resume it")
    made_at = data.get("provenance", {}).get("git_commit")
    if made_at != commit:
        raise UserError(f"{path} holds runs made at commit {made_at}, and this checkout is at {commit}: resume "
                        f"from a worktree at {made_at} (git worktree add ../run {made_at}), or choose another --out")
    return list(data.get("rows", [])), data["provenance"]


def plan(args: argparse.Namespace, policy_arms) -> list[dict]:
    """The study's runs, in order: for each, the fields that name it (``KEYS``) and its epoch count."""
    from helpers.study_runs import steps_matched_epochs

    if args.study == "cifar":
        return [{"arm": a, "seed": s, "epochs": args.epochs_plain if a == "plain" else args.epochs_aug}
                for s in args.seeds for a in args.arms]
    if args.study == "fractions":
        return [{"fraction": f, "arm": a,
                 "epochs": (e if config.quick_mode() else steps_matched_epochs(e, f))}
                for f in args.fractions for a in args.arms
                for e in [args.epochs_plain if a == "plain" else args.epochs_aug]]
    if args.study == "bn-check":
        return [{"seed": args.seed, "epochs": args.epochs}]
    if args.study == "flowers":
        return [{"method": m, "epochs": args.epochs} for m in args.methods]
    if args.study == "policies":
        return [{"arm": a, "seed": s, "epochs": args.epochs} for s in args.seeds for a in policy_arms]
    if args.study == "unet":
        return [{"arm": a, "seed": s, "epochs": args.epochs} for s in args.seeds for a in args.arms]
    return [{"epochs": 0}]  # policy-costs, unet-costs: one measurement, side by side


def run_one(args: argparse.Namespace, run: dict, policy_arms, callbacks) -> list[dict]:
    """The rows of one run of the study."""
    from helpers import splits, study_runs

    if args.study == "cifar":
        return study_runs.cifar_runs(args.n_train, args.epochs_plain, args.epochs_aug, [run["seed"]], [run["arm"]],
                                     n_test=args.n_test, callbacks=callbacks)
    if args.study == "fractions":
        return study_runs.cifar_fraction_study([run["fraction"]], arms=[run["arm"]], seed=args.seed,
                                               epochs_plain=args.epochs_plain, epochs_aug=args.epochs_aug,
                                               match_steps=not config.quick_mode(), n_test=args.n_test,
                                               callbacks=callbacks)
    if args.study == "bn-check":
        return [study_runs.batchnorm_lag_check(args.n_train, args.epochs, args.seed, n_test=args.n_test,
                                               callbacks=callbacks)]
    if args.study == "flowers":
        _, train, val, test = splits.flower_split()
        if args.n_test:
            test = tuple(part[:args.n_test] for part in test)
        if config.quick_mode():
            train = tuple(part[:48] for part in train)
        return study_runs.flower_feeding_comparison(train, val, test, epochs=args.epochs, seed=args.seed,
                                                    methods=[run["method"]], callbacks=callbacks)
    if args.study == "policies":
        return study_runs.policy_runs([run["arm"]], [run["seed"]], n_train=args.n_train, epochs=args.epochs,
                                      n_test=args.n_test, callbacks=callbacks)
    if args.study == "unet":
        return [study_runs.unet_run(run["arm"], run["seed"], base_filters=args.base_filters, epochs=args.epochs,
                                    steps_per_epoch=args.steps_per_epoch, crop=args.crop, callbacks=callbacks)]
    if args.study == "unet-costs":
        return study_runs.unet_step_costs(args.widths, dtypes=args.dtypes, repeats=args.repeats,
                                          crop=config.pick(quick=64, full=256))
    return study_runs.policy_costs(policy_arms, repeats=args.repeats)


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    prog = "python -m helpers.studies"
    with user_errors(prog):
        _check(args)
        path = Path(args.out) if args.out else config.output_dir("results") / f"{args.study}_{config.load_settings().mode}.json"
        from helpers import measured

        origin = measured.provenance()  # the commit the runs start from, even if the checkout moves meanwhile
        wanted = settings(args)
        done, kept = saved(path, wanted, origin["git_commit"])
        if done and not KEYS[args.study]:
            print(f"{path} already holds this measurement: nothing to do")
            return
    print(config.banner(f"study: {args.study}"), flush=True)
    with user_errors(prog, (UserError, ConfigError, DatasetError)):  # missing data; not a bug's FileNotFoundError
        _run(args, path, wanted, done, origin if kept is None else kept)


def _run(args: argparse.Namespace, path: Path, wanted: dict, done: list[dict], origin: dict) -> None:
    """The study's runs still to do, each row saved as it ends; ``origin``: the provenance of the file's first
    session, to which each session of the study adds its command, date and runs."""
    import keras

    from helpers import measured, recipes

    policy_arms = []
    if args.study in ("policies", "policy-costs"):
        policy_arms = list(args.arms or recipes.POLICY_ARMS)
    for arm in policy_arms:  # every arm checked before any training
        try:
            recipes.policy_arm(arm)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    key = KEYS[args.study]
    finished = {tuple(row.get(k) for k in key) for row in done}
    runs = [r for r in plan(args, policy_arms) if not key or tuple(r[k] for k in key) not in finished]
    if done:
        print(f"{path}: {len(done)} finished run(s) kept, {len(runs)} to go", flush=True)
    now = measured.provenance()
    session = {"command": now["command"], "date": now["date"], "git_commit": now["git_commit"], "runs": []}
    provenance = {**origin, "sessions": [*origin.get("sessions", []), session]}
    bar = keras.utils.Progbar(sum(r["epochs"] for r in runs) or None, unit_name="epoch")
    progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: bar.add(1))
    rows = list(done)
    for i, run in enumerate(runs, 1):
        named = ", ".join(f"{k} {run[k]}" for k in key) or "every arm"
        print(f"\nrun {i}/{len(runs)}: {named} ({run['epochs']} epochs)", flush=True)
        rows = rows + run_one(args, run, policy_arms, [progress])
        session["runs"].append({k: run[k] for k in key})
        measured.write(path, rows, about=ABOUT[args.study], origin=provenance, settings=wanted)
    print(f"\nsaved {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
