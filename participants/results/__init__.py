"""The results framework's progress: computed actuals, the progress page, its exports and the IATI file."""
