"""``figures/README.md``: which notebook and file reproduces each paper figure and table.

Generated from the figures present under ``figures/<profile>/<study>/`` and the ``PAPER_ITEMS`` map below;
``clustlib run`` rewrites it after every completed study.
"""

from __future__ import annotations

from clustlib.paths import figures_root, results_root
from clustlib.results import atomic_write_text

__all__ = ["PAPER_ITEMS", "STUDY_TABLES", "write_figures_readme"]

# Figure file stem prefix -> the paper item it reproduces.
PAPER_ITEMS = {
    "fig3a_": "Guérin et al. 2021, Figure 3a (layer × architecture)",
    "fig3b_": "Guérin et al. 2021, Figure 3b (layer × task)",
    "fig4a_": "Guérin et al. 2021, Figure 4a (architectures, L3)",
    "fig4b_": "Guérin et al. 2021, Figure 4b (architecture × task)",
    "fig5_": "Guérin et al. 2021, Figure 5 (where the architecture matters)",
    "fig6_": "Guérin et al. 2021, Figure 6 (algorithm × architecture)",
    "tableA3_6_bof": "Guérin et al. 2021, Tables A.3–A.6 BoF rows (BoF beside raw pixels and CNN L3), as a chart",
    "fig10_": "Guérin et al. 2021, Figure 10 (NMI and time against the number of views)",
    "fig11_14_": "Guérin et al. 2021, Figures 11–14 (MIX per method)",
    "fig8_": "Guérin et al. 2021, Figure 8 (complementary views, per-class FM)",
    "fig15_": "Guérin et al. 2021, Figure 15 (K-means on each stage's representation)",
    "fig16_": "Guérin et al. 2021, Figure 16 (t-SNE along the DMVC pipeline)",
    "fig1_runtime": "Leiber et al. 2023 (ClustPy), Figure 1 (runtime per method)",
    "fig2_embedding": "Leiber et al. 2023 (ClustPy), Figure 2 (embedding size, one panel per dataset)",
    "fig4_learning": "Leiber et al. 2023 (ClustPy), Figure 4 (learning rate, one panel per dataset)",
    "fig5_generalisation": "Leiber et al. 2023 (ClustPy), Figure 5 (generalisation, one panel per dataset)",
    "fig3_initial": "Leiber et al. 2023 (ClustPy), Figure 3 (initial clustering, one panel per dataset)",
    "table4_augmentation": "Leiber et al. 2023 (ClustPy), Table IV (augmentation), as a chart",
    "dac_table2_": "Chang et al. 2017 (DAC), Table 2 (NMI, ARI, ACC per method, the paper's values beside)",
    "dac_fig1_kgon_": "Chang et al. 2017 (DAC), Figure 1 (label features on the K-gon, initial and final stage)",
    "dac_fig3_label_features_": "Chang et al. 2017 (DAC), Figure 3 (sample images and their label features)",
    "dac_fig5_imbalanced": "Chang et al. 2017 (DAC), Figure 5 (accuracy on imbalanced subsets)",
    "dac_fig6_clusters": "Chang et al. 2017 (DAC), Figure 6 (scores against the number of clusters)",
    "dac_fig7_samples": "Chang et al. 2017 (DAC), Figure 7 (scores against the number of samples)",
    "deepclue_table5_7_ablation_": "Huang et al. 2022 (DeepCluE), Tables V–VII (layer ablation) as a chart",
    "deepclue_fig3_5_weighting_": "Huang et al. 2022 (DeepCluE), Figures 3–5 (with or without weighted clusters)",
    "deepclue_fig6_8_ensemble_size_": "Huang et al. 2022 (DeepCluE), Figures 6–8 (ensemble size M)",
    "deepclue_base_clusterings_": "Huang et al. 2022 (DeepCluE), base clusterings per layer vs. the consensus",
    "deepclue_training_curves_": "Huang et al. 2022 (DeepCluE), CC training losses per epoch",
    "mmdc_table4_3_ablation": "Shiran & Weinshall 2021 (MMDC), Table 4.3 (Sobel x rotation ablation, ACC)",
    "mmdc_training_curves_": "Shiran & Weinshall 2021 (MMDC), training loss and targets reassigned per epoch",
    "mmdc_table4_5_refinement": "Shiran & Weinshall 2021 (MMDC), Table 4.5 (before/after refinement)",
    "mmdc_table4_4_features": "Shiran & Weinshall 2021 (MMDC), Table 4.4 (k-means and linear probe on the "
                              "penultimate layer; NAT, RotNet, NAT+Rot, Ours)",
    "mmdc_figure4_1_target_grid": "Shiran & Weinshall 2021 (MMDC), Figure 4.1 (ACC over target dimension d x sigma)",
    "mmdc_figure4_2_cluster_samples_": "Shiran & Weinshall 2021 (MMDC), Figure 4.2 (members of each cluster, "
                                       "failures framed)",
    "dac_fig4_": "Chang et al. 2017 (DAC), Figure 4 (label-feature distribution)",
    "dac_thresholds_": "Chang et al. 2017 (DAC), adaptive thresholds and selected pairs per epoch",
    "dac_cluster_sizes_": "Chang et al. 2017 (DAC), cluster sizes of the final partition",
}

