"""Report stage: every table and figure the HTML report shows.

`snakemake report` makes them; `snakemake --report results/report.html` then renders the report
(captions in workflow/report/ say what each item is and where its reference data came from).
"""


rule report:
    input:
        get_final_output(),


# The results page people read (committed as docs/results.md): the published tables verbatim, so it
# cannot disagree with them; the figures are inputs so that its links point at files that exist.
rule results_page:
    input:
        potentials_check="results/tables/potentials_check.md",
        fit_summary="results/tables/fit_summary.md",
        gnn_metrics="results/tables/gnn_metrics.md",
        gnn_stability="results/tables/gnn_stability.md",
        figures=[*get_fit_figures(), *rules.plot_gnn.output],
    output:
        page="results/docs/results.md",
    log:
        "logs/results_page.log",
    conda:
        "../envs/ffdiff.yaml"
    message:
        "Writing the results page"
    script:
        "../../scripts/results_page.py"
