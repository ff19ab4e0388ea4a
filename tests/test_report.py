"""``clustlib report``: paste-ready tables from a small results CSV, and the static HTML report of a real ci run."""

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from clustlib import cli, paper, report, results, runner


def _records(rows, study="07_dac"):
    """Tidy records from ``(dataset, method, setting, seed, metric, value[, run_id])`` tuples."""
    out = []
    for row in rows:
        dataset, method, setting, seed, metric, value, *run = row
        out.append({"study": study, "dataset": dataset, "method": method, "setting": setting, "seed": seed,
                    "metric": metric, "value": value, "time_s": 1.0, "run_id": run[0] if run else "run1",
                    "params_sha": "x", "peak_mem_mb": 1.0, "note": ""})
    return pd.DataFrame(out, columns=list(results.COLUMNS))


# DAC NMI 0.80/0.90 -> 0.850 ± 0.071 beats DAC* 0.70/0.72; DAC* ACC 0.90/0.95 -> 0.925 beats DAC's 0.600.
# DAC* ACC seed 0 ran twice: the later run (0.90, run2) counts, the earlier 0.10 does not.
TOY_ROWS = [
    ("mnist", "DAC", "", 0, "nmi", 0.80), ("mnist", "DAC", "", 1, "nmi", 0.90),
    ("mnist", "DAC", "", 0, "acc", 0.60), ("mnist", "DAC", "", 1, "acc", 0.60),
    ("mnist", "DAC*", "", 0, "nmi", 0.70), ("mnist", "DAC*", "", 1, "nmi", 0.72),
    ("mnist", "DAC*", "", 0, "acc", 0.10, "run1"), ("mnist", "DAC*", "", 0, "acc", 0.90, "run2"),
    ("mnist", "DAC*", "", 1, "acc", 0.95),
    ("mnist", "K-means", "features=dac_label_features", 0, "nmi", 0.50),
    ("mnist", "K-means", "features=dac_label_features", 0, "acc", 0.55),
    ("digits", "DAC*", "script=mnist", 0, "nmi", 0.40), ("digits", "DAC*", "script=mnist", 0, "acc", 0.45),
]


@pytest.fixture
def toy_results(isolated_project):
    results.append_results(_records(TOY_ROWS), "07_dac", "ci")
    return isolated_project


def _paper_value(table, dataset, method, metric, setting=""):
    match = paper.load("dac2017", table, dataset=dataset, method=method, metric=metric, setting=setting)
    assert len(match) == 1
    return float(match["value"].iloc[0])


def _md_rows(text):
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split(" | ")))) for line in lines[2:]]


def test_markdown_bolds_the_best_mean_and_shows_the_paper_beside_ours(toy_results):
    text = report.study_report("07", "ci", "md")
    rows = {(r["dataset"], r["method"].replace("\\*", "*")): r for r in _md_rows(text)}
    dac, star = rows[("mnist", "DAC")], rows[("mnist", "DAC*")]
    assert dac["NMI"] == "**0.850** ± 0.071" and star["NMI"] == "0.710 ± 0.014"
    assert star["ACC"] == "**0.925** ± 0.035" and dac["ACC"] == "0.600 ± 0.000"  # 0.10 was superseded
    assert dac["n"] == "2" and star["n"] == "2"
    assert dac["NMI (paper)"] == f"{_paper_value('2', 'mnist', 'DAC', 'nmi'):.3f}"
    assert star["ACC (paper)"] == f"{_paper_value('2', 'mnist', 'DAC*', 'acc'):.3f}"
    kmeans = rows[("mnist", "K-means")]  # Table 3: k-means on DAC's label features
    assert kmeans["NMI (paper)"] == f"{_paper_value('3', 'mnist', 'K-means', 'nmi', 'dac_label_features'):.3f}"
    # digits stands in for mnist on the ci profile (params/07_dac/ci.yaml): marked, and its own best
    digits = rows[("digits", "DAC*")]
    assert digits["NMI"] == "**0.400**" and digits["NMI (paper)"].endswith("†")
    assert "digits stands in for" in text and "Tables 2, 3" in text.splitlines()[0]
    bold = re.findall(r"\*\*([^*]+)\*\*", text)  # the caption, then one cell per (dataset, metric)
    assert bold[1:] == ["0.850", "0.925", "0.400", "0.450"]


