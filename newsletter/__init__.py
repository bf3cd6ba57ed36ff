"""newsletter: a personal daily digest of new research papers, ranked per reader and mailed over SMTP."""

__version__ = "0.1.0"
__all__ = ["__version__"]
