"""The field loop (issue 8): verified joints back into training, model versions."""
