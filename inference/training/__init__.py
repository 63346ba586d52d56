"""Training of the defect classifier (torchvision ``references/classification`` style).

Submodules are imported by their users: ``inference.training.datasets`` (the torch
Dataset over labelled joint crops with the paper's augmentations) and
``inference.training.train_classifier`` (``train_one_epoch`` / ``evaluate`` /
``train`` / ``get_args_parser``).
"""
