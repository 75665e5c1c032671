"""Hostile and benign upload files, built at test time, for every upload path."""
