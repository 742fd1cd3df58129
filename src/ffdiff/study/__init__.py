"""The study around the library: job start-up and output, config checks, the tables, pages and figures
the workflow publishes. Nothing in the numerical library imports it."""
