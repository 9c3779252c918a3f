// Imported first by the local scripts: EMF metrics are for CloudWatch, not a terminal.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
