"""Synthesis: operators that turn databases and question/SQL pairs into verified training data."""
