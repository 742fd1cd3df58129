"""Figures are reproducible files: the same data give the same bytes on a rerun."""

import time


def test_a_figure_saved_again_later_has_the_same_bytes(tmp_path):
    import matplotlib.pyplot as plt

    from ffdiff.study.plotting import save

    saved = []
    for run in range(2):
        fig, ax = plt.subplots()
        ax.plot([0.0, 1.0], [1.0, 0.5])
        paths = [tmp_path / f"{run}.pdf", tmp_path / f"{run}.png"]
        save(fig, paths)
        saved.append([p.read_bytes() for p in paths])
        time.sleep(1.1)  # PDF dates have a resolution of one second
    assert saved[0] == saved[1]