def test_latex_is_a_booktabs_table_with_escaped_names(toy_results):
    text = report.study_report("07", "ci", "latex")
    assert r"\begin{tabular}" in text and r"\toprule" in text and r"\bottomrule" in text
    assert text.count(r"\begin{") == text.count(r"\end{")
    assert r"features=dac\_label\_features" in text and r"07\_dac" in text
    assert r"\textbf{0.850} $\pm$ 0.071" in text and r"\textbf{0.925} $\pm$ 0.035" in text
    body = text[text.index(r"\midrule"):text.index(r"\bottomrule")]
    assert not re.search(r"(?<!\\)[_%&#](?![^$]*\$)", body.replace(" & ", " ")), body  # only escaped specials
    rows = [line for line in text.splitlines() if line.endswith(r"\\")]
    assert len({line.count(" & ") for line in rows}) == 1  # header and every row: the same number of columns
    assert "±" not in text and "†" not in text  # as $\pm$ and $^\dagger$
    for line in text.splitlines():
        assert line.count("{") - line.count(r"\{") == line.count("}") - line.count(r"\}"), line
    if shutil.which("pdflatex") is None:
        return
    doc = "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + text + "\\end{document}\n"
    out = Path(toy_results) / "tex"
    out.mkdir()
    (out / "t.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_csv_has_every_column_one_row_per_group(toy_results):
    text = report.study_report("07_dac", "ci", "csv")
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    assert list(frame.columns) == ["study", "profile", "dataset", "method", "setting", "metric", "mean", "std", "n",
                                   "best", "time_s", "paper_dataset", "paper_method", "paper_setting", "paper_table",
                                   "paper", "paper_std", "delta", "bold"]
    assert len(frame) == 8 and not frame.duplicated(["dataset", "method", "setting", "metric"]).any()
    dac_nmi = frame[(frame.method == "DAC") & (frame.metric == "nmi")].iloc[0]
    assert dac_nmi["mean"] == pytest.approx(0.85) and dac_nmi["std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert dac_nmi["paper"] == pytest.approx(_paper_value("2", "mnist", "DAC", "nmi")) and dac_nmi["bold"]
    assert dac_nmi["delta"] == pytest.approx(0.85 - dac_nmi["paper"])
    digits = frame[frame.dataset == "digits"]
    assert set(digits["paper_dataset"]) == {"mnist"} and set(digits["paper_table"].astype(str)) == {"2"}
    assert frame["bold"].sum() == 4


@pytest.mark.parametrize("study, ours, theirs", [
    ("01_layer_architecture_grid", ("coil100", "vgg16.imagenet", "layer=L1,clustering=KM", "nmi"),
     ("guerin2021", "A.3", "coil100", "VGG16", "layer=L1,clustering=KM")),
    ("03_mvnet_jule_tables", ("coil100", "vgg16.imagenet:L3", "", "nmi"), ("guerin2021", "B.7", "coil100", "VGG16", "")),
    ("04_deepclue", ("fashion_mnist", "kmeans_pixels", "input=raw pixels", "nmi"),
     ("deepclue2022", "II", "fashion_mnist", "K-means", "")),
    ("04_deepclue", ("fashion_mnist", "Using last layer of g_I", "", "acc"),
     ("deepclue2022", "VII", "fashion_mnist", "Using last layer of g_I", "")),
    ("05_mmdc", ("cifar10", "MMDC", "sobel=1,rotation=1", "acc"), ("mmdc2021", "4.3", "cifar10", "Ours",
                                                                   "sobel=1,rotation=1")),
    ("06_clustpy_benchmark", ("digits", "dec", "experiment=H,ae=d-500-500-2000-10,augmentation=affine", "nmi"),
     ("clustpy2023", "IV", "optdigits", "DEC", "ae=d-500-500-2000-10,augmentation")),
    ("06_clustpy_benchmark", ("usps", "ae_kmeans", "experiment=I,ae=resnet18_conv,m=10", "ari"),
     ("clustpy2023", "V", "usps", "AE+KMeans", "ae=resnet18_conv,m=10")),
])
def test_each_study_join_finds_its_paper_cell(study, ours, theirs):
    dataset, method, setting, metric = ours
    table = report.results_table(study, "ci", records=_records([(dataset, method, setting, 0, metric, 0.5)], study))
    (row,) = table.itertuples()
    expected = paper.load(theirs[0], theirs[1], dataset=theirs[2], method=theirs[3], setting=theirs[4],
                          metric=metric)
    assert len(expected) == 1
    assert row.paper == pytest.approx(float(expected["value"].iloc[0])) and row.paper_table == theirs[1]


def test_a_study_without_published_numbers_has_no_paper_column():
    records = _records([("digits", "MVEC_agg", "m=1,views=0", 0, "nmi", 0.9)], "02_mvec_sweep")
    text = report.format_table(report.results_table("02", "ci", records=records), "md")
    assert "(paper)" not in text and "**0.900**" in text


def test_cli_prints_the_table_and_needs_a_study_or_html(toy_results, capsys):
    assert cli.main(["report", "07", "--profile", "ci", "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert cli.main(["report"]) == 2
    assert "needs a study" in capsys.readouterr().err


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _resolves(page: Path, src: str) -> bool:
    if src.startswith("data:image/"):
        return len(src) > 100
    return (page.parent / unquote(src.split("#")[0])).is_file()


@pytest.mark.slow
def test_html_report_of_a_ci_run_has_every_image_and_renders(isolated_project, tmp_path):
    outcome = runner.run_study("04_deepclue", "ci", progress=False, force=True)
    assert outcome.status == "ok"
    index = report.build_html_report("ci", out=tmp_path / "report")
    assert index == tmp_path / "report" / "index.html"
    pages = sorted(index.parent.glob("*.html"))
    assert {p.name for p in pages} == {"index.html", "gallery.html", "fidelity.html", "04_deepclue.html"}
    n_images = {}
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        assert all(_resolves(page, src) for src in parser.images), (page, [s[:80] for s in parser.images])
        local = [h for h in parser.links if not re.match(r"[a-z]+:|#|\.\./", h)]
        assert all((page.parent / unquote(h.split("#")[0])).exists() for h in local), (page, local)
        n_images[page.name] = len(parser.images)
    pngs = list((isolated_project / "figures" / "ci").glob("**/*.png"))
    assert pngs and n_images["gallery.html"] == len(pngs)
    assert n_images["04_deepclue.html"] >= 1  # the notebook's figures, embedded
    assert 'href="04_deepclue.html"' in index.read_text()

    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        pytest.skip("no headless browser: /usr/bin/chromium is missing (make env installs Debian's chromium "
                    "as root); every <img> was checked to resolve, the rendering was not")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={shot}", "--window-size=1200,900",
                    index.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (900, 1200)
    assert (pixels < 128).mean() > 0.005, "the screenshot is blank"  # text and table rules are dark
