"""Report stage: every table and figure the HTML report shows.

`snakemake report` makes them; `snakemake --report results/report.html` then renders the report
(captions in workflow/report/ say what each item is and where its reference data came from).
"""


rule report:
    input:
        get_final_output(),
