"""Command line: ``clustlib run``, ``plan``, ``evidence``, ``fidelity``, ``figures``, ``list``, ``data``, ``report``.

Every :class:`~clustlib.errors.ClustlibError` is printed as one paragraph (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from clustlib.errors import ClustlibError

__all__ = ["main"]


def _print_error(message: str) -> None:
    print(textwrap.fill(f"clustlib: error: {message}", width=100, break_long_words=False,
                        break_on_hyphens=False), file=sys.stderr)


def _cmd_run(args) -> int:
    from clustlib import plan, profiles, runner
    from clustlib.studies import validate_study_params

    studies = profiles.list_studies() if args.studies == ["all"] else [profiles.resolve_study(s) for s in args.studies]
    if not studies:
        raise ClustlibError(f"No study notebooks found in {profiles.notebooks_dir()}.")
    for study in studies:  # validate every study (names, types, its own checks) before executing any
        validate_study_params(study, profiles.resolve_params(study, args.profile, args.set))
    for study in studies:  # then every dataset and weight file is there
        plan.require_inputs(study, args.profile, args.set)
    if args.lanes != 1 and len(studies) > 1:
        from clustlib import lanes

        chains = lanes.plan_lanes(studies, args.lanes, args.profile, args.set)
        return 1 if lanes.run_lanes(chains, args.profile, args.set, force=args.force, timeout_s=args.timeout,
                                    quiet=args.quiet) else 0
    failures = []
    for study in studies:
        print(f"==> {study} [{args.profile}]", flush=True)
        try:
            out = runner.run_study(study, args.profile, args.set, force=args.force, timeout_s=args.timeout,
                                   progress=not args.quiet)
        except runner.StudyFailed as exc:
            print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
            failures.append(study)
            continue
        verb = "skipped (identical parameters already completed; --force re-runs)" if out.status == "skipped" \
            else f"done in {out.wall_s:.1f} s, {out.n_records} records"
        print(f"    {verb}\n    notebook: {out.notebook}\n    results:  {out.results_csv}\n"
              f"    figures:  {out.figures_dir}", flush=True)
    if failures:
        print(f"{len(failures)} of {len(studies)} studies failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args) -> int:
    from clustlib import profiles

    for study in profiles.list_studies():
        folder = profiles.params_dir() / study
        available = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        print(f"{study:40s} profiles: {available}")
        if args.params:
            for name, info in profiles.notebook_parameters(study).items():
                print(f"    {name:28s} {info['type'] or '?':6s} = {info['default']:<20s} {info['help']}")
    return 0


def _cmd_data(args) -> int:
    from clustlib import data

    if args.action == "list":
        for name in data.list_datasets(args.name):
            info = data.dataset_info(name)
            print(f"{name:16s} {info.get('description', '')}")
        return 0
    if not args.name:
        raise ClustlibError(f"'clustlib data {args.action}' needs a dataset name; see 'clustlib data list'.")
    if args.action == "info":
        for key, value in data.dataset_info(args.name).items():
            print(f"{key}: {value}")
        return 0
    folder = data.download(args.name, root=args.root)
    print(f"{args.name} is in {folder}")
    return 0


def _cmd_report(args) -> int:
    from clustlib import report

    if args.html:
        index = report.build_html_report(args.profile)
        print(f"wrote {index} (open it in a browser)")
        return 0
    if not args.study:
        raise ClustlibError("'clustlib report' needs a study (e.g. 'clustlib report 01 --format md'), or --html for "
                            "the HTML report of every study's latest run.")
    print(report.study_report(args.study, args.profile, args.format), end="")
    return 0


def _cmd_evidence(args) -> int:
    from clustlib import evidence, profiles

    study = profiles.resolve_study(args.study)
    params = profiles.resolve_params(study, args.profile, args.set)
    jobs = evidence.plan_jobs(study, params)
    have = evidence.read_evidence(study, args.profile)
    print(f"==> {study} [{args.profile}]: {len(jobs)} jobs, evidence in {evidence.evidence_path(study, args.profile)}"
          f" ({have[['dataset', 'method', 'setting', 'seed']].drop_duplicates().shape[0]} finished)", flush=True)
    evidence.run_evidence(study, params, profile=args.profile, limit=args.limit)
    return 0


def _cmd_plan(args) -> int:
    from clustlib import plan, profiles

    studies = profiles.list_studies() if args.studies == ["all"] else [profiles.resolve_study(s) for s in args.studies]
    plans = [plan.plan_study(study, args.profile, args.set) for study in studies]
    print(plan.format_plan(plans))
    missing = sum(len(p.missing) for p in plans)
    if missing:
        print(f"{missing} input(s) missing across {len(studies)} studies: get them first (commands above).",
              file=sys.stderr)
        return 2
    return 0


def _cmd_fidelity(args) -> int:
    from clustlib import fidelity, profiles, results

    if args.write:
        results.atomic_write_text(fidelity.fidelity_path(), fidelity.fidelity_markdown())
        print(f"wrote {fidelity.fidelity_path()}")
        return 0
    if args.items:
        print(fidelity.format_items(fidelity.items(), args.format))
        return 0
    studies = [profiles.resolve_study(s) for s in args.studies] or None
    frame = fidelity.ledger(studies, args.profile)
    if frame.empty:
        raise ClustlibError(f"No results to compare for profile {args.profile!r}: run 'clustlib run STUDY --profile "
                            f"{args.profile}' (or 'clustlib evidence STUDY' for paper_cpu) first.")
    print(fidelity.format_ledger(frame, args.format))
    return 0


def _cmd_figures(args) -> int:
    import time

    from clustlib import figures, profiles

    if args.studies == ["all"]:
        studies = figures.redrawable_studies()
        for study in sorted(set(profiles.list_studies()) - set(studies)):
            print(f"{study}: cannot redraw from its run folder yet; re-run its notebook", file=sys.stderr)
    else:
        studies = [profiles.resolve_study(s) for s in args.studies]
    for study in studies:
        start = time.perf_counter()
        paths = figures.redraw(study, args.profile, style=args.style)
        print(f"{study}: {len(paths) // 2} figures ({args.style}) in {time.perf_counter() - start:.1f} s -> "
              f"{paths[0].parent if paths else '(none)'}", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clustlib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute study notebooks with papermill")
    run.add_argument("studies", nargs="+", help="study names or numbers, or 'all'")
    run.add_argument("--profile", default="smoke", help="ci | smoke | full (default: smoke)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one parameter (value parsed as YAML); repeatable")
    run.add_argument("--force", action="store_true", help="re-run even if identical parameters completed")
    run.add_argument("--timeout", type=int, default=None,
                     help="per-cell timeout in seconds, 0 for none (default: the profile's; none for full)")
    run.add_argument("--quiet", action="store_true", help="no live progress line (current cell, inner bars, ETA)")
    run.add_argument("--lanes", type=int, default=1,
                     help="run this many chains of studies side by side (each study as it runs alone, same "
                          "numbers; studies sharing the feature cache stay in one lane); default 1")
    run.set_defaults(func=_cmd_run)

    evi = sub.add_parser("evidence", help="run a study's paper-scale CPU jobs (resumable; records to evidence/)")
    evi.add_argument("study")
    evi.add_argument("--profile", default="paper_cpu")
    evi.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    evi.add_argument("--limit", type=int, default=None, help="stop after this many newly finished jobs")
    evi.set_defaults(func=_cmd_evidence)

    pln = sub.add_parser("plan", help="preflight: data, weights, disk, memory and time of a study before it runs")
    pln.add_argument("studies", nargs="+", help="study names or numbers, or 'all'")
    pln.add_argument("--profile", default="smoke")
    pln.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    pln.set_defaults(func=_cmd_plan)

    fid = sub.add_parser("fidelity", help="the paper-vs-ours ledger with verdicts, or the list of paper items")
    fid.add_argument("studies", nargs="*", help="study names or numbers (default: every study with an adapter)")
    fid.add_argument("--profile", default="paper_cpu", help="paper_cpu reads evidence/; others read results/")
    fid.add_argument("--format", default="md", choices=("md", "csv", "latex"))
    fid.add_argument("--items", action="store_true", help="list every table and figure of the five papers")
    fid.add_argument("--write", action="store_true", help="regenerate FIDELITY.md from the committed evidence")
    fid.set_defaults(func=_cmd_fidelity)

    fig = sub.add_parser("figures", help="redraw a study's figures from its latest run folder (no recomputing)")
    fig.add_argument("studies", nargs="+", help="study names or numbers, or 'all'")
    fig.add_argument("--profile", default="smoke")
    fig.add_argument("--style", default="notebook", choices=("notebook", "paper", "slides"),
                     help="paper: fitted to a 3.5 or 7.0 inch column; slides: larger fonts (default notebook)")
    fig.set_defaults(func=_cmd_figures)

    lst = sub.add_parser("list", help="list studies and their profiles")
    lst.add_argument("--params", action="store_true", help="also list every notebook parameter")
    lst.set_defaults(func=_cmd_list)

    dat = sub.add_parser("data", help="list, describe or download datasets")
    dat.add_argument("action", choices=("list", "info", "download"))
    dat.add_argument("name", nargs="?", default=None)
    dat.add_argument("--root", default=None, help="data root (default: $CLUSTLIB_DATA or <project>/data)")
    dat.set_defaults(func=_cmd_data)

    rep = sub.add_parser("report", help="a study's results as paste-ready mean ± std tables (ours beside the "
                                        "paper's), or --html: the HTML report of the latest runs under report/")
    rep.add_argument("study", nargs="?", default=None, help="study name or number (not needed with --html)")
    rep.add_argument("--profile", default="smoke")
    rep.add_argument("--format", default="md", choices=("md", "latex", "csv"),
                     help="md (GitHub table), latex (booktabs table) or csv (every column); default md")
    rep.add_argument("--html", action="store_true",
                     help="build report/index.html: every study's latest executed notebook, the figures, the ledger")
    rep.set_defaults(func=_cmd_report)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``clustlib`` command."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ClustlibError as exc:
        _print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        print("clustlib: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
