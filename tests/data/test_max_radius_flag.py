"""`--max-radius` reaches the training stream and the synthetic eval set, and bad values stop cleanly."""

import numpy as np

from k3dn.cli import main


def test_train_max_radius_reaches_the_dataset_and_bounds_its_blur(tmp_path, capsys):
    from k3dn.training.trainer import TrainConfig, build_dataset

    assert build_dataset(TrainConfig()).max_radius == 12.0
    ds = build_dataset(TrainConfig(max_radius=16.0, patch=64))
    assert ds.max_radius == 16.0
    radii = [float(np.abs(ds[i]["radius"].numpy()).max()) for i in range(12)]
    assert max(radii) <= 16.0 + 1e-3
    for value in ("0", "20"):
        assert main(["train", "--out", str(tmp_path / "run"), "--max-radius", value]) == 2
        err = capsys.readouterr().err
        assert "--max-radius must be in (0, 16]" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_eval_max_radius_changes_the_synthetic_set_only(capsys):
    from k3dn.commands.evaluate import load_items

    small = load_items("synthetic", "test", 4, 64)
    large = load_items("synthetic", "test", 4, 64, max_radius=16.0)
    assert max(np.abs(i["radius"]).max() for i in large) > max(np.abs(i["radius"]).max() for i in small)
    assert main(["eval", "--data", "real-dp", "--max-radius", "16"]) == 2
    assert "--max-radius applies to --data synthetic only" in capsys.readouterr().err
