"""The faust app: agents, web pages, gauges, the run loop. The only package that imports faust or mode; faust's overridden internals live in worker/faust_tuning/."""
