"""Grid configs -> many training runs -> RESULTS.md tables and plots.

In: experiments/*.yaml (inheriting with `base:`) or configs/flagship.yaml. Out: cached runs and
the reports written from them: the paper's grid (`hubkit reproduce`) and the flagship's seeds
table and release card (flagship_report).
"""