# Study -> the paper tables its results CSV sits beside.
STUDY_TABLES = {
    "01_layer_architecture_grid": "Guérin et al. 2021, Tables A.3–A.6",
    "02_mvec_sweep": "Guérin et al. 2021, Figure 10 data (one row per view combination)",
    "03_mvnet_jule_tables": "Guérin et al. 2021, Tables B.7–B.10",
    "06_clustpy_benchmark": "Leiber et al. 2023 (ClustPy), Tables I–V",
    "04_deepclue": "Huang et al. 2022 (DeepCluE), Tables II–VII and Figures 3–8",
    "05_mmdc": "Shiran & Weinshall 2021 (MMDC), Tables 4.2–4.5 and Figure 4.1",
    "07_dac": "Chang et al. 2017 (DAC), Tables 2–3, Figures 1 and 3–7",
}


def _describe(stem: str) -> str:
    for prefix, item in sorted(PAPER_ITEMS.items(), key=lambda kv: -len(kv[0])):  # most specific first
        if stem.startswith(prefix):
            return item
    return ""


def write_figures_readme(root=None, *, include_ci: bool = False) -> None:
    """Rewrite ``figures/README.md`` from what is on disk (atomically); ``ci`` outputs are left out by default."""
    figures = figures_root(root)
    lines = ["# Figures and tables", "",
             "Generated by `clustlib run` (do not edit). Each figure exists as PNG and PDF; tables are the tidy",
             "CSVs under `results/` (one row per dataset, method, setting, seed and metric).", "",
             "| paper item | profile | notebook | file |", "|---|---|---|---|"]
    for path in sorted(figures.glob("*/*/*.png")):
        profile, study = path.parent.parent.name, path.parent.name
        if profile == "ci" and not include_ci:
            continue
        lines.append(f"| {_describe(path.stem) or '—'} | {profile} | `notebooks/{study}.ipynb` | "
                     f"`{path.relative_to(figures).with_suffix('')}.{{png,pdf}}` |")
    lines += ["", "| paper tables | profile | notebook | results |", "|---|---|---|---|"]
    for csv in sorted(results_root().glob("*/*.csv")):
        study, profile = csv.parent.name, csv.stem
        if profile == "ci" and not include_ci:
            continue
        lines.append(f"| {STUDY_TABLES.get(study, '—')} | {profile} | `notebooks/{study}.ipynb` | "
                     f"`results/{study}/{profile}.csv` |")
    figures.mkdir(parents=True, exist_ok=True)
    atomic_write_text(figures / "README.md", "\n".join(lines) + "\n")
