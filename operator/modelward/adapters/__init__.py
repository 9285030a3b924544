"""The only code that knows Kopf, the Kubernetes client or argparse."""
